import { nextRun, ValidationError } from 'odoo-backup-sdk';
import { table } from '../output.js';
import type { CommandContext } from './context.js';

/** The flags of `schedule`. */
export interface ScheduleFlags {
  timezone: string;
  count: number;
  after?: string;
}

/** The wall-clock time of `at` in `timeZone`, as `2027-03-28 03:00 (+02:00)`. */
function wallClock(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      timeZoneName: 'longOffset',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const offset = (parts.timeZoneName ?? '').replace('GMT', '') || '+00:00';
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} (${offset})`;
}

/**
 * `odoo-backup schedule CRON`: the next `--count` times a 5-field cron fires in `--timezone`
 * after `--after` (default now), computed by the SDK's `nextRun` (DST gaps shifted forward, a
 * repeated hour run once). `--json`: the times as ISO 8601 strings in UTC.
 */
export function scheduleCommand(cron: string, flags: ScheduleFlags, ctx: CommandContext): number {
  const after = flags.after === undefined ? new Date() : new Date(flags.after);
  if (Number.isNaN(after.getTime()))
    throw new ValidationError([{ field: 'after', message: 'must be an ISO 8601 time, e.g. 2027-03-26T00:00:00Z' }]);
  const times: string[] = [];
  let from = after;
  for (let i = 0; i < flags.count; i++) {
    from = nextRun(cron, flags.timezone, from);
    times.push(from.toISOString());
  }
  ctx.out.result(times, () =>
    table(
      ['UTC', flags.timezone],
      times.map((t) => [t, wallClock(new Date(t), flags.timezone)]),
    ),
  );
  return 0;
}
