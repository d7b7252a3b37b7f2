import { ValidationError, type ValidationIssue } from '../errors/errors.js';
import { parseIsoTimestamp } from './iso-timestamp.js';
import { newestFirstOrder } from './newest-first-order.js';
import { civilFromEpochDay, epochDay, instantFromZoned, isoWeekdayOfEpochDay, isValidTimeZone, localMs } from './zoned-time.js';

/**
 * A calendar duration as restic writes it (`1y2m3d4h`): years, months and days move the
 * calendar date, hours are exact hours. Used by the `within*` rules of {@link KeepPolicy}.
 */
export interface KeepDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/**
 * A count-based retention policy with restic `forget` semantics (see docs/decisions.md#count-based-keep-policies). Every rule is
 * independent; a snapshot is kept when any rule keeps it.
 *
 * Counts (`last` ... `yearly`): keep the newest snapshot of each of the N newest hours, days,
 * ISO weeks, months or years that have snapshots (`last`: the N newest snapshots); `-1` means
 * unlimited; `0` or absent disables the rule. When a rule still has count left at the oldest
 * snapshot, that one is kept too ("oldest ..."), which keeps history as long as possible.
 *
 * `within`: keep every snapshot newer than the newest one minus the duration; `within_hourly`
 * ... `within_yearly`: keep the newest snapshot of each bucket inside that window.
 *
 * `tags`: keep every snapshot that carries all tags of at least one of the lists.
 */
export interface KeepPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: KeepDuration | string;
  within_hourly?: KeepDuration | string;
  within_daily?: KeepDuration | string;
  within_weekly?: KeepDuration | string;
  within_monthly?: KeepDuration | string;
  within_yearly?: KeepDuration | string;
  tags?: readonly (readonly string[])[];
}

/** How {@link planKeepPolicy} reads its input. */
export interface KeepPlanOptions<T> {
  /** IANA zone whose wall clock defines hours, days, weeks, months and years. Default `UTC`. */
  timezone?: string;
  /**
   * Snapshots after this instant are not used as the anchor of `within*` windows (restic
   * ignores snapshots in the future). Default: no snapshot is in the future.
   */
  now?: Date;
  /** The snapshot's time. Default: its `time`, else its `created_at`. */
  timeOf?: (item: T) => Date | string | number;
  /** The snapshot's tags, for `tags` rules. Default: its `tags`, else none. */
  tagsOf?: (item: T) => readonly string[] | null | undefined;
}

/** Counts left on each counted rule after the snapshot was kept (restic's `counters`; zero omitted). */
export interface KeepCounters {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

/** A kept snapshot and why: restic's `matches` (`daily snapshot`, `oldest yearly snapshot`, `within 7d`...). */
export interface KeptItem<T> {
  item: T;
  reasons: string[];
  counters: KeepCounters;
}

/** The result of {@link planKeepPolicy}: newest first in both lists. */
export interface KeepPlan<T> {
  keep: KeptItem<T>[];
  remove: T[];
}

const COUNT_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const WITHIN_RULES = ['within_hourly', 'within_daily', 'within_weekly', 'within_monthly', 'within_yearly'] as const;
type Bucketer = 'always' | 'hour' | 'day' | 'week' | 'month' | 'year';
const COUNT_BUCKETS: readonly Bucketer[] = ['always', 'hour', 'day', 'week', 'month', 'year'];
const WITHIN_BUCKETS: readonly Bucketer[] = ['hour', 'day', 'week', 'month', 'year'];
const COUNT_REASONS = ['last snapshot', 'hourly snapshot', 'daily snapshot', 'weekly snapshot', 'monthly snapshot', 'yearly snapshot'];
const WITHIN_REASONS = ['hourly within', 'daily within', 'weekly within', 'monthly within', 'yearly within'];

const DURATION_RE = /^(?:\d+[ymdh])+$/;

/** Parses restic's duration syntax (`1y2m3d4h`, any subset, `m` = months). */
export function parseKeepDuration(text: string): KeepDuration {
  const s = text.trim();
  if (!DURATION_RE.test(s)) {
    throw new ValidationError([
      { field: 'within', message: `'${text}' is not a duration like 1y2m3d4h (y = years, m = months, d = days, h = hours)` },
    ]);
  }
  const d: KeepDuration = { years: 0, months: 0, days: 0, hours: 0 };
  for (const [, n, unit] of s.matchAll(/(\d+)([ymdh])/g)) {
    const key = ({ y: 'years', m: 'months', d: 'days', h: 'hours' } as const)[unit as 'y' | 'm' | 'd' | 'h'];
    d[key] += Number(n);
  }
  return d;
}

/** restic's spelling of a duration (`1y1m1d`, zero parts left out). */
export function formatKeepDuration(d: KeepDuration): string {
  return `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`;
}

function isZeroDuration(d: KeepDuration | null): boolean {
  return d === null || (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0);
}

function readDuration(value: KeepDuration | string | undefined, field: string, issues: ValidationIssue[]): KeepDuration | null {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    try {
      return parseKeepDuration(value);
    } catch {
      issues.push({ field, message: `'${value}' is not a duration like 1y2m3d4h (y = years, m = months, d = days, h = hours)` });
      return null;
    }
  }
  const d = { years: value.years ?? 0, months: value.months ?? 0, days: value.days ?? 0, hours: value.hours ?? 0 };
  for (const [k, v] of Object.entries(d)) {
    if (!Number.isInteger(v) || v < 0) issues.push({ field: `${field}.${k}`, message: 'must be a whole number >= 0' });
  }
  return d;
}

