import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  createBackupSource,
  SourceError,
  type BackupSource,
  type CommandRunner,
  type CommandSpec,
  type LocalSource,
  type RunningCommand,
} from '../../../src/index.js';
import { LocalCommandRunner } from '../../../src/sources/local-command-runner.js';
import { quoteShellArg } from '../../../src/sources/shell-quote.js';
import { detectGzipTool } from '../../../src/sources/gzip-tool.js';
import { createOdooFixture, tableDigests, type OdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import {
  collect,
  comm,
  eventually,
  extractedDigests,
  hostileName,
  isPgDump,
  noMarkers,
  pgRestoreInto,
  pgRestoreList,
  processesMatching,
} from './helpers.js';

const run = promisify(execFile);
const marker = randomBytes(3).toString('hex');
const { name: dbName, markers } = hostileName(marker);

let pg: PgServer;
let fixture: OdooFixture;
let work: string;

function localConfig(overrides: Partial<LocalSource['connection']> = {}, filestore: string | null = fixture.filestorePath): LocalSource {
  return {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: dbName, ...overrides },
    filestore_path: filestore,
  };
}

beforeAll(async () => {
  pg = await startPostgres();
  fixture = await createOdooFixture(pg, { dbName, scale: 3 });
  work = await mkdtemp(join(tmpdir(), 'obsdk-src-local-'));
});

