import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UnsupportedOperationError } from '../errors/errors.js';
import { RestoreError } from '../errors/restore-error.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import { SqlScriptGuard, type SqlScriptGuardStats } from './sql-script-guard.js';

/** Options of {@link restorePlainSql}. */
export interface RestorePlainSqlOptions {
  target: RestoreTarget;
  /** The database to create and fill (must not exist). */
  database: string;
  /** The plain SQL script (pg_dump plain format, Odoo's `dump.sql`). */
  script: Readable;
  /** Run even when the target's role is a superuser or may run server programs. Default false. */
  allowPrivilegedRole?: boolean;
  /** Where the checked script is staged on this host (default: the OS temp folder). */
  stagingDir?: string;
  /** The script's name in messages (default `dump.sql`). */
  name?: string;
  signal?: AbortSignal;
}

/** What {@link restorePlainSql} did. */
export interface RestorePlainSqlResult extends SqlScriptGuardStats {
  database: string;
}

/**
 * Restores a plain SQL script from outside into a new database, treating it as the code it is:
 *
 * 1. The target's role is checked first: plain SQL runs with its rights, and a superuser (or a
 *    member of `pg_execute_server_program`) can run programs on the database host through
 *    `COPY ... FROM PROGRAM`: refused with `E_RESTORE_PRIVILEGES` unless `allowPrivilegedRole`.
 * 2. The whole script passes {@link SqlScriptGuard} while it is staged in a private temp folder on
 *    this host; `E_IMPORT_UNSAFE` stops it there, before any database exists or psql starts.
 * 3. Only then is the database created and the staged script run by `psql -X -v ON_ERROR_STOP=1`
 *    (with `\restrict` on a psql that honours it); on failure the database is dropped again.
 *
 * The staging folder is removed on every path. It needs as much free space as the script.
 */
export async function restorePlainSql(options: RestorePlainSqlOptions): Promise<RestorePlainSqlResult> {
  const { target, database, signal } = options;
  if (!target.runSqlScript) {
    throw new UnsupportedOperationError('runSqlScript', `The ${target.kind} restore target`, 'it cannot import plain SQL');
  }
  const facts = await target.inspect({ signal });
  if (facts.privilegedRole !== false && !options.allowPrivilegedRole) {
    throw new RestoreError(
      'E_RESTORE_PRIVILEGES',
      `Role ${facts.role} is a superuser or may run server programs: plain SQL imported as it could run programs on the database host (COPY ... FROM PROGRAM). Import with a role without those rights, or pass allow_privileged_role`,
      { details: { role: facts.role, reason: 'privileged_role' } },
    );
  }
  const staging = await mkdtemp(join(options.stagingDir ?? tmpdir(), 'obsdk-sql-'));
  try {
    const file = join(staging, 'script.sql');
    const guard = new SqlScriptGuard({ name: options.name ?? 'dump.sql' });
    await pipeline(options.script, guard, createWriteStream(file, { mode: 0o600 }), { signal });
    await target.createDatabase(database, { signal });
    try {
      await target.runSqlScript(database, createReadStream(file), { signal });
    } catch (error) {
      await target.dropDatabase(database).catch(() => undefined);
      throw error;
    }
    return { database, ...guard.stats };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
