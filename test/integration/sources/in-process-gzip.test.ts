import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupSource, type CommandSpec, type RunningCommand } from '../../../src/index.js';
import { LocalCommandRunner } from '../../../src/sources/local-command-runner.js';
import { ADAPTIVE_GZIP_BLOCK_BYTES, AdaptiveGzipStream } from '../../../src/streams/adaptive-gzip-stream.js';
import { collect } from './helpers.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'obsdk-adaptive-gzip-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Text that compresses as Odoo's text attachments do (about 6:1 at gzip -1). */
function text(bytes: number): Buffer {
  const lines: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const line = `Invoice ${i}: ${i % 7} x product ${(i * 31) % 997} at ${(i % 400) / 4} EUR, tax 21 %, partner ${i % 53}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Our gzip of `pieces`, written as they come (the pieces' boundaries fall anywhere in a block). */
async function adaptiveGzip(pieces: Buffer[], level = 1): Promise<{ gz: Buffer; stats: AdaptiveGzipStream['stats'] }> {
  const stream = new AdaptiveGzipStream({ level });
  const out = collect(stream);
  Readable.from(pieces).pipe(stream);
  return { gz: await out, stats: stream.stats };
}

/** `gzip -t` on the bytes, then `gzip -dc` of them: the tool's own verdict and its output. */
async function gzipTool(gz: Buffer): Promise<Buffer> {
  const file = join(work, `t-${randomBytes(4).toString('hex')}.gz`);
  await writeFile(file, gz);
  await run('gzip', ['-t', file]);
  const { stdout } = await run('gzip', ['-dc', file], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

const big = ADAPTIVE_GZIP_BLOCK_BYTES * 2 + 12_345;
const cases: [string, () => Buffer[]][] = [
  ['empty', () => []],
  ['random, over two blocks', () => [randomBytes(big)]],
  ['text, over two blocks', () => [text(big)]],
  [
    'mixed: text, random, zeros and text again in odd-sized pieces',
    () => [text(70_001), randomBytes(300_007), Buffer.alloc(65_536 * 3 + 1), text(1_500_000), randomBytes(33), text(9)],
  ],
];

describe('AdaptiveGzipStream: one standard gzip stream', () => {
  it.each(cases)('%s: gzip -t passes, gzip -d and Node zlib give back the exact bytes', async (_name, make) => {
    const pieces = make();
    const input = Buffer.concat(pieces);
    const { gz, stats } = await adaptiveGzip(pieces);
    expect(sha(gunzipSync(gz))).toBe(sha(input));
    expect(sha(await gzipTool(gz))).toBe(sha(input));
    expect(stats).toMatchObject({ input: input.length, output: gz.length });
    expect(stats.stored + stats.deflated).toBe(input.length);
    // Never much worse than gzip -1, and within 0.1 % of the input where nothing compresses.
    const gzip1 = gzipSync(input, { level: 1 }).length;
    expect(gz.length).toBeLessThanOrEqual(Math.max(gzip1 * 1.02, 64));
    expect(gz.length).toBeLessThanOrEqual(input.length * 1.001 + 64);
  });

  it('stores random bytes and deflates text: what each part cost shows in the stats', async () => {
    const random = await adaptiveGzip([randomBytes(big)]);
    expect(random.stats.stored).toBe(big);
    const txt = await adaptiveGzip([text(big)]);
    expect(txt.stats.deflated).toBe(big);
    expect(txt.gz.length).toBeLessThan(big / 4);
  });

  it('a level above 1 compresses text at least as well; a level outside 1-9 is refused', async () => {
    const input = text(big);
    const [one, six] = [await adaptiveGzip([input], 1), await adaptiveGzip([input], 6)];
    expect(sha(gunzipSync(six.gz))).toBe(sha(input));
    expect(six.gz.length).toBeLessThanOrEqual(one.gz.length);
    expect(() => new AdaptiveGzipStream({ level: 0 })).toThrow(RangeError);
    expect(() => new AdaptiveGzipStream({ level: 10 })).toThrow(RangeError);
  });
});

/** A PATH folder holding `tar` and `sh` only: a stock host without igzip or pigz. */
async function stockPath(): Promise<string> {
  const bin = join(work, 'bin-stock');
  await mkdir(bin, { recursive: true });
  for (const tool of ['tar', 'sh', 'gzip']) {
    const { stdout } = await run('sh', ['-c', `command -v ${tool}`]);
    await symlink(stdout.trim(), join(bin, tool)).catch(() => undefined);
  }
  return bin;
}

/** Runs every command with PATH set to `path` (igzip hidden). */
class PathRunner extends LocalCommandRunner {
  constructor(private readonly path: string) {
    super();
  }
  override start(spec: CommandSpec, options?: { signal?: AbortSignal }): Promise<RunningCommand> {
    return super.start({ ...spec, env: { ...spec.env, PATH: this.path } }, options);
  }
}

async function filestoreOf(folder: string): Promise<{ gz: Buffer; compressor: unknown }> {
  const source = createBackupSource(
    { kind: 'local', connection: { host: '127.0.0.1', port: 5432, user: 'u', database: 'db' }, filestore_path: folder },
    { runner: new PathRunner(await stockPath()) },
  );
  try {
    const tarball = (await source.archiveFilestore({ compressionLevel: 1 }))!;
    const gz = await collect(tarball.stream);
    await tarball.done;
    return { gz, compressor: tarball.compressor };
  } finally {
    await source.close();
  }
}

describe('the filestore of a host without igzip or pigz, gzipped in this process', () => {
  it('tar -tzf lists it, tar -xzf gives every file back, Node zlib reads it; a file larger than a block included', async () => {
    const folder = join(work, 'fs-mixed', 'mydb');
    const files: Record<string, Buffer> = {
      'ab/large-random.pdf': randomBytes(ADAPTIVE_GZIP_BLOCK_BYTES * 2 + 777),
      'ab/large-text.txt': text(ADAPTIVE_GZIP_BLOCK_BYTES + 5),
      'cd/empty': Buffer.alloc(0),
    };
    for (let i = 0; i < 40; i++) files[`e${i % 4}/f${i}`] = i % 3 === 0 ? text(1000 + i * 997) : randomBytes(500 + i * 1499);
    for (const [name, data] of Object.entries(files)) {
      await mkdir(join(folder, name, '..'), { recursive: true });
      await writeFile(join(folder, name), data);
    }
    const { gz, compressor } = await filestoreOf(folder);
    expect(compressor).toMatchObject({ tool: 'zlib-adaptive', level: 1 });
    const file = join(work, 'fs-mixed.tar.gz');
    await writeFile(file, gz);
    await run('gzip', ['-t', file]);
    const { stdout: listing } = await run('tar', ['-tzf', file]);
    for (const name of Object.keys(files)) expect(listing.split('\n')).toContain(`mydb/${name}`);
    // Node's zlib gives back exactly what tar wrote.
    const { stdout: plain } = await run('tar', ['-cf', '-', '-C', join(folder, '..'), '--', 'mydb'], {
      encoding: 'buffer',
      maxBuffer: 64 << 20,
    });
    expect(gunzipSync(gz).length).toBe(plain.length);
    const out = join(work, 'fs-mixed-out');
    await mkdir(out);
    await run('tar', ['-xzf', file, '-C', out]);
    for (const [name, data] of Object.entries(files)) expect(sha(await readFile(join(out, 'mydb', name)))).toBe(sha(data));
  });

  it('a filestore of incompressible files only ends within 1 % of its size', async () => {
    const folder = join(work, 'fs-random', 'mydb');
    let bytes = 0;
    for (let i = 0; i < 48; i++) {
      const data = randomBytes(40_000 + ((i * 7919) % 100) * 1_600);
      await mkdir(join(folder, `d${i % 6}`), { recursive: true });
      await writeFile(join(folder, `d${i % 6}`, `f${i}`), data);
      bytes += data.length;
    }
    const { gz } = await filestoreOf(folder);
    expect(gz.length).toBeLessThanOrEqual(bytes * 1.01);
    // gzip -1 of the same tar wins only the tar headers' zeros (under 1 %), at 40 MB/s of one core.
    const child = spawn('sh', ['-c', `tar -cf - -C "$1" mydb | gzip -1 | wc -c`, 'sh', join(folder, '..')]);
    const gzip1 = Number((await collect(child.stdout)).toString().trim());
    expect(gz.length).toBeLessThanOrEqual(gzip1 * 1.01);
  });
});
