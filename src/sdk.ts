import { InMemoryRateLimiter } from './adapters/in-memory-rate-limiter.js';
import type { Authorizer } from './ports/authorizer.js';
import type { BackupSourceFactory } from './ports/backup-source.js';
import { systemClock, type Clock } from './ports/clock.js';
import type { EnvironmentResolver } from './ports/environment-resolver.js';
import { nullEventSink, type EventSink } from './ports/events.js';
import type { JobQueue } from './ports/job-queue.js';
import type { KeyProvider } from './ports/key-provider.js';
import type { SecretResolver } from './ports/secret-resolver.js';
import { nullLogger, type Logger } from './ports/logger.js';
import { nullNotifier, type Notifier } from './ports/notifier.js';
import type { QuotaLookup } from './ports/quota.js';
import type { RateLimiter } from './ports/rate-limiter.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository, TaskRepository } from './ports/repositories.js';
import type { StorageProviderFactory } from './ports/storage-provider.js';
import { BackupService, type BackupServiceOptions } from './services/backup/backup-service.js';
import { PolicyService } from './services/scheduling/policy-service.js';
import { RestoreService, type RestoreServiceOptions } from './services/restore/restore-service.js';
import { RetentionService } from './services/retention/retention-service.js';
import { Scheduler, type SchedulerOptions } from './services/scheduling/scheduler.js';
import { StorageConfigService } from './services/storage-configs/storage-config-service.js';
import { createStorageProvider } from './storage/registry.js';

/**
 * Everything the services talk to, given once. The repositories, the environment resolver and
 * the queue are the host's; the rest has a default fit for a single process.
 */
export interface BackupSdkPorts {
  backups: BackupRepository;
  tasks: TaskRepository;
  storageConfigs: StorageConfigRepository;
  policies: BackupPolicyRepository;
  environments: EnvironmentResolver;
  queue: JobQueue;
  /** Default: the system clock. Pass a `FakeClock` in tests. */
  clock?: Clock;
  /** Default: events are dropped. */
  events?: EventSink;
  /** Default: notifications are dropped. */
  notifier?: Notifier;
  /** The host's permission hook, asked by every service call. Default: every call allowed. */
  authorize?: Authorizer;
  /** The manual-backup limiter. Default: in memory, per process (hosts with replicas pass a shared one). */
  rateLimiter?: RateLimiter;
  /** The host's plan limits. Default: unlimited. */
  quota?: QuotaLookup;
  /** Builds storage providers. Default: `createStorageProvider`. */
  storageProviders?: StorageProviderFactory;
  /** Builds backup sources. Default: `createBackupSource`. */
  sources?: BackupSourceFactory;
  /** Job start / end / failure / retry lines (pino, console...). Default: nothing is logged. */
  logger?: Logger;
  /** age keys: backups are encrypted to its recipients and opened with its identities. Default: none (unencrypted). */
  keys?: KeyProvider;
  /**
   * Resolves storage credentials given as `{ ref }` (Vault, a secrets manager...) just before a
   * provider is built; the values are never stored, logged or put in errors or events. Default:
   * none (a `{ ref }` credential then fails with `E_SECRET_REF`).
   */
  secrets?: SecretResolver;
}

/** The ports as the services got them: every default filled in. */
export type ResolvedBackupSdkPorts = Required<Omit<BackupSdkPorts, 'authorize' | 'quota' | 'sources' | 'keys' | 'secrets'>> &
  Pick<BackupSdkPorts, 'authorize' | 'quota' | 'sources' | 'keys' | 'secrets'>;

/** Settings of the services `createBackupSdk` builds; all optional. */
export interface BackupSdkOptions {
  /** Settings of the {@link BackupService} (rate limit, retries, job time limit, runner...). */
  backup?: Omit<BackupServiceOptions, keyof BackupSdkPorts>;
  /** Settings of the {@link RestoreService}: the restore target factory, the hooks around the swap, the job time limit... */
  restore?: Omit<RestoreServiceOptions, keyof BackupSdkPorts>;
  /** Settings of the {@link Scheduler} (retention cron, claims, re-check interval, concurrency). */
  scheduler?: Omit<SchedulerOptions, 'policies' | 'backups' | 'retention' | 'clock' | 'events' | 'policyChanges'>;
  /** New record ids of every service (default: random UUIDs). */
  ids?: () => string;
}