function defaultTime(item: unknown): Date | string | number {
  const o = item as { time?: Date | string | number; created_at?: string };
  const t = o.time ?? o.created_at;
  if (t === undefined)
    throw new ValidationError([{ field: 'time', message: 'each snapshot needs a `time` or `created_at` (or pass options.timeOf)' }]);
  return t;
}

function defaultTags(item: unknown): readonly string[] | undefined {
  return (item as { tags?: readonly string[] }).tags;
}

/** restic's `HasTags`: every tag of the list is present; an empty tag matches an untagged snapshot. */
function hasTags(tags: readonly string[], list: readonly string[]): boolean {
  for (const tag of list) {
    if (tag === '' && tags.length === 0) return true;
    if (!tags.includes(tag)) return false;
  }
  return true;
}

/** ISO week key YYYYWW of a local epoch day (ISO week-year: 2016-01-03 is 2015-W53). */
function isoWeekKey(days: number): number {
  const thursday = days - isoWeekdayOfEpochDay(days) + 4;
  const { year } = civilFromEpochDay(thursday);
  const week = Math.floor((thursday - epochDay(year, 1, 1)) / 7) + 1;
  return year * 100 + week;
}

/**
 * Which snapshots to keep under a count-based policy, with restic `forget` semantics
 * (see docs/decisions.md#count-based-keep-policies), replayed against all 40 of restic's golden results in our tests.
 *
 * Buckets are read on the wall clock of `options.timezone`; weeks are ISO weeks. `within*`
 * windows count back from the newest snapshot (not from now). Snapshots with the same time keep
 * their input order. Pure: the input is not changed.
 *
 * @throws ValidationError when the policy is empty (it would remove everything), a count is not
 *   a whole number >= -1, a duration or the time zone is invalid, or a snapshot has no time.
 */
