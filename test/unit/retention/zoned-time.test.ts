// The zoned-time helpers the GFS calendar and both planners rest on, checked against Intl.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, nextRun, planKeepPolicy, planRetention, ValidationError } from '../../../src/index.js';
import {
  civilFromEpochDay,
  epochDay,
  instantFromZoned,
  isoWeekdayOfEpochDay,
  zonedParts,
  zoneOffsetMs,
} from '../../../src/domain/zoned-time.js';

const ZONES = [
  'UTC',
  'Europe/Brussels',
  'America/New_York',
  'Pacific/Auckland',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/St_Johns',
];
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

const formats = new Map<string, Intl.DateTimeFormat>();
function intlParts(ms: number, timeZone: string) {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formats.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
  return {
    year: +p.year!,
    month: +p.month!,
    day: +p.day!,
    hour: +p.hour!,
    minute: +p.minute!,
    second: +p.second!,
    isoWeekday: WEEKDAYS[p.weekday!],
  };
}

describe('zoned time', () => {
  it('zonedParts agrees with Intl for any instant 1900-2100 in zones with DST, half- and quarter-hour offsets', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom(...ZONES), (ms, zone) => {
        expect(zonedParts(new Date(ms), zone)).toEqual(intlParts(ms, zone));
      }),
      { numRuns: 3000 },
    );
  });

  it('zonedParts agrees with Intl every 15 minutes around DST changes', () => {
    const around = [
      '2026-03-29T01:00:00Z',
      '2026-10-25T01:00:00Z',
      '2026-03-08T07:00:00Z',
      '2026-11-01T06:00:00Z',
      '2026-04-04T14:00:00Z',
      '2026-09-26T14:00:00Z',
      '2026-04-04T15:00:00Z',
    ];
    for (const zone of ZONES) {
      for (const at of around) {
        for (let k = -12; k <= 12; k++) {
          const ms = Date.parse(at) + k * 900_000;
          expect(zonedParts(new Date(ms), zone), `${zone} ${new Date(ms).toISOString()}`).toEqual(intlParts(ms, zone));
        }
      }
    }
  });

  it('knows the offsets of the five zones in winter and summer', () => {
    const h = 3_600_000;
    expect(zoneOffsetMs(new Date('2026-01-15T12:00:00Z'), 'Europe/Brussels')).toBe(1 * h);
    expect(zoneOffsetMs(new Date('2026-07-15T12:00:00Z'), 'Europe/Brussels')).toBe(2 * h);
    expect(zoneOffsetMs(new Date('2026-01-15T12:00:00Z'), 'America/New_York')).toBe(-5 * h);
    expect(zoneOffsetMs(new Date('2026-07-15T12:00:00Z'), 'America/New_York')).toBe(-4 * h);
    expect(zoneOffsetMs(new Date('2026-01-15T12:00:00Z'), 'Pacific/Auckland')).toBe(13 * h);
    expect(zoneOffsetMs(new Date('2026-07-15T12:00:00Z'), 'Pacific/Auckland')).toBe(12 * h);
    expect(zoneOffsetMs(new Date('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * h);
    expect(zoneOffsetMs(new Date('2026-07-15T12:00:00Z'), 'UTC')).toBe(0);
    // The change happens at the exact second: Brussels springs forward at 01:00:00Z.
    expect(zoneOffsetMs(Date.parse('2026-03-29T00:59:59Z'), 'Europe/Brussels')).toBe(1 * h);
    expect(zoneOffsetMs(Date.parse('2026-03-29T01:00:00Z'), 'Europe/Brussels')).toBe(2 * h);
  });

  it('instantFromZoned: plain times, a spring-forward gap shifted forward, a fall-back overlap at its first occurrence (see docs/decisions.md#daylight-saving-time)', () => {
    const iso = (...a: Parameters<typeof instantFromZoned>) => instantFromZoned(...a).toISOString();
    expect(iso(2026, 6, 1, 2, 0, 0, 'Europe/Brussels')).toBe('2026-06-01T00:00:00.000Z');
    expect(iso(2026, 3, 29, 2, 30, 0, 'Europe/Brussels')).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(iso(2026, 10, 25, 2, 30, 0, 'Europe/Brussels')).toBe('2026-10-25T00:30:00.000Z'); // first 02:30 (CEST)
    expect(iso(2026, 3, 8, 2, 30, 0, 'America/New_York')).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
    expect(iso(2026, 11, 1, 1, 30, 0, 'America/New_York')).toBe('2026-11-01T05:30:00.000Z'); // first 01:30 (EDT)
    expect(iso(2026, 9, 27, 2, 15, 0, 'Pacific/Auckland')).toBe('2026-09-26T14:15:00.000Z'); // 03:15 NZDT
    expect(iso(2026, 4, 5, 2, 30, 0, 'Pacific/Auckland')).toBe('2026-04-04T13:30:00.000Z'); // first 02:30 (NZDT)
    expect(iso(2026, 1, 1, 0, 0, 0, 'Asia/Kolkata')).toBe('2025-12-31T18:30:00.000Z');
    expect(iso(2026, 13, 1, 0, 0, 0, 'UTC')).toBe('2027-01-01T00:00:00.000Z'); // fields overflow like Date.UTC
  });

  it('instantFromZoned round-trips every wall-clock time that exists', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2060, 0, 1) }), fc.constantFrom(...ZONES), (ms, zone) => {
        const whole = Math.floor(ms / 1000) * 1000;
        const p = zonedParts(new Date(whole), zone);
        const back = instantFromZoned(p.year, p.month, p.day, p.hour, p.minute, p.second, zone).getTime();
        // Same wall clock; in a fall-back overlap it is the first of the two instants.
        expect(zonedParts(new Date(back), zone)).toEqual(p);
        expect(back).toBeLessThanOrEqual(whole);
      }),
      { numRuns: 2000 },
    );
  });

  it('civilFromEpochDay and isoWeekdayOfEpochDay match Date for any day from year 1 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: epochDay(1, 1, 1), max: epochDay(9999, 12, 31) }), (days) => {
        const d = new Date(days * 86_400_000);
        expect(civilFromEpochDay(days)).toEqual({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
        expect(isoWeekdayOfEpochDay(days)).toBe(d.getUTCDay() === 0 ? 7 : d.getUTCDay());
        expect(epochDay(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())).toBe(days);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('time zones every planner and schedule accepts', () => {
  it('are IANA names; UTC offsets (which Node 22+ Intl takes) are refused everywhere', () => {
    expect(() => planKeepPolicy([], { last: 1 }, { timezone: '+02:00' })).toThrow(ValidationError);
    expect(() => planRetention([], { ...DEFAULT_RETENTION, timezone: '-0500' }, new Date())).toThrow(ValidationError);
    expect(() => nextRun('0 2 * * *', '+02:00', new Date())).toThrow(ValidationError);
    expect(() => planRetention([], { ...DEFAULT_RETENTION, timezone: 'Europe/Brussels' }, new Date())).not.toThrow();
  });
});
