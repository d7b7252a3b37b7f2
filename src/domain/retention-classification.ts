import type { BackupPolicy } from './entities.js';
import type { RetentionType } from './enums.js';
import { zonedParts } from './zoned-time.js';

/** The policy fields GFS math needs. */
export type RetentionSettings = Pick<
  BackupPolicy,
  'daily_retention' | 'weekly_retention' | 'monthly_retention' | 'yearly_retention' | 'weekly_backup_day' | 'timezone'
>;

/** The default settings (7 daily, 4 weekly, 12 monthly, 2 yearly; weekly on Sunday; UTC). */
export const DEFAULT_RETENTION: Readonly<RetentionSettings> = Object.freeze({
  daily_retention: 7,
  weekly_retention: 4,
  monthly_retention: 12,
  yearly_retention: 2,
  weekly_backup_day: 6,
  timezone: 'UTC',
});

const DAY_MS = 86_400_000;

/**
 * The initial GFS tier of a backup created at `at` (see docs/decisions.md#retention-classification): Jan 1 -> yearly, 1st of a
 * month -> monthly, the policy's `weekly_backup_day` (0 = Monday ... 6 = Sunday) -> weekly,
 * else daily; all read on the calendar of the policy's timezone.
 */
export function classifyRetention(
  at: Date,
  policy: Pick<RetentionSettings, 'timezone' | 'weekly_backup_day'> = DEFAULT_RETENTION,
): RetentionType {
  const p = zonedParts(at, policy.timezone);
  if (p.month === 1 && p.day === 1) return 'yearly';
  if (p.day === 1) return 'monthly';
  // zonedParts uses ISO weekdays (1 = Monday); the policy counts from 0 = Monday.
  if (p.isoWeekday - 1 === policy.weekly_backup_day) return 'weekly';
  return 'daily';
}

/**
 * The product's expiry table (see docs/decisions.md#expiry): daily + N days, weekly + N weeks, monthly + N x 30 days,
 * yearly + N x 365 days, permanent never (`null`). Durations are exact (24 h days), counted from
 * `createdAt`.
 */
export function computeExpiry(createdAt: Date, retentionType: RetentionType, policy: RetentionSettings = DEFAULT_RETENTION): Date | null {
  const days = retentionDays(retentionType, policy);
  return days === null ? null : new Date(createdAt.getTime() + days * DAY_MS);
}

/** How many days a tier keeps a backup under `policy`; `null` for permanent. */
export function retentionDays(retentionType: RetentionType, policy: RetentionSettings): number | null {
  switch (retentionType) {
    case 'daily':
      return policy.daily_retention;
    case 'weekly':
      return policy.weekly_retention * 7;
    case 'monthly':
      return policy.monthly_retention * 30;
    case 'yearly':
      return policy.yearly_retention * 365;
    case 'permanent':
      return null;
  }
}
