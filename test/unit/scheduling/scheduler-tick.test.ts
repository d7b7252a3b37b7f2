import { describe, expect, it } from 'vitest';
import { InMemoryScheduleClaims, PolicyRowScheduleClaims, Scheduler, nextRun, type TickResult } from '../../../src/index.js';
import { FakeClock, InMemoryBackupPolicyRepository, MemoryEventSink } from '../../../src/testing/index.js';
import { RecordingStarter, jittered, policyRecord, prng } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function setup(start = '2026-03-02T00:00:00Z') {
  const clock = new FakeClock(start);
  const policies = new InMemoryBackupPolicyRepository(clock);
  const starter = new RecordingStarter(clock);
  const events = new MemoryEventSink();
  const scheduler = new Scheduler({ policies, backups: starter, clock, events });
  return { clock, policies, starter, events, scheduler };
}

describe('Scheduler.tick', () => {
  it('does nothing when no policy is due', async () => {
    const { policies, starter, scheduler } = setup();
    await policies.create(policyRecord('env-a', { next_backup_at: '2026-03-02T02:00:00.000Z' }));
    expect(await scheduler.tick(new Date('2026-03-02T01:59:59.999Z'))).toEqual({ triggered: 0, errors: [], skipped: 0, retention: null });
    expect(starter.started).toEqual([]);
  });

  it('starts a scheduled backup for a due policy and moves it to its next slot', async () => {
    const { policies, starter, scheduler, clock, events } = setup();
    const p = await policies.create(
      policyRecord('env-a', { storage_config_id: '550e8400-e29b-41d4-a716-446655440000', next_backup_at: '2026-03-02T02:00:00.000Z' }),
    );
    await clock.set('2026-03-02T02:00:00Z');
    expect(await scheduler.tick()).toMatchObject({ triggered: 1, errors: [] });
    expect(starter.started).toEqual([
      {
        id: expect.any(String),
        environmentId: 'env-a',
        input: { backup_type: 'scheduled', storage_config_id: '550e8400-e29b-41d4-a716-446655440000', include_filestore: true },
        actor: null,
        at: '2026-03-02T02:00:00.000Z',
      },
    ]);
    expect(await policies.get(p.id)).toMatchObject({
      last_backup_at: '2026-03-02T02:00:00.000Z',
      last_backup_status: 'pending',
      next_backup_at: '2026-03-03T02:00:00.000Z',
    });
    expect(events.ofType('scheduler.backup_triggered')).toHaveLength(1);
  });

  it('leaves disabled policies and policies without a slot alone', async () => {
    const { policies, starter, scheduler } = setup();
    await policies.create(policyRecord('env-off', { is_enabled: false, next_backup_at: '2026-03-01T02:00:00.000Z' }));
    await policies.create(policyRecord('env-none', { next_backup_at: null }));
    expect((await scheduler.tick(new Date('2026-03-02T12:00:00Z'))).triggered).toBe(0);
    expect(starter.started).toEqual([]);
  });

  it("records one policy's failure on it and reports it, and starts the others", async () => {
    const { policies, starter, scheduler, events } = setup();
    const ids: string[] = [];
    for (const env of ['env-a', 'env-b', 'env-c'])
      ids.push((await policies.create(policyRecord(env, { next_backup_at: '2026-03-02T02:00:00.000Z' }))).id);
    starter.failFor.add('env-b');
    const result = await scheduler.tick(new Date('2026-03-02T02:00:30Z'));
    expect(result.triggered).toBe(2);
    expect(result.errors).toEqual([
      { policy_id: ids[1], environment_id: 'env-b', code: 'E_STORAGE_UNAVAILABLE', message: 'storage unreachable for env-b' },
    ]);
    expect(starter.started.map((s) => s.environmentId).sort()).toEqual(['env-a', 'env-c']);
    const failed = await policies.get(ids[1]!);
    expect(failed).toMatchObject({
      last_backup_status: 'failed',
      last_backup_at: '2026-03-02T02:00:30.000Z',
      next_backup_at: '2026-03-03T02:00:00.000Z',
    });
    expect((await policies.get(ids[0]!))?.last_backup_status).toBe('pending');
    expect(events.ofType('scheduler.error')).toHaveLength(1);
  });

  it('stops a policy whose stored cron cannot be read, and says why', async () => {
    const { policies, starter, scheduler } = setup();
    const bad = await policies.create(
      policyRecord('env-bad', { schedule_cron: 'every night', next_backup_at: '2026-03-02T02:00:00.000Z' }),
    );
    await policies.create(policyRecord('env-good', { next_backup_at: '2026-03-02T02:00:00.000Z' }));
    const result = await scheduler.tick(new Date('2026-03-02T02:00:00Z'));
    expect(result.triggered).toBe(1);
    expect(result.errors).toMatchObject([{ policy_id: bad.id, code: 'E_INVALID_CRON' }]);
    expect(await policies.get(bad.id)).toMatchObject({ next_backup_at: null, last_backup_status: 'failed' });
    expect(starter.started.map((s) => s.environmentId)).toEqual(['env-good']);
  });

  it('after 3 days of downtime starts one catch-up backup per policy, then runs on schedule', async () => {
    const { policies, starter, scheduler, clock } = setup('2026-03-02T00:00:00Z');
    const crons = ['0 2 * * *', '0 * * * *', '30 8 * * 1-5', '*/15 * * * *', '0 3 * * 0'];
    const made = [];
    for (const [i, cron] of crons.entries()) {
      made.push(
        await policies.create(
          policyRecord(`env-${i}`, {
            schedule_cron: cron,
            timezone: 'Europe/Brussels',
            next_backup_at: nextRun(cron, 'Europe/Brussels', clock.now()).toISOString(),
          }),
        ),
      );
    }
    // Down from Monday 00:00 to Thursday 00:07 UTC: every policy missed slots but the weekly one (next due Sunday 8 March).
    await clock.set('2026-03-05T00:07:00Z');
    const result = await scheduler.tick();
    const due = made.filter((p) => Date.parse(p.next_backup_at!) <= clock.now().getTime());
    expect(due).toHaveLength(4);
    expect(result.triggered).toBe(4);
    expect(starter.started.map((s) => s.environmentId).sort()).toEqual(due.map((p) => p.environment_id).sort());
    for (const p of made) {
      const after = await policies.get(p.id);
      const expected =
        Date.parse(p.next_backup_at!) <= clock.now().getTime()
          ? nextRun(p.schedule_cron, 'Europe/Brussels', clock.now()).toISOString()
          : p.next_backup_at;
      expect(after?.next_backup_at, p.schedule_cron).toBe(expected);
    }
    // Then on schedule: tick every minute for a day; each policy fires exactly at its slots.
    starter.started.length = 0;
    const from = clock.now();
    for (let i = 0; i < 24 * 60; i++) {
      await clock.advance(MIN);
      await scheduler.tick();
    }
    for (const [i, cron] of crons.entries()) {
      const expected: string[] = [];
      for (let t = nextRun(cron, 'Europe/Brussels', from); t <= clock.now(); t = nextRun(cron, 'Europe/Brussels', t))
        expected.push(t.toISOString());
      expect(
        starter.started.filter((s) => s.environmentId === `env-${i}`).map((s) => s.at),
        cron,
      ).toEqual(expected);
    }
    expect(starter.started.length).toBe(1 + 24 + 1 + 96 + 0);
  });

  it('two schedulers ticking concurrently on one repository start each of 10,000 slots exactly once', async () => {
    const clock = new FakeClock('2026-06-01T00:00:00Z');
    const shared = new InMemoryBackupPolicyRepository(clock);
    const starter = new RecordingStarter(clock);
    const zones = ['UTC', 'Europe/Brussels', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'];
    // 100 policies, each every 10 minutes at its own minute: 100 slots each over 1000 minutes.
    for (let i = 0; i < 100; i++) {
      const cron = `${i % 10}-59/10 * * * *`;
      const tz = zones[i % zones.length]!;
      await shared.create(
        policyRecord(`env-${i}`, { schedule_cron: cron, timezone: tz, next_backup_at: nextRun(cron, tz, clock.now()).toISOString() }),
      );
    }
    const a = new Scheduler({ policies: jittered(shared, prng(1)), backups: starter, clock });
    const b = new Scheduler({ policies: jittered(shared, prng(2)), backups: starter, clock });
    const totals = { triggered: 0, skipped: 0, errors: 0 };
    for (let minute = 1; minute <= 1000; minute++) {
      await clock.set(new Date(Date.parse('2026-06-01T00:00:00Z') + minute * MIN));
      const results: TickResult[] = await Promise.all([a.tick(), b.tick()]);
      for (const r of results) {
        totals.triggered += r.triggered;
        totals.skipped += r.skipped;
        totals.errors += r.errors.length;
      }
    }
    expect(totals.errors).toBe(0);
    expect(starter.started).toHaveLength(10_000);
    expect(totals.triggered).toBe(10_000);
    // Both saw the slots: the loser of each race skipped it.
    expect(totals.skipped).toBeGreaterThan(0);
    const perSlot = new Map<string, number>();
    for (const s of starter.started) perSlot.set(`${s.environmentId}@${s.at}`, (perSlot.get(`${s.environmentId}@${s.at}`) ?? 0) + 1);
    expect(perSlot.size).toBe(10_000);
    expect([...perSlot.values()].every((n) => n === 1)).toBe(true);
    for (let i = 0; i < 100; i++) {
      const mine = starter.started.filter((s) => s.environmentId === `env-${i}`);
      expect(mine).toHaveLength(100);
      // Each at its slot: minute i % 10 of a ten-minute block.
      expect(mine.every((s) => new Date(s.at).getUTCMinutes() % 10 === i % 10)).toBe(true);
    }
  });
});

describe('Scheduler retention cleanup', () => {
  function counting() {
    const runs: string[] = [];
    return {
      runs,
      runner: {
        runCleanup: async (now?: Date) => (runs.push(now!.toISOString()), { expired: 0, deleted_storage: 0, promoted: 0, errors: [] }),
      },
    };
  }

  it('runs daily at 03:00 UTC by default, once per slot', async () => {
    const { runs, runner } = counting();
    const clock = new FakeClock('2026-03-02T00:30:00Z');
    const scheduler = new Scheduler({
      policies: new InMemoryBackupPolicyRepository(clock),
      backups: new RecordingStarter(clock),
      retention: runner,
      clock,
    });
    const results: TickResult[] = [];
    for (let i = 0; i < 3 * 24 * 4; i++) {
      results.push(await scheduler.tick());
      await clock.advance(15 * MIN);
    }
    expect(runs).toEqual(['2026-03-02T03:00:00.000Z', '2026-03-03T03:00:00.000Z', '2026-03-04T03:00:00.000Z']);
    expect(results.filter((r) => r.retention !== null)).toHaveLength(3);
  });

  it('follows a configured cron and zone', async () => {
    const { runs, runner } = counting();
    const clock = new FakeClock('2026-03-02T00:00:00Z');
    const scheduler = new Scheduler({
      policies: new InMemoryBackupPolicyRepository(clock),
      backups: new RecordingStarter(clock),
      retention: runner,
      retentionCron: '30 4 * * *',
      retentionTimezone: 'Europe/Brussels',
      clock,
    });
    for (let i = 0; i <= 2 * 48; i++) {
      await scheduler.tick();
      await clock.advance(HOUR / 2);
    }
    // 04:30 in Brussels (+01:00) is 03:30 UTC.
    expect(runs).toEqual(['2026-03-02T03:30:00.000Z', '2026-03-03T03:30:00.000Z']);
  });

  it('runs once across two replicas sharing the policy repository (PolicyRowScheduleClaims), and the claim row never triggers a backup', async () => {
    const { runs, runner } = counting();
    const clock = new FakeClock('2026-03-02T00:00:00Z');
    const shared = new InMemoryBackupPolicyRepository(clock);
    const starter = new RecordingStarter(clock);
    const replicas = [1, 2].map((seed) => {
      const repo = jittered(shared, prng(seed));
      return new Scheduler({
        policies: repo,
        backups: starter,
        retention: runner,
        claims: new PolicyRowScheduleClaims(repo, () => clock.now()),
        clock,
      });
    });
    for (let i = 0; i < 3 * 24 * 60; i += 5) {
      await Promise.all(replicas.map((r) => r.tick()));
      await clock.advance(5 * MIN);
    }
    expect(runs).toEqual(['2026-03-02T03:00:00.000Z', '2026-03-03T03:00:00.000Z', '2026-03-04T03:00:00.000Z']);
    expect(starter.started).toEqual([]);
    expect(await shared.listEnabled()).toEqual([]);
    expect(await shared.nextDueAt()).toBeNull();
  });

  it('runs once between schedulers of one process sharing InMemoryScheduleClaims', async () => {
    const { runs, runner } = counting();
    const clock = new FakeClock('2026-03-02T02:59:00Z');
    const policies = new InMemoryBackupPolicyRepository(clock);
    const claims = new InMemoryScheduleClaims();
    const schedulers = [0, 1, 2].map(
      () => new Scheduler({ policies, backups: new RecordingStarter(clock), retention: runner, claims, clock }),
    );
    await Promise.all(schedulers.map((s) => s.tick()));
    await clock.advance(DAY);
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(runs).toEqual(['2026-03-03T02:59:00.000Z']);
  });

  it('reports a failed cleanup in errors without throwing', async () => {
    const clock = new FakeClock('2026-03-02T02:00:00Z');
    const scheduler = new Scheduler({
      policies: new InMemoryBackupPolicyRepository(clock),
      backups: new RecordingStarter(clock),
      retention: { runCleanup: async () => Promise.reject(new Error('storage down')) },
      clock,
    });
    await scheduler.tick();
    await clock.set('2026-03-02T03:00:00Z');
    expect((await scheduler.tick()).errors).toEqual([
      { policy_id: null, environment_id: null, code: 'E_UNEXPECTED', message: 'storage down' },
    ]);
  });
});
