import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { SourceError } from '../errors/errors.js';
import type { DatabaseFacts, DatabaseSnapshot } from '../ports/backup-source.js';
import type { CommandRunner, CommandSpec } from '../ports/command-runner.js';
import { checkSnapshotId, quoteConninfoValue } from './pg-dump-command.js';
import { toolExitError } from './tool-errors.js';
import { startToolCommand } from './tool-stream.js';

/** The environment of a snapshot session: JSON of non-ASCII table names must reach us as UTF-8. */
export const PSQL_SESSION_ENV: Readonly<Record<string, string>> = { PGCLIENTENCODING: 'UTF8' };

/**
 * The arguments after `psql` of a snapshot session: no psqlrc, one unaligned value per line,
 * stop at the first error, never a password prompt, the database as a connection string (so a
 * name with `=` or a leading `-` is read as a name). Statements come on stdin.
 */
export function psqlSessionArgs(args: { database: string; host?: string; port?: number; user?: string }): string[] {
  const out = ['--no-psqlrc', '--quiet', '--tuples-only', '--no-align', '--set=ON_ERROR_STOP=1'];
  if (args.host) out.push(`--host=${args.host}`);
  if (args.port !== undefined) out.push(`--port=${args.port}`);
  if (args.user) out.push(`--username=${args.user}`);
  out.push('--no-password', `--dbname=dbname=${quoteConninfoValue(args.database)}`);
  return out;
}

// Each query yields exactly one line: a JSON value (JSON escapes newlines inside names).
const BEGIN =
  'BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n' +
  "SELECT json_build_object('snapshot', pg_export_snapshot(), 'server_version_num', current_setting('server_version_num')::int, " +
  "'odoo', to_regclass('ir_module_module') IS NOT NULL);\n";
const MODULES =
  "SELECT coalesce(json_object_agg(name, latest_version ORDER BY name), '{}') FROM ir_module_module WHERE state = 'installed';\n";
// query_to_xml runs one count(*) per table inside this same statement (so in the snapshot); the
// partitions of a partitioned table are counted in their parent only.
const ROW_COUNTS =
  "SELECT coalesce(json_object_agg(label, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', nspname, relname), false, true, '')))[1]::text::bigint ORDER BY label), '{}') " +
  "FROM (SELECT n.nspname, c.relname, CASE WHEN n.nspname = 'public' THEN c.relname::text ELSE n.nspname || '.' || c.relname END AS label " +
  'FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ' +
  "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') " +
  "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%') t;\n";

/** How long {@link DatabaseSnapshot.close} waits for psql to commit and exit before killing it. */
const CLOSE_WAIT_MS = 10_000;

/** What {@link openSnapshotSession} runs. */
export interface SnapshotSessionRequest {
  runner: CommandRunner;
  /** A psql session reading statements from stdin (`input: true`), with {@link psqlSessionArgs}. */
  spec: CommandSpec;
  /** For messages: `in container x_db`, `on odoo@vm:22`. */
  where?: string;
  /** Values to redact from messages (the password). */
  secrets?: readonly string[];
  recordRowCounts?: boolean;
  /** Aborting kills psql. */
  signal?: AbortSignal;
}

/**
 * Starts psql, opens a `REPEATABLE READ, READ ONLY` transaction, exports its snapshot and
 * resolves with it once the id is known; the facts (installed modules when there is an
 * `ir_module_module`, row counts when asked) are read next in the same transaction, while the
 * caller starts `pg_dump --snapshot`. When the id cannot be read (psql missing, the database
 * does not exist, connection refused) kills psql and rejects with `E_SOURCE_PG_DUMP` (see
 * {@link asDumpError}).
 */
export async function openSnapshotSession(request: SnapshotSessionRequest): Promise<DatabaseSnapshot> {
  const { where, secrets = [] } = request;
  const command = await startToolCommand({ ...request, tool: 'psql', phase: 'snapshot', secrets }).catch((error: unknown) => {
    throw asDumpError(error);
  });
  const lines = new LineReader(command.stdout);
  const exited = command.wait();
  const failure = async (what: string): Promise<unknown> => {
    const exit = await exited;
    if (exit.code !== 0) return asDumpError(toolExitError('psql', 'snapshot', exit, { where, secrets }));
    return new SourceError('E_SOURCE_PG_DUMP', `The snapshot session (psql) ended without ${what}${where ? ` (${where})` : ''}`, {
      details: { tool: 'psql', phase: 'dump', step: 'snapshot', stderr_tail: exit.stderrTail },
    });
  };
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // COMMIT after whatever was asked (psql runs its input in order), then end of input: psql exits.
      command.stdin.end('COMMIT;\n');
      const timer = setTimeout(() => command.kill(), CLOSE_WAIT_MS);
      timer.unref?.();
      await exited.catch(() => undefined);
      clearTimeout(timer);
    })();
    return closing;
  };

  let head: { snapshot: string; server_version_num: number; odoo: boolean };
  try {
    command.stdin.write(BEGIN);
    const line = await lines.next();
    if (line === null) throw await failure('exporting a snapshot');
    head = JSON.parse(line) as typeof head;
    checkSnapshotId(head.snapshot);
  } catch (error) {
    command.kill();
    await exited.catch(() => undefined);
    throw error;
  }
  if (head.odoo) command.stdin.write(MODULES);
  if (request.recordRowCounts) command.stdin.write(ROW_COUNTS);
  const facts = (async (): Promise<DatabaseFacts> => {
    const read = async (what: string): Promise<unknown> => {
      const line = await lines.next();
      if (line === null) throw await failure(what);
      return JSON.parse(line);
    };
    const modules = head.odoo ? ((await read('listing the installed modules')) as Record<string, string | null>) : null;
    const rowCounts = request.recordRowCounts ? ((await read('counting the rows')) as Record<string, number>) : undefined;
    return { serverVersionNum: Number(head.server_version_num), modules, ...(rowCounts ? { rowCounts } : {}) };
  })();
  // The caller may close (a failed backup) without ever awaiting the facts.
  facts.catch(() => undefined);
  return { id: head.snapshot, facts, close };
}

/**
 * A failure of the snapshot session as a failure of the dump it serves (`E_SOURCE_PG_DUMP`,
 * `details.step: 'snapshot'`): a database that does not exist, a refused connection or a wrong
 * password stop the session before pg_dump starts, and hosts keep seeing the code (and the retry
 * decision, from PostgreSQL's own words) they saw when pg_dump met them first.
 */
export function asDumpError(error: unknown): unknown {
  if (!(error instanceof SourceError) || !error.code.startsWith('E_SOURCE_PSQL')) return error;
  const message = error.message.replace(/^psql (failed|could not be started)/, "pg_dump's snapshot session (psql) $1");
  return new SourceError('E_SOURCE_PG_DUMP', message, {
    details: { ...error.details, phase: 'dump', step: 'snapshot' },
    transient: error.transient,
    cause: error,
  });
}

/** Lines of a stream, one at a time; null once it ended. */
class LineReader {
  private readonly decoder = new StringDecoder('utf8');
  private buffered = '';
  private ended = false;
  private waiting: (() => void) | null = null;

  constructor(stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      this.buffered += this.decoder.write(chunk);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.on('error', end);
  }

  async next(): Promise<string | null> {
    for (;;) {
      const at = this.buffered.indexOf('\n');
      if (at >= 0) {
        const line = this.buffered.slice(0, at);
        this.buffered = this.buffered.slice(at + 1);
        return line;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}
