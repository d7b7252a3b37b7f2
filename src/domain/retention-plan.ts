import { ValidationError, type ValidationIssue } from '../errors/errors.js';
import type { Backup, IsoDateTime } from './entities.js';
import type { RetentionType } from './enums.js';
import { describeGfsPeriod, weekStartDay, type GfsPeriodKind } from './gfs-periods.js';
import { classifyRetention, retentionDays, type RetentionSettings } from './retention-classification.js';
import { parseIsoTimestamp } from './iso-timestamp.js';
import { newestFirstOrder } from './newest-first-order.js';
import { civilFromEpochDay, isValidTimeZone, localMs } from './zoned-time.js';

const DAY_MS = 86_400_000;

/** The fields of a {@link Backup} that retention planning reads. */
export type RetentionCandidate = Pick<Backup, 'id' | 'environment_id' | 'status' | 'retention_type' | 'expires_at' | 'created_at'>;

/** A backup the plan leaves as it is, and why. */
export interface RetentionKeep {
  backup_id: string;
  retention_type: RetentionType;
  expires_at: IsoDateTime | null;
  reason: string;
}

/** A backup whose retention has ended: cleanup marks it `expired` (then deletes its object). */
export interface RetentionExpire {
  backup_id: string;
  retention_type: RetentionType;
  expires_at: IsoDateTime;
  reason: string;
}

/** A backup moving to a higher GFS tier, with its new expiry counted from its own `created_at`. */
export interface RetentionPromote {
  backup_id: string;
  from: RetentionType;
  to: RetentionType;
  /** The expiry before promotion (as stored). */
  previous_expires_at: IsoDateTime | null;
  expires_at: IsoDateTime;
  reason: string;
}

/**
 * What cleanup should do to one environment's backups at `now`. Every `completed` backup is in
 * exactly one of `expire`, `promote`, `keep` (newest first in each); backups in other statuses
 * are not retention's business and appear nowhere.
 */
export interface RetentionPlan {
  environment_id: string | null;
  now: IsoDateTime;
  expire: RetentionExpire[];
  promote: RetentionPromote[];
  keep: RetentionKeep[];
}

const TIERS: readonly RetentionType[] = ['daily', 'weekly', 'monthly', 'yearly', 'permanent'];
const PERMANENT = 4;
const PERIOD_OF_TIER: readonly GfsPeriodKind[] = ['week', 'week', 'month', 'year'];

function tierIndex(t: RetentionType): number {
  const i = TIERS.indexOf(t);
  if (i < 0) throw new ValidationError([{ field: 'retention_type', message: `'${String(t)}' is not one of ${TIERS.join(', ')}` }]);
  return i;
}

/** How long a tier keeps a backup, in words (`7 days`, `4 weeks`, `12 x 30 days`). */
function describeRetention(tier: number, policy: RetentionSettings): string {
  switch (tier) {
    case 0:
      return `${policy.daily_retention} day${policy.daily_retention === 1 ? '' : 's'}`;
    case 1:
      return `${policy.weekly_retention} week${policy.weekly_retention === 1 ? '' : 's'}`;
    case 2:
      return `${policy.monthly_retention} x 30 days`;
    case 3:
      return `${policy.yearly_retention} x 365 days`;
    default:
      return 'forever';
  }
}

