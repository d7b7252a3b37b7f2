import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Backup, StorageConfig, Task } from '../../domain/entities.js';
import { TaskType } from '../../domain/enums.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { ChecksumMismatchError, ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import { errorLogFields } from '../../logging/log-lines.js';
import { MeasuringStream } from '../../pipeline/measuring-stream.js';
import type { JobContext, JobQueue } from '../../ports/job-queue.js';
import { nullLogger, type Logger } from '../../ports/logger.js';
import type { StorageProvider } from '../../ports/storage-provider.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { emitTaskCreated, errorMessageOf, moveTask, objectKeyOf, type LifecycleDeps } from './backup-lifecycle.js';

/**
 * The second copy of a backup (`BackupPolicy.secondary_storage_config_id`): once a backup ends
 * completed and verified, a `backup_copy` Task and its job stream the stored object, as is (no
 * key needed: an encrypted object stays encrypted), to the same key on the secondary storage and
 * read it back; both SHA-256 must equal the record's `stored_checksum`. A copy that fails never
 * changes the backup's own status or verification: it is recorded on `copy_status` /
 * `copy_error` with a `W_BACKUP_COPY_FAILED` warning. See docs/backup-service.md#a-second-copy.
 */

/** Job name of copy jobs, the task type's word as for backups and restores (`TaskType.BACKUP_COPY`). */
export const BACKUP_COPY_JOB_NAME = TaskType.BACKUP_COPY;

/** Which stored object of a backup to read: its own (`primary`) or its second copy (`copy`). */
export type StoredObject = 'primary' | 'copy';

/** The payload of a copy job. */
export interface BackupCopyPayload {
  task_id: string;
  backup_id: string;
}

/** What a copy job returns. */
export interface BackupCopyResult {
  success: boolean;
  backup_id: string;
  /** Why nothing was copied: the task had ended already, or the backup was deleted or expired meanwhile. */
  skipped?: 'already_completed' | 'backup_gone';
}

/** What scheduling and running copies need. Internal to src/services. */
export interface BackupCopyDeps extends LifecycleDeps {
  queue: JobQueue;
  ids: () => string;
  /** Tries and waits of copy jobs (the backup jobs' `BACKUP_JOB_RETRY` by default). */
  retry: { attempts: number; backoffMs: readonly number[] };
  logger?: Logger;
}

function copyWarning(deps: Pick<LifecycleDeps, 'events' | 'clock'>, backup: Backup, message: string, extra: Record<string, unknown> = {}) {
  deps.events.emit({
    type: 'warning',
    data: {
      code: 'W_BACKUP_COPY_FAILED',
      message,
      environment_id: backup.environment_id,
      organization_id: backup.organization_id,
      project_id: backup.project_id,
      backup_id: backup.id,
      timestamp: deps.clock.now().toISOString(),
      ...extra,
    },
  });
}

/**
 * Creates the copy Task and enqueues its job when `backup` is completed and verified and its
 * environment's policy names a secondary storage; otherwise returns the backup as is. Called when
 * a backup job completes and after a restore's pre-restore backup. Never throws: the backup's
 * outcome is already recorded; a copy that cannot be scheduled is recorded as failed, with a
 * `W_BACKUP_COPY_FAILED` warning.
 */
export async function scheduleBackupCopy(deps: BackupCopyDeps, backup: Backup): Promise<Backup> {
  if (backup.status !== 'completed' || !backup.is_verified || backup.copy_task_id) return backup;
  let current = backup;
  try {
    const policy = deps.policies ? await deps.policies.getByEnvironment(backup.environment_id) : null;
    const secondary = policy?.secondary_storage_config_id ?? null;
    if (!secondary) return backup;
    const at = deps.clock.now().toISOString();
    const taskId = deps.ids();
    const task = await deps.tasks.create({
      id: taskId,
      task_type: 'backup_copy',
      status: 'pending',
      environment_id: backup.environment_id,
      organization_id: backup.organization_id,
      project_id: backup.project_id,
      backup_id: backup.id,
      job_id: taskId,
      attempts: 0,
      result: null,
      error_message: null,
      created_by: null,
      created_at: at,
      started_at: null,
      completed_at: null,
      updated_at: at,
    });
    emitTaskCreated(deps, task);
    // Compare-and-set: a backup deleted since it completed gets no copy.
    current = await deps.backups.update(
      backup.id,
      {
        copy_storage_config_id: secondary,
        copy_task_id: taskId,
        copy_status: 'pending',
        copy_key: null,
        copy_error: null,
        copied_at: null,
      },
      { status: 'completed' },
    );
    const queued = await moveTask(deps, task, { status: 'queued' });
    const payload: BackupCopyPayload = { task_id: taskId, backup_id: backup.id };
    try {
      await deps.queue.enqueue(BACKUP_COPY_JOB_NAME, payload, {
        jobId: taskId,
        attempts: deps.retry.attempts,
        backoffMs: deps.retry.backoffMs,
      });
    } catch (error) {
      await moveTask(deps, queued, { status: 'failed', error_message: errorMessageOf(error), completed_at: at });
      throw error;
    }
    return current;
  } catch (error) {
    const message = `The copy to the secondary storage could not be scheduled: ${errorMessageOf(error)}`;
    copyWarning(deps, backup, message);
    if (current.copy_task_id) {
      current = await deps.backups
        .update(backup.id, { copy_status: 'failed', copy_error: message }, { copy_task_id: current.copy_task_id })
        .catch(() => current);
    }
    return current;
  }
}

