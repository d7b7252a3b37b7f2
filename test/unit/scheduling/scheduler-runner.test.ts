import { afterEach, describe, expect, it } from 'vitest';
import { PolicyService, Scheduler, type BackupPolicyRepository, type ServiceEvent } from '../../../src/index.js';
import { FakeClock, InMemoryBackupPolicyRepository, MemoryEventSink, flushMicrotasks } from '../../../src/testing/index.js';
import { RecordingStarter, localTime } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const running: Scheduler[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

function setup(
  options: { start?: string; clock?: FakeClock; recheckIntervalMs?: number; notify?: boolean; policies?: BackupPolicyRepository } = {},
) {
  const clock = options.clock ?? new FakeClock(options.start ?? '2026-01-01T00:00:00Z');
  const repo = new InMemoryBackupPolicyRepository(clock);
  const policies = options.policies ?? repo;
  const starter = new RecordingStarter(clock);
  const events = new MemoryEventSink();
  const service = new PolicyService({ policies, clock });
  const scheduler = new Scheduler({
    policies,
    backups: starter,
    clock,
    events,
    recheckIntervalMs: options.recheckIntervalMs ?? HOUR,
    policyChanges: options.notify === false ? undefined : service,
  });
  running.push(scheduler);
  return { clock, policies, starter, events, service, scheduler };
}

describe('Scheduler runner (start/stop) on simulated time', () => {
  it('one year of "0 2 * * *" in Europe/Brussels: exactly 365 backups, each at 02:00 local (03:00 on the spring-forward day)', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2025-12-31T12:00:00Z', recheckIntervalMs: 6 * HOUR });
    await service.createPolicy('env-1', { schedule_cron: '0 2 * * *', timezone: 'Europe/Brussels' });
    scheduler.start();
    await flushMicrotasks();
    // Through the last second of 2026 in Brussels (2026-12-31T23:00Z is local midnight).
    await clock.set('2026-12-31T22:59:59Z');
    await scheduler.stop();
    const local = starter.started.map((s) => localTime(s.at, 'Europe/Brussels'));
    expect(local).toHaveLength(365);
    expect(new Set(local.map((l) => l.slice(0, 10))).size).toBe(365);
    expect(local[0]).toBe('2026-01-01 02:00');
    expect(local.at(-1)).toBe('2026-12-31 02:00');
    // DST (see docs/decisions.md#daylight-saving-time): 02:00 does not exist on 29 March (runs at 03:00 CEST); on 25 October it happens twice (runs once, the first).
    expect(local.filter((l) => !l.endsWith(' 02:00'))).toEqual(['2026-03-29 03:00']);
    expect(starter.started.filter((s) => s.at.startsWith('2026-10-25'))).toMatchObject([{ at: '2026-10-25T00:00:00.000Z' }]);
    // Started at the very instant of the slot, never late.
    expect(starter.started.every((s) => new Date(s.at).getUTCSeconds() === 0 && new Date(s.at).getUTCMinutes() === 0)).toBe(true);
  });

  it('"30 8 * * 1-5" fires at 08:30 on weekdays, not at the 09:00 hourly poll', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2026-06-07T00:00:00Z' }); // a Sunday
    await service.createPolicy('env-1', { schedule_cron: '30 8 * * 1-5', timezone: 'Europe/Brussels' });
    await service.createPolicy('env-2', { schedule_cron: '30 8 * * 1-5', timezone: 'America/New_York' });
    scheduler.start();
    await flushMicrotasks();
    await clock.advance(14 * DAY);
    expect(starter.started).toHaveLength(20);
    for (const s of starter.started) {
      const tz = s.environmentId === 'env-1' ? 'Europe/Brussels' : 'America/New_York';
      expect(localTime(s.at, tz).slice(11)).toBe('08:30');
      const weekday = new Date(s.at).toLocaleDateString('en-US', { timeZone: tz, weekday: 'short' });
      expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(weekday);
    }
  });

  it('sleeps until the earliest next_backup_at rather than polling', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2026-01-01T00:00:00Z', recheckIntervalMs: 12 * HOUR });
    await service.createPolicy('env-1', { schedule_cron: '17 5 * * *' });
    scheduler.start();
    await flushMicrotasks();
    expect(clock.pendingSleeps).toBe(1);
    expect(clock.nextWakeAt()?.toISOString()).toBe('2026-01-01T05:17:00.000Z');
    await clock.set('2026-01-01T05:16:59.999Z');
    expect(starter.started).toEqual([]);
    await clock.advance(1);
    expect(starter.started.map((s) => s.at)).toEqual(['2026-01-01T05:17:00.000Z']);
    expect(clock.nextWakeAt()?.toISOString()).toBe('2026-01-01T17:17:00.000Z'); // the 12-hour re-check comes before 05:17 tomorrow
  });

  it('re-reads its wake-up time when PolicyService reports a change', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2026-01-01T00:00:00Z', recheckIntervalMs: 6 * HOUR });
    scheduler.start();
    await flushMicrotasks();
    expect(clock.nextWakeAt()?.toISOString()).toBe('2026-01-01T06:00:00.000Z');
    await clock.set('2026-01-01T00:10:00Z');
    await service.createPolicy('env-1', { schedule_cron: '12 0 * * *' });
    await flushMicrotasks();
    expect(clock.nextWakeAt()?.toISOString()).toBe('2026-01-01T00:12:00.000Z');
    await clock.advance(2 * MIN);
    expect(starter.started.map((s) => s.at)).toEqual(['2026-01-01T00:12:00.000Z']);
    // A PATCH moving the slot earlier is followed too.
    await service.updatePolicy('env-1', { schedule_cron: '30 0 * * *' });
    await flushMicrotasks();
    expect(clock.nextWakeAt()?.toISOString()).toBe('2026-01-01T00:30:00.000Z');
  });

  it('without notifications, the periodic re-check still finds changes made elsewhere', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2026-01-01T00:00:00Z', recheckIntervalMs: 5 * MIN, notify: false });
    scheduler.start();
    await flushMicrotasks();
    await clock.set('2026-01-01T00:01:00Z');
    await service.createPolicy('env-1', { schedule_cron: '2 0 * * *' }); // due 00:02, unseen until the 00:05 re-check
    await clock.set('2026-01-01T00:10:00Z');
    expect(starter.started.map((s) => s.at)).toEqual(['2026-01-01T00:05:00.000Z']);
  });

  it('stop() waits for backups being started, then the runner is idle', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2026-01-01T00:00:00Z' });
    await service.createPolicy('env-1', { schedule_cron: '5 0 * * *' });
    let release!: () => void;
    starter.gate = new Promise<void>((r) => (release = r));
    scheduler.start();
    await flushMicrotasks();
    await clock.set('2026-01-01T00:05:00Z');
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await flushMicrotasks();
    expect(stopped).toBe(false);
    expect(starter.started).toEqual([]);
    release();
    await stopping;
    expect(starter.started.map((s) => s.at)).toEqual(['2026-01-01T00:05:00.000Z']);
    expect(scheduler.running).toBe(false);
    expect(clock.pendingSleeps).toBe(0);
    await clock.advance(2 * DAY);
    expect(starter.started).toHaveLength(1);
  });

  it('start() twice runs one loop, and the runner restarts after stop()', async () => {
    const { clock, service, scheduler, starter } = setup({ start: '2026-01-01T00:00:00Z' });
    await service.createPolicy('env-1', { schedule_cron: '0 * * * *' });
    scheduler.start();
    scheduler.start();
    await flushMicrotasks();
    expect(clock.pendingSleeps).toBe(1);
    await clock.advance(3 * HOUR);
    await scheduler.stop();
    await clock.advance(3 * HOUR); // stopped: nothing runs; the 04:00-06:00 slots are missed
    scheduler.start(); // catch-up for the missed slots: one backup, at 06:00
    await flushMicrotasks();
    await clock.advance(2 * HOUR);
    expect(starter.started.map((s) => s.at)).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
      '2026-01-01T06:00:00.000Z',
      '2026-01-01T07:00:00.000Z',
      '2026-01-01T08:00:00.000Z',
    ]);
  });

  it('keeps running when the repository fails for a while, backing off a minute between tries, and reports it', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const inner = new InMemoryBackupPolicyRepository(clock);
    let down = false;
    const flaky: BackupPolicyRepository = Object.assign(Object.create(inner) as BackupPolicyRepository, {
      listDue: (now: string, limit?: number) => (down ? Promise.reject(new Error('connection refused')) : inner.listDue(now, limit)),
    });
    const { service, scheduler, starter, events } = setup({ clock, policies: flaky, recheckIntervalMs: 5 * MIN });
    await service.createPolicy('env-1', { schedule_cron: '0 * * * *' });
    scheduler.start();
    await clock.set('2026-01-01T00:59:30Z');
    down = true;
    await clock.set('2026-01-01T01:02:30Z');
    expect(starter.started).toEqual([]);
    // Tries at 01:00, 01:01 and 01:02, each reported.
    expect(events.events.filter((e): e is ServiceEvent => e.type === 'scheduler.error').map((e) => e.data.timestamp)).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T01:01:00.000Z',
      '2026-01-01T01:02:00.000Z',
    ]);
    down = false;
    await clock.set('2026-01-01T01:10:00Z');
    // The 01:00 slot is caught up at the first try after the repository came back.
    expect(starter.started.map((s) => s.at)).toEqual(['2026-01-01T01:03:00.000Z']);
  });
});
