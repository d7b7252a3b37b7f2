import type { Backup } from '../../domain/entities.js';
import type { BackupStatus } from '../../domain/enums.js';
import { ConflictError } from '../../errors/errors.js';
import type { JobInfo, JobQueue } from '../../ports/job-queue.js';
import { announceOutcome, errorMessageOf, moveBackup, moveTask, removeLeftoverObject, type LifecycleDeps } from './backup-lifecycle.js';
import type { TaskCompletionHub } from '../shared/task-completion.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import { BACKUP_JOB_NAME } from './backup-job.js';
import { BACKUP_COPY_JOB_NAME, removeCopy } from './backup-copy.js';

/** What `recoverStaleBackups` (run by {@link BackupService.recoverStale}) needs. */
export interface StaleRecoveryDeps extends LifecycleDeps {
  queue: JobQueue;
  completions?: TaskCompletionHub;
}

/** Options of `recoverStaleBackups` (run by {@link BackupService.recoverStale}). */
export interface StaleRecoveryOptions {
  /**
   * A `pending` backup whose job the queue does not know is failed too, once it is older than
   * this (default 5 minutes, the product's "stuck in pending" threshold): younger ones may be
   * between record creation and enqueue.
   */
  pendingGraceMs?: number;
}

/** One backup that recovery failed. */
export interface RecoveredBackup {
  backup_id: string;
  task_id: string | null;
  previous_status: BackupStatus;
  /** The job's state when it was judged gone (`missing` when the queue no longer knows it). */
  job_state: JobInfo['state'] | 'missing';
}

/** One second copy that recovery failed: its job is gone while the record says it is pending or running. */
export interface RecoveredCopy {
  backup_id: string;
  task_id: string;
  job_state: JobInfo['state'] | 'missing';
}

/** What `recoverStaleBackups` (run by {@link BackupService.recoverStale}) did. */
export interface StaleRecoveryReport {
  recovered: RecoveredBackup[];
  /** Second copies (`copy_status` pending or running) whose job is gone, now `copy_status: 'failed'`. */
  copies: RecoveredCopy[];
  /** Backups that could not be repaired this time (storage unreachable...): try again later. */
  errors: { backup_id: string; message: string }[];
}

/** The code recorded in `error_details` of a backup whose worker disappeared. */
export const WORKER_LOST_CODE: ErrorCode = 'E_WORKER_LOST';

const DEFAULT_PENDING_GRACE_MS = 5 * 60_000;

/**
 * Crash recovery: finds backups stuck in `in_progress` / `uploading` (or `pending` past the grace
 * period) whose job is gone (the queue no longer knows it, or has it completed or failed: no
 * worker is running it) and repairs them: the backup becomes `failed` with a reason a person can
 * act on, anything left in storage at its key is deleted, the task fails, and the failure
 * notification goes out. A job that is active, waiting or delayed is left alone: a worker owns
 * it, or its next try starts from a clean state anyway.
 *
 * Run it at start-up and periodically (every few minutes) from one place.
 */
export async function recoverStaleBackups(
  deps: StaleRecoveryDeps,
  now: Date = deps.clock.now(),
  options: StaleRecoveryOptions = {},
): Promise<StaleRecoveryReport> {
  const grace = options.pendingGraceMs ?? DEFAULT_PENDING_GRACE_MS;
  const report: StaleRecoveryReport = { recovered: [], copies: [], errors: [] };
  const candidates = await deps.backups.find({ status: ['pending', 'in_progress', 'uploading'] });
  for (const backup of candidates) {
    if (backup.status === 'pending' && now.getTime() - Date.parse(backup.created_at) < grace) continue;
    try {
      const recovered = await recoverOne(deps, backup, now);
      if (recovered) report.recovered.push(recovered);
    } catch (error) {
      // Lost a race with a live worker: the backup moved on, so it was not stale.
      if (error instanceof ConflictError) continue;
      report.errors.push({ backup_id: backup.id, message: errorMessageOf(error) });
    }
  }
  for (const status of ['pending', 'running'] as const) {
    for (const backup of await deps.backups.find({ copy_status: status })) {
      // A repository written before the copy filters existed answers every backup: keep ours only.
      if (backup.copy_status !== status) continue;
      if (status === 'pending' && now.getTime() - Date.parse(backup.updated_at) < grace) continue;
      try {
        const recovered = await recoverCopy(deps, backup, now);
        if (recovered) report.copies.push(recovered);
      } catch (error) {
        if (error instanceof ConflictError) continue;
        report.errors.push({ backup_id: backup.id, message: errorMessageOf(error) });
      }
    }
  }
  return report;
}