afterAll(async () => {
  // Stopping the cluster removes the databases (PgServer.dropDatabase races with pg's pool.end()).
  await pg?.stop();
  if (fixture) await rm(fixture.filestoreRoot, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('shell quoting through real shells', () => {
  it('every string reaches dash and bash intact and never runs as code', async () => {
    const samples = [
      dbName,
      "'",
      "''",
      '"',
      '\\',
      '$HOME',
      '${x}',
      '`id`',
      '$(id)',
      'a;b',
      'a|b&c',
      '\n',
      ' lead',
      'trail ',
      '*',
      '~',
      '=x',
      '!x',
      '#c',
      'é ü 字',
    ];
    const check = async (value: string) => {
      for (const shell of ['dash', 'bash']) {
        const { stdout } = await run(shell, ['-c', `printf '%s' ${quoteShellArg(value)}`]);
        expect(stdout).toBe(value);
      }
    };
    for (const value of samples) await check(value);
    await fc.assert(
      fc.asyncProperty(
        fc.string({
          unit: fc.constantFrom("'", '"', '\\', '$', '(', ')', '`', ';', ' ', '\n', '\t', '&', '|', '*', '~', '!', '#', 'a', '=', '{', '}'),
        }),
        check,
      ),
      { numRuns: 60 },
    );
    expect(noMarkers(markers)).toBe(true);
  });
});

describe('LocalCommandRunner', () => {
  it('kills the whole process group on abort and leaves no process', async () => {
    const tag = `${Math.floor(Math.random() * 1e6)}.${marker.length}71`;
    const controller = new AbortController();
    const runner = new LocalCommandRunner();
    // sh starts a grandchild: killing only sh would leave it behind.
    const command = await runner.start({ argv: ['sh', '-c', `sleep 5${tag} & sleep 6${tag}; echo never`] }, { signal: controller.signal });
    command.stdout.resume();
    const sleeps = () => processesMatching(tag).filter((pid) => comm(pid) === 'sleep');
    expect(await eventually(() => sleeps().length === 2)).toBe(true);
    controller.abort();
    const exit = await command.wait();
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await eventually(() => processesMatching(`${tag}`).length === 0)).toBe(true);
  });

  it('passes env without a shell, keeps the stderr tail, and rejects a program that does not exist', async () => {
    const runner = new LocalCommandRunner();
    const command = await runner.start({ argv: ['sh', '-c', 'printf %s "$SECRET_X"; echo oops >&2; exit 3'], env: { SECRET_X: 'v$(id)' } });
    expect((await collect(command.stdout)).toString()).toBe('v$(id)');
    expect(await command.wait()).toEqual({ code: 3, signal: null, stderrTail: 'oops\n' });
    await expect(runner.start({ argv: ['/nonexistent/pg_dump'] })).rejects.toMatchObject({
      code: 'E_SOURCE',
      message: expect.stringContaining('no such program'),
    });
  });
});

describe('local source', () => {
  it('dumps a database with a hostile name: the bytes restore to the same tables, and no injected command ran', async () => {
    const source = createBackupSource(localConfig());
    const dump = await source.dumpDatabase({ compressionLevel: 1 });
    const file = join(work, 'dump.bin');
    await pipeline(dump.stream, createWriteStream(file));
    await dump.done;
    const list = await pgRestoreList(pg, file);
    expect(list).toContain(`dbname: ${dbName.replace('\n', ' ')}`);
    expect(list).toContain('TABLE DATA public ir_attachment');
    await pgRestoreInto(pg, file, 'restored_local');
    expect(await tableDigests(pg, 'restored_local')).toEqual(await fixture.databaseDigest());
    expect(noMarkers(markers)).toBe(true);
  });

  it('archives a filestore folder with a hostile name: every file comes back with the same hash', async () => {
    const source = createBackupSource(localConfig());
    const tarball = await source.archiveFilestore();
    expect(tarball).not.toBeNull();
    const restored = await extractedDigests(tarball!, work, basename(fixture.filestorePath));
    expect(Object.keys(restored)).toHaveLength(fixture.counts.files);
    expect(restored).toEqual(await fixture.filestoreDigest());
    expect(noMarkers(markers)).toBe(true);
  });

  it('returns null for a missing or unset filestore folder, and an error for a file', async () => {
    expect(await createBackupSource(localConfig({}, join(work, 'no-such-folder'))).archiveFilestore()).toBeNull();
    expect(await createBackupSource(localConfig({}, null)).archiveFilestore()).toBeNull();
    await writeFile(join(work, 'a-file'), 'x');
    await expect(createBackupSource(localConfig({}, join(work, 'a-file'))).archiveFilestore()).rejects.toMatchObject({
      code: 'E_SOURCE_TAR',
    });
  });

  it("a nonexistent database is E_SOURCE_PG_DUMP with pg_dump's message, after the output ended cleanly", async () => {
    const source = createBackupSource(localConfig({ database: `nope ${marker}` }));
    const dump = await source.dumpDatabase();
    await collect(dump.stream); // stdout ends without error: only `done` tells the failure
    const error = await dump.done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'E_SOURCE_PG_DUMP', transient: false, details: { tool: 'pg_dump', phase: 'dump', exit_code: 1 } });
    expect((error as SourceError).message).toContain(`pg_dump failed: database "nope ${marker}" does not exist`);
    expect((error as SourceError).details.stderr_tail).toContain('does not exist');
  });

  it('a wrong password is reported without the password', async () => {
    const password = `wrong-${marker}-pw`;
    const dump = await createBackupSource(localConfig({ password })).dumpDatabase();
    await collect(dump.stream);
    const error = (await dump.done.catch((e: unknown) => e)) as SourceError;
    expect(error.message).toContain('password authentication failed');
    expect(JSON.stringify(error.toJSON())).not.toContain(password);
  });

  it('a pg_bin_dir without pg_dump fails with a message naming it', async () => {
    const source = createBackupSource({ ...localConfig(), pg_bin_dir: '/nonexistent/bin' });
    await expect(source.dumpDatabase()).rejects.toMatchObject({
      code: 'E_SOURCE_PG_DUMP',
      message: expect.stringContaining('pg_bin_dir /nonexistent/bin'),
    });
  });

  it('abort() and the AbortSignal kill pg_dump: done rejects with AbortedError and no pg_dump is left', async () => {
    const sources: BackupSource[] = [createBackupSource(localConfig()), createBackupSource(localConfig())];
    // Nobody reads the output, so pg_dump blocks on a full pipe and is still running when aborted.
    const first = await sources[0]!.dumpDatabase({ compressionLevel: 0 });
    const controller = new AbortController();
    const second = await sources[1]!.dumpDatabase({ compressionLevel: 0, signal: controller.signal });
    expect(await eventually(() => processesMatching(marker).filter(isPgDump).length === 2)).toBe(true);
    first.abort();
    controller.abort();
    await expect(first.done).rejects.toBeInstanceOf(AbortedError);
    await expect(second.done).rejects.toBeInstanceOf(AbortedError);
    await expect(collect(first.stream)).rejects.toBeInstanceOf(AbortedError);
    expect(await eventually(() => processesMatching(marker).filter(isPgDump).length === 0)).toBe(true);
  });
});

