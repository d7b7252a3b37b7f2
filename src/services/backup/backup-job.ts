import type { Backup, Task } from '../../domain/entities.js';
import type { BackupType } from '../../domain/enums.js';
import { NotFoundError } from '../../errors/errors.js';
import type { JobContext, JobHandler } from '../../ports/job-queue.js';
import { nullLogger, type Logger } from '../../ports/logger.js';
import type { TaskCompletionHub } from '../shared/task-completion.js';
import {
  announceOutcome,
  errorDetailsOf,
  errorMessageOf,
  moveBackup,
  moveTask,
  resetForRetry,
  type LifecycleDeps,
} from './backup-lifecycle.js';
import { CANCELLED_MESSAGE, cancelledError, watchForCancel } from '../shared/cancel-watch.js';
import { startJobDeadline } from '../shared/job-timeout.js';
import { errorLogFields } from '../../logging/log-lines.js';

/** The queue name of backup jobs. */
export const BACKUP_JOB_NAME = 'backup';

/** Default job time limit (see docs/decisions.md#job-timeout): one hour. */
export const DEFAULT_JOB_TIMEOUT_MS = 3_600_000;

/**
 * The retry schedule of backup jobs (see docs/decisions.md#retries): three tries in all. The product's waits
 * "0 s, 60 s, 300 s" are read as: the first try starts at once (0 s), the second 60 s after the
 * first failed, the third 300 s after the second failed. Only transient failures are retried.
 */
export const BACKUP_JOB_RETRY = Object.freeze({ attempts: 3, backoffMs: Object.freeze([60_000, 300_000]) as readonly number[] });

/**
 * What a backup job carries: the product's `execute_backup` arguments. Only `task_id` and
 * `backup_id` are read; the rest is there for people inspecting the queue.
 */
export interface BackupJobPayload {
  task_id: string;
  backup_id: string;
  environment_id: string;
  backup_type: BackupType;
  storage_config_id: string | null;
  include_filestore: boolean;
  user_id: string | null;
}

/** What a successful backup job returns (also the task's `result`, minus `success`). */
export interface BackupJobResult {
  success: boolean;
  backup_id: string;
  /**
   * Set when the job made no backup: the backup was deleted before it ran, was already done, or
   * was cancelled (before it started, or while it ran: then it ended `failed` with `E_CANCELLED`).
   */
  skipped?: 'deleted' | 'already_completed' | 'cancelled';
}

/** Runs one backup record to its end: the pipeline behind the job (`BackupRunner.run`). */
export interface BackupExecutor {
  run(backupId: string, options?: { signal?: AbortSignal; verify?: boolean }): Promise<Backup>;
}

/** What {@link runBackupJob} needs. */
export interface BackupJobDeps extends LifecycleDeps {
  runner: BackupExecutor;
  /** Time limit of one try, on `clock` (default {@link DEFAULT_JOB_TIMEOUT_MS}). */
  jobTimeoutMs?: number;
  /** Wakes in-process waiters (pre-operation backups) when a task ends. */
  completions?: TaskCompletionHub;
  /** Announced by `cancelBackup` in this process, so the running job stops at once. */
  cancellations?: TaskCompletionHub;
  /** How often a running job re-reads its backup's cancel flag (default 2000 ms of the clock). */
  cancelCheckMs?: number;
  /** Verify every backup after upload (default true); pre-operation backups always are. */
  verifyAfterUpload?: boolean;
  /** Job start / end / failure / retry lines (default: none). */
  logger?: Logger;
  /**
   * Schedules the second copy of a backup that completed verified, when its policy names a
   * secondary storage (see backup-copy.ts). Never throws.
   */
  scheduleCopy?: (backup: Backup) => Promise<unknown>;
}

const PRE_OPERATION: ReadonlySet<string> = new Set(['pre_restore', 'pre_upgrade', 'pre_destroy']);

/**
 * The backup job handler. Loads the task and backup, moves the task to `running`, runs the
 * pipeline under the job's time limit and the queue's cancel signal, and ends the task
 * `completed` (result `{ backup_id }`) or, after the last try, `failed`, with notifications per
 * the policy. A transient failure with tries left puts the backup back to a clean `pending` and
 * the task to `queued`, then rethrows so the queue retries; a final failure rethrows so the queue
 * dead-letters the job. Exactly one notification is sent per backup, whatever the number of tries.
 */
