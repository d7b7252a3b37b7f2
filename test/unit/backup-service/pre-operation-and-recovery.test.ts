import { Readable, Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BackupSdkError, BackupService, createStorageProvider, TimeoutError, ValidationError } from '../../../src/index.js';
import { WORKER_LOST_CODE } from '../../../src/services/backup/stale-recovery.js';
import { FakeBackupSource, InMemoryJobQueue } from '../../../src/testing/index.js';
import { alice, eventually, makeHarness, policy, quiet, T0, type Harness } from './harness.js';

describe('createPreOperationBackup', () => {
  it('resolves with the completed, verified backup, created by the actor', async () => {
    const h = await makeHarness();
    h.service.startWorker();
    const backup = await h.service.createPreOperationBackup(h.env.environment_id, 'pre_upgrade', alice);
    expect(backup).toMatchObject({
      status: 'completed',
      backup_type: 'pre_upgrade',
      created_by: alice.id,
      is_verified: true,
      verified_at: T0,
    });
    expect(h.storage.keys()).toEqual([backup.database_key]);
  });

  it('waits through a transient failure and its retry', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ transient: true, afterBytes: 100 });
    const h = await makeHarness({ source });
    h.service.startWorker();
    let settled: unknown = 'pending';
    const done = h.service.createPreOperationBackup(h.env.environment_id, 'pre_restore', alice).then(
      (b) => (settled = b),
      (e: unknown) => (settled = e),
    );
    await eventually('try 1 to fail', () => source.started.dump === 1);
    await quiet(h);
    expect(h.queue.jobsInfo()[0]).toMatchObject({ state: 'delayed', attempt: 1 });
    expect(settled).toBe('pending');
    await h.clock.advance(60_000);
    await done;
    expect(settled).toMatchObject({ status: 'completed', backup_type: 'pre_restore' });
    expect(source.started.dump).toBe(2);
  });

  it('throws the failure (with its code) when the backup fails, so the host does not proceed', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ transient: false, stderr: 'pg_dump: error: permission denied for table res_users' });
    const h = await makeHarness({ source });
    h.service.startWorker();
    const error = await h.service.createPreOperationBackup(h.env.environment_id, 'pre_destroy', alice).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupSdkError);
    expect((error as BackupSdkError).code).toBe('E_SOURCE_PG_DUMP');
    expect((error as Error).message).toMatch(/pre_destroy backup .* did not complete: .*permission denied for table res_users/);
    const [backup] = await h.backups.find({});
    expect((error as BackupSdkError).details).toMatchObject({ backup_id: backup!.id, task_id: backup!.task_id, status: 'failed' });
  });

  it('throws E_VERIFICATION_FAILED when the stored archive does not read back as written', async () => {
    // Storage that flips a byte on the way back: the upload is fine, the read-back is not.
    const h = await makeHarness({
      storageProviders: (config) => {
        const provider = createStorageProvider(config);
        const download = provider.download.bind(provider);
        provider.download = async (key, options) => {
          const stream = await download(key, options);
          let first = true;
          return stream.pipe(
            new Transform({
              transform(chunk: Buffer, _enc, cb) {
                if (first && chunk.length > 200) {
                  chunk = Buffer.from(chunk);
                  chunk[100] = chunk[100]! ^ 0xff;
                  first = false;
                }
                cb(null, chunk);
              },
            }),
          );
        };
        return provider;
      },
    });
    h.service.startWorker();
    const error = await h.service.createPreOperationBackup(h.env.environment_id, 'pre_restore', alice).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupSdkError);
    expect((error as BackupSdkError).code).toBe('E_VERIFICATION_FAILED');
    const [backup] = await h.backups.find({});
    expect(backup).toMatchObject({ status: 'completed', is_verified: false });
    expect((error as BackupSdkError).details).toMatchObject({ backup_id: backup!.id, verification_error: backup!.verification_error });
  });

  it('refuses other backup types before any side effect', async () => {
    const h = await makeHarness();
    await expect(h.service.createPreOperationBackup(h.env.environment_id, 'manual' as never, alice)).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await h.backups.find({})).toEqual([]);
  });

  it('gives up waiting with a TimeoutError when no worker runs the job', async () => {
    const h = await makeHarness();
    const waiting = h.service
      .createPreOperationBackup(h.env.environment_id, 'pre_upgrade', alice, { timeoutMs: 120_000 })
      .catch((e: unknown) => e);
    // Parked: the time limit and the repository poll both sleep on the clock.
    await eventually('the wait to park on the clock', () => h.clock.pendingSleeps === 2);
    await h.clock.advance(120_000);
    const error = await waiting;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(h.clock.pendingSleeps).toBe(0);
  });

  it('sees a task finished by a worker in another process (polling the repository)', async () => {
    const h = await makeHarness();
    // A second service on the same records and storage but its own queue and completion signals: the "other process".
    const otherQueue = new InMemoryJobQueue({ clock: h.clock });
    const other = new BackupService({
      backups: h.backups,
      tasks: h.tasks,
      storageConfigs: h.storageConfigs,
      environments: h.environments,
      queue: otherQueue,
      clock: h.clock,
      sources: () => h.source,
      runnerOptions: { dumpLister: null },
    });
    let result: unknown = 'pending';
    const waiting = h.service.createPreOperationBackup(h.env.environment_id, 'pre_restore', alice).then((b) => (result = b));
    await eventually('the wait to park on the clock', () => h.clock.pendingSleeps === 2);
    const [job] = h.queue.jobsInfo();
    await other.executeBackupJob(job!.payload as never, {
      jobId: job!.jobId,
      attempt: 1,
      maxAttempts: 3,
      signal: new AbortController().signal,
    });
    expect(result).toBe('pending');
    await h.clock.advance(2000);
    await waiting;
    expect(result).toMatchObject({ status: 'completed' });
  });
});

