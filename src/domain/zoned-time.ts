/** Calendar fields of an instant as seen on a wall clock in some IANA zone. */
export interface ZonedParts {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** ISO weekday: 1 = Monday ... 7 = Sunday. */
  isoWeekday: number;
}

const DAY_MS = 86_400_000;

// Intl.DateTimeFormat construction is slow (~50 µs) and formatToParts costs a few µs a call;
// planners need calendar fields of millions of instants. So Intl is only asked for a zone's
// UTC offset, twice per UTC day (cached); calendar fields then come from plain arithmetic.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone name this runtime knows (e.g. `Europe/Brussels`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0) return false;
  // Node 22+ also takes UTC offsets ("+01:00") as time zones; they are not IANA names and have no DST rules.
  if (/^[+-]/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

function isUtc(timeZone: string): boolean {
  return timeZone === 'UTC' || timeZone === 'Etc/UTC';
}

/** Milliseconds since the epoch of a proleptic Gregorian wall-clock time read as UTC (any year, no 19xx quirk). */
function wallClockMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** The zone's offset at `ms`, asked of Intl (exact to the second). */
function intlOffsetMs(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(whole))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  return wallClockMs(year, Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) - whole;
}

/** Offset over one UTC day: constant, or one change at `switchAt` (tzdb never has two in a day). */
interface DayOffsets {
  before: number;
  after: number;
  /** First instant (ms) at which `after` applies; +Infinity when the offset is constant all day. */
  switchAt: number;
}

const MAX_CACHED_DAYS = 200_000;
const offsetCache = new Map<string, Map<number, DayOffsets>>();

function dayOffsets(day: number, timeZone: string): DayOffsets {
  let zone = offsetCache.get(timeZone);
  if (!zone) offsetCache.set(timeZone, (zone = new Map()));
  let entry = zone.get(day);
  if (entry) return entry;
  const start = day * DAY_MS;
  const end = start + DAY_MS - 1000;
  const before = intlOffsetMs(start, timeZone);
  const after = intlOffsetMs(end, timeZone);
  let switchAt = Number.POSITIVE_INFINITY;
  if (before !== after) {
    // Binary search, to the second, for the first instant with the new offset.
    let lo = start; // has `before`
    let hi = end; // has `after`
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (intlOffsetMs(mid, timeZone) === before) lo = mid;
      else hi = mid;
    }
    switchAt = hi;
  }
  entry = { before, after, switchAt };
  if (zone.size >= MAX_CACHED_DAYS) zone.clear();
  zone.set(day, entry);
  return entry;
}

/**
 * The UTC offset of `timeZone` at `instant`, in milliseconds (east of Greenwich positive;
 * Europe/Brussels in summer is +7_200_000). Throws `RangeError` for an unknown zone.
 */
export function zoneOffsetMs(instant: Date | number, timeZone: string): number {
  if (isUtc(timeZone)) return 0;
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const day = Math.floor(ms / DAY_MS);
  // Planners ask about runs of instants on the same day: skip the map lookups for those.
  let o: DayOffsets;
  if (day === lastDay && timeZone === lastZone) o = lastOffsets!;
  else {
    o = dayOffsets(day, timeZone);
    lastDay = day;
    lastZone = timeZone;
    lastOffsets = o;
  }
  return ms < o.switchAt ? o.before : o.after;
}

let lastDay = Number.NaN;
let lastZone = '';
let lastOffsets: DayOffsets | null = null;

/**
 * Wall-clock milliseconds of `instant` in `timeZone`: the instant shifted by the zone's offset,
 * so that UTC calendar arithmetic on the result gives local calendar fields.
 */
export function localMs(instant: Date | number, timeZone: string): number {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  return ms + zoneOffsetMs(ms, timeZone);
}

/** Calendar date of an epoch day (days since 1970-01-01, proleptic Gregorian). */
export function civilFromEpochDay(epochDay: number): { year: number; month: number; day: number } {
  // Howard Hinnant's days-to-civil algorithm: exact for any day count, no Date allocation.
  const z = epochDay + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** ISO weekday (1 = Monday ... 7 = Sunday) of an epoch day. */
export function isoWeekdayOfEpochDay(epochDay: number): number {
  // 1970-01-01 was a Thursday (ISO 4).
  return ((((epochDay + 3) % 7) + 7) % 7) + 1;
}

/** The wall-clock calendar fields of `instant` in `timeZone`. */
export function zonedParts(instant: Date, timeZone: string): ZonedParts {
  const local = localMs(instant, timeZone);
  const days = Math.floor(local / DAY_MS);
  const secondsOfDay = Math.floor((local - days * DAY_MS) / 1000);
  const { year, month, day } = civilFromEpochDay(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(secondsOfDay / 3600),
    minute: Math.floor((secondsOfDay % 3600) / 60),
    second: secondsOfDay % 60,
    isoWeekday: isoWeekdayOfEpochDay(days),
  };
}

/** Days since 1970-01-01 of a calendar date (proleptic Gregorian), for zone-free date arithmetic. */
export function epochDay(year: number, month: number, day: number): number {
  return Math.floor(wallClockMs(year, month, day) / DAY_MS);
}

/**
 * The instant a wall-clock time in `timeZone` denotes (fields overflow like `Date.UTC`: month 13
 * is January of the next year). Daylight saving time (see docs/decisions.md#daylight-saving-time): a time skipped by a spring-forward gap is shifted
 * forward by the gap (02:30 becomes 03:30); a time that occurs twice (fall back) is its first
 * occurrence.
 */
export function instantFromZoned(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  timeZone: string,
): Date {
  const wall = wallClockMs(year, month, day, hour, minute, second);
  if (isUtc(timeZone)) return new Date(wall);
  const offBefore = zoneOffsetMs(wall - DAY_MS, timeZone);
  const offAfter = zoneOffsetMs(wall + DAY_MS, timeZone);
  const early = wall - offBefore;
  const late = wall - offAfter;
  const earlyOk = early + zoneOffsetMs(early, timeZone) === wall;
  const lateOk = late + zoneOffsetMs(late, timeZone) === wall;
  if (earlyOk && lateOk) return new Date(Math.min(early, late));
  if (earlyOk) return new Date(early);
  if (lateOk) return new Date(late);
  // In a gap: read the time with the offset in force before it, which lands after the gap.
  return new Date(early);
}
