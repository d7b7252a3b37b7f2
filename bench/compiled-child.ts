/**
 * Bench children run as compiled JavaScript, as a host runs the library: the bench file is
 * bundled once by esbuild (our sources and the test helpers it imports inlined, packages left
 * as imports) and started with plain `node`. Under tsx the same child carried about 38 MB of
 * esbuild service and transformed sources in its peak RSS, which no user's process has.
 */
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Inside the project, so the bundle's package imports resolve from its node_modules. */
const CACHE = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.cache');
const bundles = new Map<string, string>();
const folders: string[] = [];
process.once('exit', () => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** The path of `entry` bundled as an ESM file for `node` (built on first use, removed at exit). */
export async function compiledChild(entry: string): Promise<string> {
  const known = bundles.get(entry);
  if (known) return known;
  mkdirSync(CACHE, { recursive: true });
  const folder = mkdtempSync(join(CACHE, 'obsdk-bench-child-'));
  folders.push(folder);
  const outfile = join(folder, 'child.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
  bundles.set(entry, outfile);
  return outfile;
}

/**
 * A bench file's entry point: `--child <job JSON>` runs `child(job)` (what compiledChild's bundle
 * is started with), anything else runs `main()`. A failure prints and exits 1.
 */
export function runBench(main: () => Promise<void>, child: (job: unknown) => Promise<void>): void {
  const run = process.argv[2] === '--child' ? child(JSON.parse(process.argv[3]!)) : main();
  run.catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
