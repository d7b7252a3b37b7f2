// `npm run check:package`: checks the package a user installs, not the repository.
//  1. `npm pack` into a temp folder (prepack builds dist/ from scratch);
//  2. every relative link in the tarball's Markdown lands on a file (and heading) inside it
//     (scripts/markdown-links.mjs);
//  3. publint on the tarball;
//  4. attw (@arethetypeswrong/cli) on the tarball, profile "esm-only": the package ships ES modules
//     only, and `require()` of it works through Node's require(esm) (20.19+), which attw's CommonJS
//     resolution modes cannot model;
//  5. the CLI (cli/, the odoo-backup-cli workspace) stays out: no file of it in the tarball, and
//     none of its dependencies among the packed package.json's dependencies of any kind;
//  6. a fresh app installs the tarball with only the package's real dependencies (plus pg, bullmq,
//     @types/pg, @types/node and typescript, which a consumer adds), compiles a file importing every
//     entry point with strict tsc, `skipLibCheck: false`, `module: nodenext`, and runs
//     `require('odoo-backup-sdk')` and an `import()` of each entry point.
// The app's dependencies are links into this repository's node_modules (offline, and exactly the
// dependency closure: a devDependency such as @types/yauzl is not there to hide a leaked type).
// Prints PASS/FAIL per step; exits 1 when any step fails. Cleans up the temp folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokenLinks } from './markdown-links.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoModules = join(root, 'node_modules');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'odoo-backup-sdk-package-'));
const results = [];

/** Runs a command; returns its output, or throws with it. */
function run(command, args, cwd = root) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0) throw new Error(`${[command, ...args].join(' ')} exited ${r.status ?? r.signal}\n${output}`);
  return output;
}