/** Throws a ValidationError naming every bad retention setting. */
export function assertRetentionSettings(policy: RetentionSettings): void {
  const issues: ValidationIssue[] = [];
  const ranges: [keyof RetentionSettings, number, number][] = [
    ['daily_retention', 0, 365],
    ['weekly_retention', 0, 52],
    ['monthly_retention', 0, 60],
    ['yearly_retention', 0, 10],
    ['weekly_backup_day', 0, 6],
  ];
  for (const [field, min, max] of ranges) {
    const v = policy[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      issues.push({ field, message: `must be a whole number from ${min} to ${max}` });
  }
  if (!isValidTimeZone(policy.timezone))
    issues.push({ field: 'timezone', message: 'must be an IANA time zone name such as "UTC" or "Europe/Brussels"' });
  if (issues.length) throw new ValidationError(issues);
}

/**
 * GFS cleanup of one environment's backups at `now`, as a pure function (see docs/decisions.md#retention-gfs).
 *
 * - `permanent` backups are always kept and never changed.
 * - Promotion (daily -> weekly -> monthly -> yearly): periods are read on the policy's calendar
 *   (a week is the 7 days starting on `weekly_backup_day`; months and years are calendar ones).
 *   A period holding an unexpired completed backup of the higher tier or above is covered. In
 *   every uncovered period, the earliest unexpired completed backup of the tier just below is
 *   promoted. Its new `expires_at` is counted from its own `created_at` (and never moves
 *   earlier), so the plan does not depend on when cleanup runs. Promotions cascade within one
 *   plan (a daily may become monthly). Nothing is promoted into a tier kept 0 days.
 * - A backup whose `expires_at` is before `now` is expired, except the newest completed backup
 *   of the environment, which is always kept (safety rule, see docs/decisions.md#newest-backup-kept). A `null` `expires_at`
 *   never expires; a `null` `retention_type` is read as the tier its `created_at` classifies to.
 *
 * Idempotent: applying the plan and planning again at the same `now` gives an empty `expire`
 * and `promote`. The result does not depend on the input's order.
 *
 * @throws ValidationError for bad settings, an invalid `now`, or backups of several environments.
 */
export function planRetention(backups: readonly RetentionCandidate[], policy: RetentionSettings, now: Date): RetentionPlan {
  assertRetentionSettings(policy);
  const nowMs = now instanceof Date ? now.getTime() : Number.NaN;
  if (Number.isNaN(nowMs)) throw new ValidationError([{ field: 'now', message: 'must be a valid Date' }]);

  // Completed backups only: the others have nothing retention may act on.
  const items: RetentionCandidate[] = [];
  let environmentId: string | null = null;
  for (const b of backups) {
    if (environmentId === null) environmentId = b.environment_id;
    else if (b.environment_id !== environmentId) {
      throw new ValidationError([
        { field: 'backups', message: `plans one environment at a time; got ${environmentId} and ${b.environment_id}` },
      ]);
    }
    if (b.status === 'completed') items.push(b);
  }
  const n = items.length;
  const created = new Float64Array(n);
  const expiry = new Float64Array(n); // +Infinity: never expires
  const tier = new Uint8Array(n);
  const originalTier = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = items[i]!;
    const c = parseIsoTimestamp(b.created_at);
    if (Number.isNaN(c))
      throw new ValidationError([{ field: `backups[${b.id}].created_at`, message: `'${b.created_at}' is not a valid time` }]);
    created[i] = c;
    const t = b.retention_type === null ? tierIndex(classifyRetention(new Date(c), policy)) : tierIndex(b.retention_type);
    tier[i] = t;
    originalTier[i] = t;
    if (t === PERMANENT || b.expires_at === null) expiry[i] = Number.POSITIVE_INFINITY;
    else {
      const e = parseIsoTimestamp(b.expires_at);
      if (Number.isNaN(e))
        throw new ValidationError([{ field: `backups[${b.id}].expires_at`, message: `'${b.expires_at}' is not a valid time` }]);
      expiry[i] = e;
    }
  }

  // Newest first, ties by id descending (the repositories' order), whatever the input order.
  const order = newestFirstOrder(created);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && created[order[end]!] === created[order[start]!]) end++;
    if (end - start > 1) {
      const run = Array.from(order.subarray(start, end)).sort((a, b) =>
        items[a]!.id < items[b]!.id ? 1 : items[a]!.id > items[b]!.id ? -1 : 0,
      );
      order.set(run, start);
    }
    start = end;
  }

  // Periods on the policy's calendar.
  const week = new Float64Array(n);
  const month = new Float64Array(n);
  const year = new Float64Array(n);
  let prevDays = Number.NaN;
  let w = 0;
  let m = 0;
  let y = 0;
  for (let k = 0; k < n; k++) {
    // In time order, so same-day runs compute the zone offset and the calendar once per day.
    const i = order[k]!;
    const days = Math.floor(localMs(created[i]!, policy.timezone) / DAY_MS);
    if (days !== prevDays) {
      const c = civilFromEpochDay(days);
      w = weekStartDay(days, policy.weekly_backup_day);
      m = c.year * 12 + c.month - 1;
      y = c.year;
      prevDays = days;
    }
    week[i] = w;
    month[i] = m;
    year[i] = y;
  }
  const periodArrays = [week, week, month, year];

  const promotionReasons = new Map<number, string[]>();
  for (let lower = 0; lower < 3; lower++) {
    const higher = lower + 1;
    const period = periodArrays[higher]!;
    const kind = PERIOD_OF_TIER[higher]!;
    const covered = new Set<number>();
    for (let i = 0; i < n; i++) if (tier[i]! >= higher && expiry[i]! >= nowMs) covered.add(period[i]!);
    const keepDays = retentionDays(TIERS[higher]!, policy)!;
    if (keepDays === 0) continue; // a tier kept 0 days is switched off: nothing is promoted into it
    const keepMs = keepDays * DAY_MS;
    // Oldest first, so the first candidate seen in a period is its earliest.
    for (let k = n - 1; k >= 0; k--) {
      const i = order[k]!;
      // Only unexpired backups are promoted (an expired one is gone, whatever a promotion would
      // give it); one without an expiry date is kept anyway, so promoting it would change nothing.
      if (tier[i] !== lower || expiry[i]! < nowMs || expiry[i] === Number.POSITIVE_INFINITY) continue;
      const p = period[i]!;
      if (covered.has(p)) continue;
      const newExpiry = Math.max(expiry[i]!, created[i]! + keepMs);
      covered.add(p);
      tier[i] = higher;
      expiry[i] = newExpiry;
      const reason = `no ${TIERS[higher]} or longer-kept backup in ${describeGfsPeriod(kind, p)} (${policy.timezone}): its earliest ${TIERS[lower]} backup becomes ${TIERS[higher]}`;
      const list = promotionReasons.get(i);
      if (list) list.push(reason);
      else promotionReasons.set(i, [reason]);
    }
  }

  const newest = n > 0 ? order[0]! : -1;
  // Reason texts per tier, so a million-backup plan builds one short string per backup.
  const keepUntil = TIERS.map((type, t) => `${type} backup (kept ${describeRetention(t, policy)}) until `);
  const endedAt = TIERS.map((type, t) => `${type} backup: its retention of ${describeRetention(t, policy)} ended at `);
  const plan: RetentionPlan = { environment_id: environmentId, now: new Date(nowMs).toISOString(), expire: [], promote: [], keep: [] };
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const b = items[i]!;
    const t = tier[i]!;
    const type = TIERS[t]!;
    const e = expiry[i]!;
    const reasons = promotionReasons.get(i);
    if (reasons) {
      const expiresAt = new Date(e).toISOString();
      plan.promote.push({
        backup_id: b.id,
        from: TIERS[originalTier[i]!]!,
        to: type,
        previous_expires_at: b.expires_at,
        expires_at: expiresAt,
        reason:
          e === created[i]! + retentionDays(type, policy)! * DAY_MS
            ? `${reasons.join('; then ')}; kept ${describeRetention(t, policy)} from its creation, until ${expiresAt}`
            : `${reasons.join('; then ')}; keeps its expiry ${expiresAt}, later than ${describeRetention(t, policy)} from its creation`,
      });
    } else if (t === PERMANENT) {
      plan.keep.push({ backup_id: b.id, retention_type: type, expires_at: b.expires_at, reason: 'permanent backup: never expires' });
    } else if (e === Number.POSITIVE_INFINITY) {
      plan.keep.push({
        backup_id: b.id,
        retention_type: type,
        expires_at: null,
        reason: `${type} backup without an expiry date: never expires`,
      });
    } else if (e >= nowMs) {
      plan.keep.push({ backup_id: b.id, retention_type: type, expires_at: b.expires_at, reason: keepUntil[t]! + b.expires_at });
    } else if (i === newest) {
      plan.keep.push({
        backup_id: b.id,
        retention_type: type,
        expires_at: b.expires_at,
        reason: `newest completed backup of the environment: kept although its ${type} retention ended at ${b.expires_at} (safety rule)`,
      });
    } else {
      plan.expire.push({ backup_id: b.id, retention_type: type, expires_at: b.expires_at!, reason: endedAt[t]! + b.expires_at });
    }
  }
  return plan;
}