/** The services of one host, built over one set of ports. */
export interface BackupSdk {
  /** The ports every service below shares, defaults filled in. */
  readonly ports: ResolvedBackupSdkPorts;
  /** Backups: create, list, show, delete, download, run jobs (`startWorker`). */
  readonly backups: BackupService;
  /** Restores: into a new database or over an environment, run jobs (`startWorker`), cancel, recover. */
  readonly restores: RestoreService;
  /** Backup policies (schedules and retention settings). */
  readonly policies: PolicyService;
  /** GFS retention cleanup and storage usage. */
  readonly retention: RetentionService;
  /** Starts scheduled backups and the daily retention cleanup (`start()` / `tick()`). */
  readonly scheduler: Scheduler;
  /** The organisation's storage configs: create, update, get, list, delete, test (`org.storage.manage`). */
  readonly storageConfigs: StorageConfigService;
}

/**
 * The composition root: builds every service from one set of ports, so they share the clock,
 * events, authorize hook, rate limiter and repositories, and wires them together (the scheduler
 * creates backups through the backup service, runs the retention service, and hears of policy
 * edits from the policy service). Nothing is started: call `sdk.backups.startWorker()` in each
 * worker process and `sdk.scheduler.start()` where schedules should fire.
 *
 * ```ts
 * const sdk = createBackupSdk({ ...repos, environments, queue });
 * sdk.backups.startWorker();
 * sdk.scheduler.start();
 * ```
 */
export function createBackupSdk(ports: BackupSdkPorts, options: BackupSdkOptions = {}): BackupSdk {
  const clock = ports.clock ?? systemClock;
  const resolved: ResolvedBackupSdkPorts = {
    ...ports,
    clock,
    events: ports.events ?? nullEventSink,
    notifier: ports.notifier ?? nullNotifier,
    logger: ports.logger ?? nullLogger,
    rateLimiter: ports.rateLimiter ?? new InMemoryRateLimiter(clock),
    storageProviders: ports.storageProviders ?? createStorageProvider,
  };
  const ids = options.ids ? { ids: options.ids } : {};
  const shared = { clock: resolved.clock, events: resolved.events, ...(resolved.authorize ? { authorize: resolved.authorize } : {}) };
  const backups = new BackupService({ ...options.backup, ...resolved, ...ids });
  const restores = new RestoreService({ ...options.restore, ...resolved, ...ids });
  const policies = new PolicyService({
    policies: resolved.policies,
    storageConfigs: resolved.storageConfigs,
    environments: resolved.environments,
    ...shared,
    ...ids,
  });
  const retention = new RetentionService({
    backups: resolved.backups,
    storageConfigs: resolved.storageConfigs,
    policies: resolved.policies,
    storageProviders: resolved.storageProviders,
    ...(resolved.secrets ? { secrets: resolved.secrets } : {}),
    ...(resolved.quota ? { quota: resolved.quota } : {}),
    ...(resolved.authorize ? { authorize: resolved.authorize } : {}),
    clock: resolved.clock,
    events: resolved.events,
  });
  const scheduler = new Scheduler({
    ...options.scheduler,
    policies: resolved.policies,
    backups,
    retention,
    policyChanges: policies,
    clock: resolved.clock,
    events: resolved.events,
  });
  const storageConfigs = new StorageConfigService({
    storageConfigs: resolved.storageConfigs,
    policies: resolved.policies,
    backups: resolved.backups,
    storageProviders: resolved.storageProviders,
    ...(resolved.secrets ? { secrets: resolved.secrets } : {}),
    clock: resolved.clock,
    ...(resolved.authorize ? { authorize: resolved.authorize } : {}),
    ...ids,
  });
  return { ports: resolved, backups, restores, policies, retention, scheduler, storageConfigs };
}
