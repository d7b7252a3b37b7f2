import { describe, expect, it } from 'vitest';
import { createStorageProvider, MemoryStorageProvider, type TaskStatusEvent } from '../../../src/index.js';
import { BACKUP_JOB_RETRY } from '../../../src/services/backup/backup-job.js';
import { FakeBackupSource } from '../../../src/testing/index.js';
import { alice, backupReaches, makeHarness, policy, quiet, T0, type Harness } from './harness.js';

const t = (offsetMs: number) => new Date(Date.parse(T0) + offsetMs).toISOString();

function transitions(h: Harness, taskId: string): string[] {
  return h.events
    .ofType('task.status')
    .filter((e) => e.data.task_id === taskId)
    .map((e) => `${e.data.previous_status ?? '-'}>${e.data.status}`);
}

function runningEvents(h: Harness, taskId: string): TaskStatusEvent['data'][] {
  return h.events
    .ofType('task.status')
    .filter((e) => e.data.task_id === taskId && e.data.status === 'running')
    .map((e) => e.data);
}

describe('executeBackupJob', () => {
  it('runs a queued backup to completed: task running -> completed with { backup_id }, events, no notification by default', async () => {
    const h = await makeHarness();
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    const worker = h.service.startWorker({ concurrency: 2 });
    await h.queue.idle();
    await worker.close();

    const backup = await h.backups.get(res.id);
    expect(backup).toMatchObject({
      status: 'completed',
      database_size: 40_000,
      filestore_size: 20_000,
      total_size: 60_000,
      started_at: T0,
      completed_at: T0,
      duration_seconds: 0,
    });
    expect(backup!.compressed_size).toBeGreaterThan(60_000);
    expect(backup!.database_key).toBe(
      `organizations/${h.env.organization_id}/projects/${h.env.project_id}/environments/${h.env.environment_id}/${res.id}.zip`,
    );
    expect(h.storage.keys()).toEqual([backup!.database_key]);

    const task = await h.tasks.get(res.task_id);
    expect(task).toMatchObject({
      status: 'completed',
      result: { backup_id: res.id },
      started_at: T0,
      completed_at: T0,
      attempts: 1,
      error_message: null,
    });
    expect(transitions(h, res.task_id)).toEqual(['->pending', 'pending>queued', 'queued>running', 'running>completed']);
    const done = h.events.ofType('task.status').at(-1)!;
    expect(done.data).toEqual({
      task_id: res.task_id,
      task_type: 'backup',
      status: 'completed',
      previous_status: 'running',
      environment_id: h.env.environment_id,
      organization_id: h.env.organization_id,
      project_id: h.env.project_id,
      backup_id: res.id,
      attempt: 1,
      message: null,
      timestamp: T0,
    });

    const progress = h.events.ofType('backup.progress');
    expect(progress.length).toBeGreaterThan(0);
    const scope = { organization_id: h.env.organization_id, project_id: h.env.project_id };
    for (const p of progress) expect(p.data).toMatchObject({ backup_id: res.id, environment_id: h.env.environment_id, ...scope });
    for (const e of h.events.ofType('backup.status')) expect(e.data).toMatchObject(scope);
    expect(progress.at(-1)!.data.bytes).toBe(backup!.compressed_size);

    // No policy: the default settings notify failures only.
    expect(h.notifier.sent).toEqual([]);
    expect(await h.queue.deadLetters()).toEqual([]);
    // Storage usage counts the object once.
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({
      total_size_bytes: backup!.compressed_size,
      object_count: 1,
      last_used_at: T0,
    });
  });

  it('sends a success notification when the policy asks, and records last_backup_status of scheduled backups', async () => {
    const h = await makeHarness();
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id, notify_on_success: true }));
    const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
    h.service.startWorker();
    await h.queue.idle();
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.sent[0]).toMatchObject({
      kind: 'backup.succeeded',
      environment_id: h.env.environment_id,
      organization_id: h.env.organization_id,
      backup: { id: res.id, status: 'completed' },
    });
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('completed');
    // Scheduled backups are verified by the runner.
    expect((await h.backups.get(res.id))!.is_verified).toBe(true);
  });

  it('a notifier that throws does not fail the job: the outcome stands and a warning says why', async () => {
    const h = await makeHarness({ service: { notifier: { notify: async () => Promise.reject(new Error('SMTP down')) } } });
    await h.policies.create(policy({ environment_id: h.env.environment_id, notify_on_success: true }));
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();
    expect((await h.backups.get(res.id))!.status).toBe('completed');
    expect((await h.tasks.get(res.task_id))!.status).toBe('completed');
    expect(await h.queue.deadLetters()).toEqual([]);
    expect(h.events.ofType('warning').map((w) => [w.data.code, w.data.backup_id])).toEqual([['W_NOTIFICATION_FAILED', res.id]]);
    expect(h.events.ofType('warning')[0]!.data.message).toMatch(/SMTP down/);
  });

  it('a manual backup leaves the policy status alone', async () => {
    const h = await makeHarness();
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id }));
    await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();
    expect((await h.policies.get(p.id))!.last_backup_status).toBeNull();
  });

  it('retries transient failures on the clock: fails twice, then completes on the third try after 60 s and 300 s', async () => {
    const source = new FakeBackupSource({ dumpSize: 40_000, filestoreSize: 20_000 });
    source.injectFault({ part: 'dump', transient: true, times: 2, afterBytes: 10_000 });
    const h = await makeHarness({ source });
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id, notify_on_success: true, notify_on_failure: true }));
    const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
    h.service.startWorker();

    await quiet(h);
    // Try 1 failed: the backup is a clean pending again, the task queued with the reason, the job waits 60 s.
    expect(source.started.dump).toBe(1);
    expect(await h.backups.get(res.id)).toMatchObject({ status: 'pending', error_message: null, database_key: null, compressed_size: 0 });
    const queued = await h.tasks.get(res.task_id);
    expect(queued).toMatchObject({ status: 'queued', attempts: 1 });
    expect(queued!.error_message).toMatch(/^Try 1 of 3 failed: .*pg_dump.*; it will be retried$/);
    expect(h.queue.jobsInfo()[0]).toMatchObject({ state: 'delayed', attempt: 1 });
    expect(h.storage.keys()).toEqual([]);

    await h.clock.advance(59_999);
    await quiet(h);
    expect(source.started.dump).toBe(1);
    await h.clock.advance(1);
    await quiet(h);
    expect(source.started.dump).toBe(2);
    expect(h.queue.jobsInfo()[0]).toMatchObject({ state: 'delayed', attempt: 2 });
    expect(h.storage.keys()).toEqual([]);

    await h.clock.advance(299_999);
    await quiet(h);
    expect(source.started.dump).toBe(2);
    await h.clock.advance(1);
    await h.queue.idle();

    expect(source.started.dump).toBe(3);
    expect(runningEvents(h, res.task_id).map((e) => [e.attempt, e.timestamp])).toEqual([
      [1, t(0)],
      [2, t(60_000)],
      [3, t(360_000)],
    ]);
    expect(transitions(h, res.task_id)).toEqual([
      '->pending',
      'pending>queued',
      'queued>running',
      'running>queued',
      'queued>running',
      'running>queued',
      'queued>running',
      'running>completed',
    ]);
    const backup = await h.backups.get(res.id);
    expect(backup).toMatchObject({ status: 'completed', error_message: null, started_at: t(360_000) });
    expect(await h.tasks.get(res.task_id)).toMatchObject({
      status: 'completed',
      attempts: 3,
      started_at: t(0),
      completed_at: t(360_000),
      result: { backup_id: res.id },
    });
    expect(h.storage.keys()).toEqual([backup!.database_key]);
    expect(await h.queue.deadLetters()).toEqual([]);
    // One notification (the success), none for the retried failures.
    expect(h.notifier.sent.map((n) => n.kind)).toEqual(['backup.succeeded']);
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('completed');
    // Usage counts the final object once.
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({ total_size_bytes: backup!.compressed_size, object_count: 1 });
  });

  it('does not retry a permanent failure: failed, dead-lettered after one try, one notification', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ part: 'dump', transient: false, stderr: 'pg_dump: error: connection to server failed' });
    const h = await makeHarness({ source });
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();

    expect(source.started.dump).toBe(1);
    const backup = await h.backups.get(res.id);
    expect(backup!.status).toBe('failed');
    expect(backup!.error_message).toMatch(/connection to server failed/);
    expect(backup!.error_details).toMatchObject({ code: 'E_SOURCE_PG_DUMP', transient: false });
    const task = await h.tasks.get(res.task_id);
    expect(task).toMatchObject({ status: 'failed', attempts: 1, completed_at: T0 });
    // Honest about the tries: the first of three ran, and a permanent failure is not retried.
    expect(task!.error_message).toMatch(/^Backup failed on try 1 of 3, not retried \(a permanent failure\): .*connection to server failed/);
    const dead = await h.queue.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ jobId: res.task_id, name: 'backup', attempts: 1, error: { code: 'E_SOURCE_PG_DUMP' } });
    expect(await h.service.deadLetters()).toEqual(dead);
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.sent[0]).toMatchObject({ kind: 'backup.failed', backup: { id: res.id, status: 'failed' } });
    expect(h.storage.keys()).toEqual([]);
  });

  it('three transient failures: FAILED, dead-lettered after 3 tries, exactly one failure notification, nothing stored', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ part: 'filestore', transient: true, times: 3, afterBytes: 5_000 });
    const h = await makeHarness({ source });
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id }));
    const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
    h.service.startWorker();
    await quiet(h);
    await h.clock.advance(60_000);
    await quiet(h);
    expect(source.started.filestore).toBe(2);
    expect(h.notifier.sent).toEqual([]);
    await h.clock.advance(300_000);
    await h.queue.idle();

    expect(source.started.filestore).toBe(3);
    expect(await h.backups.get(res.id)).toMatchObject({ status: 'failed', error_details: { code: 'E_SOURCE_TAR', transient: true } });
    const task = await h.tasks.get(res.task_id);
    expect(task).toMatchObject({ status: 'failed', attempts: 3, completed_at: t(360_000) });
    expect(task!.error_message).toMatch(/^Backup failed after 3 tries: /);
    const dead = await h.queue.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ jobId: res.task_id, attempts: 3, error: { code: 'E_SOURCE_TAR' } });
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.sent[0]!.kind).toBe('backup.failed');
    expect(h.notifier.sent[0]!.message).toMatch(/after 3 tries/);
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('failed');
    expect(h.storage.keys()).toEqual([]);
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({ total_size_bytes: 0, object_count: 0 });
    expect(source.running).toBe(0);
  });

  it('respects notify_on_failure = false', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ transient: false });
    const h = await makeHarness({ source });
    await h.policies.create(policy({ environment_id: h.env.environment_id, notify_on_failure: false }));
    await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();
    expect(h.notifier.sent).toEqual([]);
  });

  it('a storage upload failing transiently is retried from a clean slate', async () => {
    // Faults are per provider instance: arm one on the first provider the factory builds.
    let failures = 1;
    const h2 = await makeHarness({
      storageProviders: (config) => {
        const provider = createStorageProvider(config);
        if (failures-- > 0 && provider instanceof MemoryStorageProvider) provider.injectUploadFault({ afterBytes: 1000, transient: true });
        return provider;
      },
    });
    const res = await h2.service.createBackup(h2.env.environment_id, {}, alice);
    h2.service.startWorker();
    await quiet(h2);
    expect(await h2.backups.get(res.id)).toMatchObject({ status: 'pending' });
    expect((await h2.tasks.get(res.task_id))!.error_message).toMatch(/injected upload failure/);
    expect(h2.storage.keys()).toEqual([]);
    await h2.clock.advance(BACKUP_JOB_RETRY.backoffMs[0]!);
    await h2.queue.idle();
    expect(await h2.backups.get(res.id)).toMatchObject({ status: 'completed' });
    expect((await h2.tasks.get(res.task_id))!.attempts).toBe(2);
  });

  it('times out a hung try after 3600 s of the clock (transient: retried), then completes', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ part: 'dump', mode: 'hang', afterBytes: 1000 });
    const h = await makeHarness({ source });
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await backupReaches(h, res.id, 'in_progress');
    await h.clock.advance(3_599_999);
    await h.queue.settle();
    expect((await h.backups.get(res.id))!.status).toBe('in_progress');
    await h.clock.advance(1);
    await quiet(h);
    expect(source.running).toBe(0);
    const task = await h.tasks.get(res.task_id);
    expect(task).toMatchObject({ status: 'queued' });
    expect(task!.error_message).toMatch(/did not finish within 3600 s/);
    await h.clock.advance(60_000);
    await h.queue.idle();
    expect(await h.backups.get(res.id)).toMatchObject({ status: 'completed' });
    expect(await h.tasks.get(res.task_id)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('a try that times out on its last attempt records E_TIMEOUT', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ part: 'dump', mode: 'hang' });
    const h = await makeHarness({ source, service: { retry: { attempts: 1, backoffMs: [] }, jobTimeoutMs: 10_000 } });
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await backupReaches(h, res.id, 'in_progress');
    await h.clock.advance(10_000);
    await h.queue.idle();
    const backup = await h.backups.get(res.id);
    expect(backup).toMatchObject({ status: 'failed', error_details: { code: 'E_TIMEOUT', timeout_ms: 10_000, transient: true } });
    expect(backup!.error_message).toMatch(/did not finish within 10 s/);
    expect((await h.queue.deadLetters())[0]).toMatchObject({ attempts: 1, error: { code: 'E_TIMEOUT' } });
    expect(h.notifier.sent).toHaveLength(1);
  });

  it('a job cancelled by the queue is aborted, not retried, and ends failed', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ part: 'dump', mode: 'hang', afterBytes: 1000 });
    const h = await makeHarness({ source });
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await backupReaches(h, res.id, 'in_progress');
    h.queue.cancel(res.task_id, new Error('host shutdown'));
    await h.queue.idle();
    expect(source.started.dump).toBe(1);
    expect(await h.backups.get(res.id)).toMatchObject({ status: 'failed', error_details: { code: 'E_ABORTED' } });
    expect((await h.tasks.get(res.task_id))!.status).toBe('failed');
    expect(await h.queue.deadLetters()).toHaveLength(1);
    expect(h.storage.keys()).toEqual([]);
  });

  it('a backup deleted before its job runs is not run', async () => {
    const h = await makeHarness();
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    await h.service.deleteBackup(res.id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();
    expect(h.source.started.dump).toBe(0);
    expect(await h.tasks.get(res.task_id)).toMatchObject({ status: 'failed', error_message: 'The backup was deleted before its job ran' });
    expect((await h.backups.get(res.id))!.status).toBe('deleted');
    expect(await h.queue.deadLetters()).toEqual([]);
  });

  it('runs many backups concurrently up to the worker concurrency', async () => {
    const h = await makeHarness();
    const created = [];
    for (let i = 0; i < 12; i++) created.push(await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null));
    let inFlight = 0;
    let maxInFlight = 0;
    h.events.subscribe((e) => {
      if (e.type !== 'task.status') return;
      if (e.data.status === 'running') maxInFlight = Math.max(maxInFlight, ++inFlight);
      if (e.data.previous_status === 'running') inFlight--;
    });
    h.service.startWorker({ concurrency: 4 });
    await h.queue.idle();
    expect(maxInFlight).toBe(4);
    const all = await h.backups.find({});
    expect(all.every((b) => b.status === 'completed')).toBe(true);
    expect(h.storage.keys()).toHaveLength(12);
    const sum = all.reduce((s, b) => s + b.compressed_size, 0);
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({ total_size_bytes: sum, object_count: 12 });
  });
});
