import type { Backup, Task } from '../../domain/entities.js';
import type { BackupCreateInput } from '../../domain/validation.js';
import type { Actor } from '../../ports/authorizer.js';
import type { DeadLetter, JobContext, Worker } from '../../ports/job-queue.js';
import { cancelBackup, createBackup, deleteBackup } from './backup-commands.js';
import { getDownloadUrls, openDownload, openOdooExport } from './backup-downloads.js';
import type { BackupJobPayload, BackupJobResult } from './backup-job.js';
import { getBackup, getSummary, getTask, listBackups } from './backup-queries.js';
import type { BackupCreatedResponse, BackupDetail, BackupDownloadUrls, BackupListItem, BackupSummary, Page } from './backup-responses.js';
import { copyDepsOf, createBackupServiceContext, type BackupServiceContext } from './backup-service-context.js';
import { deadLetters, executeBackupJob, recoverStale, startBackupWorker } from './backup-worker.js';
import { runBackupCopyJob, type BackupCopyPayload, type BackupCopyResult } from './backup-copy.js';
import { createPreOperationBackup } from './pre-operation-backup.js';
import type { StaleRecoveryOptions, StaleRecoveryReport } from './stale-recovery.js';
import { verifyBackup, type BackupVerificationResult, type VerifyBackupOptions } from './verify-backup.js';
import { waitForBackup, type WaitForBackupOptions } from './wait-for-backup.js';

export type { BackupVerificationResult, VerifyBackupOptions } from './verify-backup.js';
export type { WaitForBackupOptions } from './wait-for-backup.js';

export type {
  BackupDownload,
  BackupServiceOptions,
  CreateBackupOptions,
  DeleteBackupOptions,
  ListBackupsQuery,
  OdooExport,
  OpenDownloadOptions,
  OpenOdooExportOptions,
  PreOperationBackupOptions,
  PreOperationBackupType,
  RateLimitSettings,
  RetrySettings,
} from './backup-service-types.js';
import type {
  BackupDownload,
  BackupServiceOptions,
  CreateBackupOptions,
  DeleteBackupOptions,
  ListBackupsQuery,
  OdooExport,
  OpenDownloadOptions,
  OpenOdooExportOptions,
  PreOperationBackupOptions,
  PreOperationBackupType,
} from './backup-service-types.js';

/** The product's default: 10 manual backups an hour per key. */
export { DEFAULT_MANUAL_BACKUP_RATE_LIMIT } from './backup-service-context.js';

/**
 * The backup API a host calls: the product's REST endpoints minus HTTP. Creates backups as a Task
 * plus a Backup record and a job on the host's queue, runs jobs (`executeBackupJob`, or
 * `startWorker`), lists, shows, deletes and downloads backups, summarises an environment, runs
 * guarded pre-operation backups and repairs backups whose worker died (`recoverStale`).
 *
 * `actor` is who is asking; `null` means the SDK itself (the scheduler): it is passed to the
 * authorize hook like any other, and is exempt from the manual rate limit.
 */
export class BackupService {
  /** The ports with their defaults, shared by every part of the service. */
  private readonly ctx: BackupServiceContext;

  constructor(options: BackupServiceOptions) {
    this.ctx = createBackupServiceContext(options);
  }

  /**
   * The product's `POST /backups/environments/{id}/backups`. Validates `input` (the product's
   * BackupCreate), authorizes `project.backups.create`, checks the organisation's quota and the
   * rate limit: every backup a person asks for (an `actor`) is admitted as manual whatever its
   * `backup_type` (refused over quota, counted by the rate limit, its decision reported to
   * `options.onRateLimit`); the scheduler's (actor null) go on over quota with a `warning`
   * event and a `quota.warning` notification, as do pre-operation backups. Picks the
   * storage config (the given one, else the organisation's default) and the retention type (the
   * given one, else by date under the environment's policy); creates the Task and the Backup and
   * enqueues the job. Returns the product's 201 body. Every refusal throws before anything is written.
   *
   * `input` is typed, so a misspelt field does not compile; it is validated at run time all the
   * same (for JavaScript callers). Code that holds an unparsed body (an HTTP handler) parses it
   * first: `createBackup(id, parseInput(BackupCreateSchema, req.body), actor)`.
   *
   * @throws ValidationError bad input, or no storage config to use (`E_STORAGE_CONFIG_MISSING`)
   * @throws NotFoundError unknown environment or storage config
   * @throws PermissionDeniedError the authorize hook said no
   * @throws QuotaExceededError a manual backup while the organisation is over quota
   * @throws RateLimitError too many backups asked by people for this key
   */
  createBackup(
    environmentId: string,
    input: BackupCreateInput = {},
    actor: Actor | null = null,
    options: CreateBackupOptions = {},
  ): Promise<BackupCreatedResponse> {
    return createBackup(this.ctx, environmentId, input, actor, options.onRateLimit ? { onRateLimit: options.onRateLimit } : {});
  }

