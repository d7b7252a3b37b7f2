/**
 * Retention planners benchmark (`npm run bench -- retention`): `planRetention` (GFS) and
 * `planKeepPolicy` (restic forget semantics) over 1,000,000 backups of one environment (a backup
 * every 5 minutes for ~9.5 years; BENCH_SCALE=0.1 makes it 100,000). Target: < 2 s each.
 *
 * Three input orders: newest-first (as repositories return them); arbitrary order with each
 * record allocated in that order (as a database driver builds rows: a JSON round trip of a
 * shuffled list); and scattered (the newest-first records themselves, visited in random order:
 * nearly every access misses the CPU caches, the worst case). The reference, timed in the same
 * run for each order, parses the 1,000,000 ISO timestamps and sorts them: the least any planner
 * over these records must do. Inputs are built before timing; the heap is collected before each
 * timed run; each figure is the median of 3 runs. Figures go to bench/results/retention.json and
 * are printed.
 */
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { writeBenchResults } from './bench-results.js';
import {
  classifyRetention,
  computeExpiry,
  planKeepPolicy,
  planRetention,
  type KeepPolicy,
  type RetentionCandidate,
  type RetentionSettings,
} from '../src/index.js';

// A full collection before each timed run, so a run does not pay for the previous run's garbage.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const COUNT = Math.round(1_000_000 * Number(process.env.BENCH_SCALE ?? 1));
const RUNS = 3;
const STEP_MS = 5 * 60_000;
const START = Date.parse('2017-01-01T00:00:00Z');
const ORDERS = ['newest-first', 'arbitrary', 'scattered'] as const;
type Order = (typeof ORDERS)[number];

const policy: RetentionSettings = {
  daily_retention: 7,
  weekly_retention: 4,
  monthly_retention: 12,
  yearly_retention: 2,
  weekly_backup_day: 6,
  timezone: 'Europe/Brussels',
};
const keep: KeepPolicy = { last: 10, hourly: 48, daily: 14, weekly: 8, monthly: 24, yearly: -1, within: '2d', within_daily: '1m' };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function shuffle<T>(list: readonly T[]): T[] {
  const out = [...list];
  let s = 42;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

console.log(`Building ${COUNT.toLocaleString('en')} backups (one every 5 minutes, ${policy.timezone})...`);
const newestFirst: RetentionCandidate[] = new Array<RetentionCandidate>(COUNT);
for (let i = 0; i < COUNT; i++) {
  const at = new Date(START + (COUNT - 1 - i) * STEP_MS);
  const type = classifyRetention(at, policy);
  newestFirst[i] = {
    id: `b${String(COUNT - i).padStart(8, '0')}`,
    environment_id: 'env-bench',
    status: 'completed',
    retention_type: type,
    expires_at: computeExpiry(at, type, policy)!.toISOString(),
    created_at: at.toISOString(),
  };
}
const backups: Record<Order, RetentionCandidate[]> = {
  'newest-first': newestFirst,
  arbitrary: JSON.parse(JSON.stringify(shuffle(newestFirst))) as RetentionCandidate[],
  scattered: shuffle(newestFirst),
};
const newestSnapshots = newestFirst.map((b) => ({ id: b.id, time: b.created_at }));
const snapshots: Record<Order, { id: string; time: string }[]> = {
  'newest-first': newestSnapshots,
  arbitrary: JSON.parse(JSON.stringify(shuffle(newestSnapshots))) as { id: string; time: string }[],
  scattered: shuffle(newestSnapshots),
};
const now = new Date(START + COUNT * STEP_MS + 3_600_000);
const keepOptions = { timezone: policy.timezone };

// Warm-up (JIT, the zone offset cache) on a slice, not timed.
planRetention(newestFirst.slice(0, 10_000), policy, now);
planKeepPolicy(newestSnapshots.slice(0, 10_000), keep, keepOptions);

interface Figure {
  runs_ms: number[];
  median_ms: number;
  summary: string;
}

function measure(fn: () => unknown, describe: (result: unknown) => string = () => ''): Figure {
  const runs: number[] = [];
  let summary = '';
  for (let r = 0; r < RUNS; r++) {
    collectGarbage();
    const t0 = performance.now();
    const result = fn();
    runs.push(performance.now() - t0);
    summary = describe(result);
  }
  return { runs_ms: runs.map((x) => Math.round(x)), median_ms: Math.round(median(runs)), summary };
}

function parseAndSort(list: readonly { created_at: string }[]): Float64Array {
  const t = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) t[i] = Date.parse(list[i]!.created_at);
  return t.sort();
}

const gfsSummary = (r: unknown) => {
  const p = r as ReturnType<typeof planRetention>;
  return `${p.expire.length} expire, ${p.promote.length} promote, ${p.keep.length} keep`;
};
const keepSummary = (r: unknown) => {
  const p = r as ReturnType<typeof planKeepPolicy>;
  return `${p.keep.length} keep, ${p.remove.length} remove`;
};

const reference = {} as Record<Order, Figure>;
const planners: Record<string, Figure & { order: Order; ratio_to_reference: number; within_target: boolean }> = {};
for (const order of ORDERS) {
  reference[order] = measure(() => parseAndSort(backups[order]));
  const ref = reference[order].median_ms;
  const gfs = measure(() => planRetention(backups[order], policy, now), gfsSummary);
  planners[`planRetention ${order}`] = {
    ...gfs,
    order,
    ratio_to_reference: Number((gfs.median_ms / ref).toFixed(2)),
    within_target: gfs.median_ms < 2000,
  };
  const kp = measure(() => planKeepPolicy(snapshots[order], keep, keepOptions), keepSummary);
  planners[`planKeepPolicy ${order}`] = {
    ...kp,
    order,
    ratio_to_reference: Number((kp.median_ms / ref).toFixed(2)),
    within_target: kp.median_ms < 2000,
  };
}

const results = {
  bench: 'retention',
  date: new Date().toISOString(),
  node: process.version,
  load_average: loadavg().map((x) => Number(x.toFixed(2))),
  count: COUNT,
  timezone: policy.timezone,
  gfs_policy: policy,
  keep_policy: keep,
  target_ms: 2000,
  reference: { name: 'Date.parse + sort of the timestamps', ...reference },
  planners,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
};

writeBenchResults('retention', results);
console.log(`load average ${results.load_average.join(' ')} (2 cores shared)`);
for (const order of ORDERS)
  console.log(
    `reference ${order.padEnd(13)} median ${String(reference[order].median_ms).padStart(5)} ms (runs ${reference[order].runs_ms.join(', ')})`,
  );
for (const [name, f] of Object.entries(planners)) {
  console.log(
    `${name.padEnd(28)} median ${String(f.median_ms).padStart(5)} ms (runs ${f.runs_ms.join(', ')}), ${f.ratio_to_reference}x reference, ${f.within_target ? 'within' : 'OVER'} the 2 s target: ${f.summary}`,
  );
}
console.log(`peak RSS ${results.peak_rss_mb} MB`);
