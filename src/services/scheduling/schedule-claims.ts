import { createHash } from 'node:crypto';
import type { BackupPolicy, IsoDateTime } from '../../domain/entities.js';
import { ConflictError } from '../../errors/errors.js';
import type { BackupPolicyRepository } from '../../ports/repositories.js';

/**
 * Where a {@link Scheduler} keeps the due instant of its own periodic jobs (retention cleanup),
 * claimed by compare-and-set so that, with several scheduler instances sharing one store,
 * each slot runs once (see docs/decisions.md#several-schedulers).
 */
export interface ScheduleClaims {
  /** The due instant of job `name`, or null when none is recorded yet. */
  dueAt(name: string): Promise<IsoDateTime | null>;
  /**
   * Atomically replaces the due instant of `name` by `next` when it still is `expected`
   * (`null`: none recorded yet). True when this caller won; false when another did first.
   */
  claim(name: string, expected: IsoDateTime | null, next: IsoDateTime): Promise<boolean>;
}

/**
 * {@link ScheduleClaims} in memory: exactly once among the schedulers of one process that share
 * the instance; each process that has its own instance runs its own cleanup.
 */
export class InMemoryScheduleClaims implements ScheduleClaims {
  private readonly due = new Map<string, IsoDateTime>();

  async dueAt(name: string): Promise<IsoDateTime | null> {
    return this.due.get(name) ?? null;
  }

  async claim(name: string, expected: IsoDateTime | null, next: IsoDateTime): Promise<boolean> {
    // Synchronous check-and-set: atomic under the event loop.
    if ((this.due.get(name) ?? null) !== expected) return false;
    this.due.set(name, next);
    return true;
  }
}

/**
 * {@link ScheduleClaims} kept in the host's {@link BackupPolicyRepository}, so replicas that
 * share the policy table share the claim with no new port: each job is one disabled policy
 * row (never due, never listed as enabled) whose `next_backup_at` holds the job's due instant,
 * claimed by the repository's compare-and-set on `next_backup_at`, exactly as policies are.
 *
 * The row's `environment_id` is `odoo-backup-sdk:schedule:<name>` and its id a UUID derived from
 * the name. Hosts whose policy table refuses such a row (a foreign key to their environments)
 * implement {@link ScheduleClaims} over their database instead.
 */
export class PolicyRowScheduleClaims implements ScheduleClaims {
  constructor(
    private readonly policies: BackupPolicyRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async dueAt(name: string): Promise<IsoDateTime | null> {
    return (await this.policies.get(rowId(name)))?.next_backup_at ?? null;
  }

  async claim(name: string, expected: IsoDateTime | null, next: IsoDateTime): Promise<boolean> {
    try {
      if (expected === null) {
        if (await this.policies.get(rowId(name))) return false;
        await this.policies.create(sentinelRow(name, next, this.now().toISOString()));
      } else {
        await this.policies.update(rowId(name), { next_backup_at: next }, { next_backup_at: expected });
      }
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }
}

/** The `environment_id` of the sentinel row of job `name`. */
export function scheduleClaimEnvironmentId(name: string): string {
  return `odoo-backup-sdk:schedule:${name}`;
}

/** A stable UUID-shaped id for the sentinel row of job `name` (SHA-256 based, version nibble 8). */
function rowId(name: string): string {
  const h = createHash('sha256').update(`odoo-backup-sdk:schedule:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function sentinelRow(name: string, next: IsoDateTime, stamp: IsoDateTime): BackupPolicy {
  return {
    id: rowId(name),
    environment_id: scheduleClaimEnvironmentId(name),
    // Disabled: listDue, listEnabled and nextDueAt never see it, so it never triggers a backup.
    is_enabled: false,
    schedule_cron: '0 3 * * *',
    timezone: 'UTC',
    daily_retention: 0,
    weekly_retention: 0,
    monthly_retention: 0,
    yearly_retention: 0,
    weekly_backup_day: 6,
    storage_config_id: null,
    notify_on_success: false,
    notify_on_failure: false,
    last_backup_at: null,
    last_backup_status: null,
    next_backup_at: next,
    created_at: stamp,
    updated_at: stamp,
  };
}
