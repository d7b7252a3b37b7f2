import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UnsupportedOperationError } from '../errors/errors.js';
import { RestoreError } from '../errors/restore-error.js';
import type { RestoreTarget, RestoreTargetFacts } from '../ports/restore-target.js';
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
  await checkPlainSqlRole(target, options.allowPrivilegedRole ?? false, signal);
  const staged = await stagePlainSql(options.script, { name: options.name ?? 'dump.sql', stagingDir: options.stagingDir, signal });
  try {
    await runStagedSql(target, database, staged, signal);
    return { database, ...staged.stats };
  } finally {
    await staged.dispose();
  }
}

/**
 * Step 1 of a plain SQL import: the target must be able to run SQL scripts, and its role must not
 * be privileged (superuser, `pg_execute_server_program`) unless `allowPrivilegedRole`; otherwise
 * `E_RESTORE_PRIVILEGES`. Returns the target's facts.
 */
export async function checkPlainSqlRole(
  target: RestoreTarget,
  allowPrivilegedRole: boolean,
  signal?: AbortSignal,
): Promise<RestoreTargetFacts> {
  if (!target.runSqlScript) {
    throw new UnsupportedOperationError('runSqlScript', `The ${target.kind} restore target`, 'it cannot import plain SQL');
  }
  const facts = await target.inspect({ signal });
  if (facts.privilegedRole !== false && !allowPrivilegedRole) {
    throw new RestoreError(
      'E_RESTORE_PRIVILEGES',
      `Role ${facts.role} is a superuser or may run server programs: plain SQL imported as it could run programs on the database host (COPY ... FROM PROGRAM). Import with a role without those rights, or pass allow_privileged_role`,
      { details: { role: facts.role, reason: 'privileged_role' } },
    );
  }
  return facts;
}

/** A plain SQL script that passed the guard, staged in a private folder on this host. */
export interface StagedSql {
  /** The staged file. */
  file: string;
  stats: SqlScriptGuardStats;
  /** Removes the staging folder. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Step 2: the whole script through {@link SqlScriptGuard} into a private temp folder
 * (`E_IMPORT_UNSAFE` stops it there; the folder is then removed). Nothing exists on the target yet.
 */
export async function stagePlainSql(
  script: Readable | AsyncIterable<Buffer>,
  options: { name: string; stagingDir?: string | undefined; signal?: AbortSignal | undefined },
): Promise<StagedSql> {
  const staging = await mkdtemp(join(options.stagingDir ?? tmpdir(), 'obsdk-sql-'));
  const dispose = () => rm(staging, { recursive: true, force: true });
  try {
    const file = join(staging, 'script.sql');
    const guard = new SqlScriptGuard({ name: options.name });
    await pipeline(script, guard, createWriteStream(file, { mode: 0o600 }), options.signal ? { signal: options.signal } : {});
    return { file, stats: guard.stats, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Step 3: creates `database` and runs the staged script into it with psql; the database is dropped again if psql fails. */
export async function runStagedSql(target: RestoreTarget, database: string, staged: StagedSql, signal?: AbortSignal): Promise<void> {
  if (!target.runSqlScript) {
    throw new UnsupportedOperationError('runSqlScript', `The ${target.kind} restore target`, 'it cannot import plain SQL');
  }
  await target.createDatabase(database, { signal });
  try {
    await target.runSqlScript(database, createReadStream(staged.file), { signal });
  } catch (error) {
    await target.dropDatabase(database).catch(() => undefined);
    throw error;
  }
}