  /**
   * The job handler any queue calls for {@link BACKUP_JOB_NAME} jobs (bound: pass it as is).
   * See `runBackupJob` for the lifecycle.
   */
  readonly executeBackupJob = (payload: BackupJobPayload, job: JobContext): Promise<BackupJobResult> =>
    executeBackupJob(this.ctx, payload, job);

  /**
   * The job handler any queue calls for `backup_copy` jobs (`TaskType.BACKUP_COPY`; bound): the second
   * copy of a backup to its policy's secondary storage. See `runBackupCopyJob`.
   */
  readonly executeBackupCopyJob = (payload: BackupCopyPayload, job: JobContext): Promise<BackupCopyResult> =>
    runBackupCopyJob(copyDepsOf(this.ctx), payload, job);

  /**
   * Starts processing backup jobs and copy jobs on the queue, `concurrency` of each at once
   * (default 10, the product's max_jobs).
   */
  startWorker(options: { concurrency?: number } = {}): Worker {
    return startBackupWorker(this.ctx, options);
  }

  /**
   * The product's `GET .../environments/{id}/backups`: newest first, filtered by `status` and
   * `backup_type`, paged (`page` from 1, `page_size` 1..100, default 20). Works for environments
   * that no longer exist (their pre_destroy backups stay listed).
   */
  listBackups(environmentId: string, query: ListBackupsQuery = {}, actor: Actor | null = null): Promise<Page<BackupListItem>> {
    return listBackups(this.ctx, environmentId, query, actor);
  }

  /** The product's `GET /backups/{id}`. */
  getBackup(backupId: string, actor: Actor | null = null): Promise<BackupDetail> {
    return getBackup(this.ctx, backupId, actor);
  }

  /** The task that tracks a backup job (the product's `GET /tasks/{id}`), for polling clients. */
  getTask(taskId: string, actor: Actor | null = null): Promise<Task> {
    return getTask(this.ctx, taskId, actor);
  }

  /**
   * The product's `DELETE /backups/{id}` (see docs/decisions.md#deleting-a-backup): marks the backup `deleted` and keeps the
   * record for audit. Its storage object is removed by the next retention cleanup, or now with
   * `purge: true` (then the storage config's usage counters drop at once and the key is cleared,
   * so cleanup does not count it twice). Deleting a deleted backup changes nothing (with `purge`,
   * it removes a leftover object). A backup that is running cannot be deleted (`E_INVALID_TRANSITION`).
   */
  deleteBackup(backupId: string, options: DeleteBackupOptions = {}, actor: Actor | null = null): Promise<void> {
    return deleteBackup(this.ctx, backupId, options, actor);
  }

  /**
   * The product's `GET /backups/{id}/download?expires_in=` (see docs/decisions.md#download-urls): a signed URL of the ZIP,
   * valid `expires_in` seconds (300..86400, default 3600). Providers that cannot sign (FTP, SFTP,
   * local, memory) throw `UnsupportedOperationError` (`E_UNSUPPORTED`): use {@link openDownload}.
   */
  getDownloadUrls(backupId: string, expiresIn?: number | string, actor: Actor | null = null): Promise<BackupDownloadUrls> {
    return getDownloadUrls(this.ctx, backupId, expiresIn, actor);
  }

  /** Streams a completed backup's ZIP from its storage, on every provider. */
  openDownload(backupId: string, options: OpenDownloadOptions = {}, actor: Actor | null = null): Promise<BackupDownload> {
    return openDownload(this.ctx, backupId, options, actor);
  }

  /**
   * Streams a completed backup as the ZIP Odoo's own database manager restores (`restore_db`):
   * `dump.sql` (plain SQL from `pg_restore --no-owner --no-privileges -f -` on this host, deflated
   * as it streams), `manifest.json` with Odoo's seven keys, and `filestore/<path>` for every file.
   * The same permission as {@link openDownload}. The backup is checked as a restore checks it
   * (structure, manifest, the record's checksums, both SHA-256 sums as they stream); an encrypted
   * one is opened with the key provider's identities. See docs/import-export.md.
   */
  openOdooExport(backupId: string, options: OpenOdooExportOptions = {}, actor: Actor | null = null): Promise<OdooExport> {
    return openOdooExport(this.ctx, backupId, options, actor);
  }

