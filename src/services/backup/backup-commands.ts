import type { Backup } from '../../domain/entities.js';
import { Permission } from '../../domain/permissions.js';
import { classifyRetention, DEFAULT_RETENTION } from '../../domain/retention-classification.js';
import { BackupCreateSchema, parseInput, type BackupCreateInput } from '../../domain/validation.js';
import type { Actor } from '../../ports/authorizer.js';
import type { QuotaStatus } from '../../ports/quota.js';
import { admitBackupRequest, type AdmissionOptions } from './backup-admission.js';
import { BACKUP_JOB_NAME, type BackupJobPayload } from './backup-job.js';
import { ConflictError, InvalidTransitionError } from '../../errors/errors.js';
import {
  announceOutcome,
  emitTaskCreated,
  errorDetailsOf,
  errorMessageOf,
  moveBackup,
  moveTask,
  removeLeftoverObject,
  safeNotify,
} from './backup-lifecycle.js';
import { toBackupCreatedResponse, type BackupCreatedResponse } from './backup-responses.js';
import type { DeleteBackupOptions } from './backup-service-types.js';
import { assertActor, assertId, loadAuthorized, type BackupServiceContext } from './backup-service-context.js';
import { CANCELLED_MESSAGE, cancelledError } from '../shared/cancel-watch.js';
import { newBackupRecord } from './new-backup-record.js';
import { removeCopy } from './backup-copy.js';

/**
 * The commands of the backup service: create (admission, records, enqueue), delete and cancel. See the
 * `BackupService` methods of the same names for what callers see.
 */

/** `BackupService.createBackup`: admission, then the Task and Backup records, then the job. */
export async function createBackup(
  ctx: BackupServiceContext,
  environmentId: string,
  input: BackupCreateInput,
  actor: Actor | null,
  options: AdmissionOptions = {},
): Promise<BackupCreatedResponse> {
  assertId(environmentId, 'environment_id');
  const request = parseInput(BackupCreateSchema, input);
  assertActor(actor);
  const { env, config, quota } = await admitBackupRequest(ctx, environmentId, request, actor, options);

  const now = ctx.clock.now();
  const policy = ctx.policies ? await ctx.policies.getByEnvironment(environmentId) : null;
  const retentionType = request.retention_type ?? classifyRetention(now, policy ?? DEFAULT_RETENTION);
  const at = now.toISOString();
  const taskId = ctx.ids();
  const backupId = ctx.ids();
  const actorId = actor?.id ?? null;

  let task = await ctx.tasks.create({
    id: taskId,
    task_type: 'backup',
    status: 'pending',
    environment_id: environmentId,
    organization_id: env.organization_id,
    project_id: env.project_id,
    backup_id: backupId,
    job_id: taskId,
    attempts: 0,
    result: null,
    error_message: null,
    created_by: actorId,
    created_at: at,
    started_at: null,
    completed_at: null,
    updated_at: at,
  });
  emitTaskCreated(ctx, task);
  let backup: Backup;
  try {
    backup = await ctx.backups.create(
      newBackupRecord({
        id: backupId,
        env,
        config,
        taskId,
        type: request.backup_type,
        includeFilestore: request.include_filestore,
        retentionType,
        at,
        actorId,
      }),
    );
  } catch (error) {
    await moveTask(ctx, task, {
      status: 'failed',
      error_message: `Could not create the backup record: ${errorMessageOf(error)}`,
      completed_at: at,
    });
    throw error;
  }

  // Queued before the enqueue, so a worker that picks the job at once finds a settled task.
  task = await moveTask(ctx, task, { status: 'queued' });
  const payload: BackupJobPayload = {
    task_id: taskId,
    backup_id: backupId,
    environment_id: environmentId,
    backup_type: request.backup_type,
    storage_config_id: config.id,
    include_filestore: request.include_filestore,
    user_id: actorId,
  };
  try {
    await ctx.options.queue.enqueue(BACKUP_JOB_NAME, payload, {
      jobId: taskId,
      attempts: ctx.retry.attempts,
      backoffMs: ctx.retry.backoffMs,
    });
  } catch (error) {
    const message = `Could not enqueue the backup job: ${errorMessageOf(error)}`;
    await moveBackup(
      ctx,
      backup,
      { status: 'failed', error_message: message, error_details: { code: 'E_ENQUEUE_FAILED', message } },
      message,
    );
    await moveTask(ctx, task, { status: 'failed', error_message: message, completed_at: at }, message);
    throw error;
  }
  if (quota.exceeded) await warnOverQuota(ctx, quota, backup);
  return toBackupCreatedResponse(backup, taskId);
}

