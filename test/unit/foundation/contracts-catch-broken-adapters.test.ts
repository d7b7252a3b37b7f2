// Each contract suite must FAIL for an adapter with a realistic bug, and pass for the real one.
import { describe, expect, it } from 'vitest';
import type {
  Backup,
  BackupFilter,
  BackupPolicy,
  PageRequest,
  BackupStatus,
  Clock,
  JobHandler,
  JobOptions,
  RateLimitDecision,
  StorageConfig,
  Task,
  UsageDelta,
  Where,
} from '../../../src/index.js';
import { ConflictError } from '../../../src/index.js';
import {
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryRateLimiter,
  InMemoryStorageConfigRepository,
  type InMemoryTable,
  InMemoryTaskRepository,
  backupPolicyRepositoryChecks,
  backupRepositoryChecks,
  clockChecks,
  failingChecks,
  jobQueueChecks,
  rateLimiterChecks,
  storageConfigRepositoryChecks,
  taskRepositoryChecks,
} from '../../../src/testing/index.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---- Backup repositories -------------------------------------------------------------------

/** Compare-and-set that ignores `where`: concurrent writers all "win". */
class BackupCasIgnoresWhere extends InMemoryBackupRepository {
  override update(id: string, patch: Partial<Backup>): Promise<Backup> {
    return super.update(id, patch);
  }
}

/** Compare-and-set by JSON containment (`data @> where`): a partial object matches. */
class BackupCasContainment extends InMemoryBackupRepository {
  override async update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup> {
    const current = await this.get(id);
    if (!current || !where) return super.update(id, patch, where);
    const contains = (a: unknown, b: unknown): boolean =>
      b !== null && typeof b === 'object'
        ? a !== null && typeof a === 'object' && Object.entries(b).every(([k, v]) => contains((a as Record<string, unknown>)[k], v))
        : a === b;
    return contains(current, where) ? super.update(id, patch) : super.update(id, patch, where);
  }
}

/** Stores undefined patch fields as null (`{ ...row, ...patch }` then JSON with a replacer). */
class BackupUndefinedClears extends InMemoryBackupRepository {
  override update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup> {
    return super.update(
      id,
      Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v === undefined ? null : v])) as Partial<Backup>,
      where,
    );
  }
}

/** Hands out its stored objects instead of copies. */
class BackupSharesRecords extends InMemoryBackupRepository {
  private readonly live = new Map<string, Backup>();
  override async create(backup: Backup): Promise<Backup> {
    await super.create(backup);
    this.live.set(backup.id, backup);
    return backup;
  }
  override async get(id: string): Promise<Backup | null> {
    return this.live.get(id) ?? null;
  }
  override async update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup> {
    const next = await super.update(id, patch, where);
    return Object.assign(this.live.get(id)!, next);
  }
}

/** Lists oldest first. */
class BackupOldestFirst extends InMemoryBackupRepository {
  override async list(filter: BackupFilter, page: PageRequest): Promise<{ items: Backup[]; total: number }> {
    const all = (await super.find(filter)).reverse();
    return { items: all.slice(page.offset, page.offset + page.limit), total: all.length };
  }
}

/** Understands only a single status, not a list (a common SQL `= $1` mistake). */
class BackupStatusListIgnored extends InMemoryBackupRepository {
  private strip(filter: BackupFilter): BackupFilter {
    return typeof filter.status === 'string' || filter.status === undefined
      ? filter
      : { ...filter, status: filter.status[0] as BackupStatus };
  }
  override find(filter: BackupFilter) {
    return super.find(this.strip(filter));
  }
  override list(filter: BackupFilter, page: PageRequest) {
    return super.list(this.strip(filter), page);
  }
  override sumCompressedSize(filter: BackupFilter) {
    return super.sumCompressedSize(this.strip(filter));
  }
}

/** expires_before compared with <= instead of <. */
class BackupExpiresInclusive extends InMemoryBackupRepository {
  override find(filter: BackupFilter) {
    return super.find(
      filter.expires_before ? { ...filter, expires_before: new Date(Date.parse(filter.expires_before) + 1).toISOString() } : filter,
    );
  }
}

// ---- Policy repositories -------------------------------------------------------------------

class PolicyCasIgnoresWhere extends InMemoryBackupPolicyRepository {
  override update(id: string, patch: Partial<BackupPolicy>): Promise<BackupPolicy> {
    return super.update(id, patch);
  }
}

