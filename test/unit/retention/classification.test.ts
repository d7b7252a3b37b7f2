// Table tests of the GFS calendar: classification (see docs/decisions.md#retention-classification) and expiry (see docs/decisions.md#expiry) across
// zones, DST changes, Jan 1, month ends, leap days and every weekly_backup_day.
import { describe, expect, it } from 'vitest';
import { classifyRetention, computeExpiry, DEFAULT_RETENTION, type RetentionSettings, type RetentionType } from '../../../src/index.js';
import { retentionDays } from '../../../src/domain/retention-classification.js';
import { instantFromZoned } from '../../../src/domain/zoned-time.js';

const settings = (timezone: string, weekly_backup_day = 6): RetentionSettings => ({ ...DEFAULT_RETENTION, timezone, weekly_backup_day });

describe('classifyRetention', () => {
  // [instant (UTC), zone, weekly_backup_day, expected tier, why]
  const table: [string, string, number, RetentionType, string][] = [
    // Jan 1 is local: the same instant is Jan 1 in one zone and Dec 31 in another.
    ['2025-12-31T23:30:00Z', 'Europe/Brussels', 6, 'yearly', 'Jan 1 00:30 CET'],
    ['2025-12-31T23:30:00Z', 'UTC', 6, 'daily', 'Wed Dec 31 in UTC'],
    ['2025-12-31T23:30:00Z', 'America/New_York', 6, 'daily', 'Wed Dec 31 18:30 EST'],
    ['2025-12-31T11:00:00Z', 'Pacific/Auckland', 6, 'yearly', 'Jan 1 00:00 NZDT (+13)'],
    ['2025-12-31T10:59:59Z', 'Pacific/Auckland', 2, 'weekly', 'Wed Dec 31 23:59:59 NZDT, weekly day Wednesday'],
    ['2025-12-31T18:30:00Z', 'Asia/Kolkata', 6, 'yearly', 'Jan 1 00:00 IST (+5:30)'],
    ['2025-12-31T18:29:59Z', 'Asia/Kolkata', 6, 'daily', 'Dec 31 23:59:59 IST'],
    ['2026-01-01T04:59:59Z', 'America/New_York', 6, 'daily', 'Dec 31 23:59:59 EST'],
    ['2026-01-01T05:00:00Z', 'America/New_York', 6, 'yearly', 'Jan 1 00:00 EST'],
    // Jan 1 wins over a weekly day: 2023-01-01 was a Sunday.
    ['2023-01-01T02:00:00Z', 'UTC', 6, 'yearly', 'Sunday Jan 1'],
    // Month ends and firsts.
    ['2026-01-31T12:00:00Z', 'Pacific/Auckland', 6, 'monthly', 'Feb 1 01:00 NZDT'],
    ['2026-01-31T12:00:00Z', 'UTC', 6, 'daily', 'Sat Jan 31'],
    ['2026-01-31T12:00:00Z', 'UTC', 5, 'weekly', 'Sat Jan 31, weekly day Saturday'],
    ['2026-04-30T22:00:00Z', 'Europe/Brussels', 6, 'monthly', 'May 1 00:00 CEST'],
    ['2026-04-30T21:59:59Z', 'Europe/Brussels', 6, 'daily', 'Thu Apr 30 23:59:59 CEST'],
    ['2026-02-28T18:30:00Z', 'Asia/Kolkata', 6, 'monthly', 'Mar 1 00:00 IST'],
    ['2026-02-28T18:29:59Z', 'Asia/Kolkata', 5, 'weekly', 'Sat Feb 28 23:59:59 IST (2026 is not a leap year)'],
    // The 1st wins over a weekly day: 2026-11-01 is a Sunday.
    ['2026-11-01T04:00:00Z', 'America/New_York', 6, 'monthly', 'Sun Nov 1 00:00 EDT'],
    // Leap days.
    ['2024-02-29T12:00:00Z', 'UTC', 6, 'daily', 'Thu Feb 29 2024'],
    ['2024-02-29T12:00:00Z', 'UTC', 3, 'weekly', 'Thu Feb 29 2024, weekly day Thursday'],
    ['2024-02-29T23:00:00Z', 'Europe/Brussels', 6, 'monthly', 'Mar 1 00:00 CET'],
    ['2024-02-29T11:00:00Z', 'Pacific/Auckland', 6, 'monthly', 'Mar 1 00:00 NZDT'],
    ['2024-02-29T10:59:59Z', 'Pacific/Auckland', 3, 'weekly', 'Thu Feb 29 23:59:59 NZDT'],
    ['2028-02-29T05:00:00Z', 'America/New_York', 1, 'weekly', 'Tue Feb 29 2028 00:00 EST, weekly day Tuesday'],
    // DST: spring forward in Brussels (Sun 2026-03-29 02:00 CET -> 03:00 CEST).
    ['2026-03-28T22:59:59Z', 'Europe/Brussels', 6, 'daily', 'Sat 23:59:59 CET'],
    ['2026-03-28T23:00:00Z', 'Europe/Brussels', 6, 'weekly', 'Sun 00:00 CET'],
    ['2026-03-29T01:30:00Z', 'Europe/Brussels', 6, 'weekly', 'Sun 03:30 CEST, just after the gap'],
    ['2026-03-29T21:59:59Z', 'Europe/Brussels', 6, 'weekly', 'Sun 23:59:59 CEST'],
    ['2026-03-29T22:00:00Z', 'Europe/Brussels', 6, 'daily', 'Mon 00:00 CEST'],
    // DST: fall back in New York (Sun 2026-11-01 02:00 EDT -> 01:00 EST), both 01:30s are Sunday.
    ['2026-11-01T05:30:00Z', 'America/New_York', 6, 'monthly', '01:30 EDT on Nov 1'],
    ['2026-11-08T05:30:00Z', 'America/New_York', 6, 'weekly', 'Sun Nov 8 00:30 EST'],
    ['2026-03-08T07:30:00Z', 'America/New_York', 6, 'weekly', 'Sun Mar 8 03:30 EDT (spring forward)'],
    ['2026-03-09T03:59:59Z', 'America/New_York', 6, 'weekly', 'Sun Mar 8 23:59:59 EDT'],
    ['2026-03-09T04:00:00Z', 'America/New_York', 6, 'daily', 'Mon Mar 9 00:00 EDT'],
    // DST in Auckland: fall back Sun 2026-04-05 03:00 NZDT -> 02:00 NZST; spring forward Sun 2026-09-27.
    ['2026-04-04T11:00:00Z', 'Pacific/Auckland', 6, 'weekly', 'Sun Apr 5 00:00 NZDT'],
    ['2026-04-05T11:59:59Z', 'Pacific/Auckland', 6, 'weekly', 'Sun Apr 5 23:59:59 NZST'],
    ['2026-04-05T12:00:00Z', 'Pacific/Auckland', 6, 'daily', 'Mon Apr 6 00:00 NZST'],
    ['2026-09-26T12:00:00Z', 'Pacific/Auckland', 6, 'weekly', 'Sun Sep 27 00:00 NZST'],
    ['2026-09-27T10:59:59Z', 'Pacific/Auckland', 6, 'weekly', 'Sun Sep 27 23:59:59 NZDT'],
    ['2026-09-27T11:00:00Z', 'Pacific/Auckland', 6, 'daily', 'Mon Sep 28 00:00 NZDT'],
  ];
  for (const [at, zone, day, expected, why] of table) {
    it(`${at} in ${zone} (weekly day ${day}) is ${expected}: ${why}`, () => {
      expect(classifyRetention(new Date(at), settings(zone, day))).toBe(expected);
    });
  }

  const zones = ['UTC', 'Europe/Brussels', 'America/New_York', 'Pacific/Auckland', 'Asia/Kolkata'];
  for (const zone of zones) {
    it(`every weekly_backup_day in ${zone}: exactly that local weekday is weekly (week of Mon 2026-03-09)`, () => {
      // 2026-03-09..15 holds no 1st; in New York it spans the spring-forward Sunday (Mar 8 is before it).
      for (let wbd = 0; wbd <= 6; wbd++) {
        const tiers = [];
        for (let d = 0; d < 7; d++) {
          for (const hour of [0, 12, 23]) {
            tiers.push([d, classifyRetention(instantFromZoned(2026, 3, 9 + d, hour, 30, 0, zone), settings(zone, wbd))]);
          }
        }
        expect(tiers).toEqual(tiers.map(([d]) => [d, d === wbd ? 'weekly' : 'daily']));
      }
    });
  }

  it("defaults to the product's settings (weekly on Sunday, UTC)", () => {
    expect(classifyRetention(new Date('2026-03-15T02:00:00Z'))).toBe('weekly');
    expect(classifyRetention(new Date('2026-03-16T02:00:00Z'))).toBe('daily');
  });
});

