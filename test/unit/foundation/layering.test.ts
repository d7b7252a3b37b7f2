import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// `npm run lint` runs dependency-cruiser with .dependency-cruiser.mjs. These tests prove that the
// rules pass on src/ as it is and fail on a tree with an upward import or a cycle planted in it.
const repo = resolve(import.meta.dirname, '../../..');
const cruiser = join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = join(repo, '.dependency-cruiser.mjs');
const run = promisify(execFile);

async function cruise(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [cruiser, 'src', '--config', config, '--output-type', 'err'], { cwd });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function plant(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'obsdk-layering-'));
  temps.push(dir);
  const tsconfig = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe('layering rules (npm run lint)', () => {
  it('pass on src/ as it is', async () => {
    const result = await cruise(repo);
    expect(result.output).toContain('no dependency violations');
    expect(result.code).toBe(0);
  }, 60_000);

  it('fail when a port imports a service, the domain imports a port, or modules import each other', async () => {
    const dir = await plant({
      'src/errors/errors.ts': 'export class E extends Error {}\n',
      'src/domain/entity.ts': "import type { Port } from '../ports/port.js';\nexport type Entity = { port?: Port };\n",
      'src/ports/port.ts': "import type { Helper } from '../services/a.js';\nexport interface Port { helper: Helper }\n",
      'src/services/a.ts': "import { b } from './b.js';\nexport type Helper = string;\nexport const a = () => b;\n",
      'src/services/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const result = await cruise(dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/ports-import-only-domain-and-errors: src\/ports\/port\.ts → src\/services\/a\.ts/);
    expect(result.output).toMatch(/domain-imports-only-domain-and-errors: src\/domain\/entity\.ts → src\/ports\/port\.ts/);
    expect(result.output).toMatch(/no-cycles: src\/services\/[ab]\.ts → /);
  }, 60_000);
});
