import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { ValidationError } from '../errors/errors.js';
import { CronSchema, toValidationIssues, validationCodeOf } from './validation.js';
import { isValidTimeZone, zonedParts } from './zoned-time.js';

/**
 * Cron schedule math (see docs/decisions.md#cron-day-of-week and #daylight-saving-time), pure.
 *
 * cron-parser parses the expression and matches calendar fields, but only on a "floating" wall
 * clock: we run it in UTC over local wall times, where no DST exists, and map each local wall
 * time to real instants ourselves. cron-parser's own DST handling is stateful and differs from
 * our DST rules (docs/decisions.md#daylight-saving-time) in places (a schedule such as `0 *\/2 * * *` may jump three hours on a fall-back
 * day while another, started inside the repeated hour, may skip it); doing the mapping here
 * keeps the rules explicit and testable:
 *
 * - a local time that does not exist (spring forward) runs shifted forward by the gap
 *   (02:30 becomes 03:30, Temporal's 'compatible' disambiguation);
 * - a local time that occurs twice (fall back) runs once, at its first occurrence, unless the
 *   hour field is `*`, in which case it runs in every real hour, the repeated one included.
 */

const DAY = 86_400_000;
/** Longest DST shift of any zone (Antarctica/Troll moves by 2 h); bounds overlap searches. */
const MAX_SHIFT = 3 * 3_600_000;
/** More candidates than any real zone can skip in a row; a guard against endless loops. */
const MAX_CANDIDATES = 10_000;

interface ParsedCron {
  expression: CronExpression;
  /** True when the hour field is `*`: such schedules run in both passes of a repeated hour. */
  everyHour: boolean;
}

const parsedCache = new Map<string, ParsedCron>();

function parse(cron: string): ParsedCron {
  const key = typeof cron === 'string' ? cron.trim() : cron;
  const cached = parsedCache.get(key);
  if (cached) return cached;
  // The same rules as policy validation: exactly 5 standard fields, no ? L W # H extensions.
  const checked = CronSchema.safeParse(cron);
  if (!checked.success) {
    throw new ValidationError(
      toValidationIssues(checked.error, cron).map((issue) => ({ ...issue, field: 'schedule_cron' })),
      undefined,
      validationCodeOf(checked.error),
    );
  }
  // CronSchema ran cron-parser on the same text: this parse does not fail.
  const expression: CronExpression = CronExpressionParser.parse(key, { tz: 'UTC', currentDate: new Date(0) });
  const parsed = { expression, everyHour: expression.fields.hour.isWildcard };
  // Policies share a handful of expressions; the cap only guards against unbounded growth.
  if (parsedCache.size >= 1000) parsedCache.clear();
  parsedCache.set(key, parsed);
  return parsed;
}

/** The first wall-clock match strictly after `floating` (ms of a wall time read as if it were UTC). */
function nextWall(parsed: ParsedCron, floating: number): number {
  parsed.expression.reset(new Date(floating));
  try {
    return parsed.expression.next().getTime();
  } catch {
    // cron-parser gives up after years without a match (its own words name no field).
    throw new ValidationError(
      [{ field: 'schedule_cron', message: `never fires after ${new Date(floating).toISOString().slice(0, 16)} local time` }],
      undefined,
      'E_INVALID_CRON',
    );
  }
}

/**
 * UTC offset of `timeZone` at `instant`, in ms (positive east of Greenwich): wall time minus
 * instant. Whole seconds only, as the tz database has them.
 */
export function utcOffsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const p = zonedParts(new Date(whole), timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole;
}

/** How a local wall time maps to real instants. */
export type WallTimeResolution =
  | { kind: 'unique'; instant: number }
  /** The wall time is skipped by a spring-forward change; `instant` is it shifted forward by the gap. */
  | { kind: 'gap'; instant: number }
  /** The wall time happens twice (fall back): `earlier` in the old offset, `later` in the new. */
  | { kind: 'overlap'; earlier: number; later: number };

/**
 * Maps a local wall time (`floating`: its fields read as if UTC, in ms) in `timeZone` to the
 * real instant(s) it names.
 */
export function resolveWallTime(floating: number, timeZone: string): WallTimeResolution {
  const before = utcOffsetAt(floating - DAY, timeZone);
  const after = utcOffsetAt(floating + DAY, timeZone);
  const valid: number[] = [];
  for (const offset of before === after ? [before] : [before, after]) {
    const instant = floating - offset;
    if (utcOffsetAt(instant, timeZone) === offset) valid.push(instant);
  }
  if (valid.length === 2) return { kind: 'overlap', earlier: Math.min(valid[0]!, valid[1]!), later: Math.max(valid[0]!, valid[1]!) };
  if (valid.length === 1) return { kind: 'unique', instant: valid[0]! };
  // Nonexistent: read it with the offset in force before the change, which lands `gap` later.
  return { kind: 'gap', instant: floating - before };
}

