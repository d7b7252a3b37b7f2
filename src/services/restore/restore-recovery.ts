import type { TaskStatus } from '../../domain/enums.js';
import { ConflictError, UnsupportedOperationError } from '../../errors/errors.js';
import type { JobInfo, JobQueue } from '../../ports/job-queue.js';
import { errorMessageOf } from '../backup/backup-lifecycle.js';
import { journalOf } from './restore-journal.js';
import { recoverRestoreTask, RESTORE_JOB_NAME, type RestoreJobDeps } from './restore-job.js';

/** Options of `recoverStaleRestores`. */
export interface RestoreRecoveryOptions {
  /** A queued restore whose job the queue does not know is failed once older than this (default 5 minutes). */
  pendingGraceMs?: number;
}

/** One restore task that recovery ended. */
export interface RecoveredRestore {
  task_id: string;
  previous_status: TaskStatus;
  job_state: JobInfo['state'] | 'missing';
  /**
   * `rolled_back`: the target was put back; `completed`: the swap had happened, cleanup was
   * finished; `failed`: nothing had been touched; `rollback_failed`: another restore's database or
   * folder stood at the target, so it was left alone with this restore's set-aside original (the
   * task's error says where; `E_RESTORE_ROLLBACK_FAILED`).
   */
  outcome: 'rolled_back' | 'completed' | 'failed' | 'rollback_failed';
}

/** What `recoverStaleRestores` did. */
export interface RestoreRecoveryReport {
  recovered: RecoveredRestore[];
  /** Tasks that could not be repaired this time (target unreachable...): run recovery again later. */
  errors: { task_id: string; message: string }[];
}

const DEFAULT_PENDING_GRACE_MS = 5 * 60_000;

/**
 * Crash recovery of restores: every restore task whose worker is gone (its job is not active,
 * waiting or delayed) and whose journal has no outcome is ended from its journal (see
 * `recoverRestoreTask`): rolled back, or finished when its cleanup had begun. Also covers restore
 * tasks that backup recovery already failed (their pre-restore backup was running) but whose
 * target was not yet put back. Needs `TaskRepository.find`.
 */
export async function recoverStaleRestores(
  deps: RestoreJobDeps & { queue: JobQueue },
  now: Date,
  options: RestoreRecoveryOptions = {},
): Promise<RestoreRecoveryReport> {
  if (!deps.tasks.find) {
    throw new UnsupportedOperationError(
      'restore recovery',
      'this TaskRepository',
      'it needs find() to list restore tasks by type and status',
    );
  }
  const grace = options.pendingGraceMs ?? DEFAULT_PENDING_GRACE_MS;
  const report: RestoreRecoveryReport = { recovered: [], errors: [] };
  const tasks = await deps.tasks.find({ task_type: 'restore', status: ['pending', 'queued', 'running', 'failed'] });
  for (const task of tasks) {
    const journal = journalOf(task);
    if (task.status === 'failed' && (!journal || journal.outcome !== null || journal.begun.length === 0)) continue;
    if ((task.status === 'pending' || task.status === 'queued') && now.getTime() - Date.parse(task.created_at) < grace) continue;
    try {
      // Asked under the job's own name; a job under another name means the queue could not
      // answer for restores: unknown, never lost (a live worker may be running it).
      const job = task.job_id ? await deps.queue.getJob(task.job_id, RESTORE_JOB_NAME) : null;
      if (job && job.name !== RESTORE_JOB_NAME) continue;
      if (job && job.state !== 'completed' && job.state !== 'failed') continue;
      const jobState = job ? job.state : 'missing';
      const reason =
        task.status === 'running' || task.status === 'failed'
          ? `The worker running this restore stopped before it finished (its job is ${jobState})`
          : `The job of this restore was lost before it started (job ${jobState})`;
      const outcome = await recoverRestoreTask(deps, task, reason);
      report.recovered.push({ task_id: task.id, previous_status: task.status, job_state: jobState, outcome });
    } catch (error) {
      if (error instanceof ConflictError) continue; // a live worker moved it on
      report.errors.push({ task_id: task.id, message: errorMessageOf(error) });
    }
  }
  return report;
}
