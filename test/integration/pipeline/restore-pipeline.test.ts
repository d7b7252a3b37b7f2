import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract, pack, type Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, serializeManifest, type BackupManifest } from '../../../src/domain/manifest.js';
import {
  BackupRunner,
  MemoryStorageProvider,
  createRestoreTarget,
  createStorageProvider,
  type LocalSource,
  type RestoreTarget,
} from '../../../src/index.js';
import { ArchiveWriter } from '../../../src/pipeline/archive-writer.js';
import { restoreArchive } from '../../../src/pipeline/restore-runner.js';
import { AdaptiveGzipStream } from '../../../src/streams/adaptive-gzip-stream.js';
import {
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  MemoryEventSink,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { miniOdoo } from './mini-odoo.js';
import { fileDigests, openArchiveEntry, tableDigests } from './pipeline-helpers.js';

const run = promisify(execFile);
const DB = 'odoo_src';
const KEY = 'organizations/o/projects/p/environments/e/hostile.zip';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let server: PgServer;
let work: string;
let root: string;
let source: LocalSource;
let genuine: { storage: ReturnType<typeof createStorageProvider>; key: string; size: number; dbChecksum: string };
let parts: { dump: Buffer; filestore: Buffer; manifest: BackupManifest };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `pg_dump --data-only --inserts` of a database, hashed: the restored copy must say exactly the same. */
async function dataHash(db: string): Promise<string> {
  const { stdout } = await run(
    join(server.binDir, 'pg_dump'),
    ['--data-only', '--inserts', '--no-comments', `--host=${server.host}`, `--port=${server.port}`, `--username=${server.user}`, db],
    { env: { ...process.env, PGPASSWORD: server.password }, maxBuffer: 256 * 1024 * 1024 },
  );
  return sha(Buffer.from(stdout.replace(/^-- Dumped (from|by).*$/gm, '').replace(/^\\(un)?restrict .*$/gm, '')));
}

beforeAll(async () => {
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'obsdk-restore-pipe-'));
  root = join(work, 'filestore');
  await miniOdoo(server, DB, root, { attachments: 60 });
  source = {
    kind: 'local',
    connection: { host: server.host, port: server.port, user: server.user, password: server.password, database: DB },
    filestore_path: join(root, DB),
    pg_bin_dir: server.binDir,
  };
  const env = makeResolvedEnvironment({ db_name: DB, source });
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const config = await storageConfigs.create(
    makeStorageConfig(env.organization_id, { provider: 'local', settings: { root: mkdtempSync(join(work, 'storage-')) } }),
  );
  const runner = new BackupRunner({
    backups,
    storageConfigs,
    environments: new StaticEnvironmentResolver([env]),
    events: new MemoryEventSink(),
    storageProviders: (c) => createStorageProvider(c),
  });
  const backup = await runner.run((await backups.create(makeBackup(env, config.id))).id);
  // Verified too: a completed backup whose dump did not read back would fail every test below for it.
  expect(backup).toMatchObject({ status: 'completed', is_verified: true });
  const storage = createStorageProvider(config);
  genuine = { storage, key: backup.database_key!, size: backup.compressed_size!, dbChecksum: backup.database_checksum! };
  parts = {
    dump: await readAll(await openArchiveEntry(storage, genuine.key, 'dump.sql')),
    filestore: await readAll(await openArchiveEntry(storage, genuine.key, 'filestore.tar.gz')),
    manifest: parseManifest(await readAll(await openArchiveEntry(storage, genuine.key, 'manifest.json'))),
  };
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function target(): RestoreTarget {
  return createRestoreTarget(source);
}

describe('restoreArchive on a real PostgreSQL', () => {
  it.each([1, 4])('restores a genuine backup (jobs=%i): same rows, same data dump, same files', async (jobs) => {
    const t = target();
    const database = `odoo_restored_j${jobs}`;
    const folder = join(root, `odoo restored 'é' j${jobs}`);
    try {
      const result = await restoreArchive({
        storage: genuine.storage,
        key: genuine.key,
        target: t,
        database,
        filestoreFolder: folder,
        expected: { size: genuine.size, database_checksum: genuine.dbChecksum },
        jobs,
      });
      expect(result.database_bytes).toBe(parts.dump.length);
      expect(result.filestore_entries).toBeGreaterThan(60);
      expect(await tableDigests(server, database)).toEqual(await tableDigests(server, DB));
      expect(await dataHash(database)).toBe(await dataHash(DB));
      expect(await fileDigests(folder)).toEqual(await fileDigests(join(root, DB)));
    } finally {
      await t.dropDatabase(database);
      await t.removePath(folder);
      await t.close();
    }
  });
});

/** `bytes` through `argv` (a gzip tool reading stdin). */
async function through(argv: string[], bytes: Buffer): Promise<Buffer> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = readAll(child.stdout);
  child.stdin.end(bytes);
  return out;
}

