import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Backup, StorageConfig, Task } from '../domain/entities.js';
import { Permission } from '../domain/permissions.js';
import { classifyRetention, DEFAULT_RETENTION } from '../domain/retention-classification.js';
import {
  BackupCreateSchema,
  BackupListQuerySchema,
  DownloadQuerySchema,
  parseInput,
  type BackupCreateInput,
} from '../domain/validation.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { isErrorCode } from '../errors/error-codes.js';
import { ConflictError, NotFoundError, QuotaExceededError, RateLimitError, ValidationError } from '../errors/errors.js';
import type { Actor, Authorizer } from '../ports/authorizer.js';
import type { BackupSourceFactory } from '../ports/backup-source.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { EnvironmentResolver, ResolvedEnvironment } from '../ports/environment-resolver.js';
import { nullEventSink, type EventSink } from '../ports/events.js';
import type { DeadLetter, JobContext, JobQueue, Worker } from '../ports/job-queue.js';
import { nullNotifier, type Notifier } from '../ports/notifier.js';
import type { QuotaLookup, QuotaStatus } from '../ports/quota.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository, TaskRepository } from '../ports/repositories.js';
import type { StorageProviderFactory } from '../ports/storage-provider.js';
import { BackupRunner, type BackupRunnerDeps } from '../pipeline/backup-runner.js';
import { createStorageProvider } from '../storage/registry.js';
// The default limiter is the in-memory one: fine for a single process (hosts with replicas pass their own).
import { InMemoryRateLimiter } from '../testing/recording-adapters.js';
import { authorizeCall } from './authorize-call.js';
import {
  BACKUP_JOB_NAME,
  BACKUP_JOB_RETRY,
  DEFAULT_JOB_TIMEOUT_MS,
  runBackupJob,
  type BackupExecutor,
  type BackupJobDeps,
  type BackupJobPayload,
  type BackupJobResult,
} from './backup-job.js';
import {
  emitTaskCreated,
  errorMessageOf,
  moveBackup,
  moveTask,
  objectKeyOf,
  removeLeftoverObject,
  safeNotify,
} from './backup-lifecycle.js';
import {
  toBackupCreatedResponse,
  toBackupDetail,
  toBackupListItem,
  type BackupCreatedResponse,
  type BackupDetail,
  type BackupDownloadUrls,
  type BackupListItem,
  type BackupSummary,
  type Page,
} from './backup-responses.js';
import { startJobDeadline } from './job-timeout.js';
import { newBackupRecord } from './new-backup-record.js';
import { getQuotaStatus, QUOTA_COUNTED_STATUSES } from './quota.js';
import { recoverStaleBackups, type StaleRecoveryOptions, type StaleRecoveryReport } from './stale-recovery.js';
import { TaskCompletionHub } from './task-completion.js';

/** The manual-backup rate limit (DECISIONS 22): requests per window per key. */
export interface RateLimitSettings {
  limit: number;
  windowSeconds: number;
}

/** The spec's default: 10 manual backups an hour per key. */
export const DEFAULT_MANUAL_BACKUP_RATE_LIMIT: Readonly<RateLimitSettings> = Object.freeze({ limit: 10, windowSeconds: 3600 });

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
  /** Policies (retention classification, notification settings, `last_backup_status`). Without one, the spec's defaults apply. */
  policies?: BackupPolicyRepository;
  environments: EnvironmentResolver;
  queue: JobQueue;
  /** Builds storage providers (default: `createStorageProvider`). */
  storageProviders?: StorageProviderFactory;
  /** Builds backup sources for the default runner (default: `createBackupSource`). */
  sources?: BackupSourceFactory;
  /** Replaces the pipeline (default: a `BackupRunner` over the same ports). */
  runner?: BackupExecutor;
  /** Settings of the default runner: `pg_dump` compression level, the dump lister used by verification. */
  runnerOptions?: Pick<BackupRunnerDeps, 'compressionLevel' | 'dumpLister'>;
  clock?: Clock;
  events?: EventSink;
  notifier?: Notifier;
  /** The manual-backup limiter (default: in memory, per process). */
  rateLimiter?: RateLimiter;
  /** Manual backups per key and window (default 10 an hour). */
  manualRateLimit?: RateLimitSettings;
  /** The host's plan limits (default: unlimited). */
  quota?: QuotaLookup;
  /** The host's permission hook; every call goes through it when given (DECISIONS 23). */
  authorize?: Authorizer;
  /** Time limit of one job try (default 3600 s, DECISIONS 19). */
  jobTimeoutMs?: number;
  /** Retry schedule (default {@link BACKUP_JOB_RETRY}: 3 tries, waits 60 s and 300 s). */
  retry?: RetrySettings;
  /** How often a pre-operation backup re-reads its task when no in-process signal arrives (default 2000 ms). */
  completionPollMs?: number;
  /** New record ids (default: random UUIDs). */
  ids?: () => string;
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
  /** Remove the storage object now rather than at the next retention cleanup (DECISIONS 20). */
  purge?: boolean;
}