export async function runBackupJob(deps: BackupJobDeps, payload: BackupJobPayload, ctx: JobContext): Promise<BackupJobResult> {
  const task = await deps.tasks.get(payload.task_id);
  if (!task) throw new NotFoundError('task', payload.task_id, { details: { job_id: ctx.jobId } });
  let backup = await deps.backups.get(payload.backup_id);
  if (!backup) {
    const error = new NotFoundError('backup', payload.backup_id, { details: { task_id: task.id } });
    await endTask(deps, task, 'failed', error.message, null);
    throw error;
  }

  // A job delivered again after it finished (queues deliver at least once) changes nothing.
  if (task.status === 'completed') return { success: true, backup_id: backup.id, skipped: 'already_completed' };
  if (backup.status === 'deleted') {
    await endTask(deps, task, 'failed', 'The backup was deleted before its job ran', null);
    return { success: false, backup_id: backup.id, skipped: 'deleted' };
  }
  if (backup.status === 'completed') {
    // The pipeline finished but the worker stopped before the task was updated.
    await endTask(deps, task, 'completed', null, { backup_id: backup.id });
    await deps.scheduleCopy?.(backup);
    return { success: true, backup_id: backup.id, skipped: 'already_completed' };
  }
  const log = deps.logger ?? nullLogger;
  const line = { backup_id: backup.id, task_id: task.id, job_id: ctx.jobId, environment_id: backup.environment_id };
  if (backup.cancel_requested_at) {
    // Cancelled before it started: cancelBackup already failed it; the job only settles the task.
    if (backup.status === 'pending') await markBackupFailed(deps, backup.id, cancelledError(backup.id), CANCELLED_MESSAGE);
    if (task.status !== 'failed') await endTask(deps, task, 'failed', CANCELLED_MESSAGE, null);
    log.info(line, 'backup job skipped: the backup was cancelled before it started');
    return { success: false, backup_id: backup.id, skipped: 'cancelled' };
  }

  const now = deps.clock.now().toISOString();
  let running = await moveTask(
    deps,
    task,
    { status: 'running', started_at: task.started_at ?? now, attempts: ctx.attempt, error_message: null },
    `Try ${ctx.attempt} of ${ctx.maxAttempts}`,
  );
  log.info({ ...line, attempt: ctx.attempt, max_attempts: ctx.maxAttempts, backup_type: backup.backup_type }, 'backup job started');
  const timeoutMs = deps.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  const cancel = watchForCancel(deps, backup.id, ctx.signal);
  const deadline = startJobDeadline(deps.clock, timeoutMs, `Backup ${backup.id}`, cancel.signal);
  let completed: Backup;
  try {
    // Each try is a clean run: whatever a previous try left is removed first.
    backup = await resetForRetry(deps, backup, `Starting try ${ctx.attempt} of ${ctx.maxAttempts} from a clean state`);
    // Backups that guard an operation are read back and checked before anyone relies on them.
    const verify = PRE_OPERATION.has(backup.backup_type) || (deps.verifyAfterUpload ?? true);
    completed = await deps.runner.run(backup.id, { signal: deadline.signal, verify });
  } catch (thrown) {
    deadline.dispose();
    cancel.dispose();
    const cancelled = cancel.error;
    const error = deadline.timeoutError ?? cancelled ?? thrown;
    running = (await deps.tasks.get(running.id)) ?? running;
    const transient = (error as { transient?: unknown } | null)?.transient === true;
    const willRetry = !cancelled && transient && ctx.attempt < ctx.maxAttempts && !ctx.signal.aborted;
    const failedBackup = await markBackupFailed(deps, backup.id, error, cancelled ? CANCELLED_MESSAGE : null, deadline.timedOut);
    const fields = { ...line, attempt: ctx.attempt, max_attempts: ctx.maxAttempts, ...errorLogFields(error) };
    if (willRetry) {
      const message = `Try ${ctx.attempt} of ${ctx.maxAttempts} failed: ${errorMessageOf(error)}; it will be retried`;
      if (failedBackup) await resetForRetry(deps, failedBackup, message);
      await moveTask(deps, running, { status: 'queued', error_message: message }, message);
      log.warn(fields, 'backup job try failed; it will be retried');
      throw error;
    }
    const message = cancelled ? CANCELLED_MESSAGE : finalFailureMessage(error, ctx.attempt, ctx.maxAttempts, transient);
    await endTask(deps, running, 'failed', message, null);
    if (failedBackup) await announceOutcome(deps, failedBackup, false, message);
    if (cancelled) {
      // Asked for: the job ends without a backup but did what it was told, so the queue does not dead-letter it.
      log.info(fields, 'backup job cancelled on request');
      return { success: false, backup_id: backup.id, skipped: 'cancelled' };
    }
    log.error(fields, 'backup job failed');
    throw error;
  }
  deadline.dispose();
  cancel.dispose();
  await endTask(deps, running, 'completed', null, { backup_id: completed.id });
  log.info(
    {
      ...line,
      attempt: ctx.attempt,
      compressed_size: completed.compressed_size,
      duration_seconds: completed.duration_seconds,
      is_verified: completed.is_verified,
    },
    'backup job completed',
  );
  await announceOutcome(
    deps,
    completed,
    true,
    `Backup ${completed.id} of environment ${completed.environment_id} completed (${completed.compressed_size} bytes)`,
  );
  await deps.scheduleCopy?.(completed);
  return { success: true, backup_id: completed.id };
}