/**
 * A copy whose job the queue no longer runs (gone, completed or failed without the record saying
 * so: its worker died) is failed, and whatever it may have written removed; the backup itself is
 * not touched. A copy job that is waiting, delayed or active is left alone.
 */
async function recoverCopy(deps: StaleRecoveryDeps, backup: Backup, now: Date): Promise<RecoveredCopy | null> {
  const taskId = backup.copy_task_id;
  if (!taskId) return null;
  const task = await deps.tasks.get(taskId);
  const job = await deps.queue.getJob(task?.job_id ?? taskId, BACKUP_COPY_JOB_NAME);
  if (job && job.name !== BACKUP_COPY_JOB_NAME) return null;
  if (job && job.state !== 'completed' && job.state !== 'failed') return null;
  const jobState = job ? job.state : 'missing';
  const message = `The worker copying this backup stopped before it finished (its job is ${jobState}); the copy was marked failed by stale-job recovery at ${now.toISOString()}.`;
  await deps.backups.update(
    backup.id,
    { copy_status: 'failed', copy_error: message },
    { copy_task_id: taskId, copy_status: backup.copy_status },
  );
  if (backup.copy_storage_config_id) await removeCopy(deps, backup).catch(() => undefined);
  if (task && task.status !== 'completed' && task.status !== 'failed') {
    await moveTask(deps, task, { status: 'failed', error_message: message, completed_at: now.toISOString() }, message);
    deps.completions?.announce(task.id);
  }
  deps.events.emit({
    type: 'warning',
    data: {
      code: 'W_BACKUP_COPY_FAILED',
      message,
      environment_id: backup.environment_id,
      organization_id: backup.organization_id,
      project_id: backup.project_id,
      backup_id: backup.id,
      timestamp: now.toISOString(),
    },
  });
  return { backup_id: backup.id, task_id: taskId, job_state: jobState };
}

async function recoverOne(deps: StaleRecoveryDeps, backup: Backup, now: Date): Promise<RecoveredBackup | null> {
  const task = backup.task_id ? await deps.tasks.get(backup.task_id) : null;
  const jobId = task?.job_id ?? backup.task_id;
  // The job is asked for under its own name: a backup job, or the restore job a pre-restore
  // backup runs inside (its task is the restore's). Task types and job names are the same words.
  const jobName = task?.task_type ?? BACKUP_JOB_NAME;
  const job = jobId ? await deps.queue.getJob(jobId, jobName) : null;
  // A job under another name means the queue could not answer for this one: unknown, not lost.
  if (job && job.name !== jobName) return null;
  if (job && job.state !== 'completed' && job.state !== 'failed') return null;
  const jobState = job ? job.state : 'missing';

  const message =
    backup.status === 'pending'
      ? `The job of this backup was lost before it started (job ${jobState}); it was marked failed by stale-job recovery at ${now.toISOString()}. Create a new backup.`
      : `The worker running this backup stopped before it finished (its job is ${jobState}: the process crashed, was killed or lost its queue); it was marked failed by stale-job recovery at ${now.toISOString()}. Create a new backup.`;
  // Mark first (compare-and-set on the status we saw), then clean storage: a worker that is in
  // fact alive makes the update fail and keeps its object.
  const failed = await moveBackup(
    deps,
    backup,
    {
      status: 'failed',
      error_message: message,
      error_details: { code: WORKER_LOST_CODE, message, previous_status: backup.status, job_id: jobId, job_state: jobState },
    },
    message,
  );
  await removeLeftoverObject(deps, failed);
  if (task && task.status !== 'completed' && task.status !== 'failed') {
    await moveTask(deps, task, { status: 'failed', error_message: message, completed_at: now.toISOString() }, message);
    deps.completions?.announce(task.id);
  }
  await announceOutcome(deps, failed, false, message);
  return { backup_id: backup.id, task_id: task?.id ?? null, previous_status: backup.status, job_state: jobState };
}
