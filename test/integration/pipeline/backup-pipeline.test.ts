import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  BackupRunner,
  SourceError,
  createBackupSource,
  createStorageProvider,
  type BackupSource,
  parseManifest,
  type Backup,
  type LocalSource,
  type StorageConfig,
  type StorageProvider,
} from '../../../src/index.js';
import {
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  MemoryEventSink,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startS3, type S3Server } from '../../servers/s3.js';
import { descendantTools, fileDigests, filesUnder, openArchiveEntry, runWithInput, tableDigests } from './pipeline-helpers.js';
import { miniOdoo } from './mini-odoo.js';

let server: PgServer;
let work: string;
let filestore: string;
const DB = 'odoo_src';

beforeAll(async () => {
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'obsdk-pipeline-'));
  ({ filestore } = await miniOdoo(server, DB, join(work, 'filestore'), { attachments: 80 }));
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function localSource(overrides: Partial<LocalSource> = {}, database = DB): LocalSource {
  return {
    kind: 'local',
    connection: { host: server.host, port: server.port, user: server.user, password: server.password, database },
    filestore_path: filestore,
    pg_bin_dir: server.binDir,
    ...overrides,
  };
}

async function setup(source: LocalSource, storage?: { config?: Partial<StorageConfig>; wrap?: (p: StorageProvider) => StorageProvider }) {
  const env = makeResolvedEnvironment({ db_name: source.connection.database, source });
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const root = mkdtempSync(join(work, 'storage-'));
  const config = await storageConfigs.create(
    makeStorageConfig(env.organization_id, { provider: 'local', settings: { root }, ...storage?.config }),
  );
  const events = new MemoryEventSink();
  const providers: StorageProvider[] = [];
  const runner = new BackupRunner({
    backups,
    storageConfigs,
    environments: new StaticEnvironmentResolver([env]),
    events,
    storageProviders: (c) => {
      const p = storage?.wrap ? storage.wrap(createStorageProvider(c)) : createStorageProvider(c);
      providers.push(p);
      return p;
    },
  });
  const backup = await backups.create(makeBackup(env, config.id));
  return { env, backups, storageConfigs, config, root, events, runner, backup, provider: () => createStorageProvider(config) };
}

async function expectFailedAndClean(ctx: Awaited<ReturnType<typeof setup>>, error: unknown): Promise<Backup> {
  const rec = (await ctx.backups.get(ctx.backup.id))!;
  expect(rec.status).toBe('failed');
  expect(rec.error_message).toBeTruthy();
  expect(rec.error_message).not.toContain(server.password);
  expect(JSON.stringify(rec.error_details)).not.toContain(server.password);
  expect(String((error as Error).message)).not.toContain(server.password);
  expect(filesUnder(ctx.root)).toEqual([]); // no object, no temp file
  expect(descendantTools()).toEqual([]); // no pg_dump / tar / gzip left
  expect((await ctx.storageConfigs.get(ctx.config.id))?.object_count).toBe(0);
  return rec;
}

/** Pids of the pg_dump processes talking to this file's server. */
function pgDumpPids(): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv.some((a) => a.endsWith('/pg_dump') || a === 'pg_dump') && argv.some((a) => a.includes(String(server.port)));
      } catch {
        return false; // gone meanwhile
      }
    });
}

