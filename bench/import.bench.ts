/**
 * What importing the package costs a host: RSS added over bare Node and import time, for the root,
 * `odoo-backup-sdk/testing` and the retention/schedule functions, from the built dist/ (what users
 * run; the bench builds it first unless BENCH_IMPORT_NO_BUILD=1). Each figure is the median of
 * RUNS pairs of fresh child processes (scripts/import-probe.mjs), one importing the module and one
 * importing nothing. Target: the root adds at most 25 MB (before lazy provider SDKs: +39 MB).
 * Also records which provider SDKs the import loaded: none is the rule.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBenchResults } from './bench-results.js';

const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 5);
const TARGET_ROOT_RSS_MB = 25;
const HEAVY = ['@aws-sdk/client-s3', 'basic-ftp', 'ssh2', 'ssh2-sftp-client'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const probe = join(root, 'scripts/import-probe.mjs');
const ENTRIES = {
  root: 'dist/index.js',
  testing: 'dist/testing/index.js',
  'retention and schedule functions': 'dist/domain/retention-plan.js',
} as const;

interface ProbeReport {
  rss: number;
  import_ms: number;
  packages: string[];
  native_addons: string[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Number(x.toFixed(1));
const probeOnce = (target?: string): ProbeReport =>
  JSON.parse(execFileSync(process.execPath, [probe, ...(target ? [join(root, target)] : [])], { encoding: 'utf8' })) as ProbeReport;

if (process.env.BENCH_IMPORT_NO_BUILD !== '1') {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}

const entries: Record<string, unknown> = {};
for (const [name, file] of Object.entries(ENTRIES)) {
  const added: number[] = [];
  const times: number[] = [];
  let last: ProbeReport | undefined;
  for (let i = 0; i < RUNS; i++) {
    const base = probeOnce();
    last = probeOnce(file);
    added.push((last.rss - base.rss) / 2 ** 20);
    times.push(last.import_ms);
  }
  entries[name] = {
    module: file,
    added_rss_median_mb: round(median(added)),
    added_rss_runs_mb: added.map(round),
    import_median_ms: round(median(times)),
    provider_sdks_loaded: last!.packages.filter((p) => HEAVY.includes(p)),
    native_addons_loaded: last!.native_addons.length,
  };
}

const rootFigure = (entries.root as { added_rss_median_mb: number }).added_rss_median_mb;
const results = {
  bench: 'import',
  date: new Date().toISOString(),
  node: process.version,
  load_average: loadavg().map((x) => Number(x.toFixed(2))),
  runs: RUNS,
  target_root_added_rss_mb: TARGET_ROOT_RSS_MB,
  within_target: rootFigure <= TARGET_ROOT_RSS_MB,
  before_lazy_sdks: { added_rss_median_mb: 39.4, note: 'root import with the provider SDKs loaded eagerly (same machine, Node 20.20.2)' },
  entries,
};

writeBenchResults('import', results);
console.log(JSON.stringify({ within_target: results.within_target, entries }, null, 2));
if (!results.within_target) process.exitCode = 1;