/** A streaming download of a backup's ZIP. */
export interface BackupDownload {
  backup_id: string;
  /** `{backup_id}.zip`, for a Content-Disposition header. */
  filename: string;
  content_type: 'application/zip';
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

const PRE_OPERATION_TYPES: readonly PreOperationBackupType[] = ['pre_restore', 'pre_upgrade', 'pre_destroy'];

/**
 * The backup API a host calls: the spec's REST endpoints minus HTTP. Creates backups as a Task
 * plus a Backup record and a job on the host's queue, runs jobs (`executeBackupJob`, or
 * `startWorker`), lists, shows, deletes and downloads backups, summarises an environment, runs
 * guarded pre-operation backups and repairs backups whose worker died (`recoverStale`).
 *
 * `actor` is who is asking; `null` means the SDK itself (the scheduler): it is passed to the
 * authorize hook like any other, and is exempt from the manual rate limit.
 */
export class BackupService {
  private readonly clock: Clock;
  private readonly events: EventSink;
  private readonly notifier: Notifier;
  private readonly storageProviders: StorageProviderFactory;
  private readonly rateLimiter: RateLimiter;
  private readonly rateLimit: RateLimitSettings;
  private readonly retry: RetrySettings;
  private readonly jobTimeoutMs: number;
  private readonly ids: () => string;
  private readonly completions = new TaskCompletionHub();
  private readonly jobDeps: BackupJobDeps;

  constructor(private readonly options: BackupServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? nullEventSink;
    this.notifier = options.notifier ?? nullNotifier;
    this.storageProviders = options.storageProviders ?? createStorageProvider;
    this.rateLimiter = options.rateLimiter ?? new InMemoryRateLimiter(this.clock);
    this.rateLimit = options.manualRateLimit ?? DEFAULT_MANUAL_BACKUP_RATE_LIMIT;
    this.retry = options.retry ?? BACKUP_JOB_RETRY;
    this.jobTimeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    this.ids = options.ids ?? randomUUID;
    const runner =
      options.runner ??
      new BackupRunner({
        backups: options.backups,
        storageConfigs: options.storageConfigs,
        environments: options.environments,
        ...(options.policies ? { policies: options.policies } : {}),
        storageProviders: this.storageProviders,
        ...(options.sources ? { sources: options.sources } : {}),
        clock: this.clock,
        events: this.events,
        ...options.runnerOptions,
      });
    this.jobDeps = {
      backups: options.backups,
      tasks: options.tasks,
      storageConfigs: options.storageConfigs,
      ...(options.policies ? { policies: options.policies } : {}),
      storageProviders: this.storageProviders,
      clock: this.clock,
      events: this.events,
      notifier: this.notifier,
      runner,
      jobTimeoutMs: this.jobTimeoutMs,
      completions: this.completions,
    };
  }

