import { randomUUID } from 'node:crypto';
import {
  BackupService,
  createStorageProvider,
  MemoryStorageProvider,
  type Actor,
  type Authorizer,
  type BackupPolicy,
  type BackupServiceOptions,
  type QuotaLookup,
  type StorageConfig,
  type StorageProviderFactory,
  type Task,
} from '../../../src/index.js';
import {
  FakeBackupSource,
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  MemoryEventSink,
  MemoryNotifier,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';

/** 2026-03-10 is a Tuesday: the product's classification makes it a daily backup. */
export const T0 = '2026-03-10T10:00:00.000Z';

/** A task repository that counts writes, so error paths can prove they wrote nothing. */
export class CountingTaskRepository extends InMemoryTaskRepository {
  readonly created: Task[] = [];
  override async create(task: Task): Promise<Task> {
    const t = await super.create(task);
    this.created.push(t);
    return t;
  }
  override async createExclusive(task: Task): Promise<Task> {
    const t = await super.createExclusive(task);
    this.created.push(t);
    return t;
  }
}

/** Options of {@link makeHarness}. */
export interface HarnessOptions {
  authorize?: Authorizer;
  quota?: QuotaLookup;
  /** Give the organisation a default storage config (default true). */
  defaultConfig?: boolean;
  source?: FakeBackupSource;
  storageProviders?: StorageProviderFactory;
  service?: Partial<BackupServiceOptions>;
}

/** A BackupService over in-memory ports, a FakeClock and the memory storage provider. */
export async function makeHarness(options: HarnessOptions = {}) {
  const clock = new FakeClock(T0);
  const backups = new InMemoryBackupRepository(clock);
  const tasks = new CountingTaskRepository(clock);
  const storageConfigs = new InMemoryStorageConfigRepository(clock);
  const policies = new InMemoryBackupPolicyRepository(clock);
  const queue = new InMemoryJobQueue({ clock });
  const events = new MemoryEventSink();
  const notifier = new MemoryNotifier();
  const env = makeResolvedEnvironment();
  const otherEnv = makeResolvedEnvironment();
  const environments = new StaticEnvironmentResolver([env, otherEnv]);
  const source = options.source ?? new FakeBackupSource({ dumpSize: 40_000, filestoreSize: 20_000 });
  const namespace = randomUUID();
  const config = await storageConfigs.create(
    storageConfig({ organization_id: env.organization_id, is_default: options.defaultConfig ?? true, settings: { namespace } }),
  );
  const service = new BackupService({
    backups,
    tasks,
    storageConfigs,
    policies,
    environments,
    queue,
    clock,
    events,
    notifier,
    sources: () => source,
    storageProviders: options.storageProviders ?? createStorageProvider,
    runnerOptions: { dumpLister: null },
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.quota ? { quota: options.quota } : {}),
    ...options.service,
  });
  /** What the storage holds, seen through a second provider on the same namespace. */
  const storage = new MemoryStorageProvider({ namespace });
  return {
    clock,
    backups,
    tasks,
    storageConfigs,
    policies,
    queue,
    events,
    notifier,
    env,
    otherEnv,
    environments,
    source,
    config,
    service,
    storage,
    namespace,
  };
}

export type Harness = Awaited<ReturnType<typeof makeHarness>>;

/** A storage config record for tests. */
export function storageConfig(over: Partial<StorageConfig> & { organization_id: string }): StorageConfig {
  return {
    id: randomUUID(),
    name: 'Primary',
    provider: 'memory',
    is_default: false,
    settings: { namespace: randomUUID() },
    credentials: null,
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: T0,
    updated_at: T0,
    ...over,
  };
}

/** A policy record for tests, with the default settings. */
export function policy(over: Partial<BackupPolicy> & { environment_id: string }): BackupPolicy {
  return {
    id: randomUUID(),
    is_enabled: true,
    schedule_cron: '0 2 * * *',
    timezone: 'UTC',
    daily_retention: 7,
    weekly_retention: 4,
    monthly_retention: 12,
    yearly_retention: 2,
    weekly_backup_day: 6,
    storage_config_id: null,
    notify_on_success: false,
    notify_on_failure: true,
    last_backup_at: null,
    last_backup_status: null,
    next_backup_at: '2026-03-11T02:00:00.000Z',
    created_at: T0,
    updated_at: T0,
    ...over,
  };
}

/** A user. */
export const alice: Actor = { id: '11111111-1111-4111-8111-111111111111', rate_limit_key: '203.0.113.7' };
export const bob: Actor = { id: '22222222-2222-4222-8222-222222222222' };

/** Everything the service could have written, to prove an error path wrote nothing. */
export async function snapshotState(h: Harness) {
  return {
    backups: await h.backups.find({}),
    tasks: h.tasks.created.length,
    jobs: h.queue.jobsInfo().length,
    events: h.events.events.length,
    notifications: h.notifier.sent.length,
    objects: h.storage.keys(),
    config: await h.storageConfigs.get(h.config.id),
  };
}

/**
 * Waits (in real event-loop turns, never on the clock) until `check` holds: the jobs under test
 * run on streams and promises that need turns of the loop. Fails after `timeoutMs` of real time.
 */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * Starts `wait` (a waitForBackup / waitForRestore with `timeoutMs`) and proves it is still
 * waiting 1 ms before `timeoutMs` of the clock and rejects at it; returns what it rejected with.
 */
export async function outcomeAtTimeout(clock: FakeClock, timeoutMs: number, wait: () => Promise<unknown>): Promise<unknown> {
  let outcome: unknown = 'waiting';
  const sleeps = clock.pendingSleeps;
  const waiting = wait().catch((e: unknown) => (outcome = e));
  await eventually('the wait to start its clock', () => clock.pendingSleeps >= sleeps + 2); // its deadline and its re-read
  await clock.advance(timeoutMs - 1);
  if (outcome !== 'waiting') throw new Error(`the wait ended before its time-out: ${String(outcome)}`);
  await clock.advance(1);
  await waiting;
  return outcome;
}

/** Waits until no job is running or ready to run: what is left waits on the clock (or is done). */
export async function quiet(h: Harness): Promise<void> {
  await eventually('the queue to be quiet', () => h.queue.jobsInfo().every((j) => j.state !== 'active' && j.state !== 'waiting'));
}

/** Waits until a backup record reaches `status`. */
export async function backupReaches(h: Harness, id: string, status: string): Promise<void> {
  await eventually(`backup ${id} to be ${status}`, async () => (await h.backups.get(id))?.status === status);
}
