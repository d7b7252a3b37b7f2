import type { BackupPolicy } from '../../domain/entities.js';
import type { BackupStatus } from '../../domain/enums.js';
import { nextRun } from '../../domain/schedule.js';
import type { BackupCreateInput } from '../../domain/validation.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import { nullEventSink, type EventSink } from '../../ports/events.js';
import type { BackupPolicyRepository } from '../../ports/repositories.js';
import type { PolicyChangeSource } from './policy-service.js';
import { InMemoryScheduleClaims, type ScheduleClaims } from './schedule-claims.js';
import type { ErrorCode } from '../../errors/error-codes.js';

/** What the scheduler needs from a backup service: `BackupService` satisfies it. */
export interface BackupStarter {
  createBackup(
    environmentId: string,
    input: BackupCreateInput,
    actor: Actor | null,
  ): Promise<{ id: string; status: BackupStatus; task_id: string | null }>;
}

/** What the scheduler needs from a retention service: `RetentionService` satisfies it. */
export interface RetentionRunner {
  runCleanup(now?: Date): Promise<unknown>;
}

/** One failure in a {@link Scheduler.tick}: a policy whose backup could not be started, or the retention job. */
export interface SchedulerError {
  /** The policy concerned, or null for the retention job. */
  policy_id: string | null;
  environment_id: string | null;
  /** `E_...` code of the error when it is an SDK error, else `E_UNEXPECTED`. */
  code: ErrorCode;
  message: string;
}

/** What a {@link Scheduler.tick} did: the product's `{ triggered, errors }`, plus detail. */
export interface TickResult {
  /** Backups created. */
  triggered: number;
  errors: SchedulerError[];
  /** Due policies another scheduler instance (or an edit) claimed first. */
  skipped: number;
  /** What `RetentionRunner.runCleanup` returned when this tick ran it, else null. */
  retention: unknown;
}

/** What a {@link Scheduler} is built from. */
export interface SchedulerOptions {
  policies: BackupPolicyRepository;
  /** Creates the scheduled backups (a `BackupService`). */
  backups: BackupStarter;
  /** Runs retention cleanup on its own schedule when given (a `RetentionService`). */
  retention?: RetentionRunner;
  /** Cron of the retention cleanup, in {@link SchedulerOptions.retentionTimezone} (default `0 3 * * *`, the product's 03:00 UTC). */
  retentionCron?: string;
  /** Zone of {@link SchedulerOptions.retentionCron} (default `UTC`). */
  retentionTimezone?: string;
  /**
   * Where the retention job's due instant is claimed (default: in memory, so once per process).
   * Share a `PolicyRowScheduleClaims` over the shared policy repository to run it once across replicas.
   */
  claims?: ScheduleClaims;
  clock?: Clock;
  events?: EventSink;
  /** Tells the runner that policies changed, so it re-reads its wake-up time at once (a `PolicyService`). */
  policyChanges?: PolicyChangeSource;
  /**
   * The runner re-reads the repository at least this often (default 60 000 ms), which catches
   * changes it was not told about (another replica's edits) within that time.
   */
  recheckIntervalMs?: number;
  /** Backups started at once within one tick (default 8). */
  concurrency?: number;
}

const RETENTION_JOB = 'retention-cleanup';

/**
 * Starts scheduled backups when policies fall due, and runs retention cleanup daily.
 *
 * Hosts with their own cron call {@link Scheduler.tick} (every minute keeps the one-minute precision of docs/decisions.md#schedule-precision;
 * precision); others call {@link Scheduler.start}, which sleeps until the earliest
 * `next_backup_at` and ticks then. Each due slot is claimed by compare-and-set on
 * `next_backup_at`, so any number of instances sharing one repository start one backup per
 * slot (see docs/decisions.md#several-schedulers); after downtime a policy gets one catch-up backup, then runs on schedule
 * (see docs/decisions.md#missed-runs).
 */
export class Scheduler {
  private readonly policies: BackupPolicyRepository;
  private readonly backups: BackupStarter;
  private readonly retention: RetentionRunner | undefined;
  private readonly retentionCron: string;
  private readonly retentionTimezone: string;
  private readonly claims: ScheduleClaims;
  private readonly clock: Clock;
  private readonly events: EventSink;
  private readonly policyChanges: PolicyChangeSource | undefined;
  private readonly recheckIntervalMs: number;
  private readonly concurrency: number;
  /** Wait after a failed tick before the next (the smaller of the re-check interval and a minute). */
  private readonly retryDelayMs: number;