export function planKeepPolicy<T>(snapshots: readonly T[], keep: KeepPolicy, options: KeepPlanOptions<T> = {}): KeepPlan<T> {
  const issues: ValidationIssue[] = [];
  const counts = COUNT_RULES.map((rule) => {
    const v = keep[rule];
    if (v === undefined) return 0;
    if (!Number.isInteger(v) || v < -1) issues.push({ field: rule, message: 'must be a whole number >= -1 (-1 = unlimited)' });
    return v;
  });
  const within = readDuration(keep.within, 'within', issues);
  const withins = WITHIN_RULES.map((rule) => readDuration(keep[rule], rule, issues));
  const tagLists = keep.tags ?? [];
  const timeZone = options.timezone ?? 'UTC';
  if (!isValidTimeZone(timeZone))
    issues.push({ field: 'timezone', message: 'must be an IANA time zone name such as "UTC" or "Europe/Brussels"' });
  if (issues.length) throw new ValidationError(issues);
  if (counts.every((c) => c === 0) && isZeroDuration(within) && withins.every(isZeroDuration) && tagLists.length === 0) {
    throw new ValidationError(
      [
        {
          field: '',
          message:
            'the keep policy is empty: it would remove every snapshot. Set at least one of last, hourly, daily, weekly, monthly, yearly, within* or tags',
        },
      ],
      undefined,
      'E_EMPTY_KEEP_POLICY',
    );
  }

  const n = snapshots.length;
  if (n === 0) return { keep: [], remove: [] };
  const timeOf = options.timeOf ?? defaultTime;
  const tagsOf = options.tagsOf ?? defaultTags;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const raw = timeOf(snapshots[i]!);
    const t = raw instanceof Date ? raw.getTime() : typeof raw === 'number' ? raw : parseIsoTimestamp(raw);
    if (Number.isNaN(t)) throw new ValidationError([{ field: `snapshots[${i}].time`, message: `'${String(raw)}' is not a valid time` }]);
    times[i] = t;
  }

  // Newest first, stable (restic's sort.Stable). Hosts usually pass newest-first lists already.
  const order = newestFirstOrder(times);

  // The anchor of `within*`: the newest snapshot not in the future (restic's findLatestTimestamp).
  const nowMs = options.now ? options.now.getTime() : Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (times[i]! > latest && times[i]! < nowMs) latest = times[i]!;
  const windowStart = (d: KeepDuration | null): number => {
    if (isZeroDuration(d) || d === null) return Number.NaN;
    if (latest === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
    // Go's AddDate on the anchor's wall clock (overflowing days roll over), then exact hours.
    const local = localMs(latest, timeZone);
    const days = Math.floor(local / 86_400_000);
    const { year, month, day } = civilFromEpochDay(days);
    const msOfDay = local - days * 86_400_000;
    const s = Math.floor(msOfDay / 1000);
    const shifted = instantFromZoned(
      year - d.years,
      month - d.months,
      day - d.days,
      Math.floor(s / 3600),
      Math.floor((s % 3600) / 60),
      s % 60,
      timeZone,
    );
    return shifted.getTime() + (msOfDay % 1000) - d.hours * 3_600_000;
  };
  const withinStart = windowStart(within);
  const withinLabel = within && !isZeroDuration(within) ? `within ${formatKeepDuration(within)}` : '';
  const bucketStarts = withins.map(windowStart);
  const bucketLabels = withins.map((d) => (d ? formatKeepDuration(d) : ''));
  const tagLabels = tagLists.map((l) => `has tags [${l.join(', ')}]`);

  const countLeft = counts.slice();
  const countLast = new Array<number>(6).fill(Number.NaN);
  const withinLast = new Array<number>(5).fill(Number.NaN);
  const needCalendar = counts.some((c, i) => i > 0 && c !== 0) || bucketStarts.some((s) => !Number.isNaN(s));

  const kept: KeptItem<T>[] = [];
  const removed: T[] = [];
  const bucketValue = (kind: Bucketer, nr: number, y: number, m: number, d: number, h: number, days: number): number => {
    switch (kind) {
      case 'always':
        return nr;
      case 'hour':
        return y * 1_000_000 + m * 10_000 + d * 100 + h;
      case 'day':
        return y * 10_000 + m * 100 + d;
      case 'week':
        return isoWeekKey(days);
      case 'month':
        return y * 100 + m;
      case 'year':
        return y;
    }
  };

  for (let nr = 0; nr < n; nr++) {
    const idx = order[nr]!;
    const t = times[idx]!;
    const isOldest = nr === n - 1;
    // Most snapshots of a long history are removed: allocate reasons only for kept ones.
    let reasons: string[] | null = null;
    if (tagLists.length) {
      const tags = tagsOf(snapshots[idx]!) ?? [];
      for (let k = 0; k < tagLists.length; k++) if (hasTags(tags, tagLists[k]!)) (reasons ??= []).push(tagLabels[k]!);
    }
    if (!Number.isNaN(withinStart) && t > withinStart) (reasons ??= []).push(withinLabel);

    let y = 0;
    let m = 0;
    let d = 0;
    let h = 0;
    let days = 0;
    if (needCalendar) {
      const local = localMs(t, timeZone);
      days = Math.floor(local / 86_400_000);
      const c = civilFromEpochDay(days);
      y = c.year;
      m = c.month;
      d = c.day;
      h = Math.floor((local - days * 86_400_000) / 3_600_000);
    }
    for (let i = 0; i < 6; i++) {
      const count = countLeft[i]!;
      if (count > 0 || count === -1) {
        const val = bucketValue(COUNT_BUCKETS[i]!, nr, y, m, d, h, days);
        if (val !== countLast[i] || isOldest) {
          (reasons ??= []).push(val === countLast[i] ? `oldest ${COUNT_REASONS[i]}` : COUNT_REASONS[i]!);
          countLast[i] = val;
          if (count > 0) countLeft[i] = count - 1;
        }
      }
    }
    for (let i = 0; i < 5; i++) {
      const start = bucketStarts[i]!;
      if (!Number.isNaN(start) && t > start) {
        const val = bucketValue(WITHIN_BUCKETS[i]!, nr, y, m, d, h, days);
        if (val !== withinLast[i] || isOldest) {
          (reasons ??= []).push(`${val === withinLast[i] ? 'oldest ' : ''}${WITHIN_REASONS[i]} ${bucketLabels[i]}`);
          withinLast[i] = val;
        }
      }
    }

    if (reasons) {
      const counters: KeepCounters = {};
      for (let i = 0; i < 6; i++) if (countLeft[i] !== 0) counters[COUNT_RULES[i]!] = countLeft[i]!;
      kept.push({ item: snapshots[idx]!, reasons, counters });
    } else {
      removed.push(snapshots[idx]!);
    }
  }
  return { keep: kept, remove: removed };
}
