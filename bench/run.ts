/**
 * `npm run bench`: runs every bench/*.bench.ts as its own process (so each one's peak RSS is its
 * own), in name order, and prints where each wrote its figures. `npm run bench -- pipeline`
 * runs only the benches whose name contains "pipeline". Sizes scale with BENCH_SCALE.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stockServerResultsName } from './hide-fast-gzip.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (benches.length === 0) {
  console.error(`No bench matched ${filters.join(', ') || '(any)'}`);
  process.exit(1);
}

let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file} ===`);
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    failed++;
    console.error(`${file} failed (exit ${result.status ?? result.signal}) after ${seconds} s`);
  } else {
    const name = file.replace('.bench.ts', '');
    // Only the pipeline and restore benches hide igzip and pigz; the others ignore the option.
    const results = name === 'pipeline' || name === 'restore' ? stockServerResultsName(name) : name;
    console.log(`${file} done in ${seconds} s; figures in bench/results/${results}.json`);
  }
}
process.exit(failed === 0 ? 0 : 1);