  private readonly inFlight = new Set<Promise<unknown>>();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeRequested = false;
  private sleepController: AbortController | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(options: SchedulerOptions) {
    this.policies = options.policies;
    this.backups = options.backups;
    this.retention = options.retention;
    this.retentionCron = options.retentionCron ?? '0 3 * * *';
    this.retentionTimezone = options.retentionTimezone ?? 'UTC';
    // Fail at construction, not at 03:00 some night.
    nextRun(this.retentionCron, this.retentionTimezone, new Date(0));
    this.claims = options.claims ?? new InMemoryScheduleClaims();
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? nullEventSink;
    this.policyChanges = options.policyChanges;
    this.recheckIntervalMs = positive(options.recheckIntervalMs ?? 60_000, 'recheckIntervalMs');
    this.concurrency = positive(options.concurrency ?? 8, 'concurrency');
    this.retryDelayMs = Math.min(this.recheckIntervalMs, 60_000);
  }

  /** True between {@link Scheduler.start} and {@link Scheduler.stop}. */
  get running(): boolean {
    return this.loop !== null;
  }

  /**
   * Starts every enabled policy due at `now` (one backup per policy, whatever the number of
   * missed slots), moves each to its next slot after `now`, and runs retention cleanup when its
   * slot has come. One policy's failure is recorded on it (`last_backup_status: 'failed'`) and
   * reported in `errors`; the others go on.
   */
  tick(now: Date = this.clock.now()): Promise<TickResult> {
    const work = this.runTick(now);
    this.inFlight.add(work);
    void work.then(
      () => this.inFlight.delete(work),
      () => this.inFlight.delete(work),
    );
    return work;
  }

  /** Runs the self-driving loop (for hosts without their own cron). Calling it twice is a no-op. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.unsubscribe = this.policyChanges?.onChange(() => this.wake()) ?? null;
    this.loop = this.runLoop();
  }

  /** Stops the loop and waits for work under way (ticks, backups being created, cleanup) to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.sleepController?.abort();
    await this.loop;
    this.loop = null;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Makes a sleeping runner re-read when the next slot is (call it when policies change behind the SDK's back). */
  wake(): void {
    this.wakeRequested = true;
    this.sleepController?.abort();
  }

  private async runLoop(): Promise<void> {
    while (!this.stopping) {
      let failed = false;
      try {
        failed = (await this.tick(this.clock.now())).errors.length > 0;
      } catch (error) {
        failed = true;
        this.emitError(null, null, error);
      }
      if (this.stopping) break;
      let wakeAt: number;
      do {
        this.wakeRequested = false;
        try {
          wakeAt = await this.nextWakeAt();
        } catch (error) {
          this.emitError(null, null, error);
          wakeAt = this.clock.now().getTime() + this.recheckIntervalMs;
        }
      } while (this.wakeRequested && !this.stopping);
      let ms = wakeAt - this.clock.now().getTime();
      if (this.stopping) continue;
      // Still due right after a tick: a slot came due while it ran (go again shortly), or the
      // repository keeps failing (back off rather than spin).
      if (ms <= 0) ms = failed ? this.retryDelayMs : 1000;
      const controller = new AbortController();
      this.sleepController = controller;
      try {
        await this.clock.sleep(ms, controller.signal);
      } catch {
        // Woken early: policies changed or stop() was called.
      } finally {
        this.sleepController = null;
      }
    }
  }

  /** The earliest of: the next due policy, the retention slot, and the safety re-check. */
  private async nextWakeAt(): Promise<number> {
    const now = this.clock.now().getTime();
    let wakeAt = now + this.recheckIntervalMs;
    const due = await this.policies.nextDueAt();
    if (due !== null) wakeAt = Math.min(wakeAt, Date.parse(due));
    if (this.retention) {
      const retentionDue = await this.claims.dueAt(RETENTION_JOB);
      if (retentionDue !== null) wakeAt = Math.min(wakeAt, Date.parse(retentionDue));
    }
    return wakeAt;
  }

