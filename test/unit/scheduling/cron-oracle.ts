/**
 * An independent, brute-force statement of when a cron schedule fires, used to check `nextRun`.
 * It shares no code with src/: it walks real instants one step at a time, reads the wall clock
 * through its own Intl formatter, matches fields with its own tiny cron reader, and applies
 * the DST rules of docs/decisions.md#daylight-saving-time in the instant domain:
 * - an instant fires when its wall time matches, unless that wall time was already seen earlier
 *   (second pass of a repeated hour) and the hour field is not `*`;
 * - during the first `gap` after a spring-forward change, the instant also fires when the
 *   skipped wall time it stands for (its wall time minus the gap) matches.
 */

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday ... 6 = Saturday. */
  dow: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of `t` (ms) in `tz`. */
export function wallOf(t: number, tz: string): Wall {
  const p: Record<string, number> = {};
  for (const part of fmt(tz).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const dow = new Date(Date.UTC(p.year!, p.month! - 1, p.day!)).getUTCDay();
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour!, minute: p.minute!, dow };
}

/** Offset of `tz` at `t`, in minutes. */
export function offsetMinutes(t: number, tz: string): number {
  const w = wallOf(t, tz);
  return Math.round((Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(t / 60_000) * 60_000) / 60_000);
}

function wallKey(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

function fromKey(key: number): Wall {
  const d = new Date(key);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    dow: d.getUTCDay(),
  };
}

/** Values a cron field allows, with whether it was written as a bare `*`. */
function field(src: string, min: number, max: number): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  for (const part of src.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [min, max];
    else if (range!.includes('-')) [lo, hi] = range!.split('-').map(Number) as [number, number];
    else [lo, hi] = [Number(range), stepText ? max : Number(range)];
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star: src === '*' };
}

/** A matcher for the plain cron syntax (numbers, `*`, ranges, steps, lists; 7 = Sunday). */
export function matcher(expr: string): { matches: (w: Wall) => boolean; everyHour: boolean; minuteStep: number } {
  const [mi, h, dom, mon, dow] = expr.trim().split(/\s+/) as [string, string, string, string, string];
  const minute = field(mi, 0, 59);
  const hour = field(h, 0, 23);
  const dayOfMonth = field(dom, 1, 31);
  const month = field(mon, 1, 12);
  const dayOfWeek = field(dow, 0, 7);
  if (dayOfWeek.values.has(7)) dayOfWeek.values.add(0);
  const dayMatches = (w: Wall) => {
    const d = dayOfMonth.values.has(w.day);
    const k = dayOfWeek.values.has(w.dow);
    if (!dayOfMonth.star && !dayOfWeek.star) return d || k; // standard cron: either restricted day field
    return d && k;
  };
  const minuteStep = [...minute.values].every((m) => m % 15 === 0) ? 15 : 1;
  return {
    matches: (w) => minute.values.has(w.minute) && hour.values.has(w.hour) && month.values.has(w.month) && dayMatches(w),
    everyHour: hour.star,
    minuteStep,
  };
}

/**
 * Every instant in (from, to] at which `expr` fires in `tz`, per the DST rules of docs/decisions.md#daylight-saving-time. Walks in steps of
 * 15 minutes when every minute value is a multiple of 15 (exact for zones whose offsets and
 * changes are multiples of 15 minutes, as all zones used in these tests are), else 1 minute.
 */
export function oracleRuns(expr: string, tz: string, from: Date, to: Date): Date[] {
  const m = matcher(expr);
  const step = m.minuteStep * 60_000;
  const start = Math.floor((from.getTime() - 2 * 86_400_000) / step) * step;
  const seen = new Set<number>();
  const out: Date[] = [];
  let prevOffset = offsetMinutes(start - step, tz);
  let gapEnd = -Infinity;
  let gapMs = 0;
  for (let t = start; t <= to.getTime(); t += step) {
    const offset = offsetMinutes(t, tz);
    if (offset > prevOffset) {
      gapMs = (offset - prevOffset) * 60_000;
      gapEnd = t + gapMs;
    }
    prevOffset = offset;
    const w = wallOf(t, tz);
    const key = wallKey(w);
    const repeated = seen.has(key);
    seen.add(key);
    let fires = m.matches(w) && (!repeated || m.everyHour);
    if (!fires && t < gapEnd) fires = m.matches(fromKey(key - gapMs));
    if (fires && t > from.getTime()) out.push(new Date(t));
  }
  return out;
}

/** Instants in [from, to] where the UTC offset of `tz` changes (found hour by hour, then to the minute). */
export function offsetChanges(tz: string, from: Date, to: Date): { at: Date; beforeMinutes: number; afterMinutes: number }[] {
  const out: { at: Date; beforeMinutes: number; afterMinutes: number }[] = [];
  let prev = offsetMinutes(from.getTime(), tz);
  for (let t = from.getTime() + 3_600_000; t <= to.getTime(); t += 3_600_000) {
    const o = offsetMinutes(t, tz);
    if (o !== prev) {
      let lo = t - 3_600_000;
      let hi = t;
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (offsetMinutes(mid, tz) === prev) lo = mid;
        else hi = mid;
      }
      out.push({ at: new Date(hi), beforeMinutes: prev, afterMinutes: o });
      prev = o;
    }
  }
  return out;
}
