import type { Readable } from 'node:stream';
import type { SourceStream } from '../ports/backup-source.js';
import type { CommandRunner } from '../ports/command-runner.js';
import { findPgTool } from './find-pg-tool.js';
import { LocalCommandRunner } from './local-command-runner.js';
import { startToolStream } from './tool-stream.js';

/** Options of {@link pgRestoreToPlainSql}. */
export interface PlainSqlExportOptions {
  /** Folder holding `pg_restore`; default PATH, then the newest Debian `/usr/lib/postgresql/<major>/bin`. */
  pgBinDir?: string;
  /** Runs the command (default: this host). */
  runner?: CommandRunner;
  /** Aborting kills pg_restore; `done` then rejects with `E_ABORTED`. */
  signal?: AbortSignal;
}

/**
 * `pg_restore --no-owner --no-privileges --file=-` on this host, with a `pg_dump -Fc` stream on
 * its stdin: the dump as plain SQL on its stdout, with no connection to any server. Objects are
 * left without owner and grants, so the script restores as whichever role runs it (Odoo's own
 * dumps use `--no-owner` for the same reason; grants name roles the other server may not have).
 * The newest pg_restore found reads dumps of every older pg_dump; a dump newer than it fails with
 * `E_SOURCE_PG_RESTORE` (`unsupported version ... in file header`).
 */
export async function pgRestoreToPlainSql(dump: Readable, options: PlainSqlExportOptions = {}): Promise<SourceStream> {
  const program = findPgTool('pg_restore', options.pgBinDir);
  return startToolStream({
    runner: options.runner ?? new LocalCommandRunner(),
    spec: { argv: [program, '--no-owner', '--no-privileges', '--file=-'], input: true },
    tool: 'pg_restore',
    phase: 'export',
    input: dump,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
