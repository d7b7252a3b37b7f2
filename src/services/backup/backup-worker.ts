import type { DeadLetter, JobContext, Worker } from '../../ports/job-queue.js';
import { BACKUP_JOB_NAME, runBackupJob, type BackupJobPayload, type BackupJobResult } from './backup-job.js';
import { copyDepsOf, type BackupServiceContext } from './backup-service-context.js';
import { BACKUP_COPY_JOB_NAME, runBackupCopyJob, type BackupCopyPayload } from './backup-copy.js';
import { recoverStaleBackups, type StaleRecoveryOptions, type StaleRecoveryReport } from './stale-recovery.js';

/** The worker side of the backup service: running jobs from the queue, crash recovery, dead letters. */

/** `BackupService.executeBackupJob`: the handler of one backup job. */
export function executeBackupJob(ctx: BackupServiceContext, payload: BackupJobPayload, job: JobContext): Promise<BackupJobResult> {
  return runBackupJob(ctx, payload, job);
}

/** `BackupService.startWorker`: processes backup jobs, `concurrency` at once (default 10, the product's max_jobs). */
export function startBackupWorker(ctx: BackupServiceContext, options: { concurrency?: number }): Worker {
  const concurrency = options.concurrency ?? 10;
  const backups = ctx.options.queue.process(BACKUP_JOB_NAME, (payload, job) => executeBackupJob(ctx, payload as BackupJobPayload, job), {
    concurrency,
  });
  const copies = ctx.options.queue.process(
    BACKUP_COPY_JOB_NAME,
    (payload, job) => runBackupCopyJob(copyDepsOf(ctx), payload as BackupCopyPayload, job),
    { concurrency },
  );
  return { close: async () => void (await Promise.all([backups.close(), copies.close()])) };
}

/** `BackupService.recoverStale`. */
export function recoverStale(ctx: BackupServiceContext, now: Date, options: StaleRecoveryOptions): Promise<StaleRecoveryReport> {
  return recoverStaleBackups({ ...ctx, queue: ctx.options.queue }, now, options);
}

/** `BackupService.deadLetters`. */
export function deadLetters(ctx: BackupServiceContext): Promise<DeadLetter[]> {
  return ctx.options.queue.deadLetters();
}
