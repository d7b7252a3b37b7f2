// planRetention: the GFS cleanup of one environment as a pure function (see docs/decisions.md#retention-gfs).
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, planRetention, ValidationError, type Backup, type RetentionSettings } from '../../../src/index.js';
import { backup } from './fixtures.js';
import { applyPlan, ids, scheduled } from './plan-helpers.js';

const UTC: RetentionSettings = { ...DEFAULT_RETENTION };
/** Weekly, monthly and yearly switched off: nothing can be promoted, expiry alone decides. */
const NO_PROMOTION: RetentionSettings = { ...UTC, weekly_retention: 0, monthly_retention: 0, yearly_retention: 0 };
const DAY = 86_400_000;

/** The completed 02:00 UTC backup of `date` (YYYY-MM-DD), id `b-<date>`. */
function on(date: string, policy: RetentionSettings): Backup {
  return scheduled(`${date}T02:00:00Z`, policy, { id: `b-${date}` });
}

/** Daily 02:00 UTC backups from `from` for `days` days, skipping those `skip` names (YYYY-MM-DD). */
function daily(from: string, days: number, policy: RetentionSettings = UTC, skip: string[] = []): Backup[] {
  const out: Backup[] = [];
  for (let d = 0; d < days; d++) {
    const at = new Date(Date.parse(from) + d * DAY).toISOString();
    if (!skip.includes(at.slice(0, 10))) out.push(scheduled(at, policy, { id: `b-${at.slice(0, 10)}` }));
  }
  return out;
}

