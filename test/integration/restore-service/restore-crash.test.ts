// A restore worker SIGKILLed mid-swap (real PostgreSQL, real pg_restore, local storage, the
// records in PostgreSQL): after recoverStale in a new process, the target is as before and
// nothing temporary remains.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupService,
  RestoreService,
  type LocalSource,
  type ResolvedEnvironment,
  type RestoreStep,
  type Task,
} from '../../../src/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
import { createPostgresRepositories, type PostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { InMemoryJobQueue, makeResolvedEnvironment, MemoryNotifier, StaticEnvironmentResolver } from '../../../src/testing/index.js';
import { createOdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startS3, type S3Server } from '../../servers/s3.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import { leftovers, snapshotOf, storageConfigRecord } from './restore-helpers.js';
import type { RestoreCrashWorkerConfig } from './restore-crash-worker.js';

const WORKER = fileURLToPath(new URL('./restore-crash-worker.ts', import.meta.url));

let pgServer: PgServer;
let pool: pg.Pool;
let repos: PostgresRepositories;
let work: string;
let root: string;
let source: ResolvedEnvironment;
let backupId: string;
let sourceFolder: string;
const children = new Set<ChildProcess>();
const org = makeResolvedEnvironment().organization_id;

function localSource(db: string, filestore: string): LocalSource {
  return {
    kind: 'local',
    connection: { host: pgServer.host, port: pgServer.port, user: pgServer.user, password: pgServer.password, database: db },
    filestore_path: filestore,
    pg_bin_dir: pgServer.binDir,
  };
}

beforeAll(async () => {
  pgServer = await startPostgres();
  await pgServer.createDatabase('obsdk_restore_crash');
  pool = new pg.Pool({ connectionString: pgServer.connectionString('obsdk_restore_crash'), max: 4 });
  repos = createPostgresRepositories({ client: pool });
  await repos.migrate();
  work = await mkdtemp(join(tmpdir(), 'obsdk-restore-crash-'));
  mkdirSync(join(work, 'storage')); // the local provider never creates its root
  chmodSync(work, 0o755);
  root = join(work, 'filestore');
  mkdirSync(root);
  const fixture = await createOdooFixture(pgServer, { dbName: 'rc_src', databaseMb: 0.5, filestoreMb: 0.2, files: 8, filestoreRoot: root });
  sourceFolder = fixture.filestorePath;
  source = makeResolvedEnvironment({
    organization_id: org,
    db_name: 'rc_src',
    odoo_version: '17.0',
    source: localSource('rc_src', fixture.filestorePath),
  });
  const config = await repos.storageConfigs.create({
    ...storageConfigRecord(org, { provider: 'local', settings: { root: join(work, 'storage') }, credentials: null }),
    is_default: true,
  });
  const queue = new InMemoryJobQueue();
  const backups = new BackupService({ ...repos, environments: new StaticEnvironmentResolver([source]), queue });
  const worker = backups.startWorker();
  backupId = (await backups.createBackup(source.environment_id, { storage_config_id: config.id }, null)).id;
  await queue.idle();
  await worker.close();
  expect((await repos.backups.get(backupId))!.status).toBe('completed');
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pool?.end();
  await pgServer?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A target environment on its own Odoo-shaped database and filestore (`filestoreMb` of files). */
async function targetEnvironment(db: string, seed: number, filestoreMb = 0.1): Promise<{ target: ResolvedEnvironment; folder: string }> {
  const fixture = await createOdooFixture(pgServer, { dbName: db, databaseMb: 0.2, filestoreMb, files: 4, filestoreRoot: root, seed });
  const target = makeResolvedEnvironment({
    organization_id: org,
    db_name: db,
    odoo_version: '17.0',
    source: localSource(db, fixture.filestorePath),
  });
  return { target, folder: fixture.filestorePath };
}

/** Starts a worker that restores over `target` and holds at `holdAt`; resolves with the task id once held. */
async function startHeldWorker(
  target: ResolvedEnvironment,
  holdAt: RestoreStep | { uploadAfterBytes: number },
): Promise<{ child: ChildProcess; taskId: string; exited: Promise<NodeJS.Signals | null> }> {
  const config: RestoreCrashWorkerConfig = {
    connectionString: pgServer.connectionString('obsdk_restore_crash'),
    environments: [source, target],
    backupId,
    targetEnvironmentId: target.environment_id,
    ...(typeof holdAt === 'string' ? { holdAt } : { holdUploadAfterBytes: holdAt.uploadAfterBytes }),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, RESTORE_CRASH_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const line = await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
    exited.then(() => {
      throw new Error(`The worker exited early: ${stderr}`);
    }),
  ]);
  return { child, taskId: (JSON.parse(line) as { task_id: string }).task_id, exited };
}

describe('a restore worker killed with SIGKILL', () => {
  it.each([
    ['during the swap step, with the temporaries filled and the pre-restore backup taken', 'swap_db_aside'],
    ['between the two database renames (the target name is free)', 'swap_db_in'],
  ] as const)('%s: recoverStale puts the target back and leaves nothing temporary', async (_name, holdAt) => {
    const db = `rc_tgt_${holdAt}`;
    const { target, folder } = await targetEnvironment(db, 5);
    const before = await snapshotOf(pgServer, db, folder);

    const { child, taskId, exited } = await startHeldWorker(target, holdAt);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    children.delete(child);
    expect((await repos.tasks.get(taskId))!.status).toBe('running');
    expect((await leftovers(pgServer, db, [root])).databases.length).toBeGreaterThan(0);

    // The host restarts: a new process, a new (empty) queue, the same records and target.
    const notifier = new MemoryNotifier();
    const restores = new RestoreService({
      ...repos,
      environments: new StaticEnvironmentResolver([source, target]),
      queue: new InMemoryJobQueue(),
      notifier,
    });
    const report = await restores.recoverStale();
    expect(report).toEqual({
      recovered: [{ task_id: taskId, previous_status: 'running', job_state: 'missing', outcome: 'rolled_back' }],
      errors: [],
    });
    expect(await snapshotOf(pgServer, db, folder)).toEqual(before);
    expect(await leftovers(pgServer, db, [root])).toEqual({ databases: [], folders: [] });
    const task = (await repos.tasks.get(taskId))!;
    expect(task.status).toBe('failed');
    expect(journalOf(task)).toMatchObject({ outcome: 'rolled_back', error: { code: 'E_WORKER_LOST' } });
    const pre = (await repos.backups.get(journalOf(task)!.pre_restore_backup_id!))!;
    expect(pre).toMatchObject({ status: 'completed', is_verified: true });
    expect(notifier.sent.map((n) => n.kind)).toEqual(['restore.failed']);
    // Running it again changes nothing.
    expect(await restores.recoverStale()).toEqual({ recovered: [], errors: [] });
  });
});

describe('two restores of one environment whose swaps interleave (the one-per-environment guard bypassed)', () => {
  it("recovering the first one's stale journal leaves the second one's database and folder alone", async () => {
    const db = 'rc_tgt_overlap';
    const { target, folder } = await targetEnvironment(db, 7);
    const environments = new StaticEnvironmentResolver([source, target]);
    const restored = await snapshotOf(pgServer, 'rc_src', sourceFolder);
    // Task records without the guarantee, so both requests are accepted: the swap's own checks are what is tested.
    const unguarded: typeof repos.tasks = Object.assign(Object.create(repos.tasks) as typeof repos.tasks, {
      createExclusive: (task: Task) => repos.tasks.create(task),
    });
    // The first restore holds once its database is swapped in, before its folder moves; the second runs through.
    let held: (taskId: string) => void = () => undefined;
    const firstHeld = new Promise<string>((resolve) => (held = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const queue = new InMemoryJobQueue();
    const live = new RestoreService({
      ...repos,
      tasks: unguarded,
      environments,
      queue,
      hooks: {
        onStep: async (step, { task_id }) => {
          if (step !== 'swap_folder_aside' || holding) return;
          holding = true;
          held(task_id);
          await released;
        },
      },
    });
    const worker = live.startWorker({ concurrency: 2 });
    const request = { mode: 'replace', target_environment_id: target.environment_id, pre_restore_backup: false, as_copy: false } as const;
    const first = await live.restoreBackup(backupId, request, null);
    expect(await firstHeld).toBe(first.id);
    const second = await live.restoreBackup(backupId, request, null);
    expect((await live.waitForRestore(second.id)).status).toBe('completed');
    expect(await snapshotOf(pgServer, db, folder)).toEqual(restored);

    // The first restore's worker is taken for dead: a process with an empty queue recovers it.
    const report = await new RestoreService({ ...repos, environments, queue: new InMemoryJobQueue() }).recoverStale();
    expect(report.recovered.filter((r) => r.task_id === first.id)).toEqual([
      { task_id: first.id, previous_status: 'running', job_state: 'missing', outcome: 'rollback_failed' },
    ]);
    // The second restore's database and folder stand; the first one's set-aside original is kept under its tagged name.
    expect(await snapshotOf(pgServer, db, folder)).toEqual(restored);
    const journal = journalOf((await repos.tasks.get(first.id))!)!;
    expect(journal).toMatchObject({ outcome: 'rollback_failed', error: { code: 'E_RESTORE_ROLLBACK_FAILED' } });
    expect(journal.error!.details).toMatchObject({ rollback_error: { code: 'E_RESTORE_TARGET_CHANGED' } });
    expect((await leftovers(pgServer, db, [root])).databases).toEqual([journal.names.aside_database]);

    // The held worker wakes up: its swap step finds the folder changed and its rollback touches nothing of the second's.
    release();
    await queue.idle();
    await worker.close();
    expect(await snapshotOf(pgServer, db, folder)).toEqual(restored);
    expect(await leftovers(pgServer, db, [root])).toEqual({ databases: [journal.names.aside_database], folders: [] });
  });
});

describe('a restore worker killed mid-upload of its pre-restore backup', () => {
  let s3: S3Server;
  let sshd: SshServer;
  let sftpRoot: string;
  const storages = new Map<string, { id: string; partials: () => string[] }>();
  const partialFiles = (dir: string) => () =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.includes('.obsdk-partial-'));

  beforeAll(async () => {
    [s3, sshd] = await Promise.all([startS3(), startSshd()]);
    sftpRoot = join(sshd.homeDir, 'backups');
    mkdirSync(sftpRoot);
    const { uid, gid } = statSync(sshd.homeDir);
    chownSync(sftpRoot, uid, gid);
    const local = (await repos.storageConfigs.getDefault(org))!;
    storages.set('local', { id: local.id, partials: partialFiles(join(work, 'storage')) });
    const sftp = await repos.storageConfigs.create(
      storageConfigRecord(org, {
        provider: 'sftp',
        settings: { host: sshd.host, port: sshd.port, root: sftpRoot, host_key: sshd.hostKeyFingerprint },
        credentials: { username: sshd.username, private_key: sshd.privateKey },
      }),
    );
    storages.set('sftp', { id: sftp.id, partials: partialFiles(sftpRoot) });
    const minio = await repos.storageConfigs.create(
      storageConfigRecord(org, {
        provider: 'minio',
        settings: { bucket: s3.bucket, endpoint: s3.endpoint, part_size_mb: 5 },
        credentials: { access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
      }),
    );
    storages.set('s3', { id: minio.id, partials: () => s3.pendingUploads() });
  });

  afterAll(async () => {
    await Promise.all([s3?.stop(), sshd?.stop()]);
  });

  it.each(['local', 'sftp', 's3'])('to %s storage: recoverStale leaves no temp object or multipart upload', async (kind) => {
    const storage = storages.get(kind)!;
    for (const [other, { id }] of storages) await repos.storageConfigs.update(id, { is_default: other === kind });
    const db = `rc_upload_${kind}`;
    // S3: above one 5 MiB part, so a multipart upload has started when the worker dies.
    const filestoreMb = kind === 's3' ? 7 : 0.1;
    const { target } = await targetEnvironment(db, 9, filestoreMb);

    const { child, taskId, exited } = await startHeldWorker(target, { uploadAfterBytes: kind === 's3' ? 6 * 1024 * 1024 : 64 * 1024 });
    await until(() => storage.partials().length > 0, `a partial upload in ${kind} storage`);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    children.delete(child);

    const restores = new RestoreService({
      ...repos,
      environments: new StaticEnvironmentResolver([source, target]),
      queue: new InMemoryJobQueue(),
    });
    const report = await restores.recoverStale();
    expect(report.recovered.filter((r) => r.task_id === taskId)).toMatchObject([{ outcome: 'rolled_back' }]);
    expect(storage.partials()).toEqual([]);
    const pre = (await repos.backups.get(journalOf((await repos.tasks.get(taskId))!)!.pre_restore_backup_id!))!;
    expect(pre.status).toBe('failed');
    expect(await leftovers(pgServer, db, [root])).toEqual({ databases: [], folders: [] });
  });
});

/** Resolves once `done()` holds, checking every 50 ms for at most 60 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 50) {
    if (waited > 60_000) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
