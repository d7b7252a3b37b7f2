/**
 * Scheduler.tick over 10,000 enabled policies with the in-memory repository:
 * - none due (the common case: a runner's safety re-check or a host cron's minute tick), target < 200 ms;
 * - all due (after downtime, or 10,000 policies sharing "0 2 * * *"), with a starter that
 *   returns at once, so the figure is the scheduler's own cost (claim, next slot, status).
 * References timed in the same run: a bare scan of the 10,000 `next_backup_at` strings (the least
 * any "what is due" query over them costs) and 10,000 `nextRun` computations (the least a tick
 * that moves every policy must compute).
 */
import { loadavg } from 'node:os';
import { Scheduler, nextRun, type BackupPolicy, type BackupStarter } from '../src/index.js';
import { FakeClock, InMemoryBackupPolicyRepository } from '../src/testing/index.js';
import { writeBenchResults } from './bench-results.js';

const COUNT = Number(process.env.BENCH_SCHEDULER_POLICIES ?? 10_000);
const RUNS_IDLE = 30;
const RUNS_DUE = 7;
const TARGET_IDLE_MS = 200;
const NOW = new Date('2026-06-10T12:00:00Z');
const CRONS = ['0 2 * * *', '30 8 * * 1-5', '0 */6 * * *', '0 2,14 * * *', '0 3 * * 0', '0 1 1 * *', '0 * * * *', '*/15 * * * *'];
const ZONES = ['UTC', 'Europe/Brussels', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'];

function policy(i: number, nextBackupAt: string): BackupPolicy {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    environment_id: `env-${i}`,
    is_enabled: true,
    schedule_cron: CRONS[i % CRONS.length]!,
    timezone: ZONES[i % ZONES.length]!,
    daily_retention: 7,
    weekly_retention: 4,
    monthly_retention: 12,
    yearly_retention: 2,
    weekly_backup_day: 6,
    storage_config_id: null,
    notify_on_success: false,
    notify_on_failure: true,
    last_backup_at: null,
    last_backup_status: null,
    next_backup_at: nextBackupAt,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

async function repository(clock: FakeClock, due: boolean): Promise<InMemoryBackupPolicyRepository> {
  const repo = new InMemoryBackupPolicyRepository(clock);
  for (let i = 0; i < COUNT; i++) {
    const p = policy(i, '');
    p.next_backup_at = due ? new Date(NOW.getTime() - 60_000 - i).toISOString() : nextRun(p.schedule_cron, p.timezone, NOW).toISOString();
    await repo.create(p);
  }
  return repo;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Number(x.toFixed(2));

let started = 0;
const starter: BackupStarter = {
  createBackup: async () => ({ id: `b-${started++}`, status: 'pending', task_id: null }),
};

// None due.
const clock = new FakeClock(NOW);
const idleRepo = await repository(clock, false);
const idle = new Scheduler({ policies: idleRepo, backups: starter, clock });
const idleRuns: number[] = [];
for (let r = 0; r < RUNS_IDLE; r++) {
  const t0 = performance.now();
  const result = await idle.tick(NOW);
  idleRuns.push(performance.now() - t0);
  if (result.triggered !== 0) throw new Error('nothing should be due');
}
const nextDueRuns: number[] = [];
for (let r = 0; r < RUNS_IDLE; r++) {
  const t0 = performance.now();
  await idleRepo.nextDueAt();
  nextDueRuns.push(performance.now() - t0);
}

// Reference: scanning the 10,000 strings once.
const stamps = (await idleRepo.listEnabled()).map((p) => p.next_backup_at!);
const scanRuns: number[] = [];
for (let r = 0; r < RUNS_IDLE; r++) {
  const t0 = performance.now();
  const limit = NOW.getTime();
  let n = 0;
  for (const s of stamps) if (Date.parse(s) <= limit) n++;
  scanRuns.push(performance.now() - t0);
  if (n !== 0) throw new Error('scan found due policies');
}

// All due.
const dueRuns: number[] = [];
for (let r = 0; r < RUNS_DUE; r++) {
  const c = new FakeClock(NOW);
  const repo = await repository(c, true);
  const s = new Scheduler({ policies: repo, backups: starter, clock: c });
  const t0 = performance.now();
  const result = await s.tick(NOW);
  dueRuns.push(performance.now() - t0);
  if (result.triggered !== COUNT || result.errors.length !== 0)
    throw new Error(`expected ${COUNT} triggered, got ${result.triggered} (${result.errors.length} errors)`);
  if ((await repo.listDue(NOW.toISOString())).length !== 0) throw new Error('policies still due after the tick');
}

// Reference: the next-slot computations alone.
const nextRunRuns: number[] = [];
for (let r = 0; r < RUNS_DUE; r++) {
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) nextRun(CRONS[i % CRONS.length]!, ZONES[i % ZONES.length]!, NOW);
  nextRunRuns.push(performance.now() - t0);
}

const results = {
  bench: 'scheduler',
  date: new Date().toISOString(),
  node: process.version,
  load_average: loadavg().map((x) => round(x)),
  policies: COUNT,
  crons: CRONS,
  timezones: ZONES,
  none_due: {
    tick_median_ms: round(median(idleRuns)),
    tick_runs_ms: idleRuns.map(round),
    target_ms: TARGET_IDLE_MS,
    within_target: median(idleRuns) < TARGET_IDLE_MS,
    next_due_at_median_ms: round(median(nextDueRuns)),
    reference: { name: `Date.parse scan of ${COUNT} next_backup_at strings`, median_ms: round(median(scanRuns)) },
    ratio_to_reference: round(median(idleRuns) / median(scanRuns)),
  },
  all_due: {
    tick_median_ms: round(median(dueRuns)),
    tick_runs_ms: dueRuns.map(round),
    per_policy_us: round((median(dueRuns) * 1000) / COUNT),
    reference: { name: `${COUNT} nextRun computations`, median_ms: round(median(nextRunRuns)) },
    ratio_to_reference: round(median(dueRuns) / median(nextRunRuns)),
  },
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
};

writeBenchResults('scheduler', results);
console.log(
  JSON.stringify(
    {
      none_due: { ...results.none_due, tick_runs_ms: undefined },
      all_due: { ...results.all_due, tick_runs_ms: undefined },
      peak_rss_mb: results.peak_rss_mb,
    },
    null,
    2,
  ),
);
