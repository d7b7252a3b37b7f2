import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SourceError } from '../errors/errors.js';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a PostgreSQL client program (`pg_dump`, `pg_restore`) on this host: in `binDir` when
 * given, else on PATH, else in the newest `/usr/lib/postgresql/<major>/bin` (Debian installs the
 * server's binaries there without putting them on PATH). A `pg_dump` must be at least as new as
 * the server, so the newest is the right fallback.
 *
 * Throws a `SourceError` (`E_SOURCE_PG_DUMP` for pg_dump, `E_SOURCE_PG_RESTORE` for pg_restore,
 * `E_SOURCE_PSQL` for psql, else `E_SOURCE`) that says what to install or configure.
 */
export function findPgTool(name: string, binDir?: string, searchPath = process.env.PATH ?? '', debianRoot = '/usr/lib/postgresql'): string {
  const code =
    name === 'pg_dump'
      ? 'E_SOURCE_PG_DUMP'
      : name === 'pg_restore'
        ? 'E_SOURCE_PG_RESTORE'
        : name === 'psql'
          ? 'E_SOURCE_PSQL'
          : 'E_SOURCE';
  if (binDir) {
    const path = join(binDir, name);
    if (isExecutable(path)) return path;
    throw new SourceError(code, `${name} was not found in pg_bin_dir ${binDir}: fix pg_bin_dir or install the PostgreSQL client there`, {
      details: { tool: name, pg_bin_dir: binDir, phase: 'start' },
    });
  }
  for (const dir of searchPath.split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  let versions: string[] = [];
  try {
    versions = readdirSync(debianRoot).filter((v) => /^\d+$/.test(v));
  } catch {
    /* no Debian layout */
  }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const path = join(debianRoot, v, 'bin', name);
    if (isExecutable(path)) return path;
  }
  throw new SourceError(
    code,
    `${name} was not found on PATH nor in ${debianRoot}/<version>/bin: install the PostgreSQL client (Debian: apt-get install postgresql-client) or set pg_bin_dir`,
    {
      details: { tool: name, phase: 'start' },
    },
  );
}
