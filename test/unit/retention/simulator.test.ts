// The GFS simulator: three years of daily backups under the product's default policy.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, simulateRetention, type RetentionSimulationResult } from '../../../src/index.js';

function summary(r: RetentionSimulationResult): string {
  const t = r.retained;
  return `${t.daily} daily + ${t.weekly} weekly + ${t.monthly} monthly + ${t.yearly} yearly = ${t.total} backups (${r.retained_bytes / 1e9} GB) vs ${r.baseline_bytes / 1e9} GB for a year of dailies: ${(r.reduction * 100).toFixed(1)} % less`;
}

describe('simulateRetention', () => {
  const threeYears = simulateRetention({ start: '2024-01-01T00:00:00Z', days: 3 * 365 });

  it(`default policy (7/4/12/2, daily 02:00 UTC), 3 years: ${summary(threeYears)}`, () => {
    const r = threeYears;
    console.log(
      `[retention simulator] ${summary(r)}; steady state over the last year: min ${JSON.stringify(r.steady_state.min)}, max ${JSON.stringify(r.steady_state.max)}`,
    );
    expect(r.backups_completed).toBe(1095);
    expect(r.end).toBe('2026-12-30T03:00:00.000Z');
    // About a week of dailies: the last 7 days minus the one that was a Sunday (weekly).
    expect(r.retained.daily).toBe(6);
    // The last 4 Sundays.
    expect(r.retained.weekly).toBe(4);
    // 12 x 30 = 360 days of 1sts, Jan 1 being yearly: 11 (the product's "12" counts Jan 1 twice).
    expect(r.retained.monthly).toBe(11);
    expect(r.retained.yearly).toBe(2);
    expect(r.retained.total).toBe(23);
    expect(r.retained_bytes).toBe(23e9);
    expect(r.baseline_bytes).toBe(365e9);
    // The product claims 93 % (25 of 365); we keep 23: 93.7 %.
    expect(r.reduction).toBeCloseTo(1 - 23 / 365, 10);
    expect(r.reduction).toBeGreaterThanOrEqual(0.93);
    // Steady state over the last year stays near that shape every day.
    expect(r.steady_state.min).toMatchObject({ daily: 5, weekly: 3, monthly: 10, yearly: 1 });
    expect(r.steady_state.max).toMatchObject({ daily: 6, weekly: 4, monthly: 11, yearly: 2 });
    expect(r.steady_state.max.total).toBeLessThanOrEqual(25);
    // Nothing needed promoting: every week, month and year had its backup.
    expect(r.promoted).toBe(0);
    expect(r.expired).toBe(1095 - 23);
    // One lifetime per completed backup; the retained ones have no end, the others ended at a cleanup.
    expect(r.lifetimes).toHaveLength(1095);
    const open = r.lifetimes.filter((l) => l.removed_at === null);
    expect(open.map((l) => l.id).sort()).toEqual(r.retained_backups.map((b) => b.id).sort());
    for (const l of r.lifetimes) if (l.removed_at !== null) expect(l.removed_at > l.created_at).toBe(true);
    const daily = r.lifetimes.find((l) => l.retention_type === 'daily' && l.removed_at !== null)!;
    expect(Date.parse(daily.removed_at!) - Date.parse(daily.created_at)).toBe(7 * 86_400_000 + 3_600_000);
  });

  it('lists the retained backups: the last days, the last Sundays, the 1sts of the last 11 months, the last two Jan 1sts', () => {
    const days = threeYears.retained_backups.map((b) => `${b.created_at.slice(0, 10)} ${b.retention_type}`);
    expect(days.slice(0, 10)).toEqual([
      '2026-12-30 daily',
      '2026-12-29 daily',
      '2026-12-28 daily',
      '2026-12-27 weekly',
      '2026-12-26 daily',
      '2026-12-25 daily',
      '2026-12-24 daily',
      '2026-12-20 weekly',
      '2026-12-13 weekly',
      '2026-12-06 weekly',
    ]);
    expect(days.slice(10)).toEqual([
      ...['12', '11', '10', '09', '08', '07', '06', '05', '04', '03', '02'].map((m) => `2026-${m}-01 monthly`),
      '2026-01-01 yearly',
      '2025-01-01 yearly',
    ]);
  });

  it('keeps the same shape in Pacific/Auckland with weeks starting Monday, and through failures thanks to promotion', () => {
    const nz = simulateRetention({
      start: '2024-01-01T00:00:00Z',
      days: 3 * 365,
      policy: { ...DEFAULT_RETENTION, timezone: 'Pacific/Auckland', weekly_backup_day: 0 },
    });
    console.log(`[retention simulator] Pacific/Auckland, weekly on Monday: ${summary(nz)}`);
    expect(nz.retained).toMatchObject({ daily: 6, weekly: 4, yearly: 2 });
    expect(nz.retained.monthly).toBeGreaterThanOrEqual(11);
    // Every backup on a 1st and every Sunday fails: promotion still gives each week, month and year one backup.
    const failing = simulateRetention({
      start: '2024-01-01T00:00:00Z',
      days: 3 * 365,
      fails: (at) => at.getUTCDate() === 1 || at.getUTCDay() === 0,
    });
    console.log(`[retention simulator] every 1st and every Sunday failing: ${summary(failing)}, ${failing.promoted} promotions`);
    expect(failing.backups_failed).toBeGreaterThan(150);
    expect(failing.retained).toMatchObject({ weekly: 3, monthly: 11, yearly: 2 });
    // 2026-01-01 (Thu) and Sun 2026-01-04 failed: Mon Jan 5 became the weekly, monthly and yearly.
    expect(failing.retained_backups.find((b) => b.retention_type === 'yearly')!.created_at).toBe('2026-01-05T02:00:00.000Z');
  });

  it('refuses nonsense', () => {
    expect(() => simulateRetention({ start: '2024-01-01', days: 0 })).toThrow(/days/);
    expect(() => simulateRetention({ start: 'soon', days: 3 })).toThrow(/start/);
  });
});