  /** The product's `GET .../environments/{id}/summary`. */
  getSummary(environmentId: string, actor: Actor | null = null): Promise<BackupSummary> {
    return getSummary(this.ctx, environmentId, actor);
  }

  /**
   * A backup that guards an operation (restore, upgrade, destroy): created like any other (its
   * job goes through the queue, with retries), read back and verified, then awaited. Resolves
   * with the completed, verified record; throws when it failed (a `BackupSdkError` carrying the
   * failure's code) or did not verify (`E_VERIFICATION_FAILED`) so the host does not proceed. Not rate limited; allowed over quota (with a warning), since refusing it would only
   * remove a safety net. A worker must be processing the queue.
   */
  createPreOperationBackup(
    environmentId: string,
    type: PreOperationBackupType,
    actor: Actor | null,
    options: PreOperationBackupOptions = {},
  ): Promise<Backup> {
    return createPreOperationBackup(this.ctx, environmentId, type, actor, options);
  }

  /**
   * Cancels a pending or running backup, with any queue. Records `cancel_requested_at`; a pending
   * backup ends `failed` with `E_CANCELLED` at once (its job is skipped when a worker picks it
   * up); a running one is stopped by its job, which watches the flag (at once in this process,
   * within `cancelCheckMs` in another), removes the partial upload and ends it `failed` with
   * `E_CANCELLED`. Resolves with the record once the cancel is recorded: use
   * {@link BackupService.waitForBackup} to see a running backup end. Asks the same permission as
   * deleting (`project.backups.delete`). Cancelling a cancelled backup changes nothing.
   *
   * @throws InvalidTransitionError the backup already ended (completed, failed, deleted, expired)
   */
  cancelBackup(backupId: string, actor: Actor | null = null): Promise<Backup> {
    return cancelBackup(this.ctx, backupId, actor);
  }

  /**
   * Waits until a backup is settled and resolves with its record: `completed`, or `failed` (a
   * failure resolves, it does not throw: read `status` and `error_details.code`), or `deleted` /
   * `expired`. Wakes on status changes in this process and re-reads the repository every
   * `completionPollMs` of the clock, so it also sees workers in other processes. Asks
   * `project.backups.view`.
   *
   * @throws TimeoutError (`E_TIMEOUT`) after `timeoutMs`; the backup goes on
   * @throws AbortedError (`E_ABORTED`) when `signal` aborts; the backup goes on
   */
  waitForBackup(backupId: string, options: WaitForBackupOptions = {}, actor: Actor | null = null): Promise<Backup> {
    return waitForBackup(this.ctx, backupId, options, actor);
  }

  /**
   * Reads a completed backup back from storage and checks it whole (ZIP structure, manifest,
   * SHA-256 of each part against the record, the dump's table of contents), records the outcome
   * on the backup (`is_verified`, `verified_at`, `verification_error`) and resolves with it. A
   * failed check resolves with `ok: false` and is recorded (`is_verified: false`, `verified_at:
   * null`, `verification_error`, a `W_VERIFICATION_FAILED` warning). Asks `project.backups.view`.
   *
   * @throws ConflictError (`E_BACKUP_NOT_DOWNLOADABLE`) the backup is not completed
   * @throws StorageError a transient storage failure: the check could not run, nothing is recorded
   */
  verifyBackup(backupId: string, actor: Actor | null = null, options: VerifyBackupOptions = {}): Promise<BackupVerificationResult> {
    return verifyBackup(this.ctx, backupId, actor, options);
  }

  /**
   * Crash recovery (see `recoverStaleBackups`): backups stuck in `in_progress` / `uploading`
   * whose job is gone end `failed` with a clear reason, with no object left in storage and their
   * task failed. Run it at start-up and every few minutes.
   */
  recoverStale(now?: Date, options: StaleRecoveryOptions = {}): Promise<StaleRecoveryReport> {
    return recoverStale(this.ctx, now ?? this.ctx.clock.now(), options);
  }

  /** Jobs that failed for good (the queue's dead-letter list), oldest first. */
  deadLetters(): Promise<DeadLetter[]> {
    return deadLetters(this.ctx);
  }
}
