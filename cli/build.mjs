// Builds the CLI into dist/odoo-backup.js: one ES module, its npm dependencies (the library
// included) left as imports. esbuild only transpiles; `npm run typecheck` at the root checks the
// types. Fast enough for the root `prepare` script, which runs it after every `npm ci`.
import { chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, 'dist', 'odoo-backup.js');
rmSync(join(here, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  // Not the root tsconfig.json: its `paths` point the library's name at its sources (for type
  // checks); here it must stay an import of the built package.
  tsconfigRaw: {},
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
