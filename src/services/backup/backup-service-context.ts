import { randomUUID } from 'node:crypto';
import type { Backup } from '../../domain/entities.js';
import type { Permission } from '../../domain/permissions.js';
import { ValidationError, NotFoundError } from '../../errors/errors.js';
import { InMemoryRateLimiter } from '../../adapters/in-memory-rate-limiter.js';
import { BackupRunner } from '../../pipeline/backup-runner.js';
import type { Actor } from '../../ports/authorizer.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import { nullEventSink, type EventSink } from '../../ports/events.js';
import { nullLogger, type Logger } from '../../ports/logger.js';
import type { StorageProviderFactory } from '../../ports/storage-provider.js';
import { nullNotifier } from '../../ports/notifier.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import { createStorageProvider } from '../../storage/registry.js';
import { authorizeCall } from '../shared/authorize-call.js';
import { BACKUP_JOB_RETRY, DEFAULT_JOB_TIMEOUT_MS, type BackupJobDeps } from './backup-job.js';
import type { BackupServiceOptions, RateLimitSettings, RetrySettings } from './backup-service-types.js';
import { TaskCompletionHub } from '../shared/task-completion.js';
import { scheduleBackupCopy, type BackupCopyDeps } from './backup-copy.js';

/**
 * What every part of the backup service (commands, queries, downloads, worker) works from: the
 * host's ports with their defaults filled in, built once per `BackupService`. Internal to src/services.
 */
export interface BackupServiceContext extends BackupJobDeps {
  readonly options: BackupServiceOptions;
  readonly rateLimiter: RateLimiter;
  readonly rateLimit: RateLimitSettings;
  readonly retry: RetrySettings;
  readonly jobTimeoutMs: number;
  readonly ids: () => string;
  readonly completions: TaskCompletionHub;
  /** Wakes in-process waiters (`waitForBackup`) when a backup changes status; keyed by backup id. */
  readonly backupChanges: TaskCompletionHub;
  /** Wakes the running job of a backup at once when `cancelBackup` is called in this process. */
  readonly cancellations: TaskCompletionHub;
  /** How often waiters re-read a backup when no in-process signal arrives. */
  readonly pollMs: number;
  readonly cancelCheckMs: number;
  readonly verifyAfterUpload: boolean;
  readonly logger: Logger;
}

/** The manual-backup rate limit's default: 10 manual backups an hour per key. */
export const DEFAULT_MANUAL_BACKUP_RATE_LIMIT: Readonly<RateLimitSettings> = Object.freeze({ limit: 10, windowSeconds: 3600 });

/** Fills in the defaults: system clock, no-op events and notifier, in-memory rate limiter, the SDK's storage providers and runner. */
export function createBackupServiceContext(options: BackupServiceOptions): BackupServiceContext {
  const clock = options.clock ?? systemClock;
  const backupChanges = new TaskCompletionHub();
  const events = announcingStatusChanges(options.events ?? nullEventSink, backupChanges);
  const storageProviders = options.storageProviders ?? createStorageProvider;
  const runner = options.runner ?? defaultBackupRunner(options, { clock, events, storageProviders });
  const ctx: BackupServiceContext = {
    options,
    backups: options.backups,
    tasks: options.tasks,
    storageConfigs: options.storageConfigs,
    ...(options.policies ? { policies: options.policies } : {}),
    storageProviders,
    ...(options.secrets ? { secrets: options.secrets } : {}),
    clock,
    events,
    notifier: options.notifier ?? nullNotifier,
    runner,
    // The default limiter is in memory: fine for one process (hosts with replicas pass their own).
    rateLimiter: options.rateLimiter ?? new InMemoryRateLimiter(clock),
    rateLimit: options.manualRateLimit ?? DEFAULT_MANUAL_BACKUP_RATE_LIMIT,
    retry: options.retry ?? BACKUP_JOB_RETRY,
    jobTimeoutMs: options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS,
    ids: options.ids ?? randomUUID,
    completions: new TaskCompletionHub(),
    backupChanges,
    cancellations: new TaskCompletionHub(),
    pollMs: options.completionPollMs ?? 2000,
    cancelCheckMs: options.cancelCheckMs ?? 2000,
    verifyAfterUpload: options.verifyAfterUpload ?? true,
    logger: options.logger ?? nullLogger,
    scheduleCopy: (backup) => scheduleBackupCopy(copyDepsOf(ctx), backup),
  };
  return ctx;
}

/** What copy jobs and their scheduling work from: the service's context and queue. */
export function copyDepsOf(ctx: BackupServiceContext): BackupCopyDeps {
  return { ...ctx, queue: ctx.options.queue };
}

/**
 * The host's sink, plus a wake-up of this process's waiters on every `backup.status` event: the
 * runner and the lifecycle steps emit one on each move, so waiting needs no extra hook.
 */
function announcingStatusChanges(sink: EventSink, hub: TaskCompletionHub): EventSink {
  return {
    emit(event) {
      sink.emit(event);
      if (event.type === 'backup.status') hub.announce(event.data.backup_id);
    },
  };
}

/** The ports a default {@link BackupRunner} is built from (a backup or restore service's options). */
export type BackupRunnerPorts = Pick<
  BackupServiceOptions,
  'backups' | 'storageConfigs' | 'environments' | 'policies' | 'sources' | 'runnerOptions' | 'keys' | 'secrets'
>;

/** The SDK's backup pipeline over a service's ports, with its clock, events and storage providers. */
export function defaultBackupRunner(
  options: BackupRunnerPorts,
  shared: { clock: Clock; events: EventSink; storageProviders: StorageProviderFactory },
): BackupRunner {
  return new BackupRunner({
    backups: options.backups,
    storageConfigs: options.storageConfigs,
    environments: options.environments,
    ...(options.policies ? { policies: options.policies } : {}),
    ...(options.sources ? { sources: options.sources } : {}),
    ...(options.keys ? { keys: options.keys } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...shared,
    ...options.runnerOptions,
  });
}

/** Loads a backup and asks the authorize hook for `permission` on it. */
export async function loadAuthorized(
  ctx: BackupServiceContext,
  backupId: string,
  permission: Permission,
  actor: Actor | null,
): Promise<Backup> {
  assertId(backupId, 'backup_id');
  const backup = await ctx.backups.get(backupId);
  if (!backup) throw new NotFoundError('backup', backupId);
  await authorizeCall(ctx.options.authorize, {
    actor,
    permission,
    environment_id: backup.environment_id,
    organization_id: backup.organization_id,
    backup_id: backup.id,
  });
  return backup;
}

/** Refuses an id that is not a non-empty string, before any lookup. */
export function assertId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError([{ field, message: 'must be a non-empty string' }]);
}

/** Refuses an actor that is neither null (the system) nor an object with an id. */
export function assertActor(actor: unknown): asserts actor is Actor | null {
  if (actor === null) return;
  const id = (actor as { id?: unknown } | undefined)?.id;
  if (typeof actor !== 'object' || actor === undefined || (id !== null && typeof id !== 'string')) {
    throw new ValidationError([{ field: 'actor', message: 'must be null (the system) or an object with an id (a string or null)' }]);
  }
}