describe('computeExpiry', () => {
  const H = 3_600_000;
  const D = 24 * H;
  const policy = { ...DEFAULT_RETENTION, daily_retention: 7, weekly_retention: 4, monthly_retention: 12, yearly_retention: 2 };
  const cases: [string, RetentionType, string | null, string][] = [
    ['2026-01-10T02:00:00Z', 'daily', '2026-01-17T02:00:00.000Z', 'created + 7 days'],
    ['2026-01-11T02:00:00Z', 'weekly', '2026-02-08T02:00:00.000Z', 'created + 4 weeks'],
    ['2026-02-01T02:00:00Z', 'monthly', '2027-01-27T02:00:00.000Z', 'created + 12 x 30 days'],
    ['2026-01-01T02:00:00Z', 'yearly', '2028-01-01T02:00:00.000Z', 'created + 2 x 365 days (no leap day between)'],
    ['2027-01-01T02:00:00Z', 'yearly', '2028-12-31T02:00:00.000Z', 'created + 730 days across the 2028 leap day'],
    ['2024-02-29T02:00:00Z', 'daily', '2024-03-07T02:00:00.000Z', 'from a leap day'],
    ['2026-01-31T02:00:00Z', 'monthly', '2027-01-26T02:00:00.000Z', 'month end + 360 days'],
    // Exact 24 h days across DST: 02:00 CET on Mar 25 + 7 days is 03:00 CEST on Apr 1.
    ['2026-03-25T01:00:00Z', 'daily', '2026-04-01T01:00:00.000Z', 'exact days across the Brussels spring forward'],
    ['2026-10-30T01:00:00Z', 'weekly', '2026-11-27T01:00:00.000Z', 'exact weeks across the fall back'],
    ['2026-01-10T02:00:00Z', 'permanent', null, 'never'],
  ];
  for (const [created, type, expected, why] of cases) {
    it(`${type} created ${created}: ${expected ?? 'null'} (${why})`, () => {
      expect(computeExpiry(new Date(created), type, policy)?.toISOString() ?? null).toBe(expected);
    });
  }

  it('counts each tier from its own setting, and retention 0 expires at creation', () => {
    const created = new Date('2026-05-05T05:05:05Z');
    const p = { ...DEFAULT_RETENTION, daily_retention: 3, weekly_retention: 2, monthly_retention: 5, yearly_retention: 7 };
    expect(computeExpiry(created, 'daily', p)!.getTime() - created.getTime()).toBe(3 * D);
    expect(computeExpiry(created, 'weekly', p)!.getTime() - created.getTime()).toBe(14 * D);
    expect(computeExpiry(created, 'monthly', p)!.getTime() - created.getTime()).toBe(150 * D);
    expect(computeExpiry(created, 'yearly', p)!.getTime() - created.getTime()).toBe(7 * 365 * D);
    const zero = { ...DEFAULT_RETENTION, daily_retention: 0, weekly_retention: 0, monthly_retention: 0, yearly_retention: 0 };
    for (const t of ['daily', 'weekly', 'monthly', 'yearly'] as const) expect(computeExpiry(created, t, zero)).toEqual(created);
    expect(retentionDays('permanent', p)).toBeNull();
  });
});
