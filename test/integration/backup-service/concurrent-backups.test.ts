import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupService, createStorageProvider, getQuotaStatus, type StorageConfig } from '../../../src/index.js';
import { createPostgresRepositories, type PostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { InMemoryJobQueue, makeResolvedEnvironment, MemoryEventSink, StaticEnvironmentResolver } from '../../../src/testing/index.js';
import { createOdooFixture, type OdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startS3, type S3Server } from '../../servers/s3.js';

// 50 backup requests at once, 10 jobs at a time: real PostgreSQL (records and the dumped
// database), real pg_dump and tar, the loopback S3 server.
const REQUESTS = 50;
const CONCURRENCY = 10;

let pgServer: PgServer;
let s3: S3Server;
let pool: pg.Pool;
let repos: PostgresRepositories;
let fixture: OdooFixture;

beforeAll(async () => {
  [pgServer, s3] = await Promise.all([startPostgres(), startS3()]);
  await pgServer.createDatabase('obsdk_records');
  // An Odoo-shaped database (about 1 MB of table data) and its filestore.
  fixture = await createOdooFixture(pgServer, { dbName: 'odoo_concurrent', databaseMb: 1, filestoreMb: 0.5 });
  pool = new pg.Pool({ connectionString: pgServer.connectionString('obsdk_records'), max: 20 });
  repos = createPostgresRepositories({ client: pool });
  await repos.migrate();
});

afterAll(async () => {
  await pool?.end();
  await fixture?.cleanup();
  await Promise.all([pgServer?.stop(), s3?.stop()]);
});

describe('BackupService under concurrency (PostgreSQL records, pg_dump, S3)', () => {
  it(`runs ${REQUESTS} concurrent requests with ${CONCURRENCY} workers: all complete, each object stored once, usage counters exact`, async () => {
    const env = makeResolvedEnvironment({
      db_name: 'odoo_concurrent',
      source: {
        kind: 'local',
        connection: {
          host: pgServer.host,
          port: pgServer.port,
          user: pgServer.user,
          password: pgServer.password,
          database: 'odoo_concurrent',
        },
        filestore_path: fixture.filestorePath,
        pg_bin_dir: pgServer.binDir,
      },
    });
    const config: StorageConfig = await repos.storageConfigs.create({
      id: randomUUID(),
      organization_id: env.organization_id,
      name: 's3rver',
      provider: 'minio',
      is_default: true,
      settings: { bucket: s3.bucket, endpoint: s3.endpoint, part_size_mb: 5, retries: 2, retry_min_delay_ms: 20 },
      credentials: { access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
      storage_class: null,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
    const queue = new InMemoryJobQueue();
    const events = new MemoryEventSink();
    const service = new BackupService({
      backups: repos.backups,
      tasks: repos.tasks,
      storageConfigs: repos.storageConfigs,
      policies: repos.policies,
      environments: new StaticEnvironmentResolver([env]),
      queue,
      events,
    });
    const worker = service.startWorker({ concurrency: CONCURRENCY });

    // Each request from its own user, so the manual rate limit (10 an hour per key) is not what is tested here.
    const created = await Promise.all(
      Array.from({ length: REQUESTS }, () => service.createBackup(env.environment_id, { backup_type: 'manual' }, { id: randomUUID() })),
    );
    await queue.idle();
    await worker.close();

    expect(new Set(created.map((c) => c.id)).size).toBe(REQUESTS);
    expect(await queue.deadLetters()).toEqual([]);
    const backups = await repos.backups.find({ environment_id: env.environment_id });
    expect(backups).toHaveLength(REQUESTS);
    for (const b of backups) {
      expect(b.status, b.error_message ?? '').toBe('completed');
      expect(b.compressed_size).toBeGreaterThan(b.total_size * 0.5);
      expect(b.database_checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(b.filestore_checksum).toMatch(/^[0-9a-f]{64}$/);
    }
    for (const c of created)
      expect(await repos.tasks.get(c.task_id)).toMatchObject({ status: 'completed', attempts: 1, result: { backup_id: c.id } });

    // Storage: exactly one object per backup, of the recorded size, nothing else under the org.
    const provider = createStorageProvider(config);
    const listed = [];
    for await (const o of provider.list(`organizations/${env.organization_id}/`)) listed.push(o);
    await provider.close();
    expect(listed.map((o) => o.key).sort()).toEqual(backups.map((b) => b.database_key).sort());
    const sizeOf = new Map(backups.map((b) => [b.database_key, b.compressed_size]));
    for (const o of listed) expect(o.size).toBe(sizeOf.get(o.key));
    expect(s3.pendingUploads()).toEqual([]);

    // Usage counters: incremented atomically once per backup, so exact under concurrency.
    const sum = backups.reduce((s, b) => s + b.compressed_size, 0);
    expect(await repos.storageConfigs.get(config.id)).toMatchObject({ object_count: REQUESTS, total_size_bytes: sum });
    expect((await getQuotaStatus({ backups: repos.backups }, env.organization_id)).used_bytes).toBe(sum);
    expect((await service.getSummary(env.environment_id)).total_size_bytes).toBe(sum);

    const completedEvents = events.ofType('task.status').filter((e) => e.data.status === 'completed');
    expect(completedEvents).toHaveLength(REQUESTS);
  });
});