  private async runTick(now: Date): Promise<TickResult> {
    const result: TickResult = { triggered: 0, errors: [], skipped: 0, retention: null };
    const due = await this.policies.listDue(now.toISOString());
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const policy = due[next++]!;
        try {
          await this.fire(policy, now, result);
        } catch (error) {
          // The repository failed around this policy; the others go on.
          result.errors.push(toSchedulerError(policy, error));
          this.emitError(policy.id, policy.environment_id, error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, due.length) }, worker));
    if (this.retention) await this.maybeRunRetention(now, result);
    return result;
  }

  private async fire(policy: BackupPolicy, now: Date, result: TickResult): Promise<void> {
    const slot = policy.next_backup_at;
    const stamp = now.toISOString();
    let next: string | null = null;
    let scheduleError: unknown = null;
    try {
      next = nextRun(policy.schedule_cron, policy.timezone, now).toISOString();
    } catch (error) {
      // A stored cron or zone this runtime cannot read: stop the policy (next_backup_at null) and say so.
      scheduleError = error;
    }
    // The claim: only the instance that moves next_backup_at away from this slot starts a backup.
    try {
      await this.policies.update(
        policy.id,
        { next_backup_at: next, last_backup_at: stamp, last_backup_status: scheduleError ? 'failed' : 'pending' },
        { next_backup_at: slot, is_enabled: true },
      );
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        result.skipped++;
        return;
      }
      throw error;
    }
    if (scheduleError) {
      result.errors.push(toSchedulerError(policy, scheduleError));
      this.emitError(policy.id, policy.environment_id, scheduleError);
      return;
    }
    let backup: { id: string; status: BackupStatus; task_id: string | null };
    try {
      backup = await this.backups.createBackup(
        policy.environment_id,
        { backup_type: 'scheduled', storage_config_id: policy.storage_config_id, include_filestore: true },
        null,
      );
    } catch (error) {
      result.errors.push(toSchedulerError(policy, error));
      this.emitError(policy.id, policy.environment_id, error);
      await this.recordStatus(policy.id, stamp, 'failed');
      return;
    }
    result.triggered++;
    // The backup's job records completed/failed when it ends; do not overwrite an end it already reached.
    if (backup.status !== 'pending') await this.recordStatus(policy.id, stamp, backup.status);
    this.events.emit({
      type: 'scheduler.backup_triggered',
      data: {
        policy_id: policy.id,
        environment_id: policy.environment_id,
        backup_id: backup.id,
        task_id: backup.task_id,
        slot,
        next_backup_at: next,
        timestamp: this.clock.now().toISOString(),
      },
    });
  }

  /** Sets last_backup_status when this trigger's 'pending' is still what the policy says. */
  private async recordStatus(policyId: string, stamp: string, status: BackupStatus): Promise<void> {
    try {
      await this.policies.update(policyId, { last_backup_status: status }, { last_backup_at: stamp, last_backup_status: 'pending' });
    } catch (error) {
      // Deleted meanwhile, a later trigger, or the job already recorded the end: theirs stands.
      if (!(error instanceof ConflictError) && !(error instanceof NotFoundError)) throw error;
    }
  }

  private async maybeRunRetention(now: Date, result: TickResult): Promise<void> {
    try {
      const due = await this.claims.dueAt(RETENTION_JOB);
      const next = nextRun(this.retentionCron, this.retentionTimezone, now).toISOString();
      if (due === null) {
        // First tick ever (across instances): the first cleanup runs at the next slot.
        await this.claims.claim(RETENTION_JOB, null, next);
        return;
      }
      if (Date.parse(due) > now.getTime()) return;
      if (!(await this.claims.claim(RETENTION_JOB, due, next))) return;
      result.retention = await this.retention!.runCleanup(now);
      this.events.emit({
        type: 'scheduler.retention_ran',
        data: { slot: due, next_run_at: next, timestamp: this.clock.now().toISOString() },
      });
    } catch (error) {
      result.errors.push(toSchedulerError(null, error));
      this.emitError(null, null, error);
    }
  }

  private emitError(policyId: string | null, environmentId: string | null, error: unknown): void {
    const e = toSchedulerError(null, error);
    this.events.emit({
      type: 'scheduler.error',
      data: {
        policy_id: policyId,
        environment_id: environmentId,
        code: e.code,
        message: e.message,
        timestamp: this.clock.now().toISOString(),
      },
    });
  }
}

function toSchedulerError(policy: BackupPolicy | null, error: unknown): SchedulerError {
  return {
    policy_id: policy?.id ?? null,
    environment_id: policy?.environment_id ?? null,
    code: error instanceof BackupSdkError ? error.code : 'E_UNEXPECTED',
    message: error instanceof Error ? error.message : String(error),
  };
}

function positive(value: number, field: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ValidationError([{ field, message: 'must be a positive number' }]);
  return value;
}