/** A read-then-write claim with an await in between: the race the contract must catch. */
class PolicyCasCheckThenWrite extends InMemoryBackupPolicyRepository {
  override async update(id: string, patch: Partial<BackupPolicy>, where?: Where<BackupPolicy>): Promise<BackupPolicy> {
    if (where) {
      await super.update(id, {}, where); // "check" (throws on mismatch)
      await nextTurn();
    }
    return super.update(id, patch);
  }
}

/** Forgets `is_enabled` in listDue. */
class PolicyDueIgnoresEnabled extends InMemoryBackupPolicyRepository {
  override async listDue(now: string, limit?: number): Promise<BackupPolicy[]> {
    const disabled = (await this.allPolicies()).filter((p) => !p.is_enabled);
    for (const p of disabled) await super.update(p.id, { is_enabled: true, updated_at: p.updated_at });
    try {
      return await super.listDue(now, limit);
    } finally {
      for (const p of disabled) await super.update(p.id, { is_enabled: false, updated_at: p.updated_at });
    }
  }
  private readonly ids = new Set<string>();
  override async create(policy: BackupPolicy): Promise<BackupPolicy> {
    const created = await super.create(policy);
    this.ids.add(policy.id);
    return created;
  }
  private async allPolicies(): Promise<BackupPolicy[]> {
    const out: BackupPolicy[] = [];
    for (const id of this.ids) {
      const p = await super.get(id);
      if (p) out.push(p);
    }
    return out;
  }
}

/** A second policy for an environment replaces the first instead of failing. */
class PolicyReplacesPerEnvironment extends InMemoryBackupPolicyRepository {
  override async create(policy: BackupPolicy): Promise<BackupPolicy> {
    const existing = await super.getByEnvironment(policy.environment_id);
    if (existing) await super.delete(existing.id);
    return super.create(policy);
  }
}

// ---- Task and storage config repositories --------------------------------------------------

class TaskCasIgnoresWhere extends InMemoryTaskRepository {
  override update(id: string, patch: Partial<Task>): Promise<Task> {
    return super.update(id, patch);
  }
}

/** createExclusive as find-then-create (check-then-act): concurrent calls all find nothing and all create. */
class TaskExclusiveCheckThenCreate extends InMemoryTaskRepository {
  private readonly mine = new Set<string>();
  override async createExclusive(task: Task): Promise<Task> {
    const active = await this.find({ environment_id: task.environment_id, status: ['pending', 'queued', 'running'] });
    if (active.some((t) => this.mine.has(t.id))) throw new ConflictError('environment busy');
    const created = await this.create(task);
    this.mine.add(task.id);
    return created;
  }
}

/** adjustUsage as a read-modify-write with an await in between: concurrent updates get lost. */
class StorageLostUpdate extends InMemoryStorageConfigRepository {
  override async adjustUsage(id: string, delta: UsageDelta): Promise<StorageConfig> {
    const current = await this.get(id);
    if (!current) return super.adjustUsage(id, delta);
    await nextTurn();
    return this.update(id, {
      total_size_bytes: Math.max(0, current.total_size_bytes + delta.bytes),
      object_count: Math.max(0, current.object_count + delta.objects),
      ...(delta.last_used_at ? { last_used_at: delta.last_used_at } : {}),
    });
  }
}

/** Counters that go negative (atomic, but without the clamp). */
class StorageNoClamp extends InMemoryStorageConfigRepository {
  override async adjustUsage(id: string, delta: UsageDelta): Promise<StorageConfig> {
    // The in-memory table is synchronous, so this read-modify-write is atomic: only the clamp is missing.
    const table = (this as unknown as { table: InMemoryTable<StorageConfig> }).table;
    const current = table.get(id);
    if (!current) return super.adjustUsage(id, delta);
    return table.update(id, {
      total_size_bytes: current.total_size_bytes + delta.bytes,
      object_count: current.object_count + delta.objects,
      ...(delta.last_used_at ? { last_used_at: delta.last_used_at } : {}),
    });
  }
}

/** getDefault that ignores the organisation. */
class StorageDefaultAnyOrg extends InMemoryStorageConfigRepository {
  private readonly defaults: string[] = [];
  override async create(config: StorageConfig): Promise<StorageConfig> {
    if (config.is_default) this.defaults.push(config.id);
    return super.create(config);
  }
  override async getDefault(organizationId: string): Promise<StorageConfig | null> {
    const own = await super.getDefault(organizationId);
    if (own) return own;
    for (const id of this.defaults) {
      const c = await this.get(id);
      if (c?.is_default) return c;
    }
    return null;
  }
}

