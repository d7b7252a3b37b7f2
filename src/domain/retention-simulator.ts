import { ValidationError } from '../errors/errors.js';
import type { IsoDateTime } from './entities.js';
import type { RetentionType } from './enums.js';
import { classifyRetention, computeExpiry, DEFAULT_RETENTION, type RetentionSettings } from './retention-classification.js';
import { assertRetentionSettings, planRetention, type RetentionCandidate } from './retention-plan.js';
import { civilFromEpochDay, instantFromZoned, localMs } from './zoned-time.js';

const DAY_MS = 86_400_000;

/** A time of day on a wall clock. */
export interface TimeOfDay {
  hour: number;
  minute: number;
}

/** Inputs of {@link simulateRetention}. */
export interface RetentionSimulationOptions {
  /** GFS settings (default: the product's 7/4/12/2, weekly on Sunday, UTC). */
  policy?: RetentionSettings;
  /** The first simulated day: its calendar date in the policy's timezone is day 0. */
  start: Date | IsoDateTime;
  /** How many days to simulate. */
  days: number;
  /** When scheduled backups run each day, on the policy's wall clock (default: 02:00, the product's `0 2 * * *`). */
  backupTimes?: readonly TimeOfDay[];
  /** When the daily cleanup runs, in UTC (default 03:00, as the product's retention job). */
  cleanupTime?: TimeOfDay;
  /** Bytes of each backup (default 1 GB, as the product's storage example). */
  backupBytes?: number;
  /** Backups for which this returns true fail (never complete), e.g. to simulate an outage. */
  fails?: (at: Date, index: number) => boolean;
}

/** Retained completed backups per tier. */
export interface RetainedByTier {
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
  permanent: number;
  total: number;
}

/** The retained set after one cleanup. */
export interface RetentionSimulationSample extends RetainedByTier {
  at: IsoDateTime;
}

/** One simulated backup's life: from its completion to the cleanup that expired it. */
export interface RetentionLifetime {
  id: string;
  created_at: IsoDateTime;
  /** The cleanup that expired it; null when it was still retained at the end. */
  removed_at: IsoDateTime | null;
  /** The tier it held last (after any promotions). */
  retention_type: RetentionType;
  /** The tier it was classified into when it completed. */
  first_retention_type: RetentionType;
}

/** What {@link simulateRetention} observed. */
export interface RetentionSimulationResult {
  policy: RetentionSettings;
  days: number;
  /** Scheduled backups that completed / failed. */
  backups_completed: number;
  backups_failed: number;
  /** Backups expired and promotions applied by all cleanups together. */
  expired: number;
  promoted: number;
  /** After the last cleanup. */
  end: IsoDateTime;
  retained: RetainedByTier;
  /** The retained backups after the last cleanup, newest first. */
  retained_backups: { id: string; created_at: IsoDateTime; retention_type: RetentionType; expires_at: IsoDateTime | null }[];
  retained_bytes: number;
  /** Keeping every scheduled backup of the last 365 days (the product's "without GFS" case). */
  baseline_bytes: number;
  /** `1 - retained_bytes / baseline_bytes`, e.g. 0.93. */
  reduction: number;
  /** Fewest and most backups retained per tier over the last 365 simulated days (steady state). */
  steady_state: { min: RetainedByTier; max: RetainedByTier };
  /** The retained counts after every cleanup. */
  history: RetentionSimulationSample[];
  /**
   * Every completed backup's lifetime, oldest first: when it was made, when a cleanup expired it
   * (null: still retained) and its tiers. Enough to draw what the policy keeps over time.
   */
  lifetimes: RetentionLifetime[];
}

function count(list: readonly RetentionCandidate[]): RetainedByTier {
  const c: RetainedByTier = { daily: 0, weekly: 0, monthly: 0, yearly: 0, permanent: 0, total: list.length };
  for (const b of list) c[b.retention_type ?? 'daily']++;
  return c;
}

const TIER_KEYS = ['daily', 'weekly', 'monthly', 'yearly', 'permanent', 'total'] as const;

/**
 * Runs `days` days of scheduled backups under a GFS policy with a cleanup every day
 * ({@link planRetention} applied as the service would), and reports what is retained. Pure and
 * deterministic: used by tests and docs to show the policy's shape and its storage saving.
 */