/** Runs commands through a LocalCommandRunner, recording each argv and optionally overriding PATH. */
class RecordingRunner implements CommandRunner {
  readonly argvs: string[][] = [];
  private readonly inner = new LocalCommandRunner();
  constructor(private readonly path?: string) {}
  start(spec: CommandSpec, options?: { signal?: AbortSignal }): Promise<RunningCommand> {
    this.argvs.push([...spec.argv]);
    return this.inner.start(this.path ? { ...spec, env: { ...spec.env, PATH: this.path } } : spec, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('local source: filestore compressor', () => {
  const folder = () => basename(fixture.filestorePath);

  /** A PATH folder holding only `tools` (symlinks to this host's), to hide a compressor. */
  async function pathWith(name: string, tools: string[]): Promise<string> {
    const bin = join(work, name);
    await mkdir(bin, { recursive: true });
    for (const tool of tools) {
      const { stdout } = await run('sh', ['-c', `command -v ${tool}`]);
      await symlink(stdout.trim(), join(bin, tool)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
    return bin;
  }

  it('gzips with igzip at levels 1-3 where the host has it and in this process above, igzip probed once per source; standard .tar.gz', async () => {
    const runner = new RecordingRunner();
    const source = createBackupSource(localConfig(), { runner });
    const compressors = [];
    for (const level of [1, 3, 6, 1]) {
      const tarball = await source.archiveFilestore({ compressionLevel: level });
      compressors.push({ tool: tarball!.compressor?.tool, level: tarball!.compressor?.level });
      expect(await extractedDigests(tarball!, work, folder())).toEqual(await fixture.filestoreDigest());
    }
    expect(compressors).toEqual([
      { tool: 'igzip', level: 1 },
      { tool: 'igzip', level: 3 },
      { tool: 'zlib-adaptive', level: 6 },
      { tool: 'igzip', level: 1 },
    ]);
    expect(runner.argvs.filter((argv) => argv[0] === 'igzip' || argv[0] === 'pigz')).toEqual([['igzip', '--version']]);
    const tars = runner.argvs.filter((argv) => argv[0] === 'tar');
    expect(tars.map((argv) => argv.slice(1, 3))).toEqual([
      ['-I', 'igzip -1'],
      ['-I', 'igzip -3'],
      ['-cf', '-'],
      ['-I', 'igzip -1'],
    ]);
    expect(await detectGzipTool(new LocalCommandRunner(), 1)).toMatchObject({
      tool: 'igzip',
      version: expect.stringMatching(/^igzip .*\d+\.\d+/),
    });
    expect(await detectGzipTool(new LocalCommandRunner(), 4)).toMatchObject({ tool: 'zlib-adaptive' });
  });

  it('without igzip (pigz or not), a plain tar gzipped in this process at every level: same files back, igzip probed once', async () => {
    const runner = new RecordingRunner(await pathWith('bin-without-igzip', ['tar', 'gzip', 'sh', 'pigz']));
    expect(await detectGzipTool(runner, 3)).toMatchObject({ tool: 'zlib-adaptive', version: expect.stringContaining('zlib') });
    const source = createBackupSource(localConfig(), { runner });
    for (const level of [1, 6]) {
      const tarball = await source.archiveFilestore({ compressionLevel: level });
      expect(tarball!.compressor).toMatchObject({ tool: 'zlib-adaptive', level });
      expect(await extractedDigests(tarball!, work, folder())).toEqual(await fixture.filestoreDigest());
    }
    expect(runner.argvs.map((argv) => argv.slice(0, 3))).toEqual([
      ['igzip', '--version'],
      ['igzip', '--version'],
      ['tar', '-cf', '-'],
      ['tar', '-cf', '-'],
    ]);
  });

  it('an abort reaches the reader of an in-process gzip as E_ABORTED, and done rejects too', async () => {
    const runner = new RecordingRunner(await pathWith('bin-without-igzip', ['tar', 'gzip', 'sh', 'pigz']));
    const source = createBackupSource(localConfig(), { runner });
    const controller = new AbortController();
    const tarball = await source.archiveFilestore({ signal: controller.signal });
    controller.abort();
    await expect(collect(tarball!.stream)).rejects.toMatchObject({ code: 'E_ABORTED' });
    await expect(tarball!.done).rejects.toBeInstanceOf(AbortedError);
  });
});