  /**
   * The spec's `POST /backups/environments/{id}/backups`. Validates `input` (the spec's
   * BackupCreate), authorizes `project.backups.create`, checks the organisation's quota (manual
   * backups are refused when over it; scheduled and pre-operation ones go on with a `warning`
   * event and a `quota.warning` notification) and, for manual backups, the rate limit; picks the
   * storage config (the given one, else the organisation's default) and the retention type (the
   * given one, else by date under the environment's policy); creates the Task and the Backup and
   * enqueues the job. Returns the spec's 201 body. Every refusal throws before anything is written.
   *
   * @throws ValidationError bad input, or no storage config to use (`E_STORAGE_CONFIG_MISSING`)
   * @throws NotFoundError unknown environment or storage config
   * @throws PermissionDeniedError the authorize hook said no
   * @throws QuotaExceededError a manual backup while the organisation is over quota
   * @throws RateLimitError too many manual backups for this key
   */
  async createBackup(
    environmentId: string,
    input: BackupCreateInput | Record<string, unknown> = {},
    actor: Actor | null = null,
  ): Promise<BackupCreatedResponse> {
    assertId(environmentId, 'environment_id');
    const request = parseInput(BackupCreateSchema, input);
    assertActor(actor);
    const env = await this.resolveEnvironment(environmentId);
    await authorizeCall(this.options.authorize, {
      actor,
      permission: Permission.BACKUPS_CREATE,
      environment_id: environmentId,
      organization_id: env.organization_id,
    });

    const config = await this.pickStorageConfig(env, request.storage_config_id);
    const quota = await getQuotaStatus(
      { backups: this.options.backups, ...(this.options.quota ? { quota: this.options.quota } : {}) },
      env.organization_id,
    );
    if (quota.exceeded && request.backup_type === 'manual')
      throw new QuotaExceededError(env.organization_id, quota.used_bytes, quota.limit_bytes ?? 0);
    if (request.backup_type === 'manual' && actor !== null) await this.consumeRateLimit(actor);

    const now = this.clock.now();
    const policy = this.options.policies ? await this.options.policies.getByEnvironment(environmentId) : null;
    const retentionType = request.retention_type ?? classifyRetention(now, policy ?? DEFAULT_RETENTION);
    const at = now.toISOString();
    const taskId = this.ids();
    const backupId = this.ids();
    const actorId = actor?.id ?? null;

    let task = await this.options.tasks.create({
      id: taskId,
      task_type: 'backup',
      status: 'pending',
      environment_id: environmentId,
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
    emitTaskCreated(this.jobDeps, task);
    let backup: Backup;
    try {
      backup = await this.options.backups.create(
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
      await moveTask(this.jobDeps, task, {
        status: 'failed',
        error_message: `Could not create the backup record: ${errorMessageOf(error)}`,
        completed_at: at,
      });
      throw error;
    }

    // Queued before the enqueue, so a worker that picks the job at once finds a settled task.
    task = await moveTask(this.jobDeps, task, { status: 'queued' });
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
      await this.options.queue.enqueue(BACKUP_JOB_NAME, payload, {
        jobId: taskId,
        attempts: this.retry.attempts,
        backoffMs: this.retry.backoffMs,
      });
    } catch (error) {
      const message = `Could not enqueue the backup job: ${errorMessageOf(error)}`;
      await moveBackup(
        this.jobDeps,
        backup,
        { status: 'failed', error_message: message, error_details: { code: 'E_ENQUEUE_FAILED', message } },
        message,
      );
      await moveTask(this.jobDeps, task, { status: 'failed', error_message: message, completed_at: at }, message);
      throw error;
    }
    if (quota.exceeded) await this.warnOverQuota(quota, backup);
    return toBackupCreatedResponse(backup, taskId);
  }

  /**
   * The job handler any queue calls for {@link BACKUP_JOB_NAME} jobs (bound: pass it as is).
   * See `runBackupJob` for the lifecycle.
   */
  readonly executeBackupJob = (payload: BackupJobPayload, ctx: JobContext): Promise<BackupJobResult> =>
    runBackupJob(this.jobDeps, payload, ctx);

  /** Starts processing backup jobs on the queue, `concurrency` at once (default 10, the spec's max_jobs). */
  startWorker(options: { concurrency?: number } = {}): Worker {
    return this.options.queue.process(BACKUP_JOB_NAME, this.executeBackupJob as (payload: unknown, ctx: JobContext) => Promise<unknown>, {
      concurrency: options.concurrency ?? 10,
    });
  }

  /**
   * The spec's `GET .../environments/{id}/backups`: newest first, filtered by `status` and
   * `backup_type`, paged (`page` from 1, `page_size` 1..100, default 20). Works for environments
   * that no longer exist (their pre_destroy backups stay listed).
   */
  async listBackups(environmentId: string, query: ListBackupsQuery = {}, actor: Actor | null = null): Promise<Page<BackupListItem>> {
    assertId(environmentId, 'environment_id');
    const q = parseInput(BackupListQuerySchema, query);
    await authorizeCall(this.options.authorize, { actor, permission: Permission.BACKUPS_LIST, environment_id: environmentId });
    const { items, total } = await this.options.backups.list(
      {
        environment_id: environmentId,
        ...(q.status ? { status: q.status } : {}),
        ...(q.backup_type ? { backup_type: q.backup_type } : {}),
      },
      { offset: (q.page - 1) * q.page_size, limit: q.page_size },
    );
    return { items: items.map(toBackupListItem), total, page: q.page, page_size: q.page_size, pages: Math.ceil(total / q.page_size) };
  }

  /** The spec's `GET /backups/{id}`. */
  async getBackup(backupId: string, actor: Actor | null = null): Promise<BackupDetail> {
    const backup = await this.loadAuthorized(backupId, Permission.BACKUPS_VIEW, actor);
    return toBackupDetail(backup);
  }

  /** The task that tracks a backup job (the spec's `GET /tasks/{id}`), for polling clients. */
  async getTask(taskId: string, actor: Actor | null = null): Promise<Task> {
    assertId(taskId, 'task_id');
    const task = await this.options.tasks.get(taskId);
    if (!task) throw new NotFoundError('task', taskId);
    await authorizeCall(this.options.authorize, {
      actor,
      permission: Permission.BACKUPS_VIEW,
      environment_id: task.environment_id,
      ...(task.backup_id ? { backup_id: task.backup_id } : {}),
    });
    return task;
  }

  /**
   * The spec's `DELETE /backups/{id}` (DECISIONS 20): marks the backup `deleted` and keeps the
   * record for audit. Its storage object is removed by the next retention cleanup, or now with
   * `purge: true` (then the storage config's usage counters drop at once and the key is cleared,
   * so cleanup does not count it twice). Deleting a deleted backup changes nothing (with `purge`,
   * it removes a leftover object). A backup that is running cannot be deleted (`E_INVALID_TRANSITION`).
   */
  async deleteBackup(backupId: string, options: DeleteBackupOptions = {}, actor: Actor | null = null): Promise<void> {
    const backup = await this.loadAuthorized(backupId, Permission.BACKUPS_DELETE, actor);
    // Only a backup that completed has an object counted in the usage counters; one that never
    // completed has nothing stored, so its key is cleared and cleanup has nothing to subtract.
    const stored = backup.completed_at !== null && backup.database_key !== null;
    let current = backup;
    if (backup.status !== 'deleted') {
      current = await moveBackup(
        this.jobDeps,
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
    await removeLeftoverObject(this.jobDeps, current);
    // Compare-and-set on the key: a concurrent cleanup or purge that got there first wins, and
    // the counters drop once.
    await this.options.backups.update(
      current.id,
      { database_key: null, filestore_key: null, manifest_key: null },
      { status: 'deleted', database_key: current.database_key },
    );
    if (current.storage_config_id) {
      await this.options.storageConfigs.adjustUsage(current.storage_config_id, { bytes: -current.compressed_size, objects: -1 });
    }
  }

  /**
   * The spec's `GET /backups/{id}/download?expires_in=` (DECISIONS 21): a signed URL of the ZIP,
   * valid `expires_in` seconds (300..86400, default 3600). Providers that cannot sign (FTP, SFTP,
   * local, memory) throw `UnsupportedOperationError` (`E_UNSUPPORTED`): use {@link openDownload}.
   */
  async getDownloadUrls(backupId: string, expiresIn?: number | string, actor: Actor | null = null): Promise<BackupDownloadUrls> {
    const { expires_in } = parseInput(DownloadQuerySchema, expiresIn === undefined ? {} : { expires_in: expiresIn });
    const backup = await this.loadAuthorized(backupId, Permission.BACKUPS_VIEW, actor);
    const { config, key } = await this.downloadable(backup);
    const provider = this.storageProviders(config);
    try {
      const url = await provider.presign(key, expires_in);
      return {
        backup_id: backup.id,
        database_url: url,
        filestore_url: null,
        manifest_url: null,
        expires_in,
        expires_at: new Date(this.clock.now().getTime() + expires_in * 1000).toISOString(),
      };
    } finally {
      await provider.close();
    }
  }

  /** Streams a completed backup's ZIP from its storage, on every provider. */
  async openDownload(backupId: string, options: OpenDownloadOptions = {}, actor: Actor | null = null): Promise<BackupDownload> {
    const backup = await this.loadAuthorized(backupId, Permission.BACKUPS_VIEW, actor);
    const { config, key } = await this.downloadable(backup);
    const provider = this.storageProviders(config);
    let stream: Readable;
    try {
      stream = await provider.download(key, {
        ...(options.range ? { range: options.range } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      await provider.close();
      throw error;
    }
    // The provider's connection lives as long as the stream.
    stream.once('close', () => void provider.close().catch(() => undefined));
    return { backup_id: backup.id, filename: `${backup.id}.zip`, content_type: 'application/zip', size: backup.compressed_size, stream };
  }

  /** The spec's `GET .../environments/{id}/summary`. */
  async getSummary(environmentId: string, actor: Actor | null = null): Promise<BackupSummary> {
    assertId(environmentId, 'environment_id');
    await authorizeCall(this.options.authorize, { actor, permission: Permission.BACKUPS_LIST, environment_id: environmentId });
    const counted = await this.options.backups.find({ environment_id: environmentId, status: QUOTA_COUNTED_STATUSES });
    const policy = this.options.policies ? await this.options.policies.getByEnvironment(environmentId) : null;
    // find() returns newest first.
    const completed = counted.filter((b) => b.status === 'completed');
    return {
      environment_id: environmentId,
      total_backups: counted.length,
      completed_backups: completed.length,
      failed_backups: counted.filter((b) => b.status === 'failed').length,
      total_size_bytes: counted.reduce((sum, b) => sum + b.compressed_size, 0),
      oldest_backup_at: counted.at(-1)?.created_at ?? null,
      newest_backup_at: counted[0]?.created_at ?? null,
      last_successful_backup_at: completed[0]?.created_at ?? null,
      policy_enabled: policy?.is_enabled ?? false,
      next_scheduled_backup: policy?.is_enabled ? policy.next_backup_at : null,
    };
  }

  /**
   * A backup that guards an operation (restore, upgrade, destroy): created like any other (its
   * job goes through the queue, with retries), read back and verified, then awaited. Resolves
   * with the completed, verified record; throws when it failed (a `BackupSdkError` carrying the
   * failure's code) or did not verify (`E_VERIFICATION_FAILED`) so the host does not proceed. Not rate limited; allowed over quota (with a warning), since refusing it would only
   * remove a safety net. A worker must be processing the queue.
   */
  async createPreOperationBackup(
    environmentId: string,
    type: PreOperationBackupType,
    actor: Actor | null,
    options: PreOperationBackupOptions = {},
  ): Promise<Backup> {
    if (!PRE_OPERATION_TYPES.includes(type)) {
      throw new ValidationError([{ field: 'backup_type', message: `must be one of ${PRE_OPERATION_TYPES.join(', ')}` }]);
    }
    const created = await this.createBackup(
      environmentId,
      {
        backup_type: type,
        ...(options.storage_config_id !== undefined ? { storage_config_id: options.storage_config_id } : {}),
        ...(options.include_filestore !== undefined ? { include_filestore: options.include_filestore } : {}),
      },
      actor,
    );
    const limit = options.timeoutMs ?? this.jobTimeoutMs * this.retry.attempts + this.retry.backoffMs.reduce((a, b) => a + b, 0) + 60_000;
    const deadline = startJobDeadline(this.clock, limit, `Waiting for the ${type} backup ${created.id}`, options.signal);
    try {
      await this.completions.waitFor(
        created.task_id,
        async () => {
          const t = await this.options.tasks.get(created.task_id);
          return t === null || t.status === 'completed' || t.status === 'failed';
        },
        this.clock,
        this.options.completionPollMs ?? 2000,
        deadline.signal,
      );
    } catch (error) {
      throw deadline.timeoutError ?? error;
    } finally {
      deadline.dispose();
    }
    const backup = await this.options.backups.get(created.id);
    if (backup?.status === 'completed') {
      if (backup.is_verified) return backup;
      // Stored but it did not read back as written: not a backup anyone should rely on.
      throw new BackupSdkError(
        'E_VERIFICATION_FAILED',
        `The ${type} backup ${created.id} of environment ${environmentId} was stored but did not verify: ${backup.verification_error ?? 'unknown reason'}`,
        {
          details: {
            backup_id: created.id,
            task_id: created.task_id,
            status: backup.status,
            verification_error: backup.verification_error,
          },
        },
      );
    }
    const cause = backup?.error_details ?? {};
    const code = isErrorCode(cause.code) ? cause.code : 'E_BACKUP_FAILED';
    throw new BackupSdkError(
      code,
      `The ${type} backup ${created.id} of environment ${environmentId} did not complete: ${backup?.error_message ?? `it is ${backup?.status ?? 'gone'}`}`,
      {
        details: { backup_id: created.id, task_id: created.task_id, status: backup?.status ?? null, error: cause },
      },
    );
  }

  /**
   * Crash recovery (see `recoverStaleBackups`): backups stuck in `in_progress` / `uploading`
   * whose job is gone end `failed` with a clear reason, with no object left in storage and their
   * task failed. Run it at start-up and every few minutes.
   */
  recoverStale(now?: Date, options: StaleRecoveryOptions = {}): Promise<StaleRecoveryReport> {
    return recoverStaleBackups({ ...this.jobDeps, queue: this.options.queue }, now ?? this.clock.now(), options);
  }

  /** Jobs that failed for good (the queue's dead-letter list), oldest first. */
  deadLetters(): Promise<DeadLetter[]> {
    return this.options.queue.deadLetters();
  }

  private async resolveEnvironment(environmentId: string): Promise<ResolvedEnvironment> {
    const env = await this.options.environments.resolve(environmentId);
    if (!env) throw new NotFoundError('environment', environmentId);
    return env;
  }

  private async pickStorageConfig(env: ResolvedEnvironment, requested: string | null): Promise<StorageConfig> {
    if (requested !== null) {
      const config = await this.options.storageConfigs.get(requested);
      // A config of another organisation is reported as missing: its existence is not the caller's business.
      if (!config || config.organization_id !== env.organization_id) throw new NotFoundError('storage_config', requested);
      return config;
    }
    const fallback = await this.options.storageConfigs.getDefault(env.organization_id);
    if (fallback) return fallback;
    throw new ValidationError(
      [{ field: 'storage_config_id', message: `is required: organisation ${env.organization_id} has no default storage config` }],
      `No storage config to use: pass storage_config_id, or mark one of organisation ${env.organization_id}'s storage configs as default (is_default)`,
      'E_STORAGE_CONFIG_MISSING',
    );
  }

  private async consumeRateLimit(actor: Actor): Promise<void> {
    const key = actor.rate_limit_key ?? actor.id ?? 'anonymous';
    const decision = await this.rateLimiter.consume(`manual-backup:${key}`, this.rateLimit.limit, this.rateLimit.windowSeconds);
    if (!decision.allowed) throw new RateLimitError(key, this.rateLimit.limit, this.rateLimit.windowSeconds, decision.retry_after_seconds);
  }

  private async warnOverQuota(quota: QuotaStatus, backup: Backup): Promise<void> {
    const message = `Organisation ${quota.organization_id} is over its backup storage quota (${quota.used_bytes} of ${quota.limit_bytes} bytes); the ${backup.backup_type} backup ${backup.id} runs anyway. Delete old backups or raise the quota.`;
    this.events.emit({
      type: 'warning',
      data: {
        code: 'W_QUOTA_EXCEEDED',
        message,
        environment_id: backup.environment_id,
        backup_id: backup.id,
        organization_id: quota.organization_id,
        used_bytes: quota.used_bytes,
        limit_bytes: quota.limit_bytes,
        timestamp: this.clock.now().toISOString(),
      },
    });
    await safeNotify(this.jobDeps, {
      kind: 'quota.warning',
      environment_id: backup.environment_id,
      organization_id: quota.organization_id,
      backup,
      message,
    });
  }

  private async loadAuthorized(backupId: string, permission: Permission, actor: Actor | null): Promise<Backup> {
    assertId(backupId, 'backup_id');
    const backup = await this.options.backups.get(backupId);
    if (!backup) throw new NotFoundError('backup', backupId);
    await authorizeCall(this.options.authorize, {
      actor,
      permission,
      environment_id: backup.environment_id,
      organization_id: backup.organization_id,
      backup_id: backup.id,
    });
    return backup;
  }

  private async downloadable(backup: Backup): Promise<{ config: StorageConfig; key: string }> {
    if (backup.status !== 'completed') {
      throw new ConflictError(
        `Backup ${backup.id} is '${backup.status}': only completed backups can be downloaded`,
        { details: { backup_id: backup.id, status: backup.status } },
        'E_BACKUP_NOT_DOWNLOADABLE',
      );
    }
    if (!backup.storage_config_id) throw new NotFoundError('storage_config', 'null', { details: { backup_id: backup.id } });
    const config = await this.options.storageConfigs.get(backup.storage_config_id);
    if (!config) throw new NotFoundError('storage_config', backup.storage_config_id, { details: { backup_id: backup.id } });
    return { config, key: objectKeyOf(backup) };
  }
}

function assertId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError([{ field, message: 'must be a non-empty string' }]);
}

function assertActor(actor: unknown): asserts actor is Actor | null {
  if (actor === null) return;
  const id = (actor as { id?: unknown } | undefined)?.id;
  if (typeof actor !== 'object' || actor === undefined || (id !== null && typeof id !== 'string')) {
    throw new ValidationError([{ field: 'actor', message: 'must be null (the system) or an object with an id (a string or null)' }]);
  }
}
