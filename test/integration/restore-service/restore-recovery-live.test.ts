// Crash recovery run from another process, with BullMqJobQueue defaults, while a restore runs on
// its worker: the queue is asked about the job under its own name ('restore'), so the live restore
// is neither rolled back nor failed, and completes.
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryStorageProvider, RestoreService } from '../../../src/index.js';
import { BullMqJobQueue } from '../../../src/integrations/bullmq/index.js';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
import {
  FakeRestoreTarget,
  fakeRestoreTargetFactory,
  makeBackup,
  makeResolvedEnvironment,
  makeStorageConfig,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startRedis, type RedisServer } from '../../servers/redis.js';
import { stubRestoreArchive } from '../../unit/restore-service/harness.js';

const RECOVER = fileURLToPath(new URL('./restore-recover-process.ts', import.meta.url));
const PREFIX = 'live_';

let server: PgServer;
let redis: RedisServer;
let pool: pg.Pool;

beforeAll(async () => {
  [server, redis] = await Promise.all([startPostgres(), startRedis()]);
  await server.createDatabase('records');
  pool = new pg.Pool({ connectionString: server.connectionString('records'), max: 4 });
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await Promise.all([server?.stop(), redis?.stop()]);
});

it('recoverStale in another process with BullMqJobQueue defaults leaves a running restore alone; it completes', async () => {
  const repos = createPostgresRepositories({ client: pool, tablePrefix: PREFIX });
  await repos.migrate();
  const env = makeResolvedEnvironment();
  const config = await repos.storageConfigs.create(makeStorageConfig({ organization_id: env.organization_id, provider: 'memory' }));
  const backup = await repos.backups.create(
    makeBackup({ environment_id: env.environment_id, organization_id: env.organization_id, storage_config_id: config.id }),
  );
  const storage = new MemoryStorageProvider();
  await storage.upload(backup.database_key!, Readable.from([Buffer.from('archive')]));
  const filestore = `/var/lib/odoo/filestore/${env.db_name}`;
  const target = new FakeRestoreTarget({
    database: env.db_name,
    filestorePath: filestore,
    databases: { [env.db_name]: 'PGDMP original', postgres: '' },
    folders: { [filestore]: { 'aa/aaaa': 'original attachment' } },
    facts: { odooVersion: '18.0' },
  });

  // The restore holds before its swap until the other process has run its recovery.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const queue = new BullMqJobQueue({ connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null } });
  const service = new RestoreService({
    ...repos,
    environments: new StaticEnvironmentResolver([env]),
    queue,
    targets: fakeRestoreTargetFactory(target),
    restoreArchive: stubRestoreArchive(),
    storageProviders: () => storage,
    hooks: {
      onStep: async (step) => {
        if (step !== 'before_swap') return;
        held();
        await released;
      },
    },
  });
  const worker = service.startWorker();
  try {
    const task = await service.restoreBackup(backup.id, { mode: 'replace', pre_restore_backup: false });
    await holding;
    const before = await repos.tasks.get(task.id);

    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', RECOVER], {
      env: {
        ...process.env,
        RECOVER_PROCESS: JSON.stringify({
          connectionString: server.connectionString('records'),
          tablePrefix: PREFIX,
          redisPort: redis.port,
          environments: [env],
        }),
      },
    });
    const reports = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, { recovered: unknown[]; errors: unknown[] }>;
    expect(reports.restores).toEqual({ recovered: [], errors: [] });
    expect(reports.backups).toEqual({ recovered: [], copies: [], errors: [] });
    expect(await repos.tasks.get(task.id), 'recovery did not touch the running task').toEqual(before);

    release();
    for (let i = 0; i < 200 && (await repos.tasks.get(task.id))!.status === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    const ended = (await repos.tasks.get(task.id))!;
    expect(ended.status).toBe('completed');
    expect(journalOf(ended)!.outcome).toBe('completed');
    expect(target.databases.get(env.db_name)!.content.toString()).toBe('PGDMP restored');
  } finally {
    release();
    await worker.close();
    await queue.close();
  }
}, 60_000);