describe('restoreArchive reads the filestore whatever gzipped it', () => {
  // Archives made before this release hold igzip's, pigz's or gzip's output and no compressor field
  // (the genuine backup above is igzip's where the host has it, as the test hosts do).
  it.each([
    ['pigz', '-1'],
    ['gzip', '-6'],
    ['zlib-adaptive', '-1'],
  ])('%s %s', async (tool, level) => {
    const tar = gunzipSync(parts.filestore);
    const gz =
      tool === 'zlib-adaptive'
        ? await readAll(Readable.from([tar]).pipe(new AdaptiveGzipStream()))
        : await through([tool, level, '-c'], tar);
    const storage = await mutated({
      filestore: gz,
      manifest: (m) => {
        if (tool === 'zlib-adaptive') m.filestore!.compressor = { tool, level: 1 };
      },
    });
    const t = target();
    const database = `odoo_gz_${tool.replace('-', '_')}`;
    const folder = join(root, `gz-${tool}`);
    try {
      await restoreArchive({ storage, key: KEY, target: t, database, filestoreFolder: folder });
      expect(await fileDigests(folder)).toEqual(await fileDigests(join(root, DB)));
    } finally {
      await t.dropDatabase(database);
      await t.removePath(folder);
      await t.close();
    }
  });
});

type TarEntry = Partial<Header> & { name: string; body?: Buffer };

/** The genuine filestore's entries, then `extra` appended (or `replace` instead). */
async function tarGzWith(extra: TarEntry[]): Promise<Buffer> {
  const ex = extract();
  const p = pack();
  const out = readAll(p as unknown as Readable);
  const entries: { header: Header; body: Buffer }[] = [];
  const parsed = (async () => {
    for await (const entry of ex) entries.push({ header: entry.header, body: await readAll(entry as unknown as Readable) });
  })();
  ex.end(gunzipSync(parts.filestore));
  await parsed;
  for (const e of entries) p.entry(e.header, e.body);
  for (const { body, ...header } of extra) p.entry({ type: 'file', mode: 0o644, ...header } as Header, body ?? Buffer.alloc(0));
  p.finalize();
  return gzipSync(await out);
}

/** A ustar header declaring `size` bytes for `name`, with no data behind it (a tar bomb's promise). */
function bombHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\x0000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

interface Mutation {
  dump?: Buffer;
  filestore?: Buffer;
  /** Bytes stored in place of the measured ones: the manifest keeps the genuine checksums. */
  storedDump?: Buffer;
  storedFilestore?: Buffer;
  manifest?: (m: BackupManifest) => void;
  extra?: { name: string; data: Buffer };
}

/** A mutated copy of the genuine backup, rebuilt with our writer: checksums follow the new parts unless stored bytes are swapped. */
async function mutated(m: Mutation): Promise<MemoryStorageProvider> {
  const dump = m.dump ?? parts.dump;
  const filestore = m.filestore ?? parts.filestore;
  const manifest: BackupManifest = JSON.parse(JSON.stringify(parts.manifest));
  manifest.database.size = dump.length;
  manifest.database.checksum = sha(dump);
  manifest.filestore = { key: null, size: filestore.length, checksum: sha(filestore), format: 'tar.gz' };
  m.manifest?.(manifest);
  const writer = new ArchiveWriter(new Date());
  writer.addStream('dump.sql', Readable.from([m.storedDump ?? dump]));
  writer.addStream('filestore.tar.gz', Readable.from([m.storedFilestore ?? filestore]));
  if (m.extra) writer.addStream(m.extra.name, Readable.from([m.extra.data]));
  writer.addBuffer('manifest.json', serializeManifest(manifest));
  writer.end();
  const storage = new MemoryStorageProvider();
  await storage.upload(KEY, writer.output);
  return storage;
}

