import { describe, expect, it } from 'vitest';
import { ValidationError, nextRun } from '../../../src/index.js';
import { nextRuns } from '../../../src/domain/schedule.js';
import { offsetChanges, oracleRuns, wallOf } from './cron-oracle.js';

/** Every run of `cron` in (from, to], chained through nextRun. */
function chain(cron: string, tz: string, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let t = nextRun(cron, tz, from); t.getTime() <= to.getTime(); t = nextRun(cron, tz, t)) out.push(t);
  return out;
}

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const local = (d: Date, tz: string) => {
  const w = wallOf(d.getTime(), tz);
  return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
};

// The product's "Common Schedules" table, with what its Description column promises, checked on the
// local wall clock (ISO weekday: 1 = Monday ... 7 = Sunday).
interface Row {
  name: string;
  cron: string;
  /** How far to look: long enough for several runs. */
  days: number;
  promise: (w: { hour: number; minute: number; day: number; isoDow: number }) => boolean;
  /** Runs expected per `days` window in a zone without DST in it. */
  count: number;
}
const COMMON: Row[] = [
  { name: 'Daily at 2 AM', cron: '0 2 * * *', days: 7, count: 7, promise: (w) => w.hour === 2 && w.minute === 0 },
  { name: 'Every 6 hours', cron: '0 */6 * * *', days: 2, count: 8, promise: (w) => [0, 6, 12, 18].includes(w.hour) && w.minute === 0 },
  { name: 'Twice daily', cron: '0 2,14 * * *', days: 3, count: 6, promise: (w) => [2, 14].includes(w.hour) && w.minute === 0 },
  { name: 'Hourly', cron: '0 * * * *', days: 1, count: 24, promise: (w) => w.minute === 0 },
  {
    name: 'Business hours',
    cron: '0 9-17 * * 1-5',
    days: 7,
    count: 45,
    promise: (w) => w.isoDow <= 5 && w.hour >= 9 && w.hour <= 17 && w.minute === 0,
  },
  { name: 'Weekly Sunday', cron: '0 3 * * 0', days: 28, count: 4, promise: (w) => w.isoDow === 7 && w.hour === 3 && w.minute === 0 },
  { name: 'Monthly', cron: '0 1 1 * *', days: 92, count: 3, promise: (w) => w.day === 1 && w.hour === 1 && w.minute === 0 },
  { name: 'Weekday mornings', cron: '30 8 * * 1-5', days: 7, count: 5, promise: (w) => w.isoDow <= 5 && w.hour === 8 && w.minute === 30 },
];
const ZONES = ['UTC', 'Europe/Brussels', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney'];
// A Wednesday in June (no DST change within 92 days in the northern zones; Sydney's is in October).
const FROM = new Date('2026-06-10T13:17:00Z');

describe("nextRun: the product's Common Schedules", () => {
  for (const row of COMMON) {
    for (const tz of ZONES) {
      it(`${row.name} (${row.cron}) in ${tz}`, () => {
        const to = new Date(FROM.getTime() + row.days * 86_400_000);
        const runs = chain(row.cron, tz, FROM, to);
        expect(iso(runs)).toEqual(iso(oracleRuns(row.cron, tz, FROM, to)));
        expect(runs).toHaveLength(row.count);
        for (const r of runs) {
          const w = wallOf(r.getTime(), tz);
          expect(
            row.promise({ hour: w.hour, minute: w.minute, day: w.day, isoDow: w.dow === 0 ? 7 : w.dow }),
            `${r.toISOString()} in ${tz}`,
          ).toBe(true);
        }
      });
    }
  }

  it('reads day of week as standard cron: 0 and 7 are Sunday, 1 is Monday (see docs/decisions.md#cron-day-of-week)', () => {
    const from = new Date('2026-01-01T00:00:00Z'); // a Thursday
    expect(nextRun('0 3 * * 0', 'UTC', from).toISOString()).toBe('2026-01-04T03:00:00.000Z');
    expect(nextRun('0 3 * * 7', 'UTC', from).toISOString()).toBe('2026-01-04T03:00:00.000Z');
    expect(nextRun('0 3 * * 1', 'UTC', from).toISOString()).toBe('2026-01-05T03:00:00.000Z');
  });

  it('fires on either restricted day field, as standard cron does', () => {
    // 1st of the month OR Monday: Feb 1 2026 is a Sunday, Jan 26 and Feb 2 are Mondays.
    expect(iso(nextRuns('0 0 1 * 1', 'UTC', new Date('2026-01-25T00:00:00Z'), 3))).toEqual([
      '2026-01-26T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-02-02T00:00:00.000Z',
    ]);
  });

  it('is strictly after `after`, to the second', () => {
    expect(nextRun('0 2 * * *', 'UTC', new Date('2026-01-01T02:00:00Z')).toISOString()).toBe('2026-01-02T02:00:00.000Z');
    expect(nextRun('0 2 * * *', 'UTC', new Date('2026-01-01T01:59:59.999Z')).toISOString()).toBe('2026-01-01T02:00:00.000Z');
    expect(nextRun('0 2 * * *', 'UTC', new Date('2026-01-01T02:00:00.001Z')).toISOString()).toBe('2026-01-02T02:00:00.000Z');
  });

  it('finds rare dates (29 February)', () => {
    expect(nextRun('0 0 29 2 *', 'UTC', new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('refuses bad expressions and zones with a ValidationError', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    for (const bad of ['0 2 * *', '0 0 2 * * *', '@daily', '61 * * * *', '0 0 30 2 *', '', 'H 2 * * *', '0 2 L * *', '0 2 * * 1#2']) {
      let caught: unknown;
      try {
        nextRun(bad, 'UTC', now);
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).code, bad).toBe('E_INVALID_CRON');
    }
    expect(() => nextRun('0 0 30 2 *', 'UTC', now)).toThrow('schedule_cron: never fires: day-of-month 30 never falls in February');
    expect(() => nextRun('0 2 * * *', 'Mars/Olympus', now)).toThrow(ValidationError);
    expect(() => nextRun('0 2 * * *', '+02:00', now)).toThrow(ValidationError);
  });
});

// The DST rules (see docs/decisions.md#daylight-saving-time) across every DST change of 2026 and 2027 in three zones.
const DST_ZONES = ['Europe/Brussels', 'America/New_York', 'Australia/Sydney'];
const DST_CRONS = [
  '0 2 * * *',
  '30 2 * * *',
  '30 1 * * *',
  '0 3 * * *',
  '0 * * * *',
  '*/15 * * * *',
  '0 */6 * * *',
  '0 2,14 * * *',
  '0 1-3 * * *',
  '30 8 * * 1-5',
  '*/20 1,2 * * *',
];

describe('nextRun across the DST changes of 2026 and 2027', () => {
  for (const tz of DST_ZONES) {
    const changes = offsetChanges(tz, new Date('2026-01-01T00:00:00Z'), new Date('2028-01-01T00:00:00Z'));
    it(`${tz} has four changes in 2026-2027`, () => {
      expect(changes).toHaveLength(4);
    });
    for (const change of changes) {
      const kind = change.afterMinutes > change.beforeMinutes ? 'spring forward' : 'fall back';
      it(`${tz} ${kind} at ${change.at.toISOString()}: every schedule matches the brute-force reading of the DST rules (docs/decisions.md#daylight-saving-time)`, () => {
        const from = new Date(change.at.getTime() - 36 * 3_600_000);
        const to = new Date(change.at.getTime() + 36 * 3_600_000);
        for (const cron of DST_CRONS) {
          expect(iso(chain(cron, tz, from, to)), `${cron} in ${tz}`).toEqual(iso(oracleRuns(cron, tz, from, to)));
        }
        // Starting at every quarter hour around the change gives the same next run as the oracle.
        for (let t = change.at.getTime() - 3 * 3_600_000; t <= change.at.getTime() + 3 * 3_600_000; t += 15 * 60_000) {
          for (const cron of ['0 * * * *', '30 2 * * *', '30 1 * * *', '0 2 * * *']) {
            const start = new Date(t);
            const expected = oracleRuns(cron, tz, start, new Date(t + 2 * 86_400_000))[0];
            expect(nextRun(cron, tz, start).toISOString(), `${cron} after ${start.toISOString()}`).toBe(expected?.toISOString());
          }
        }
      });
    }
  }

  // The same rules, spelled out on the days that matter.
  const cases: { tz: string; cron: string; from: string; expect: string[]; why: string }[] = [
    {
      tz: 'Europe/Brussels',
      cron: '30 2 * * *',
      from: '2026-03-28T12:00:00Z',
      expect: ['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'],
      why: '02:30 does not exist: runs at 03:30 CEST',
    },
    {
      tz: 'Europe/Brussels',
      cron: '0 2 * * *',
      from: '2027-03-27T12:00:00Z',
      expect: ['2027-03-28T01:00:00.000Z', '2027-03-29T00:00:00.000Z'],
      why: '02:00 does not exist: runs at 03:00 CEST',
    },
    {
      tz: 'Europe/Brussels',
      cron: '30 2 * * *',
      from: '2026-10-24T12:00:00Z',
      expect: ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
      why: '02:30 happens twice: runs at the first (CEST) only',
    },
    {
      tz: 'Europe/Brussels',
      cron: '0 * * * *',
      from: '2027-10-30T23:30:00Z',
      expect: ['2027-10-31T00:00:00.000Z', '2027-10-31T01:00:00.000Z', '2027-10-31T02:00:00.000Z'],
      why: 'hour `*`: 02:00 CEST, 02:00 CET, 03:00 CET',
    },
    {
      tz: 'America/New_York',
      cron: '30 2 * * *',
      from: '2026-03-07T12:00:00Z',
      expect: ['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z'],
      why: '02:30 does not exist: runs at 03:30 EDT',
    },
    {
      tz: 'America/New_York',
      cron: '30 1 * * *',
      from: '2026-10-31T12:00:00Z',
      expect: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
      why: '01:30 happens twice: runs at 01:30 EDT only',
    },
    {
      tz: 'America/New_York',
      cron: '30 1 * * *',
      from: '2027-11-07T05:45:00Z',
      expect: ['2027-11-08T06:30:00.000Z'],
      why: 'started inside the first pass, after 01:30 EDT: not again at 01:30 EST',
    },
    {
      tz: 'America/New_York',
      cron: '0 * * * *',
      from: '2027-11-07T05:15:00Z',
      expect: ['2027-11-07T06:00:00.000Z', '2027-11-07T07:00:00.000Z'],
      why: 'hour `*`, started inside the first pass: 01:00 EST comes next',
    },
    {
      tz: 'Australia/Sydney',
      cron: '30 2 * * *',
      from: '2026-10-03T00:00:00Z',
      expect: ['2026-10-03T16:30:00.000Z', '2026-10-04T15:30:00.000Z'],
      why: '02:30 does not exist: runs at 03:30 AEDT',
    },
    {
      tz: 'Australia/Sydney',
      cron: '30 2 * * *',
      from: '2027-04-03T00:00:00Z',
      expect: ['2027-04-03T15:30:00.000Z', '2027-04-04T16:30:00.000Z'],
      why: '02:30 happens twice: runs at 02:30 AEDT only',
    },
  ];
  for (const c of cases) {
    it(`${c.tz} ${c.cron} from ${c.from}: ${c.why}`, () => {
      expect(iso(nextRuns(c.cron, c.tz, new Date(c.from), c.expect.length))).toEqual(c.expect);
    });
  }

  it('shifts a skipped time by a 30-minute gap too (Australia/Lord_Howe)', () => {
    // 2026-10-04 02:00 -> 02:30 local: 02:15 does not exist and runs at 02:45 (+11:00).
    const run = nextRun('15 2 * * *', 'Australia/Lord_Howe', new Date('2026-10-03T12:00:00Z'));
    expect(run.toISOString()).toBe('2026-10-03T15:45:00.000Z');
    expect(local(run, 'Australia/Lord_Howe')).toBe('02:45');
  });
});