// ---- Job queues ----------------------------------------------------------------------------

/** Marks every error transient, so permanent failures are retried. */
class QueueRetriesEverything extends InMemoryJobQueue {
  override process(name: string, handler: JobHandler, options?: { concurrency?: number }) {
    return super.process(
      name,
      async (payload, ctx) => {
        try {
          return await handler(payload, ctx);
        } catch (error) {
          if (error && typeof error === 'object') Object.defineProperty(error, 'transient', { value: true });
          throw error;
        }
      },
      options,
    );
  }
}

class QueueIgnoresConcurrency extends InMemoryJobQueue {
  override process(name: string, handler: JobHandler) {
    return super.process(name, handler, { concurrency: 100 });
  }
}

class QueueIgnoresBackoff extends InMemoryJobQueue {
  override enqueue(name: string, payload: unknown, options: JobOptions) {
    return super.enqueue(name, payload, { ...options, backoffMs: [] });
  }
}

class QueueIgnoresDelay extends InMemoryJobQueue {
  override enqueue(name: string, payload: unknown, options: JobOptions) {
    return super.enqueue(name, payload, { ...options, delayMs: 0 });
  }
}

// ---- Rate limiter and clock ----------------------------------------------------------------

/** Checks, awaits, then records: concurrent requests all pass the check. */
class RacyRateLimiter extends InMemoryRateLimiter {
  private readonly counts = new Map<string, number>();
  override async consume(key: string, limit: number): Promise<RateLimitDecision> {
    const used = this.counts.get(key) ?? 0;
    await nextTurn();
    if (used >= limit) return { allowed: false, remaining: 0, retry_after_seconds: 1, limit, reset_after_seconds: 1 };
    this.counts.set(key, used + 1);
    return { allowed: true, remaining: limit - used - 1, retry_after_seconds: 0, limit, reset_after_seconds: 1 };
  }
}

function queueChecks(make: (clock: FakeClock) => InMemoryJobQueue) {
  let clock = new FakeClock();
  return jobQueueChecks(() => make((clock = new FakeClock())), {
    tick: () => clock.advance(10),
    now: () => clock.now().getTime(),
    dispose: (q) => (q as InMemoryJobQueue).close(),
    timeoutMs: 3_000,
  });
}