/** Simulates a worker that died mid-backup: the record says in_progress (or uploading) but the queue has no such job. */
async function deadWorkerState(h: Harness, status: 'in_progress' | 'uploading') {
  // Records created by the service, then "run" by a worker whose queue is gone.
  const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
  const backup = (await h.backups.get(res.id))!;
  const key = `organizations/${h.env.organization_id}/projects/${h.env.project_id}/environments/${h.env.environment_id}/${res.id}.zip`;
  await h.backups.update(res.id, { status: 'in_progress', started_at: T0, database_key: key }, { status: 'pending' });
  if (status === 'uploading') await h.backups.update(res.id, { status: 'uploading' });
  await h.tasks.update(res.task_id, { status: 'running', started_at: T0, attempts: 1 });
  // What a crashed upload could leave behind.
  await h.storage.upload(key, Readable.from([Buffer.from('partial zip bytes')]));
  return { res, backup, key };
}

describe('recoverStale', () => {
  it('fails a backup whose worker died: no object, backup failed with a clear reason, task failed, one notification', async () => {
    const h = await makeHarness();
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id }));
    const { res, key } = await deadWorkerState(h, 'uploading');
    // The host's queue lost the job (e.g. a fresh in-memory queue after a restart).
    const fresh = new BackupService({
      backups: h.backups,
      tasks: h.tasks,
      storageConfigs: h.storageConfigs,
      policies: h.policies,
      environments: h.environments,
      queue: new InMemoryJobQueue({ clock: h.clock }),
      clock: h.clock,
      events: h.events,
      notifier: h.notifier,
    });
    expect(h.storage.keys()).toEqual([key]);
    await h.clock.advance(600_000);
    const report = await fresh.recoverStale();
    expect(report).toEqual({
      recovered: [{ backup_id: res.id, task_id: res.task_id, previous_status: 'uploading', job_state: 'missing' }],
      copies: [],
      errors: [],
    });
    expect(h.storage.keys()).toEqual([]);
    const backup = (await h.backups.get(res.id))!;
    expect(backup.status).toBe('failed');
    expect(backup.error_message).toMatch(/worker running this backup stopped before it finished/);
    expect(backup.error_details).toMatchObject({
      code: WORKER_LOST_CODE,
      previous_status: 'uploading',
      job_id: res.task_id,
      job_state: 'missing',
    });
    const task = (await h.tasks.get(res.task_id))!;
    expect(task).toMatchObject({ status: 'failed', completed_at: '2026-03-10T10:10:00.000Z' });
    expect(task.error_message).toBe(backup.error_message);
    expect(h.events.ofType('task.status').at(-1)!.data).toMatchObject({
      task_id: res.task_id,
      status: 'failed',
      previous_status: 'running',
    });
    expect(h.notifier.sent.map((n) => n.kind)).toEqual(['backup.failed']);
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('failed');
    // Idempotent: a second pass finds nothing.
    expect(await fresh.recoverStale()).toEqual({ recovered: [], copies: [], errors: [] });
    expect(h.notifier.sent).toHaveLength(1);
  });

  it('treats a job the queue finished or failed like a missing one', async () => {
    const h = await makeHarness();
    const { res } = await deadWorkerState(h, 'in_progress');
    // The job exists on the service's queue but is not active (no worker ever took it): cancel makes it failed.
    h.queue.cancel(res.task_id);
    const report = await h.service.recoverStale();
    expect(report.recovered).toEqual([{ backup_id: res.id, task_id: res.task_id, previous_status: 'in_progress', job_state: 'failed' }]);
  });

  it('leaves backups whose job is active or waiting alone', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ mode: 'hang', afterBytes: 100 });
    const h = await makeHarness({ source });
    const running = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker({ concurrency: 1 });
    await eventually(
      'the first backup to hang',
      async () => (await h.backups.get(running.id))!.status === 'in_progress' && source.started.dump === 1,
    );
    // A second one waits behind it in the queue.
    const waiting = await h.service.createBackup(h.env.environment_id, {}, alice);
    await h.queue.settle();
    expect(h.queue.jobsInfo().map((j) => j.state)).toEqual(['active', 'waiting']);
    await h.clock.advance(600_000);
    expect(await h.service.recoverStale()).toEqual({ recovered: [], copies: [], errors: [] });
    expect((await h.backups.get(running.id))!.status).toBe('in_progress');
    expect((await h.backups.get(waiting.id))!.status).toBe('pending');
    h.queue.cancel(running.task_id);
    await h.queue.idle();
  });

  it('fails pending backups whose job was lost only after the grace period', async () => {
    const h = await makeHarness();
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    const lostQueue = new BackupService({
      backups: h.backups,
      tasks: h.tasks,
      storageConfigs: h.storageConfigs,
      environments: h.environments,
      queue: new InMemoryJobQueue({ clock: h.clock }),
      clock: h.clock,
    });
    await h.clock.advance(4 * 60_000);
    expect((await lostQueue.recoverStale()).recovered).toEqual([]);
    await h.clock.advance(60_000);
    const report = await lostQueue.recoverStale();
    expect(report.recovered).toEqual([{ backup_id: res.id, task_id: res.task_id, previous_status: 'pending', job_state: 'missing' }]);
    expect((await h.backups.get(res.id))!.error_message).toMatch(/job of this backup was lost before it started/);
    expect((await h.tasks.get(res.task_id))!.status).toBe('failed');
  });

  it('a job that runs after recovery failed its backup starts again from a clean state', async () => {
    const h = await makeHarness();
    const { res } = await deadWorkerState(h, 'in_progress');
    // The queue still has the job waiting (as BullMQ re-queues a stalled job), but recovery ran elsewhere first.
    const elsewhere = new BackupService({
      backups: h.backups,
      tasks: h.tasks,
      storageConfigs: h.storageConfigs,
      environments: h.environments,
      queue: new InMemoryJobQueue({ clock: h.clock }),
      clock: h.clock,
    });
    await elsewhere.recoverStale();
    expect((await h.backups.get(res.id))!.status).toBe('failed');
    h.service.startWorker();
    await h.queue.idle();
    expect(await h.backups.get(res.id)).toMatchObject({ status: 'completed', error_message: null });
    expect(await h.tasks.get(res.task_id)).toMatchObject({ status: 'completed' });
  });
});