export function simulateRetention(options: RetentionSimulationOptions): RetentionSimulationResult {
  const policy = options.policy ?? DEFAULT_RETENTION;
  assertRetentionSettings(policy);
  const days = options.days;
  if (!Number.isInteger(days) || days < 1 || days > 36_500)
    throw new ValidationError([{ field: 'days', message: 'must be a whole number from 1 to 36500' }]);
  const startMs = new Date(options.start).getTime();
  if (Number.isNaN(startMs)) throw new ValidationError([{ field: 'start', message: 'must be a valid time' }]);
  const backupTimes = options.backupTimes ?? [{ hour: 2, minute: 0 }];
  const cleanup = options.cleanupTime ?? { hour: 3, minute: 0 };
  const bytes = options.backupBytes ?? 1_000_000_000;

  // Every event, in time order: backups on the policy's wall clock, cleanups in UTC.
  const firstDay = Math.floor(localMs(startMs, policy.timezone) / DAY_MS);
  const firstUtcDay = Math.floor(startMs / DAY_MS);
  const events: { at: number; kind: 'backup' | 'cleanup' }[] = [];
  for (let d = 0; d < days; d++) {
    const { year, month, day } = civilFromEpochDay(firstDay + d);
    for (const t of backupTimes)
      events.push({ at: instantFromZoned(year, month, day, t.hour, t.minute, 0, policy.timezone).getTime(), kind: 'backup' });
    events.push({ at: (firstUtcDay + d) * DAY_MS + (cleanup.hour * 60 + cleanup.minute) * 60_000, kind: 'cleanup' });
  }
  events.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'backup' ? -1 : 1));

  let live: RetentionCandidate[] = [];
  const completedAt: number[] = [];
  let seq = 0;
  let failed = 0;
  let expired = 0;
  let promoted = 0;
  const history: RetentionSimulationSample[] = [];
  const lifetimes = new Map<string, RetentionLifetime>();
  for (const e of events) {
    const at = new Date(e.at);
    if (e.kind === 'backup') {
      const index = seq++;
      if (options.fails?.(at, index)) {
        failed++;
        continue;
      }
      const type = classifyRetention(at, policy);
      const expires = computeExpiry(at, type, policy);
      live.push({
        id: `sim-${String(index).padStart(6, '0')}`,
        environment_id: 'simulated',
        status: 'completed',
        retention_type: type,
        expires_at: expires?.toISOString() ?? null,
        created_at: at.toISOString(),
      });
      completedAt.push(e.at);
      const id = `sim-${String(index).padStart(6, '0')}`;
      lifetimes.set(id, { id, created_at: at.toISOString(), removed_at: null, retention_type: type, first_retention_type: type });
      continue;
    }
    const plan = planRetention(live, policy, at);
    const gone = new Set(plan.expire.map((x) => x.backup_id));
    const changes = new Map(plan.promote.map((p) => [p.backup_id, p]));
    expired += gone.size;
    promoted += changes.size;
    for (const id of gone) lifetimes.get(id)!.removed_at = at.toISOString();
    for (const p of changes.values()) lifetimes.get(p.backup_id)!.retention_type = p.to;
    live = live
      .filter((b) => !gone.has(b.id))
      .map((b) => {
        const p = changes.get(b.id);
        return p ? { ...b, retention_type: p.to, expires_at: p.expires_at } : b;
      });
    history.push({ at: at.toISOString(), ...count(live) });
  }

  const last = history[history.length - 1];
  const endMs = last ? Date.parse(last.at) : startMs;
  const yearAgo = endMs - 365 * DAY_MS;
  const steady = history.filter((h) => Date.parse(h.at) > yearAgo);
  const min = {} as RetainedByTier;
  const max = {} as RetainedByTier;
  for (const k of TIER_KEYS) {
    min[k] = Math.min(...steady.map((h) => h[k]));
    max[k] = Math.max(...steady.map((h) => h[k]));
  }
  const retained = count(live);
  const baselineCount = completedAt.filter((t) => t > yearAgo && t <= endMs).length;
  const retainedBytes = retained.total * bytes;
  const baselineBytes = baselineCount * bytes;
  return {
    policy: { ...policy },
    days,
    backups_completed: completedAt.length,
    backups_failed: failed,
    expired,
    promoted,
    end: new Date(endMs).toISOString(),
    retained,
    retained_backups: [...live]
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
      .map((b) => ({ id: b.id, created_at: b.created_at, retention_type: b.retention_type ?? 'daily', expires_at: b.expires_at })),
    retained_bytes: retainedBytes,
    baseline_bytes: baselineBytes,
    reduction: baselineBytes === 0 ? 0 : 1 - retainedBytes / baselineBytes,
    steady_state: { min, max },
    history,
    lifetimes: [...lifetimes.values()],
  };
}
