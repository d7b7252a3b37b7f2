import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupService, createStorageProvider } from '../../../src/index.js';
import { WORKER_LOST_CODE } from '../../../src/services/backup/stale-recovery.js';
import { createPostgresRepositories, type PostgresRepositories } from '../../../src/integrations/postgres/index.js';
import {
  InMemoryJobQueue,
  makeResolvedEnvironment,
  MemoryEventSink,
  MemoryNotifier,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import type { CrashWorkerConfig } from './crash-worker.js';

const WORKER = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));

let pgServer: PgServer;
let pool: pg.Pool;
let repos: PostgresRepositories;
let storageRoot: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  pgServer = await startPostgres();
  await pgServer.createDatabase('obsdk_crash');
  pool = new pg.Pool({ connectionString: pgServer.connectionString('obsdk_crash'), max: 4 });
  repos = createPostgresRepositories({ client: pool });
  await repos.migrate();
  storageRoot = mkdtempSync(join(tmpdir(), 'obsdk-crash-storage-'));
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pool?.end();
  await pgServer?.stop();
  if (storageRoot) rmSync(storageRoot, { recursive: true, force: true });
});

/** Files under `dir`, recursively, with their sizes. */
function filesUnder(dir: string): { path: string; size: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), size: statSync(join(e.parentPath, e.name)).size }));
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker killed mid-backup', () => {
  it('leaves a state recoverStale repairs: no object, backup failed, task failed', async () => {
    const env = makeResolvedEnvironment();
    const config = await repos.storageConfigs.create({
      id: randomUUID(),
      organization_id: env.organization_id,
      name: 'local disk',
      provider: 'local',
      is_default: true,
      settings: { root: storageRoot },
      credentials: null,
      storage_class: null,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
    const policy = await repos.policies.create({
      id: randomUUID(),
      environment_id: env.environment_id,
      is_enabled: true,
      schedule_cron: '0 2 * * *',
      timezone: 'UTC',
      daily_retention: 7,
      weekly_retention: 4,
      monthly_retention: 12,
      yearly_retention: 2,
      weekly_backup_day: 6,
      storage_config_id: config.id,
      notify_on_success: false,
      notify_on_failure: true,
      last_backup_at: null,
      last_backup_status: null,
      next_backup_at: null,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });

    const workerConfig: CrashWorkerConfig = {
      connectionString: pgServer.connectionString('obsdk_crash'),
      environment: env,
      hangAfterBytes: 512 * 1024,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, CRASH_WORKER: JSON.stringify(workerConfig) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const firstLine = await Promise.race([
      new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
      exited.then(() => {
        throw new Error(`The worker exited early: ${stderr}`);
      }),
    ]);
    const { backup_id, task_id } = JSON.parse(firstLine) as { backup_id: string; task_id: string };

    // Mid-backup: the record is in progress and bytes are reaching storage.
    await until('the backup to be in progress', async () => (await repos.backups.get(backup_id))?.status === 'in_progress');
    await until('bytes in storage', async () => filesUnder(storageRoot).some((f) => f.size > 0));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    children.delete(child);

    const stuck = (await repos.backups.get(backup_id))!;
    expect(stuck.status).toBe('in_progress');
    expect((await repos.tasks.get(task_id))!.status).toBe('running');

    // The host restarts: a new process, a new (empty) in-memory queue, the same records and storage.
    const events = new MemoryEventSink();
    const notifier = new MemoryNotifier();
    const service = new BackupService({
      backups: repos.backups,
      tasks: repos.tasks,
      storageConfigs: repos.storageConfigs,
      policies: repos.policies,
      environments: new StaticEnvironmentResolver([env]),
      queue: new InMemoryJobQueue(),
      events,
      notifier,
    });
    const report = await service.recoverStale();
    expect(report).toEqual({
      recovered: [{ backup_id, task_id, previous_status: 'in_progress', job_state: 'missing' }],
      copies: [],
      errors: [],
    });

    const backup = (await repos.backups.get(backup_id))!;
    expect(backup.status).toBe('failed');
    expect(backup.error_message).toMatch(/worker running this backup stopped before it finished/);
    expect(backup.error_details).toMatchObject({ code: WORKER_LOST_CODE, previous_status: 'in_progress', job_state: 'missing' });
    const task = (await repos.tasks.get(task_id))!;
    expect(task.status).toBe('failed');
    expect(task.error_message).toBe(backup.error_message);
    expect(notifier.sent.map((n) => n.kind)).toEqual(['backup.failed']);
    expect((await repos.policies.get(policy.id))!.last_backup_status).toBe('failed');

    // No object: not at the key, nothing listed for the environment, no usage counted.
    const provider = createStorageProvider(config);
    expect((await provider.head(stuck.database_key!)).exists).toBe(false);
    const listed = [];
    for await (const o of provider.list(`organizations/${env.organization_id}/`)) listed.push(o.key);
    expect(listed).toEqual([]);
    expect(await repos.storageConfigs.get(config.id)).toMatchObject({ object_count: 0, total_size_bytes: 0 });
    // The summary shows it as failed, not stuck.
    expect(await service.getSummary(env.environment_id)).toMatchObject({ total_backups: 1, failed_backups: 1, completed_backups: 0 });
  });
});