/** `BackupService.deleteBackup`: marks the backup deleted, and with `purge` removes its object now. */
export async function deleteBackup(
  ctx: BackupServiceContext,
  backupId: string,
  options: DeleteBackupOptions,
  actor: Actor | null,
): Promise<void> {
  const backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_DELETE, actor);
  // Only a backup that completed has an object counted in the usage counters; one that never
  // completed has nothing stored, so its key is cleared and cleanup has nothing to subtract.
  const stored = backup.completed_at !== null && backup.database_key !== null;
  let current = backup;
  if (backup.status !== 'deleted') {
    current = await moveBackup(
      ctx,
      backup,
      {
        status: 'deleted',
        write_by: actor?.id ?? null,
        ...(stored ? {} : { database_key: null, filestore_key: null, manifest_key: null }),
      },
      'Deleted on request',
    );
  }
  if (!options.purge || !stored) return;
  await removeLeftoverObject(ctx, current);
  // Compare-and-set on the key: a concurrent cleanup or purge that got there first wins, and
  // the counters drop once.
  await ctx.backups.update(
    current.id,
    { database_key: null, filestore_key: null, manifest_key: null },
    { status: 'deleted', database_key: current.database_key },
  );
  if (current.storage_config_id) {
    await ctx.storageConfigs.adjustUsage(current.storage_config_id, { bytes: -current.compressed_size, objects: -1 });
  }
  // The second copy goes too, by its own compare-and-set (a copy still running removes itself:
  // its completion finds the backup deleted).
  if (current.copy_key && current.copy_storage_config_id) {
    await removeCopy(ctx, current);
    await ctx.backups.update(current.id, { copy_key: null }, { copy_key: current.copy_key });
    await ctx.storageConfigs.adjustUsage(current.copy_storage_config_id, { bytes: -current.compressed_size, objects: -1 });
  }
}

/** A backup that runs over quota: a `warning` event and a `quota.warning` notification. */
async function warnOverQuota(ctx: BackupServiceContext, quota: QuotaStatus, backup: Backup): Promise<void> {
  const message = `Organisation ${quota.organization_id} is over its backup storage quota (${quota.used_bytes} of ${quota.limit_bytes} bytes); the ${backup.backup_type} backup ${backup.id} runs anyway. Delete old backups or raise the quota.`;
  ctx.events.emit({
    type: 'warning',
    data: {
      code: 'W_QUOTA_EXCEEDED',
      message,
      environment_id: backup.environment_id,
      backup_id: backup.id,
      organization_id: quota.organization_id,
      project_id: backup.project_id,
      used_bytes: quota.used_bytes,
      limit_bytes: quota.limit_bytes,
      timestamp: ctx.clock.now().toISOString(),
    },
  });
  await safeNotify(ctx, {
    kind: 'quota.warning',
    environment_id: backup.environment_id,
    organization_id: quota.organization_id,
    backup,
    message,
  });
}

const CANCELLABLE: ReadonlySet<Backup['status']> = new Set(['pending', 'in_progress', 'uploading']);

/**
 * `BackupService.cancelBackup`: records `cancel_requested_at` on a pending or running backup. A
 * pending one ends `failed` (`E_CANCELLED`) at once and its task with it; the worker skips its
 * job. A running one is stopped by its job, which watches the flag (at once in this process,
 * within `cancelCheckMs` elsewhere), removes the partial upload and ends it `failed` with
 * `E_CANCELLED`. Cancelling a cancelled backup changes nothing; any other ended backup is refused.
 */
export async function cancelBackup(ctx: BackupServiceContext, backupId: string, actor: Actor | null): Promise<Backup> {
  let backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_DELETE, actor);
  for (let tries = 0; ; tries++) {
    if (backup.cancel_requested_at) return backup;
    if (!CANCELLABLE.has(backup.status)) {
      throw new InvalidTransitionError('Backup', backup.status, 'cancelled', backup.id);
    }
    try {
      // Compare-and-set on the status read: a job that moved it meanwhile makes us look again.
      backup = await ctx.backups.update(
        backup.id,
        { cancel_requested_at: ctx.clock.now().toISOString(), write_by: actor?.id ?? null },
        { status: backup.status },
      );
      break;
    } catch (error) {
      if (!(error instanceof ConflictError) || tries >= 4) throw error;
      backup = (await ctx.backups.get(backup.id)) ?? backup;
    }
  }
  ctx.cancellations.announce(backup.id);
  if (backup.status !== 'pending') return backup;
  // Not started: nothing to stop, nothing stored. A worker that started it meanwhile lost the
  // compare-and-set to us, or we to it: then its job sees the flag and stops the run.
  try {
    backup = await moveBackup(
      ctx,
      backup,
      {
        status: 'failed',
        error_message: CANCELLED_MESSAGE,
        error_details: errorDetailsOf(cancelledError(backup.id)),
      },
      CANCELLED_MESSAGE,
    );
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    return (await ctx.backups.get(backup.id)) ?? backup;
  }
  const task = backup.task_id ? await ctx.tasks.get(backup.task_id) : null;
  if (task && task.status !== 'completed' && task.status !== 'failed') {
    await moveTask(
      ctx,
      task,
      { status: 'failed', error_message: CANCELLED_MESSAGE, completed_at: ctx.clock.now().toISOString() },
      CANCELLED_MESSAGE,
    );
    ctx.completions.announce(task.id);
  }
  await announceOutcome(ctx, backup, false, CANCELLED_MESSAGE);
  ctx.logger.info(
    { backup_id: backup.id, task_id: backup.task_id, environment_id: backup.environment_id },
    'backup cancelled before it started',
  );
  return backup;
}