/**
 * When `instant` lies in the first pass of a repeated (fall-back) hour, the change's instant and
 * the offsets around it; else null.
 */
function fallBackAhead(instant: number, timeZone: string): { at: number; offsetBefore: number; offsetAfter: number } | null {
  const offsetBefore = utcOffsetAt(instant, timeZone);
  const offsetAfter = utcOffsetAt(instant + MAX_SHIFT, timeZone);
  if (offsetAfter >= offsetBefore) return null;
  // Binary search the change to the second (the tz database has whole-second transitions).
  let lo = instant;
  let hi = instant + MAX_SHIFT;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid <= lo) break;
    if (utcOffsetAt(mid, timeZone) === offsetBefore) lo = mid;
    else hi = mid;
  }
  const at = hi;
  const shift = offsetBefore - offsetAfter;
  return instant >= at - shift ? { at, offsetBefore, offsetAfter } : null;
}

function assertTimeZone(timeZone: string): void {
  if (!isValidTimeZone(timeZone)) {
    throw new ValidationError([
      { field: 'timezone', message: `must be an IANA time zone name such as "UTC" or "Europe/Brussels", got ${JSON.stringify(timeZone)}` },
    ]);
  }
}

/**
 * The first instant strictly after `after` at which the 5-field `cron` expression fires,
 * evaluated on the wall clock of the IANA zone `timeZone`.
 *
 * Day of week is standard cron (0 and 7 are Sunday); when both day-of-month and day-of-week are
 * restricted, either may match. DST follows the rules of docs/decisions.md#daylight-saving-time: a nonexistent local time runs shifted
 * forward by the gap, a repeated local time runs once at its first occurrence, and a schedule
 * whose hour field is `*` runs in every real hour, the repeated one included.
 *
 * @throws ValidationError (`E_INVALID_CRON`) for a bad expression, (`E_VALIDATION`) for an unknown zone.
 * @example nextRun('30 8 * * 1-5', 'Europe/Brussels', new Date('2026-06-01T07:00:00Z')) // 2026-06-02T06:30:00.000Z
 */
export function nextRun(cron: string, timeZone: string, after: Date): Date {
  const parsed = parse(cron);
  assertTimeZone(timeZone);
  const a = after.getTime();
  if (!Number.isFinite(a)) throw new ValidationError([{ field: 'after', message: 'must be a valid date' }]);

  // Second passes of a repeated hour already under way (hour field `*` only).
  let best = Number.POSITIVE_INFINITY;
  if (parsed.everyHour) {
    const fall = fallBackAhead(a, timeZone);
    if (fall) {
      const wallA = a + fall.offsetBefore;
      const shift = fall.offsetBefore - fall.offsetAfter;
      const overlapStart = fall.at + fall.offsetAfter;
      const overlapEnd = fall.at + fall.offsetBefore;
      const w = nextWall(parsed, Math.max(wallA - shift, overlapStart - 1));
      if (w < overlapEnd) best = w - fall.offsetAfter;
    }
  }

  // Just after a spring-forward change, skipped wall times (shifted past `after`) may still be
  // due: start the wall-clock search one gap early; candidates at or before `after` are skipped.
  const offsetA = utcOffsetAt(a, timeZone);
  const springGap = Math.max(0, offsetA - utcOffsetAt(a - MAX_SHIFT, timeZone));
  let floating = a + offsetA - springGap;
  for (let i = 0; i < MAX_CANDIDATES; i++) {
    const w = nextWall(parsed, floating);
    floating = w;
    const r = resolveWallTime(w, timeZone);
    let candidate: number | null;
    if (r.kind === 'overlap') {
      if (r.earlier > a) candidate = r.earlier;
      else if (parsed.everyHour && r.later > a) candidate = r.later;
      else candidate = null; // its first occurrence is past: a fixed time runs once
    } else {
      candidate = r.instant > a ? r.instant : null;
    }
    if (candidate !== null) return new Date(Math.min(candidate, best));
  }
  if (best !== Number.POSITIVE_INFINITY) return new Date(best);
  throw new ValidationError([{ field: 'schedule_cron', message: `never fires after ${after.toISOString()}` }], undefined, 'E_INVALID_CRON');
}

/** The next `count` instants at which `cron` fires after `after` (see {@link nextRun}). */
export function nextRuns(cron: string, timeZone: string, after: Date, count: number): Date[] {
  const out: Date[] = [];
  let t = after;
  for (let i = 0; i < count; i++) {
    t = nextRun(cron, timeZone, t);
    out.push(t);
  }
  return out;
}