describe('contract suites catch broken adapters', () => {
  it('the in-memory adapters pass every check (the baseline)', async () => {
    expect(await failingChecks(backupRepositoryChecks(() => new InMemoryBackupRepository()))).toEqual([]);
    expect(await failingChecks(backupPolicyRepositoryChecks(() => new InMemoryBackupPolicyRepository()))).toEqual([]);
    expect(await failingChecks(taskRepositoryChecks(() => new InMemoryTaskRepository()))).toEqual([]);
    expect(await failingChecks(storageConfigRepositoryChecks(() => new InMemoryStorageConfigRepository()))).toEqual([]);
    expect(await failingChecks(queueChecks((clock) => new InMemoryJobQueue({ clock })))).toEqual([]);
  });

  it('BackupRepository: CAS ignoring where, shared records, wrong order, status lists, inclusive expiry', async () => {
    expect(await failingChecks(backupRepositoryChecks(() => new BackupCasIgnoresWhere()))).toEqual([
      'a compare-and-set whose where does not match fails with E_CONFLICT and changes nothing',
      'compare-and-set compares whole values: an object in where must equal the stored one, not be part of it',
      'of concurrent compare-and-set status moves exactly one wins',
    ]);
    expect(await failingChecks(backupRepositoryChecks(() => new BackupCasContainment()))).toContain(
      'compare-and-set compares whole values: an object in where must equal the stored one, not be part of it',
    );
    expect(await failingChecks(backupRepositoryChecks(() => new BackupUndefinedClears()))).toEqual([
      'a patch field that is undefined leaves the stored value alone',
    ]);
    expect(await failingChecks(backupRepositoryChecks(() => new BackupSharesRecords()))).toEqual([
      'records are copies: mutating an input or a returned record does not change the store',
    ]);
    expect(await failingChecks(backupRepositoryChecks(() => new BackupOldestFirst()))).toEqual([
      'list pages newest first (created_at, then id, descending) with the total count',
    ]);
    expect(await failingChecks(backupRepositoryChecks(() => new BackupStatusListIgnored()))).toEqual([
      'filters by environment, organisation, storage config, type and status (one or several)',
      'sumCompressedSize adds compressed_size over matches (0 when none)',
    ]);
    expect(await failingChecks(backupRepositoryChecks(() => new BackupExpiresInclusive()))).toEqual([
      'expires_before keeps only backups with an expires_at strictly before it',
    ]);
  });

  it('BackupPolicyRepository: claims without CAS or with check-then-write, listDue with disabled policies, two policies per environment', async () => {
    const casIgnored = await failingChecks(backupPolicyRepositoryChecks(() => new PolicyCasIgnoresWhere()));
    expect(casIgnored).toContain('two schedulers claiming one due policy at once: exactly one wins, every time');
    expect(casIgnored).toContain(
      'claiming a due slot is a compare-and-set on next_backup_at; a stale claim fails with E_CONFLICT and changes nothing',
    );
    expect(await failingChecks(backupPolicyRepositoryChecks(() => new PolicyCasCheckThenWrite()))).toEqual([
      'two schedulers claiming one due policy at once: exactly one wins, every time',
    ]);
    expect(await failingChecks(backupPolicyRepositoryChecks(() => new PolicyDueIgnoresEnabled()))).toEqual([
      'listDue returns enabled policies due at or before now, earliest first, at most limit',
    ]);
    expect(await failingChecks(backupPolicyRepositoryChecks(() => new PolicyReplacesPerEnvironment()))).toEqual([
      'an environment has at most one policy: a second create fails with E_CONFLICT',
    ]);
  });

  it('TaskRepository: CAS ignoring where, createExclusive as check-then-create', async () => {
    expect(await failingChecks(taskRepositoryChecks(() => new TaskCasIgnoresWhere()))).toEqual([
      'a compare-and-set whose where does not match fails with E_CONFLICT and changes nothing',
      'of concurrent workers starting one queued task exactly one wins',
    ]);
    expect(await failingChecks(taskRepositoryChecks(() => new TaskExclusiveCheckThenCreate()))).toEqual([
      'createExclusive (when implemented): of concurrent calls for one environment exactly one creates its task',
    ]);
  });

  it('StorageConfigRepository: lost updates, negative counters, a default from another organisation', async () => {
    expect(await failingChecks(storageConfigRepositoryChecks(() => new StorageLostUpdate()))).toEqual([
      'concurrent adjustUsage calls lose no update',
    ]);
    expect(await failingChecks(storageConfigRepositoryChecks(() => new StorageNoClamp()))).toEqual([
      'adjustUsage never takes a counter below zero',
    ]);
    expect(await failingChecks(storageConfigRepositoryChecks(() => new StorageDefaultAnyOrg()))).toEqual([
      "getDefault returns the organisation's default config, or null",
    ]);
  });

  it('JobQueue: retrying permanent errors, ignoring concurrency, backoff or delay', async () => {
    expect(await failingChecks(queueChecks((clock) => new QueueRetriesEverything({ clock })))).toEqual([
      'does not retry a non-transient error: one try, then a dead letter with the error',
    ]);
    expect(await failingChecks(queueChecks((clock) => new QueueIgnoresConcurrency({ clock })))).toEqual([
      'runs at most `concurrency` jobs at once, and really runs that many together',
    ]);
    expect(await failingChecks(queueChecks((clock) => new QueueIgnoresBackoff({ clock })))).toEqual([
      'retries a transient failure after each backoff wait, then completes',
    ]);
    expect(await failingChecks(queueChecks((clock) => new QueueIgnoresDelay({ clock })))).toEqual(['holds a delayed job back for delayMs']);
  });

  it('RateLimiter: a check-then-record race admits too many', async () => {
    const clock = new FakeClock();
    expect(await failingChecks(rateLimiterChecks(() => new InMemoryRateLimiter(clock), { advance: (ms) => clock.advance(ms) }))).toEqual(
      [],
    );
    expect(await failingChecks(rateLimiterChecks(() => new RacyRateLimiter(), { advance: (ms) => clock.advance(ms) }))).toContain(
      'concurrent requests never admit more than the limit',
    );
  });

  it('Clock: a sleep that ignores its abort signal, or wakes early', async () => {
    const deaf: Clock = { now: () => new Date(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))) };
    expect(await failingChecks(clockChecks(() => deaf))).toEqual([
      'sleep(ms) resolves once ms have passed on the clock, not before',
      "an abort signal rejects sleep with the signal's reason, at once if already aborted",
    ]);
  });
});
