// `npm run prepare` (run by `npm ci` / `npm install`) and the first step of `npm test`: builds what
// the CLI needs to run from a checkout, so `npx odoo-backup --version` works after `npm ci`.
//  1. the library's dist/ (`npm run build`: tsc), unless it is newer than every file in src/
//     (`npm pack` runs prepack's build just before this; a second build would add nothing);
//  2. the CLI's cli/dist/odoo-backup.js (esbuild, well under a second).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time of any file under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

function run(args, cwd = root) {
  const r = spawnSync(process.execPath, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const built = join(root, 'dist', 'index.js');
const fresh =
  existsSync(built) && statSync(built).mtimeMs >= Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.build.json')).mtimeMs);
if (!fresh) {
  const started = Date.now();
  const npm = process.env.npm_execpath;
  if (npm) run([npm, 'run', '--silent', 'build']);
  else {
    const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  console.error(`prepare: built the library in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
run([join(root, 'cli', 'build.mjs')]);
