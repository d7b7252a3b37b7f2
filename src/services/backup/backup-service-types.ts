import type { Readable } from 'node:stream';
import type { Authorizer } from '../../ports/authorizer.js';
import type { BackupSourceFactory } from '../../ports/backup-source.js';
import type { Clock } from '../../ports/clock.js';
import type { EnvironmentResolver } from '../../ports/environment-resolver.js';
import type { EventSink } from '../../ports/events.js';
import type { Logger } from '../../ports/logger.js';
import type { JobQueue } from '../../ports/job-queue.js';
import type { Notifier } from '../../ports/notifier.js';
import type { QuotaLookup } from '../../ports/quota.js';
import type { RateLimitDecision, RateLimiter } from '../../ports/rate-limiter.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository, TaskRepository } from '../../ports/repositories.js';
import type { StorageProviderFactory } from '../../ports/storage-provider.js';
import type { BackupRunnerDeps } from '../../pipeline/backup-runner.js';
import type { KeyProvider } from '../../ports/key-provider.js';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import type { BackupExecutor } from './backup-job.js';

// The options and result types of BackupService, in a module of their own so that the service's
// parts (commands, queries, downloads, context) and the service itself import them from below,
// never from each other: backup-service.ts imports its parts, and the parts import only this.
/** The manual-backup rate limit (see docs/decisions.md#rate-limit-and-quota): requests per window per key. */
export interface RateLimitSettings {
  limit: number;
  windowSeconds: number;
}

/** The retry schedule of backup jobs, as the queue applies it. */
export interface RetrySettings {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before try 2, 3, ... in ms. */
  backoffMs: readonly number[];
}

/** What a {@link BackupService} is built from: the host's ports plus optional settings. */
export interface BackupServiceOptions {
  backups: BackupRepository;
  tasks: TaskRepository;
  storageConfigs: StorageConfigRepository;
  /** Policies (retention classification, notification settings, `last_backup_status`). Without one, the default settings apply. */
  policies?: BackupPolicyRepository;
  environments: EnvironmentResolver;
  queue: JobQueue;
  /** Builds storage providers (default: `createStorageProvider`). */
  storageProviders?: StorageProviderFactory;
  /** Resolves `{ ref }` storage credentials just before a provider is built (runs, verification, downloads, purges). */
  secrets?: SecretResolver;
  /** Builds backup sources for the default runner (default: `createBackupSource`). */
  sources?: BackupSourceFactory;
  /** Replaces the pipeline (default: a `BackupRunner` over the same ports). */
  runner?: BackupExecutor;
  /** Encryption keys: the recipients new backups are encrypted to, the identities verification and restores open them with. */
  keys?: KeyProvider;
  /** Settings of the default runner: `pg_dump` compression level, the dump lister used by verification, whether to record row counts. */
  runnerOptions?: Pick<BackupRunnerDeps, 'compressionLevel' | 'dumpLister' | 'recordRowCounts'>;
  clock?: Clock;
  events?: EventSink;
  notifier?: Notifier;
  /** The manual-backup limiter (default: in memory, per process). */
  rateLimiter?: RateLimiter;
  /** Manual backups per key and window (default 10 an hour). */
  manualRateLimit?: RateLimitSettings;
  /** The host's plan limits (default: unlimited). */
  quota?: QuotaLookup;
  /** The host's permission hook; every call goes through it when given (see docs/decisions.md#permissions). */
  authorize?: Authorizer;
  /** Time limit of one job try (default 3600 s, see docs/decisions.md#job-timeout). */
  jobTimeoutMs?: number;
  /** Retry schedule (default (`BACKUP_JOB_RETRY`): 3 tries, waits 60 s and 300 s). */
  retry?: RetrySettings;
  /**
   * How often a waiter (a pre-operation backup, `waitForBackup`) re-reads the record when no
   * in-process signal arrives, in ms of the clock (default 2000): what a worker in another process
   * changed is seen within that time.
   */
  completionPollMs?: number;
  /**
   * How often a running job re-reads its backup's `cancel_requested_at`, in ms of the clock
   * (default 2000). A cancel asked in the same process stops the job at once; one asked elsewhere
   * within this time.
   */
  cancelCheckMs?: number;
  /**
   * Read every backup back from storage and check it after upload (default true). Pre-operation
   * backups are always verified, whatever this says. See docs/backup-service.md#verification.
   */
  verifyAfterUpload?: boolean;
  /** Job start / end / failure / retry lines (pino, console...). Default: nothing is logged. Lines never carry secrets. */
  logger?: Logger;
  /** New record ids (default: random UUIDs). */
  ids?: () => string;
}