describe('planRetention', () => {
  it('plans nothing for no backups', () => {
    expect(planRetention([], UTC, new Date('2026-01-01T03:00:00Z'))).toEqual({
      environment_id: null,
      now: '2026-01-01T03:00:00.000Z',
      expire: [],
      promote: [],
      keep: [],
    });
  });

  it('expires what is past its expiry in a normal season (no promotion needed), keeps the rest with the expiry as the reason', () => {
    // Every day from Thu 2026-01-01 (yearly) to Sat 2026-03-14; cleanup on the 14th at 03:00.
    const backups = daily('2026-01-01T02:00:00Z', 73);
    const plan = planRetention(backups, UTC, new Date('2026-03-14T03:00:00Z'));
    expect(plan.promote).toEqual([]);
    // The last 7 days (Sun Mar 8 weekly, Mar 9-14 dailies: Mar 7 expired at 02:00 today), the
    // Sundays of the last 4 weeks (Mar 1 is monthly), the 1sts and Jan 1.
    expect(ids(plan).keep).toEqual([
      ...['14', '13', '12', '11', '10', '09', '08', '01'].map((d) => `b-2026-03-${d}`),
      'b-2026-02-22',
      'b-2026-02-15',
      'b-2026-02-01',
      'b-2026-01-01',
    ]);
    expect(plan.expire).toHaveLength(73 - 12);
    expect(plan.expire[0]).toEqual({
      backup_id: 'b-2026-03-07',
      retention_type: 'daily',
      expires_at: '2026-03-14T02:00:00.000Z',
      reason: 'daily backup: its retention of 7 days ended at 2026-03-14T02:00:00.000Z',
    });
    expect(plan.expire.find((e) => e.backup_id === 'b-2026-02-08')!.reason).toBe(
      'weekly backup: its retention of 4 weeks ended at 2026-03-08T02:00:00.000Z',
    );
    expect(plan.keep.find((k) => k.backup_id === 'b-2026-03-08')!.reason).toBe(
      'weekly backup (kept 4 weeks) until 2026-04-05T02:00:00.000Z',
    );
    expect(plan.keep.find((k) => k.backup_id === 'b-2026-02-01')!.reason).toBe(
      'monthly backup (kept 12 x 30 days) until 2027-01-27T02:00:00.000Z',
    );
  });

  it('expires exactly when expires_at < now (the documented query), not at equality', () => {
    const b = scheduled('2026-03-03T02:00:00Z', UTC, { id: 'x' });
    const newer = scheduled('2026-03-12T02:00:00Z', UTC, { id: 'y' });
    expect(ids(planRetention([b, newer], NO_PROMOTION, new Date('2026-03-10T02:00:00.000Z'))).expire).toEqual([]);
    expect(ids(planRetention([b, newer], NO_PROMOTION, new Date('2026-03-10T02:00:00.001Z'))).expire).toEqual(['x']);
  });

  it('never expires the newest completed backup (see docs/decisions.md#newest-backup-kept), even when every backup is past its expiry', () => {
    const backups = daily('2026-03-02T02:00:00Z', 4);
    backups.push(backup({ id: 'failed-later', status: 'failed', created_at: '2026-03-20T02:00:00Z', expires_at: '2026-03-27T02:00:00Z' }));
    const plan = planRetention(backups, UTC, new Date('2026-04-30T03:00:00Z'));
    expect(ids(plan).keep).toEqual(['b-2026-03-05']);
    expect(plan.keep[0]!.reason).toMatch(/^newest completed backup of the environment: kept although its daily retention ended/);
    expect(ids(plan).expire).toEqual(['b-2026-03-04', 'b-2026-03-03', 'b-2026-03-02']);
  });

  it('never touches permanent backups, and ignores backups that are not completed', () => {
    const perm = backup({
      id: 'perm',
      created_at: '2020-01-05T00:00:00Z',
      retention_type: 'permanent',
      expires_at: '2020-01-06T00:00:00Z',
    });
    const others = (['pending', 'in_progress', 'uploading', 'failed', 'expired', 'deleted'] as const).map((status) =>
      backup({ id: status, status, created_at: '2020-01-01T00:00:00Z', expires_at: '2020-01-02T00:00:00Z' }),
    );
    const newest = scheduled('2026-03-11T02:00:00Z', UTC, { id: 'newest' });
    const plan = planRetention([perm, ...others, newest], NO_PROMOTION, new Date('2026-03-11T03:00:00Z'));
    expect(plan.keep).toEqual([
      expect.objectContaining({ backup_id: 'newest' }),
      { backup_id: 'perm', retention_type: 'permanent', expires_at: '2020-01-06T00:00:00Z', reason: 'permanent backup: never expires' },
    ]);
    expect(plan.expire).toEqual([]);
    expect(plan.promote).toEqual([]);
  });

  it("promotes the week's earliest daily when its weekly backup failed; new expiry from its own created_at", () => {
    // Sun 2026-03-08 failed: Mon 9th is the earliest daily of the week Sun 8th..Sat 14th.
    // Context: Jan 1 (yearly) and Sun Mar 1 (monthly, covering its week Mar 1..7).
    const backups = [...daily('2026-03-07T02:00:00Z', 6, UTC, ['2026-03-08']), on('2026-01-01', UTC), on('2026-03-01', UTC)];
    const plan = planRetention(backups, UTC, new Date('2026-03-12T03:00:00Z'));
    expect(plan.promote).toEqual([
      {
        backup_id: 'b-2026-03-09',
        from: 'daily',
        to: 'weekly',
        previous_expires_at: '2026-03-16T02:00:00.000Z',
        expires_at: '2026-04-06T02:00:00.000Z',
        reason:
          'no weekly or longer-kept backup in the week 2026-03-08..2026-03-14 (UTC): its earliest daily backup becomes weekly; kept 4 weeks from its creation, until 2026-04-06T02:00:00.000Z',
      },
    ]);
    // Running later gives the same expiry: it does not depend on when cleanup runs.
    const later = planRetention(backups, UTC, new Date('2026-03-15T01:00:00Z'));
    expect(later.promote.map((p) => [p.backup_id, p.expires_at])).toEqual([['b-2026-03-09', '2026-04-06T02:00:00.000Z']]);
  });

  it('promotes the earliest weekly of a month whose 1st failed, then cascades to yearly when Jan 1 failed', () => {
    // Every day of December 2025 (2025's yearly is there too), then Jan 1 2026 (Thu) and Sun Jan 4 fail.
    const backups = [on('2025-01-01', UTC), ...daily('2025-12-01T02:00:00Z', 38, UTC, ['2026-01-01', '2026-01-04'])];
    const plan = planRetention(backups, UTC, new Date('2026-01-07T03:00:00Z'));
    // Week Dec 28..Jan 3 is covered by Sun Dec 28. Week Jan 4..10 is not: Mon Jan 5 becomes weekly.
    // January has no monthly or above: its earliest weekly (Jan 5) becomes monthly, and 2026 has no yearly: yearly.
    expect(plan.promote.map((p) => [p.backup_id, p.from, p.to, p.expires_at])).toEqual([
      ['b-2026-01-05', 'daily', 'yearly', '2028-01-05T02:00:00.000Z'],
    ]);
    expect(plan.promote[0]!.reason).toBe(
      'no weekly or longer-kept backup in the week 2026-01-04..2026-01-10 (UTC): its earliest daily backup becomes weekly; then ' +
        'no monthly or longer-kept backup in the month 2026-01 (UTC): its earliest weekly backup becomes monthly; then ' +
        'no yearly or longer-kept backup in the year 2026 (UTC): its earliest monthly backup becomes yearly; kept 2 x 365 days from its creation, until 2028-01-05T02:00:00.000Z',
    );
    // Fri Jan 2 stays daily: a daily is only promoted to weekly, and its week is covered.
    expect(plan.keep.find((k) => k.backup_id === 'b-2026-01-02')).toMatchObject({ retention_type: 'daily' });
  });

  it('a period covered by a longer-kept backup (monthly, yearly, permanent) gets no promotion', () => {
    const p = UTC;
    // Mon..Fri without their Sunday; context: Jan 1 (yearly) and Mar 1 (monthly).
    const week = [...daily('2026-03-09T02:00:00Z', 5, p), on('2026-01-01', p), on('2026-03-01', p)];
    const coveredByMonthly = [...week, scheduled('2026-03-10T05:00:00Z', p, { id: 'monthly', retention_type: 'monthly' })];
    expect(planRetention(coveredByMonthly, p, new Date('2026-03-13T03:00:00Z')).promote).toEqual([]);
    const coveredByPermanent = [...week, scheduled('2026-03-11T05:00:00Z', p, { id: 'perm', retention_type: 'permanent' })];
    // The permanent covers its week, month (no monthly needed) and year.
    expect(planRetention(coveredByPermanent, p, new Date('2026-03-13T03:00:00Z')).promote).toEqual([]);
    // An expired weekly does not cover: the earliest daily of the week is promoted.
    const staleWeekly = [
      ...week,
      backup({ id: 'stale', created_at: '2026-03-08T02:00:00Z', retention_type: 'weekly', expires_at: '2026-03-12T00:00:00Z' }),
    ];
    const plan = planRetention(staleWeekly, p, new Date('2026-03-13T03:00:00Z'));
    expect(plan.promote.map((x) => x.backup_id)).toEqual(['b-2026-03-09']);
    expect(ids(plan).expire).toContain('stale');
  });

  it('reads weeks on the policy calendar: weekly_backup_day and timezone', () => {
    // Weekly day Monday (0) in Auckland. Mon 2026-03-09 00:30 NZDT = Sun 2026-03-08T11:30Z.
    const nz: RetentionSettings = { ...DEFAULT_RETENTION, timezone: 'Pacific/Auckland', weekly_backup_day: 0 };
    const mk = (id: string, at: string) => scheduled(at, nz, { id });
    // Sat Mar 7 23:30 NZDT, Mon Mar 9 00:30 failed... so: Tue, Wed of the week Mon 9..Sun 15.
    const backups = [mk('sat', '2026-03-07T10:30:00Z'), mk('tue', '2026-03-09T11:30:00Z'), mk('wed', '2026-03-10T11:30:00Z')];
    expect(backups.map((b) => b.retention_type)).toEqual(['daily', 'daily', 'daily']);
    const plan = planRetention(backups, nz, new Date('2026-03-11T00:00:00Z'));
    // Week Mon Mar 2..Sun Mar 8 (holding 'sat') and week Mon Mar 9..Sun 15 are both uncovered.
    expect(plan.promote.map((p) => [p.backup_id, p.reason.slice(0, 70)])).toEqual([
      ['tue', 'no weekly or longer-kept backup in the week 2026-03-09..2026-03-15 (Pa'],
      ['sat', 'no weekly or longer-kept backup in the week 2026-03-02..2026-03-08 (Pa'],
    ]);
  });

  it('promotion never shortens a life: the new expiry is the later of the two', () => {
    // Weekly kept 52 weeks, monthly only 1 x 30 days: a weekly promoted to monthly keeps its weekly expiry.
    const p: RetentionSettings = { ...DEFAULT_RETENTION, weekly_retention: 52, monthly_retention: 1 };
    const w = scheduled('2026-03-08T02:00:00Z', p, { id: 'w' });
    const plan = planRetention([w], p, new Date('2026-03-09T03:00:00Z'));
    expect(plan.promote).toEqual([
      expect.objectContaining({ backup_id: 'w', from: 'weekly', to: 'yearly', expires_at: '2028-03-07T02:00:00.000Z' }),
    ]);
    const noYearly = { ...p, yearly_retention: 0 };
    const plan2 = planRetention([scheduled('2026-03-08T02:00:00Z', noYearly, { id: 'w' })], noYearly, new Date('2026-03-09T03:00:00Z'));
    // A tier kept 0 days is switched off: nothing is promoted into it.
    expect(plan2.promote).toEqual([
      expect.objectContaining({
        to: 'monthly',
        expires_at: w.expires_at,
        reason:
          'no monthly or longer-kept backup in the month 2026-03 (UTC): its earliest weekly backup becomes monthly; keeps its expiry 2027-03-07T02:00:00.000Z, later than 1 x 30 days from its creation',
      }),
    ]);
  });

  it('retention 0 keeps nothing in that tier: its backups expire at the next cleanup (see docs/decisions.md#expiry)', () => {
    const p: RetentionSettings = { ...DEFAULT_RETENTION, daily_retention: 0 };
    // Mon..Thu dailies (expiring at creation), with Jan 1 and Sun Mar 1 as context.
    const backups = [...daily('2026-03-09T02:00:00Z', 4, p), on('2026-01-01', p), on('2026-03-01', p)];
    const plan = planRetention(backups, p, new Date('2026-03-12T03:00:00Z'));
    // Only the newest survives (safety rule); nothing is promoted out of an already expired daily.
    expect(ids(plan)).toEqual({
      expire: ['b-2026-03-11', 'b-2026-03-10', 'b-2026-03-09'],
      promote: [],
      keep: ['b-2026-03-12', 'b-2026-03-01', 'b-2026-01-01'],
    });
    // A tier kept 0 days receives no promotion either: with weekly 0, the week stays without a weekly.
    const w0: RetentionSettings = { ...DEFAULT_RETENTION, weekly_retention: 0 };
    const plan2 = planRetention(
      [...daily('2026-03-09T02:00:00Z', 3, w0), on('2026-01-01', w0), on('2026-03-01', w0)],
      w0,
      new Date('2026-03-11T03:00:00Z'),
    );
    expect(plan2.promote).toEqual([]);
  });

  it('when cleanup did not run for a while, the earliest still unexpired daily of an uncovered week is promoted', () => {
    // Mon 9..Sat 14 of the week Sun 8..Sat 14, without its Sunday; context Jan 1 and Mar 1.
    const backups = [...daily('2026-03-09T02:00:00Z', 6, UTC), on('2026-01-01', UTC), on('2026-03-01', UTC)];
    const plan = planRetention(backups, UTC, new Date('2026-03-19T03:00:00Z'));
    // Mon..Wed expired on the 16th..18th: gone. Thu 12th (until the 19th 02:00) too. Fri 13th is the earliest alive.
    expect(ids(plan).promote).toEqual(['b-2026-03-13']);
    expect(ids(plan).expire).toEqual(['b-2026-03-12', 'b-2026-03-11', 'b-2026-03-10', 'b-2026-03-09']);
  });

  it('reads a missing retention_type as its classified tier and a null expires_at as never expiring', () => {
    const legacy = backup({ id: 'legacy', created_at: '2026-03-08T02:00:00Z', retention_type: null, expires_at: null });
    const plan = planRetention([legacy, scheduled('2026-03-20T02:00:00Z', UTC, { id: 'new' })], UTC, new Date('2030-01-01T00:00:00Z'));
    // It covers its week, and is not promoted (it is kept forever anyway).
    expect(plan.promote).toEqual([]);
    expect(plan.keep.find((k) => k.backup_id === 'legacy')).toEqual({
      backup_id: 'legacy',
      retention_type: 'weekly',
      expires_at: null,
      reason: 'weekly backup without an expiry date: never expires',
    });
  });

  it('is idempotent over a year of daily cleanups with failures', () => {
    let records: Backup[] = [];
    for (let d = 0; d < 400; d++) {
      const at = new Date(Date.parse('2025-06-01T02:00:00Z') + d * DAY).toISOString();
      if (d % 11 !== 3 && d % 17 !== 5) records.push(scheduled(at, UTC, { id: `b-${d}` }));
      const now = new Date(Date.parse(at) + 3_600_000);
      const plan = planRetention(records, UTC, now);
      records = applyPlan(records, plan);
      const again = planRetention(records, UTC, now);
      expect(again.expire).toEqual([]);
      expect(again.promote).toEqual([]);
    }
  });

  it('refuses bad input before planning', () => {
    const now = new Date('2026-03-01T00:00:00Z');
    expect(() => planRetention([backup({ environment_id: 'a' }), backup({ environment_id: 'b' })], UTC, now)).toThrow(
      /one environment at a time/,
    );
    expect(() => planRetention([], { ...UTC, daily_retention: 366 }, now)).toThrow(ValidationError);
    expect(() => planRetention([], { ...UTC, weekly_backup_day: 7 }, now)).toThrow(/weekly_backup_day/);
    expect(() => planRetention([], { ...UTC, timezone: 'Mars/Olympus' }, now)).toThrow(/timezone/);
    expect(() => planRetention([], UTC, new Date('nope'))).toThrow(/now/);
    expect(() => planRetention([backup({ created_at: 'yesterday' })], UTC, now)).toThrow(/created_at/);
  });
});