/** Builds the handler a queue calls: `queue.process(BACKUP_JOB_NAME, createBackupJobHandler(deps))`. */
export function createBackupJobHandler(deps: BackupJobDeps): JobHandler<BackupJobPayload, BackupJobResult> {
  return (payload, ctx) => runBackupJob(deps, payload, ctx);
}

/**
 * The task's message when a backup ends failed, saying how many tries ran and why it stopped: the
 * last try of a transient failure ("after 3 tries"), or a failure that is not retried (permanent,
 * or the queue stopped the job) on whichever try it came.
 */
function finalFailureMessage(error: unknown, attempt: number, maxAttempts: number, transient: boolean): string {
  if (transient && attempt >= maxAttempts)
    return `Backup failed after ${attempt === 1 ? '1 try' : `${attempt} tries`}: ${errorMessageOf(error)}`;
  const why = transient ? '' : ' (a permanent failure)';
  return `Backup failed on try ${attempt} of ${maxAttempts}, not retried${why}: ${errorMessageOf(error)}`;
}

/**
 * Makes sure the record says `failed` with the error that ended the try. The runner already does
 * so for its own failures; this covers errors raised around it, and says what really stopped the
 * run when the runner only saw its signal abort: the time limit (`timedOut`: the code is
 * replaced) or a cancel (`message` given: the code and the message are replaced). Returns null
 * when the record is gone or was deleted.
 */
async function markBackupFailed(
  deps: BackupJobDeps,
  backupId: string,
  error: unknown,
  message: string | null,
  timedOut = false,
): Promise<Backup | null> {
  const current = await deps.backups.get(backupId);
  if (!current || current.status === 'deleted') return null;
  if (current.status === 'failed') {
    // The runner recorded the abort with its phase: say what really stopped it, unless it already did.
    if ((!timedOut && message === null) || current.error_details?.code === errorDetailsOf(error).code) return current;
    return deps.backups.update(
      current.id,
      {
        error_details: { ...current.error_details, ...errorDetailsOf(error), runner_code: current.error_details?.code ?? null },
        ...(message !== null ? { error_message: message } : {}),
      },
      { status: 'failed' },
    );
  }
  if (current.status === 'completed' || current.status === 'expired') return current;
  const text = message ?? errorMessageOf(error);
  return moveBackup(deps, current, { status: 'failed', error_message: text, error_details: errorDetailsOf(error) }, text);
}

/** Ends a task (completed or failed) and wakes in-process waiters. */
async function endTask(
  deps: BackupJobDeps,
  task: Task,
  status: 'completed' | 'failed',
  message: string | null,
  result: Record<string, unknown> | null,
): Promise<void> {
  await moveTask(
    deps,
    task,
    { status, completed_at: deps.clock.now().toISOString(), error_message: message, ...(result ? { result } : {}) },
    message,
  );
  deps.completions?.announce(task.id);
}