/** Options of {@link BackupService.createBackup}. */
export interface CreateBackupOptions {
  /**
   * Called with the rate limiter's decision when the request was counted (every backup a person
   * asks for), before the call resolves or throws `RateLimitError`: an HTTP layer turns it into
   * `X-RateLimit-*` headers. Not called for requests that are not counted (actor null).
   */
  onRateLimit?: (decision: RateLimitDecision) => void;
}

/** Filters and paging of {@link BackupService.listBackups}; numbers may come as URL strings. */
export interface ListBackupsQuery {
  status?: string;
  backup_type?: string;
  page?: number | string;
  page_size?: number | string;
}

/** Options of {@link BackupService.deleteBackup}. */
export interface DeleteBackupOptions {
  /** Remove the storage object now rather than at the next retention cleanup (see docs/decisions.md#deleting-a-backup). */
  purge?: boolean;
}

/** A streaming download of a backup's object as stored: its ZIP, or the age file holding it. */
export interface BackupDownload {
  backup_id: string;
  /** `{backup_id}.zip`, or `{backup_id}.zip.age` when encrypted, for a Content-Disposition header. */
  filename: string;
  /** `application/zip`, or `application/octet-stream` for an age file. */
  content_type: 'application/zip' | 'application/octet-stream';
  /** Bytes of the whole object (`compressed_size`). */
  size: number;
  /** The object's bytes; read it to the end or destroy it. */
  stream: Readable;
}

/** Options of {@link BackupService.openDownload}. */
export interface OpenDownloadOptions {
  range?: { start: number; end?: number };
  signal?: AbortSignal;
}

/** A streaming export of a backup as the ZIP Odoo's database manager restores (see docs/import-export.md). */
export interface OdooExport {
  backup_id: string;
  /** `{db_name}_{created_at}.zip` made safe for a Content-Disposition header (Odoo names its own dumps so). */
  filename: string;
  content_type: 'application/zip';
  /** Unknown until the last byte: the plain SQL is made and deflated as it streams. */
  size: null;
  /**
   * The ZIP's bytes, made as they are read; read it to the end or destroy it (which stops
   * pg_restore). It fails, never ends cleanly, when anything goes wrong midway (a checksum that
   * does not match the manifest, pg_restore failing, storage dropping), so a reader never takes a
   * cut ZIP for a whole one.
   */
  stream: Readable;
  /** Resolves once the ZIP ended whole; rejects with what broke it (a typed SDK error). */
  done: Promise<void>;
}

/** Options of {@link BackupService.openOdooExport}. */
export interface OpenOdooExportOptions {
  /** zlib level 1-9 of `dump.sql` and of the filestore files worth deflating (default 1; Odoo's own is 6). */
  compressionLevel?: number;
  /**
   * Folder holding the `pg_restore` that turns the dump into plain SQL on this host (default:
   * PATH, then the newest `/usr/lib/postgresql/<major>/bin`). It must be at least the dump's
   * pg_dump major.
   */
  pgBinDir?: string;
  /** Aborting stops the export: the stream fails with `E_ABORTED`. */
  signal?: AbortSignal;
}

/** The backup types that guard an operation. */
export type PreOperationBackupType = 'pre_restore' | 'pre_upgrade' | 'pre_destroy';

/** Options of {@link BackupService.createPreOperationBackup}. */
export interface PreOperationBackupOptions {
  storage_config_id?: string | null;
  include_filestore?: boolean;
  /** Stop waiting (the backup goes on) when this aborts. */
  signal?: AbortSignal;
  /**
   * Give up waiting after this long on the clock (default: enough for every try at its full time
   * limit plus the retry waits, plus a minute). Throws a `TimeoutError`; the backup goes on.
   */
  timeoutMs?: number;
}
