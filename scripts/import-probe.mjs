// Child process of the import bench and of the light-import test: imports one module (or none, for
// the baseline) into a fresh Node process and prints, as JSON, the RSS afterwards, how long the
// import took, and which npm packages and native addons ended up loaded.
//   node scripts/import-probe.mjs [module path or specifier]
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { performance } from 'node:perf_hooks';

const target = process.argv[2];
const started = performance.now();
if (target) await import(isAbsolute(target) ? pathToFileURL(target).href : target);
const importMs = performance.now() - started;

// CommonJS packages (every heavy provider SDK is one) and .node addons land in the require cache,
// also when an ES module imports them.
const loaded = Object.keys(createRequire(import.meta.url).cache);
const packages = new Set();
for (const file of loaded) {
  // The innermost node_modules folder names the package (nested installs included).
  const match = /.*[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(file);
  if (match) packages.add(match[1].replace('\\', '/'));
}
process.stdout.write(
  JSON.stringify({
    rss: process.memoryUsage().rss,
    import_ms: importMs,
    packages: [...packages].sort(),
    native_addons: loaded.filter((f) => f.endsWith('.node')),
  }),
);
