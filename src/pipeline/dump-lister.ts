import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { AbortedError, SourceError } from '../errors/errors.js';

/** What listing a dump's table of contents found. */
export interface DumpListing {
  /** TOC entries (`pg_restore --list` lines that are not comments). */
  entries: number;
  /** Entries that carry table data (`TABLE DATA`). */
  table_data: number;
}

/**
 * Reads a `pg_dump -Fc` stream and lists its table of contents, proving it is a dump
 * `pg_restore` can read. It may stop reading early (the TOC is at the start): the caller keeps
 * draining its own copy. Rejects with a `SourceError` (`E_SOURCE_PG_RESTORE`) when the dump is unreadable.
 */
export type DumpLister = (dump: Readable, options: { signal: AbortSignal }) => Promise<DumpListing>;

/** Options of {@link pgRestoreLister}. */
export interface PgRestoreListerOptions {
  /** Folder holding `pg_restore`; default: the newest /usr/lib/postgresql/N/bin, else PATH. */
  binDir?: string;
}

const STDERR_TAIL = 4096;

/**
 * The `pg_restore` to use: `binDir/pg_restore` when given, else the newest Debian
 * /usr/lib/postgresql/N/bin/pg_restore (newer ones read older dumps), else the first on PATH; null when none.
 */
export function findPgRestore(binDir?: string): string | null {
  if (binDir) return existsSync(join(binDir, 'pg_restore')) ? join(binDir, 'pg_restore') : null;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_restore'))) return join(root, v, 'bin', 'pg_restore');
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter))
    if (dir && existsSync(join(dir, 'pg_restore'))) return join(dir, 'pg_restore');
  return null;
}

/** A {@link DumpLister} running the local `pg_restore --list` on the dump's bytes (read from stdin). */
export function pgRestoreLister(options: PgRestoreListerOptions = {}): DumpLister {
  return (dump, { signal }) =>
    new Promise<DumpListing>((resolve, reject) => {
      const bin = findPgRestore(options.binDir);
      if (!bin) {
        dump.resume();
        reject(
          new SourceError(
            'E_SOURCE_PG_RESTORE',
            'pg_restore was not found, so the dump could not be listed: install the PostgreSQL client (Debian: apt-get install postgresql-client)',
            {
              details: { phase: 'verify' },
            },
          ),
        );
        return;
      }
      if (signal.aborted) return reject(new AbortedError('pg_restore --list', signal.reason));
      const child = spawn(bin, ['--list'], { stdio: ['pipe', 'pipe', 'pipe'], signal });
      let entries = 0;
      let tableData = 0;
      let partial = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) count(line);
      });
      const count = (line: string) => {
        if (line.trim() === '' || line.startsWith(';')) return;
        entries++;
        if (line.includes(' TABLE DATA ')) tableData++;
      };
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderr = (stderr + text).slice(-STDERR_TAIL);
      });
      // pg_restore stops reading once it has the TOC: a broken pipe here is expected.
      child.stdin.on('error', () => undefined);
      dump.on('error', () => child.stdin.destroy());
      dump.pipe(child.stdin);
      child.on('error', (error) => {
        dump.unpipe(child.stdin);
        dump.resume();
        reject(
          signal.aborted
            ? new AbortedError('pg_restore --list', signal.reason)
            : new SourceError('E_SOURCE_PG_RESTORE', `pg_restore could not be started: ${error.message}`, {
                cause: error,
                details: { phase: 'verify' },
              }),
        );
      });
      child.on('close', (code, sig) => {
        dump.unpipe(child.stdin);
        dump.resume();
        if (partial) count(partial);
        if (code === 0 && entries > 0) return resolve({ entries, table_data: tableData });
        if (signal.aborted) return reject(new AbortedError('pg_restore --list', signal.reason));
        const tail = stderr.trim();
        reject(
          new SourceError(
            'E_SOURCE_PG_RESTORE',
            `pg_restore --list could not read the dump${code === 0 ? ' (it lists no entries)' : ` (exit code ${code ?? sig})`}${tail ? `: ${tail.split('\n').slice(-3).join(' ')}` : ''}`,
            {
              details: { phase: 'verify', exit_code: code, signal: sig, stderr_tail: tail },
            },
          ),
        );
      });
    });
}
