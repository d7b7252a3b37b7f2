import type { RetentionSettings } from './retention-classification.js';
import { civilFromEpochDay, isoWeekdayOfEpochDay, localMs } from './zoned-time.js';

const DAY_MS = 86_400_000;

/** The promotion periods of GFS: a week, a calendar month, a calendar year. */
export type GfsPeriodKind = 'week' | 'month' | 'year';

/**
 * Where an instant falls on the policy's calendar (see docs/decisions.md#promotion): the week (the 7 days that
 * start on `weekly_backup_day`, as the epoch day of its first day), the calendar month
 * (`year * 12 + month - 1`) and the calendar year, all on the wall clock of the policy's zone.
 */
export interface GfsPeriods {
  week: number;
  month: number;
  year: number;
}

/** The GFS periods holding `instant` under `policy`'s timezone and `weekly_backup_day`. */
export function gfsPeriodsOf(instant: Date | number, policy: Pick<RetentionSettings, 'timezone' | 'weekly_backup_day'>): GfsPeriods {
  const days = Math.floor(localMs(instant, policy.timezone) / DAY_MS);
  const { year, month } = civilFromEpochDay(days);
  return { week: weekStartDay(days, policy.weekly_backup_day), month: year * 12 + month - 1, year };
}

/**
 * The first day (epoch day) of the week holding local day `days`, weeks starting on
 * `weeklyBackupDay` (0 = Monday ... 6 = Sunday), so the weekly backup opens its week.
 */
export function weekStartDay(days: number, weeklyBackupDay: number): number {
  const weekday = isoWeekdayOfEpochDay(days) - 1; // 0 = Monday
  return days - ((weekday - weeklyBackupDay + 7) % 7);
}

function isoDate(days: number): string {
  const { year, month, day } = civilFromEpochDay(days);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A period as a person reads it: `the week 2026-01-04..2026-01-10`, `2026-01`, `2026`. */
export function describeGfsPeriod(kind: GfsPeriodKind, key: number): string {
  switch (kind) {
    case 'week':
      return `the week ${isoDate(key)}..${isoDate(key + 6)}`;
    case 'month':
      return `the month ${String(Math.floor(key / 12)).padStart(4, '0')}-${String((key % 12) + 1).padStart(2, '0')}`;
    case 'year':
      return `the year ${key}`;
  }
}
