// A BullMQ worker SIGKILLed in the middle of a backup's second copy: BullMQ sees the job's lock
// lapse and delivers it again to another worker, which copies the object again from the start;
// the copy completes with both objects hashing to stored_checksum.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BackupService, createStorageProvider, nullEventSink, nullNotifier, systemClock } from '../../../src/index.js';
import { BullMqJobQueue } from '../../../src/integrations/bullmq/index.js';
import { createPostgresRepositories, type PostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { scheduleBackupCopy } from '../../../src/services/backup/backup-copy.js';
import { BACKUP_JOB_RETRY } from '../../../src/services/backup/backup-job.js';
import { makeBackup, makeBackupPolicy, makeResolvedEnvironment, makeStorageConfig } from '../../../src/testing/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startRedis, type RedisServer } from '../../servers/redis.js';
import type { CopyCrashWorkerConfig } from './copy-crash-worker.js';

const WORKER = fileURLToPath(new URL('./copy-crash-worker.ts', import.meta.url));
const PREFIX = 'copycrash';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let server: PgServer;
let redis: RedisServer;
let pool: pg.Pool;
let repos: PostgresRepositories;
let work: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  [server, redis] = await Promise.all([startPostgres(), startRedis()]);
  await server.createDatabase('copy_crash');
  pool = new pg.Pool({ connectionString: server.connectionString('copy_crash'), max: 4 });
  repos = createPostgresRepositories({ client: pool });
  await repos.migrate();
  work = mkdtempSync(join(tmpdir(), 'obsdk-copy-crash-'));
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pool?.end();
  await Promise.all([server?.stop(), redis?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('a worker SIGKILLed mid-copy: the job is delivered again and the copy completes', async () => {
  const env = makeResolvedEnvironment();
  const org = env.organization_id;
  const primaryRoot = join(work, 'primary');
  const secondaryRoot = join(work, 'secondary');
  mkdirSync(primaryRoot);
  mkdirSync(secondaryRoot);
  const primary = await repos.storageConfigs.create(
    makeStorageConfig({ organization_id: org, provider: 'local', settings: { root: primaryRoot }, credentials: null }),
  );
  const secondary = await repos.storageConfigs.create(
    makeStorageConfig({ organization_id: org, provider: 'local', settings: { root: secondaryRoot }, credentials: null }),
  );
  await repos.policies.create(
    makeBackupPolicy({ environment_id: env.environment_id, storage_config_id: primary.id, secondary_storage_config_id: secondary.id }),
  );
  // A completed, verified backup whose object is 6 MiB of random bytes.
  const object = randomBytes(6 * 1024 * 1024);
  const backup = await repos.backups.create(
    makeBackup({
      environment_id: env.environment_id,
      organization_id: org,
      project_id: env.project_id,
      storage_config_id: primary.id,
      status: 'completed',
      is_verified: true,
      compressed_size: object.length,
      stored_checksum: sha(object),
    }),
  );
  const primaryProvider = createStorageProvider(primary);
  await primaryProvider.upload(backup.database_key!, Readable.from([object]));

  // The copy is scheduled on BullMQ; the crashing worker takes it.
  const queue = new BullMqJobQueue({
    connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null },
    prefix: PREFIX,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
  });
  const scheduled = await scheduleBackupCopy(
    {
      ...repos,
      storageProviders: createStorageProvider,
      clock: systemClock,
      events: nullEventSink,
      notifier: nullNotifier,
      queue,
      ids: randomUUID,
      retry: BACKUP_JOB_RETRY,
    },
    backup,
  );
  expect(scheduled).toMatchObject({ copy_status: 'pending', copy_storage_config_id: secondary.id });
  const config: CopyCrashWorkerConfig = {
    connectionString: server.connectionString('copy_crash'),
    redis: { host: redis.host, port: redis.port },
    prefix: PREFIX,
    environment: env,
    secondaryRoot,
    hangAfterBytes: 1024 * 1024,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, COPY_CRASH_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
    exited.then(() => {
      throw new Error(`The worker exited early: ${stderr}`);
    }),
  ]);
  expect((await repos.backups.get(backup.id))!.copy_status).toBe('running');
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  children.delete(child);

  // Another worker: BullMQ finds the job stalled (its lock lapsed) and delivers it again.
  const service = new BackupService({ ...repos, environments: { resolve: async () => env }, queue });
  const worker = service.startWorker({ concurrency: 1 });
  try {
    const done = await until('the copy to complete', async () => {
      const b = (await repos.backups.get(backup.id))!;
      return b.copy_status === 'completed' || b.copy_status === 'failed' ? b : null;
    });
    expect(done, done.copy_error ?? '').toMatchObject({
      status: 'completed',
      is_verified: true,
      copy_status: 'completed',
      copy_key: backup.database_key,
    });
    expect(sha(readFileSync(join(secondaryRoot, done.copy_key!)))).toBe(backup.stored_checksum);
    expect((await repos.tasks.get(done.copy_task_id!))!).toMatchObject({ task_type: 'backup_copy', status: 'completed' });
  } finally {
    await worker.close();
    await queue.close();
    await primaryProvider.close();
  }
}, 60_000);
