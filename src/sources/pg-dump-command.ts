import { ValidationError } from '../errors/errors.js';

/** What one `pg_dump -Fc` invocation needs. */
export interface PgDumpArgs {
  database: string;
  host?: string;
  port?: number;
  user?: string;
  /** `-Z` level 0-9; omitted: pg_dump's default. */
  compressionLevel?: number;
  /** `--snapshot=<id>`: an id `pg_export_snapshot()` returned. */
  snapshot?: string;
}

/** What `pg_export_snapshot()` returns (`00000003-0000001B-1`): hex words and a counter. */
const SNAPSHOT_ID = /^[0-9A-F]+(?:-[0-9A-F]+)+$/i;

/** Throws a `ValidationError` unless `id` looks like a snapshot id (or is undefined): it becomes an argument. */
export function checkSnapshotId(id: string | undefined): void {
  if (id !== undefined && !(typeof id === 'string' && SNAPSHOT_ID.test(id)))
    throw new ValidationError([{ field: 'snapshot', message: `is not a snapshot id pg_export_snapshot() returns: ${JSON.stringify(id)}` }]);
}

/**
 * Quotes a value for a libpq connection string: single quotes, with `\` and `'` backslash-escaped.
 * Any byte sequence (spaces, `=`, quotes, newlines) then reads back as exactly that value.
 */
export function quoteConninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Throws a `ValidationError` unless `level` is a whole number 0-9 (or undefined). */
export function checkCompressionLevel(level: number | undefined): void {
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
    throw new ValidationError([{ field: 'compressionLevel', message: `must be a whole number from 0 to 9, got ${String(level)}` }]);
  }
}

/**
 * The arguments after the program name of `pg_dump -Fc`. The database goes in as a connection
 * string (`--dbname=dbname='...'`): given bare, pg_dump would read a name containing `=` as
 * connection options, and a name starting with `-` as an option. `--no-password` keeps pg_dump
 * from ever waiting on a prompt: the password comes from PGPASSWORD or not at all.
 */
export function pgDumpArgs(args: PgDumpArgs): string[] {
  checkCompressionLevel(args.compressionLevel);
  checkSnapshotId(args.snapshot);
  const out = ['-Fc'];
  if (args.compressionLevel !== undefined) out.push(`-Z${args.compressionLevel}`);
  if (args.snapshot !== undefined) out.push(`--snapshot=${args.snapshot}`);
  if (args.host) out.push(`--host=${args.host}`);
  if (args.port !== undefined) out.push(`--port=${args.port}`);
  if (args.user) out.push(`--username=${args.user}`);
  out.push('--no-password', `--dbname=dbname=${quoteConninfoValue(args.database)}`);
  return out;
}