const marker = randomBytes(4).toString('hex');
const outside = () => join(work, `outside-${marker}`);

function flip(b: Buffer, at: number): Buffer {
  const copy = Buffer.from(b);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

describe('restoreArchive refuses hostile archives built from a genuine backup', () => {
  const cases: [string, () => Promise<Mutation>, RegExp][] = [
    [
      'a ../ tar name',
      async () => ({ filestore: await tarGzWith([{ name: `${DB}/../../outside-${marker}`, body: Buffer.from('x') }]) }),
      /E_ARCHIVE/,
    ],
    [
      'an absolute tar name',
      async () => ({ filestore: await tarGzWith([{ name: `${work}/outside-${marker}`, body: Buffer.from('x') }]) }),
      /E_ARCHIVE/,
    ],
    [
      'a symlink then a file written through it',
      async () => ({
        filestore: await tarGzWith([
          { name: `${DB}/ln`, type: 'symlink', linkname: work },
          { name: `${DB}/ln/outside-${marker}`, body: Buffer.from('x') },
        ]),
      }),
      /E_ARCHIVE/,
    ],
    [
      'a device entry',
      async () => ({ filestore: await tarGzWith([{ name: `${DB}/null`, type: 'character-device', devmajor: 1, devminor: 3 }]) }),
      /E_ARCHIVE/,
    ],
    [
      'a tar bomb (a header declaring 1 TB)',
      async () => {
        const tar = gunzipSync(parts.filestore);
        const end = tar.length - 1024; // before the two zero blocks ending the archive
        return { filestore: gzipSync(Buffer.concat([tar.subarray(0, end), bombHeader(`${DB}/bomb`, 1e12), Buffer.alloc(4096)])) };
      },
      /E_ARCHIVE/,
    ],
    ['an unknown manifest major', async () => ({ manifest: (m) => void (m.version = '7.0') }), /E_MANIFEST_VERSION/],
    ['an extra ZIP entry', async () => ({ extra: { name: 'run.sh', data: Buffer.from('#!/bin/sh\n') } }), /E_ARCHIVE/],
    [
      'a flipped byte in the dump',
      async () => ({ storedDump: flip(parts.dump, Math.floor(parts.dump.length / 2)) }),
      /E_CHECKSUM_MISMATCH|E_SOURCE_PG_RESTORE/,
    ],
    [
      'a flipped byte in the filestore',
      async () => ({ storedFilestore: flip(parts.filestore, Math.floor(parts.filestore.length / 2)) }),
      /E_CHECKSUM_MISMATCH|E_ARCHIVE/,
    ],
  ];

  it.each(cases)('%s: refused, nothing written outside, no temporary left', async (_, mutation, code) => {
    const storage = await mutated(await mutation());
    const t = target();
    const database = `odoo_hostile_${marker}`;
    const folder = join(root, `hostile-${marker}`);
    const before = readdirSync(root).sort();
    try {
      const error = await restoreArchive({ storage, key: KEY, target: t, database, filestoreFolder: folder }).then(
        () => null,
        (e: unknown) => e as { code: string },
      );
      expect(error?.code).toMatch(code);
      expect(await t.databaseExists(database)).toBe(false);
      expect(existsSync(folder)).toBe(false);
      expect(existsSync(outside())).toBe(false);
      expect(existsSync(`/outside-${marker}`)).toBe(false);
      expect(readdirSync(root).sort()).toEqual(before);
      expect(await tableDigests(server, DB)).toBeDefined();
    } finally {
      await t.close();
    }
  });
});