/** Where the copy of `backup` lives: the same key as the primary object. */
export function copyKeyOf(backup: Backup): string {
  return backup.copy_key ?? objectKeyOf(backup);
}

async function configOf(deps: LifecycleDeps, id: string | null | undefined, backup: Backup): Promise<StorageConfig> {
  if (!id) throw new NotFoundError('storage_config', 'null', { details: { backup_id: backup.id } });
  const config = await deps.storageConfigs.get(id);
  if (!config) throw new NotFoundError('storage_config', id, { details: { backup_id: backup.id } });
  return config;
}

/** SHA-256 and size of an object, read whole. */
async function digestOf(provider: StorageProvider, key: string, signal: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const stream = await provider.download(key, { signal });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Copies the object: primary -> (hash) -> secondary upload, then a full read-back of the copy.
 * Returns the copy's size; throws `E_CHECKSUM_MISMATCH` (transient) when either hash differs
 * from the expected one, after removing the bad copy.
 */
async function copyObject(
  source: StorageProvider,
  target: StorageProvider,
  key: string,
  expected: string | null,
  signal: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const measured = new MeasuringStream();
  const download = await source.download(key, { signal });
  const upload = target.upload(key, measured, { contentType: 'application/octet-stream', signal }).catch((error: unknown) => {
    // Nobody reads the stream any more: stop reading the primary too.
    download.destroy();
    measured.destroy();
    throw error;
  });
  const settled = await Promise.allSettled([pipeline(download, measured, { signal }), upload]);
  // When one side fails the other fails too, with a mere "premature close": the provider's typed
  // error names the cause.
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) throw failures.find((e) => e instanceof BackupSdkError) ?? failures[0];
  const sent = measured.result();
  // Without a recorded checksum (a backup made before its policy named a secondary), the bytes
  // read from the primary are what the copy must equal.
  const want = expected ?? sent.sha256;
  const back = await digestOf(target, key, signal);
  for (const [part, got] of [
    ['the object read from the primary storage', sent.sha256],
    ['the copy read back from the secondary storage', back.sha256],
  ] as const) {
    if (got !== want) {
      await target.delete(key).catch(() => undefined);
      throw new ChecksumMismatchError(part, want, got);
    }
  }
  return back;
}

/**
 * The copy job: loads the task and backup, copies the stored object to the secondary storage and
 * reads it back, then records `copy_status: 'completed'` by compare-and-set on the backup being
 * `completed` (a backup deleted or expired meanwhile gets its copy removed instead). Transient
 * failures with tries left are retried by the queue; a final failure records `copy_status:
 * 'failed'`, `copy_error` and a `W_BACKUP_COPY_FAILED` warning, never touching the backup's
 * status or verification, and rethrows so the queue dead-letters the job.
 */