describe('backup pipeline on a real PostgreSQL', () => {
  it('a pg_dump that ends before the archive starts reading it still lands whole in dump.sql', async () => {
    // The filestore's tool starts only once pg_dump has exited (as a slow filestore start under
    // load let it): Node then drops a child's output nobody reads yet, unless it is held for its reader.
    const ctx = await setup(localSource());
    const runner = new BackupRunner({
      backups: ctx.backups,
      storageConfigs: ctx.storageConfigs,
      environments: new StaticEnvironmentResolver([ctx.env]),
      events: ctx.events,
      storageProviders: (c) => createStorageProvider(c),
      sources: (config) => {
        const real = createBackupSource(config);
        let dumpStarted: Promise<unknown> = Promise.resolve();
        return Object.assign(Object.create(real) as BackupSource, {
          dumpDatabase: (o: Parameters<BackupSource['dumpDatabase']>[0]) => (dumpStarted = real.dumpDatabase(o)),
          archiveFilestore: async (o: Parameters<BackupSource['archiveFilestore']>[0]) => {
            await dumpStarted;
            for (let waited = 0; pgDumpPids().length > 0; waited += 20) {
              if (waited > 60_000) throw new Error('pg_dump did not end');
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            return real.archiveFilestore(o);
          },
        });
      },
    });
    const done = await runner.run(ctx.backup.id);
    expect(done).toMatchObject({ status: 'completed', is_verified: true, verification_error: null });
    const dump = await openArchiveEntry(ctx.provider(), done.database_key!, 'dump.sql');
    const chunks: Buffer[] = [];
    for await (const c of dump) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).length).toBe(done.database_size);
    expect(Buffer.concat(chunks).subarray(0, 5).toString()).toBe('PGDMP');
  });

  it('round trip: back up, verify, download, restore into a fresh database and compare every table and file', async () => {
    const ctx = await setup(localSource());
    const done = await ctx.runner.run(ctx.backup.id, { verify: true });
    expect(done.status).toBe('completed');
    expect(done.is_verified).toBe(true);
    expect(done.verification_error).toBeNull();
    expect(done.database_size).toBeGreaterThan(1000);
    expect(done.filestore_size).toBeGreaterThan(1000);
    expect(filesUnder(ctx.root)).toEqual([done.database_key]);
    expect((await ctx.storageConfigs.get(ctx.config.id))?.total_size_bytes).toBe(done.compressed_size);

    const provider = ctx.provider();
    const manifestStream = await openArchiveEntry(provider, done.database_key!, 'manifest.json');
    const chunks: Buffer[] = [];
    for await (const c of manifestStream) chunks.push(c as Buffer);
    const manifest = parseManifest(Buffer.concat(chunks));
    expect(manifest.database).toMatchObject({ name: DB, size: done.database_size, checksum: done.database_checksum, compression_level: 1 });
    // igzip is installed on the test hosts (scripts/ensure-system-deps.mjs): it made the tarball.
    expect(manifest.filestore?.compressor).toMatchObject({ tool: 'igzip', level: 1, version: expect.stringContaining('igzip') });
    expect(JSON.stringify(manifest)).not.toContain(server.password);
    // Versions read in flight from the dump's header.
    const [{ v }] = (await server.query<{ v: string }>(DB, "SELECT current_setting('server_version') AS v")) as [{ v: string }];
    expect(manifest.database.pg_version).toBe(v);
    expect(manifest.database.pg_dump_version).toMatch(/^\d+\.\d+/);
    expect(manifest.database.archive_version).toMatch(/^1\.\d+$/);

    // Restore the dump into a fresh database with pg_restore, straight from the archive.
    await server.createDatabase('odoo_restored');
    await runWithInput(
      [
        join(server.binDir, 'pg_restore'),
        '--no-owner',
        '--exit-on-error',
        '-h',
        server.host,
        '-p',
        String(server.port),
        '-U',
        server.user,
        '-d',
        'odoo_restored',
      ],
      await openArchiveEntry(provider, done.database_key!, 'dump.sql'),
      {
        PGPASSWORD: server.password,
      },
    );
    const source = await tableDigests(server, DB);
    expect(Object.keys(source).sort()).toEqual([
      'fetchmail_server',
      'ir_act_server',
      'ir_attachment',
      'ir_cron',
      'ir_mail_server',
      'ir_model_data',
      'ir_module_module',
      'payment_provider',
      'res_partner',
      'res_users',
    ]);
    expect(source.res_partner!.rows).toBe(2000);
    expect(await tableDigests(server, 'odoo_restored')).toEqual(source);

    // Extract the tarball and compare every file.
    const out = mkdtempSync(join(work, 'extract-'));
    await runWithInput(['tar', '-xzf', '-', '-C', out], await openArchiveEntry(provider, done.database_key!, 'filestore.tar.gz'));
    const extracted = await fileDigests(join(out, DB));
    const original = await fileDigests(filestore);
    expect(Object.keys(original)).toHaveLength(80);
    expect(extracted).toEqual(original);
    // Every attachment row points at a file with its SHA-1.
    const rows = await server.query<{ store_fname: string }>(DB, 'SELECT store_fname FROM ir_attachment');
    for (const r of rows) expect(extracted[r.store_fname]).toBeDefined();
  });

  it("a nonexistent database fails with PostgreSQL's reason as a pg_dump failure, and leaves nothing", async () => {
    const ctx = await setup(localSource({}, 'no_such_db'));
    const error = await ctx.runner.run(ctx.backup.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('E_SOURCE_PG_DUMP');
    const rec = await expectFailedAndClean(ctx, error);
    expect(rec.error_message).toMatch(/no_such_db.*does not exist/);
    // The snapshot session meets it first, before pg_dump starts: the same code, its own step.
    expect(rec.error_details).toMatchObject({ code: 'E_SOURCE_PG_DUMP', phase: 'dump', step: 'snapshot', tool: 'psql' });
    expect(String(rec.error_details?.stderr_tail)).toMatch(/does not exist/);
  });

  it("a filestore tar cannot read fails with tar's reason, and leaves nothing", async () => {
    // Tests run as root, which reads any ordinary file: /proc/sys/vm holds write-only entries
    // (drop_caches) that even root cannot open, so tar really fails ("Cannot open: Permission denied").
    const ctx = await setup(localSource({ filestore_path: '/proc/sys/vm' }));
    const error = await ctx.runner.run(ctx.backup.id).catch((e: unknown) => e);
    expect((error as SourceError).code).toBe('E_SOURCE_TAR');
    const rec = await expectFailedAndClean(ctx, error);
    expect(rec.error_message).toMatch(/archiving the filestore/);
    expect(rec.error_message).toMatch(/Permission denied/);
    expect(rec.error_details).toMatchObject({ phase: 'filestore', exit_code: 2 });
  });

  it('abort after 1 s kills pg_dump and fails the record', async () => {
    // Hold a lock pg_dump must wait for, so it is certainly still running after a second.
    const locker = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: DB });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE res_partner IN ACCESS EXCLUSIVE MODE');
    try {
      const ctx = await setup(localSource());
      const ac = new AbortController();
      const started = Date.now();
      const timer = setTimeout(() => ac.abort(new Error('cancelled by the test')), 1000);
      const running = ctx.runner.run(ctx.backup.id, { signal: ac.signal }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 700));
      expect(descendantTools(['pg_dump'])).toHaveLength(1);
      const error = await running;
      clearTimeout(timer);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(error).toBeInstanceOf(AbortedError);
      const rec = await expectFailedAndClean(ctx, error);
      expect(rec.error_details).toMatchObject({ code: 'E_ABORTED' });
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    // The killed pg_dump's server session was blocked on the lock; PostgreSQL notices the closed
    // connection once the lock is released, and the session ends.
    let left = 1;
    for (let i = 0; i < 50 && left > 0; i++) {
      const [r] = await server.query<{ n: string }>(
        'postgres',
        `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = 'pg_dump'`,
      );
      left = Number(r!.n);
      if (left > 0) await new Promise((res) => setTimeout(res, 100));
    }
    expect(left).toBe(0);
  });

  describe('storage server killed mid-upload', () => {
    let s3: S3Server;
    beforeAll(async () => {
      s3 = await startS3();
    });
    afterAll(async () => {
      await s3?.stop();
    });

    it('fails with a storage error, kills the tools, and no object exists after restart', async () => {
      const bigStore = join(work, 'big-filestore');
      const { filestore: big } = await miniOdoo(server, 'odoo_big', bigStore, { attachments: 3, bigFileBytes: 24 * 1024 * 1024 });
      let killing: Promise<void> | undefined;
      const ctx = await setup(localSource({ filestore_path: big }, 'odoo_big'), {
        config: {
          provider: 'minio',
          settings: { bucket: s3.bucket, endpoint: s3.endpoint, part_size_mb: 5, queue_size: 2, retries: 1, retry_min_delay_ms: 50 },
          credentials: { access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
        },
        wrap: (p) =>
          Object.assign(Object.create(p) as StorageProvider, {
            upload: (key: string, body: Readable, options: object) => {
              let seen = 0;
              const spy = new Transform({
                transform(chunk: Buffer, _e, cb) {
                  seen += chunk.length;
                  if (!killing && seen >= 8 * 1024 * 1024) killing = s3.kill();
                  cb(null, chunk);
                },
              });
              body.on('error', (e) => spy.destroy(e));
              return p.upload(key, body.pipe(spy), options);
            },
          }),
      });
      const error = await ctx.runner.run(ctx.backup.id).catch((e: unknown) => e);
      await killing;
      expect((error as { code?: string }).code).toMatch(/^E_STORAGE/);
      const rec = (await ctx.backups.get(ctx.backup.id))!;
      expect(rec.status).toBe('failed');
      expect(rec.error_message).toMatch(/uploading the archive/);
      expect(rec.error_details).toMatchObject({ phase: 'upload' });
      expect(JSON.stringify(rec)).not.toContain(s3.secretAccessKey);
      expect(descendantTools()).toEqual([]);
      await s3.restart();
      expect(await ctx.provider().head(rec.database_key!)).toMatchObject({ exists: false });
    });
  });
});