function step(name, fn) {
  try {
    const note = fn();
    results.push({ name, ok: true });
    console.log(`PASS  ${name}${note ? `\n${indent(note)}` : ''}`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}\n${indent(error instanceof Error ? error.message : String(error))}`);
  }
}

const indent = (text) =>
  text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');

/** The CLI file of a devDependency (its package.json `bin`). */
function binOf(name) {
  const manifest = JSON.parse(readFileSync(join(repoModules, name, 'package.json'), 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin)[0];
  return join(repoModules, name, bin);
}

/** The package and everything it depends on, as found in this repository's flat node_modules. */
function closure(names) {
  const seen = new Set();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.pop();
    if (seen.has(name) || !existsSync(join(repoModules, name, 'package.json'))) continue;
    seen.add(name);
    const manifest = JSON.parse(readFileSync(join(repoModules, name, 'package.json'), 'utf8'));
    queue.push(...Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies }));
  }
  return [...seen];
}

const consumer = `import { BackupService, createBackupSdk, createStorageProvider, nextRun, type Backup, type StorageProvider } from 'odoo-backup-sdk';
import { FakeClock, InMemoryBackupRepository, runStorageProviderContract } from 'odoo-backup-sdk/testing';
import { createPostgresRepositories } from 'odoo-backup-sdk/postgres';
import { BullMqJobQueue } from 'odoo-backup-sdk/bullmq';
import { createBackupApi, HTTP_STATUS_BY_CODE, InProcessEventBus, toNodeHandler, type BackupApiHandler } from 'odoo-backup-sdk/http';

const provider: StorageProvider = createStorageProvider({ provider: 'memory' } as never);
const next: Date = nextRun('0 2 * * *', 'UTC', new Date());
const backups = new InMemoryBackupRepository(new FakeClock(new Date(0)));
const api: BackupApiHandler | null = null;
const status: number = HTTP_STATUS_BY_CODE.E_NOT_FOUND;
const touched: unknown[] = [BackupService, createBackupSdk, runStorageProviderContract, createPostgresRepositories, BullMqJobQueue, createBackupApi, InProcessEventBus, toNodeHandler, api, status];
export const summary = { provider: provider.name, next, backups, touched, none: null as Backup | null };
`;

let tarball;
step('npm pack (prepack builds dist/)', () => {
  const out = run('npm', ['pack', '--silent', '--pack-destination', work]);
  tarball = join(work, out.split('\n').pop().trim());
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
  for (const needed of ['package/LICENSE', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/README.md']) {
    if (!listing.includes(needed)) throw new Error(`${needed} is missing from the tarball`);
  }
  const maps = listing.filter((f) => f.endsWith('.js.map'));
  const sample = maps.length > 0 ? execFileSync('tar', ['-xzOf', tarball, maps[0]], { encoding: 'utf8' }) : '{}';
  if (maps.length > 0 && !JSON.parse(sample).sourcesContent) throw new Error(`${maps[0]} has no sourcesContent (src/ is not shipped)`);
  return `${tarball.split('/').pop()}: ${listing.filter(Boolean).length} files, source maps carry their sources`;
});

if (tarball) {
  step('Markdown links resolve inside the tarball', () => {
    const paths = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.startsWith('package/') && !f.endsWith('/'))
      .map((f) => f.slice('package/'.length));
    const text = (path) => execFileSync('tar', ['-xzOf', tarball, `package/${path}`], { encoding: 'utf8' });
    const files = new Map(paths.map((p) => [p, p.endsWith('.md') ? text(p) : null]));
    const broken = brokenLinks(files);
    if (broken.length > 0) throw new Error(broken.map((b) => `${b.file}:${b.line} ${b.target}: ${b.problem}`).join('\n'));
    return `${[...files.keys()].filter((p) => p.endsWith('.md')).length} Markdown files, every relative link inside the tarball`;
  });

  step('the CLI stays out: no cli/ file, none of its dependencies', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    const cliFiles = listing.filter((f) => f.startsWith('package/cli/'));
    if (cliFiles.length > 0) throw new Error(`the tarball holds CLI files: ${cliFiles.slice(0, 5).join(', ')}`);
    const packed = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    const cli = JSON.parse(readFileSync(join(root, 'cli', 'package.json'), 'utf8'));
    const cliOnly = Object.keys(cli.dependencies ?? {}).filter((name) => name !== pkg.name);
    const kinds = ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies'];
    const leaked = kinds.flatMap((kind) =>
      cliOnly.filter((name) => Object.hasOwn(packed[kind] ?? {}, name)).map((name) => `${kind}.${name}`),
    );
    if (leaked.length > 0) throw new Error(`the library's package.json depends on the CLI's packages: ${leaked.join(', ')}`);
    return `${cliOnly.join(', ')}: only the CLI depends on them`;
  });

  step('publint', () => run(process.execPath, [binOf('publint'), 'run', tarball, '--strict']));

  step('attw --profile esm-only', () =>
    run(process.execPath, [
      binOf('@arethetypeswrong/cli'),
      tarball,
      '--profile',
      'esm-only',
      '--no-definitely-typed',
      '--format',
      'table-flipped',
    ]),
  );

  const app = join(work, 'app');
  step('fresh app: install the tarball and its dependencies (offline)', () => {
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    run('tar', ['-xzf', tarball, '-C', work]);
    run('mv', [join(work, 'package'), join(app, 'node_modules', 'odoo-backup-sdk')]);
    const wanted = [...Object.keys(pkg.dependencies), 'pg', 'bullmq', '@types/pg', '@types/node', 'typescript'];
    const linked = closure(wanted);
    for (const name of linked) {
      mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
      symlinkSync(join(repoModules, name), join(app, 'node_modules', name), 'dir');
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }, null, 2));
    const leaks = ['@types/yauzl', '@types/ssh2', '@types/ssh2-sftp-client', '@types/tar-stream'].filter((n) => linked.includes(n));
    return `${linked.length} packages linked${leaks.length ? ` (pulled in by dependencies: ${leaks.join(', ')})` : ''}`;
  });

  step('fresh app: strict tsc, skipLibCheck false, module nodenext, every entry point', () => {
    writeFileSync(join(app, 'index.ts'), consumer);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
        },
        files: ['index.ts'],
      }),
    );
    run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', app], app);
  });

  step("fresh app: require('odoo-backup-sdk') and import() of every entry point", () => {
    const script = `
      const sdk = require('odoo-backup-sdk');
      if (typeof sdk.BackupService !== 'function') throw new Error('require() gave no BackupService');
      Promise.all(['odoo-backup-sdk', 'odoo-backup-sdk/testing', 'odoo-backup-sdk/postgres', 'odoo-backup-sdk/bullmq', 'odoo-backup-sdk/http'].map((m) => import(m)))
        .then((mods) => console.log('entry points:', mods.map((m) => Object.keys(m).length).join(', '), 'names'));`;
    return run(process.execPath, ['-e', script], app);
  });
}

rmSync(work, { recursive: true, force: true });
const failed = results.filter((r) => !r.ok);
console.log(
  failed.length === 0 ? `\ncheck:package PASS (${results.length} steps)` : `\ncheck:package FAIL: ${failed.map((r) => r.name).join('; ')}`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