export async function runBackupCopyJob(deps: BackupCopyDeps, payload: BackupCopyPayload, ctx: JobContext): Promise<BackupCopyResult> {
  const task = await deps.tasks.get(payload.task_id);
  if (!task) throw new NotFoundError('task', payload.task_id, { details: { job_id: ctx.jobId } });
  if (task.status === 'completed') return { success: true, backup_id: payload.backup_id, skipped: 'already_completed' };
  const log = deps.logger ?? nullLogger;
  const line = { backup_id: payload.backup_id, task_id: task.id, job_id: ctx.jobId };
  const at = () => deps.clock.now().toISOString();
  let running: Task = await moveTask(
    deps,
    task,
    { status: 'running', started_at: task.started_at ?? at(), attempts: ctx.attempt, error_message: null },
    `Copy try ${ctx.attempt} of ${ctx.maxAttempts}`,
  );
  const backup = await deps.backups.get(payload.backup_id);
  if (!backup || backup.status !== 'completed' || backup.copy_task_id !== task.id) {
    // Deleted or expired since the copy was scheduled: whatever a previous try stored goes too.
    if (backup?.copy_storage_config_id) await removeCopy(deps, backup).catch(() => undefined);
    if (backup) await markGone(deps, backup.id, task.id);
    await moveTask(deps, running, {
      status: 'completed',
      completed_at: at(),
      result: { backup_id: payload.backup_id, skipped: 'backup_gone' },
    });
    log.info(line, 'backup copy skipped: the backup is gone');
    return { success: true, backup_id: payload.backup_id, skipped: 'backup_gone' };
  }
  let primary: StorageProvider | undefined;
  let secondary: StorageProvider | undefined;
  try {
    await deps.backups.update(backup.id, { copy_status: 'running' }, { copy_task_id: task.id });
    const source = await configOf(deps, backup.storage_config_id, backup);
    const target = await configOf(deps, backup.copy_storage_config_id, backup);
    if (target.organization_id !== backup.organization_id || target.id === source.id) {
      throw new ValidationError([
        { field: 'secondary_storage_config_id', message: 'must be another storage config of the backup’s organisation' },
      ]);
    }
    // Fail closed: a secondary that requires encryption never receives a plaintext object.
    if (target.require_encryption && (backup.encryption_recipients ?? []).length === 0) {
      throw new BackupSdkError(
        'E_ENCRYPTION_REQUIRED',
        `Storage config ${target.id} requires encryption and backup ${backup.id} is stored unencrypted: it is not copied there`,
        { details: { backup_id: backup.id, storage_config_id: target.id } },
      );
    }
    primary = await buildStorageProvider(deps.storageProviders, deps.secrets, source);
    secondary = await buildStorageProvider(deps.storageProviders, deps.secrets, target);
    const key = objectKeyOf(backup);
    const copied = await copyObject(primary, secondary, key, backup.stored_checksum ?? null, ctx.signal);
    try {
      await deps.backups.update(
        backup.id,
        { copy_status: 'completed', copy_key: key, copied_at: at(), copy_error: null },
        { status: 'completed', copy_task_id: task.id },
      );
    } catch (error) {
      if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
      // Deleted or expired while copying: the copy it will never account for is removed now.
      await secondary.delete(key).catch(() => undefined);
      await markGone(deps, backup.id, task.id);
      await moveTask(deps, running, { status: 'completed', completed_at: at(), result: { backup_id: backup.id, skipped: 'backup_gone' } });
      return { success: true, backup_id: backup.id, skipped: 'backup_gone' };
    }
    await deps.storageConfigs.adjustUsage(target.id, { bytes: copied.size, objects: 1, last_used_at: at() }).catch((error: unknown) =>
      deps.events.emit({
        type: 'warning',
        data: { code: 'W_USAGE_UPDATE_FAILED', message: errorMessageOf(error), backup_id: backup.id, timestamp: at() },
      }),
    );
    await moveTask(deps, running, {
      status: 'completed',
      completed_at: at(),
      result: { backup_id: backup.id, copy_key: key, storage_config_id: target.id, sha256: copied.sha256, size: copied.size },
    });
    log.info({ ...line, attempt: ctx.attempt, size: copied.size }, 'backup copy completed');
    return { success: true, backup_id: backup.id };
  } catch (error) {
    running = (await deps.tasks.get(running.id)) ?? running;
    const transient = (error as { transient?: unknown } | null)?.transient === true;
    const fields = { ...line, attempt: ctx.attempt, max_attempts: ctx.maxAttempts, ...errorLogFields(error) };
    if (transient && ctx.attempt < ctx.maxAttempts && !ctx.signal.aborted) {
      const message = `Copy try ${ctx.attempt} of ${ctx.maxAttempts} failed: ${errorMessageOf(error)}; it will be retried`;
      await deps.backups
        .update(backup.id, { copy_status: 'pending', copy_error: message }, { copy_task_id: task.id })
        .catch(() => undefined);
      await moveTask(deps, running, { status: 'queued', error_message: message }, message);
      log.warn(fields, 'backup copy try failed; it will be retried');
      throw error;
    }
    const message = `The copy to the secondary storage failed: ${errorMessageOf(error)}`;
    await deps.backups.update(backup.id, { copy_status: 'failed', copy_error: message }, { copy_task_id: task.id }).catch(() => undefined);
    await moveTask(deps, running, { status: 'failed', error_message: message, completed_at: at() }, message);
    copyWarning(deps, backup, message, { task_id: task.id, error_code: error instanceof BackupSdkError ? error.code : 'E_UNEXPECTED' });
    log.error(fields, 'backup copy failed');
    throw error;
  } finally {
    await primary?.close().catch(() => undefined);
    await secondary?.close().catch(() => undefined);
  }
}

/** Records on a deleted or expired backup that its copy was dropped (so recovery does not look for its job). */
async function markGone(deps: LifecycleDeps, backupId: string, taskId: string): Promise<void> {
  const message = 'The backup was deleted or expired before its copy completed; the copy was removed';
  await deps.backups.update(backupId, { copy_status: 'failed', copy_error: message }, { copy_task_id: taskId }).catch(() => undefined);
}

/** Deletes the copy object of `backup` from its secondary storage (a missing object is not an error). */
export async function removeCopy(deps: LifecycleDeps, backup: Backup): Promise<void> {
  const config = await configOf(deps, backup.copy_storage_config_id, backup);
  const provider = await buildStorageProvider(deps.storageProviders, deps.secrets, config);
  try {
    await provider.delete(copyKeyOf(backup));
  } finally {
    await provider.close().catch(() => undefined);
  }
}
