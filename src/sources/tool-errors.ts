import { SourceError } from '../errors/errors.js';
import type { CommandExit } from '../ports/command-runner.js';
import { redactSecrets } from './redact-secrets.js';

/**
 * Which tool of a source or restore target failed; `shell` is a file utility of a restore target
 * (`mkdir`, `mv`, `rm`, `test`, `mktemp`, `df`).
 */
export type SourceTool = 'pg_dump' | 'tar' | 'psql' | 'pg_restore' | 'shell';

/** The step of a source or restore target during which a failure happened; `error_details.phase`. */
export type SourcePhase =
  | 'snapshot'
  | 'dump'
  | 'filestore'
  | 'filestore_probe'
  | 'restore_inspect'
  | 'restore_sql'
  | 'restore_list'
  | 'restore_dump'
  | 'restore_filestore'
  | 'restore_files'
  | 'export';

/** Error codes of failed tools. */
export type SourceToolErrorCode = 'E_SOURCE_PG_DUMP' | 'E_SOURCE_TAR' | 'E_SOURCE_PSQL' | 'E_SOURCE_PG_RESTORE' | 'E_SOURCE_FILES';

const CODES: Record<SourceTool, SourceToolErrorCode> = {
  pg_dump: 'E_SOURCE_PG_DUMP',
  tar: 'E_SOURCE_TAR',
  psql: 'E_SOURCE_PSQL',
  pg_restore: 'E_SOURCE_PG_RESTORE',
  shell: 'E_SOURCE_FILES',
};

/** The error code used for failures of `tool`. */
export function toolErrorCode(tool: SourceTool): SourceToolErrorCode {
  return CODES[tool];
}

const PG_TOOLS = new Set<SourceTool>(['pg_dump', 'psql', 'pg_restore']);

// pg_dump failures that are worth retrying: the server was down, restarting, or the link broke.
const TRANSIENT_PG =
  /Connection refused|timeout expired|could not connect|the database system is (starting up|shutting down|in recovery mode)|server closed the connection unexpectedly|too many clients|Connection reset/i;

// GNU tar exits 1 on a live folder when a file changed or vanished while it was read. Odoo's
// filestore is content-addressed (files are written once, then only added or removed), so these
// warnings still leave a consistent archive of what existed: not a failure.
const TAR_BENIGN = /(file changed as we read it|file removed before we read it|socket ignored)$/;

/** Whether `exit` of `tool` counts as success. */
export function isToolSuccess(tool: SourceTool, exit: CommandExit): boolean {
  if (exit.code === 0) return true;
  if (tool === 'tar' && exit.code === 1) {
    const lines = meaningfulLines(exit.stderrTail).filter((l) => !/^tar: Exiting with failure status/.test(l));
    return lines.length > 0 && lines.every((l) => TAR_BENIGN.test(l));
  }
  return false;
}

/**
 * The typed error for a tool that ended badly: a message a person can act on
 * (`pg_dump failed: database "x" does not exist (server at "127.0.0.1", port 5432)`), and
 * details with the exit code, signal, stderr tail and phase. Secrets are redacted from both.
 */
export function toolExitError(
  tool: SourceTool,
  phase: SourcePhase,
  exit: CommandExit,
  context: { where?: string; secrets?: readonly (string | undefined)[]; program?: string } = {},
): SourceError {
  const secrets = context.secrets ?? [];
  const stderrTail = redactSecrets(exit.stderrTail, secrets);
  const reason =
    summarize(tool, stderrTail) ??
    (exit.code !== null ? `exited with code ${exit.code}` : `was killed by signal ${exit.signal ?? 'unknown'}`);
  const where = context.where ? ` (${context.where})` : '';
  const name = tool === 'shell' && context.program ? context.program : tool;
  const message = redactSecrets(`${name} failed${where}: ${reason}`, secrets);
  return new SourceError(toolErrorCode(tool), message, {
    details: { tool: name, phase, exit_code: exit.code, signal: exit.signal, stderr_tail: stderrTail },
    transient: PG_TOOLS.has(tool) && TRANSIENT_PG.test(stderrTail),
  });
}

function meaningfulLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

function summarize(tool: SourceTool, stderr: string): string | null {
  const lines = meaningfulLines(stderr);
  if (lines.length === 0) return null;
  if (PG_TOOLS.has(tool)) {
    const error = lines.find((l) => /^(pg_dump|pg_restore|psql): error: /.test(l));
    // psql -c reports a failed statement as "ERROR:  database "x" already exists".
    const statement = lines.find((l) => /^(?:psql:[^:]*:\d+: )?(ERROR|FATAL):\s+/.test(l));
    if (!error && statement) return statement.replace(/^(?:psql:[^:]*:\d+: )?(ERROR|FATAL):\s+/, '');
    if (error) {
      const text = error.replace(/^(pg_dump|pg_restore|psql): error: /, '');
      // libpq: connection to server at "h" (addr), port N failed: FATAL:  database "x" does not exist
      const conn = /^connection to server (.+?) failed: (?:(?:FATAL|ERROR):\s+)?(.*)$/.exec(text);
      if (conn) return `${conn[2]!} (server ${conn[1]!})`;
      return text;
    }
  }
  if (tool === 'tar') {
    const error = lines.find(
      (l) =>
        /^tar: /.test(l) && !/^tar: (Exiting with failure status|Error is not recoverable)/.test(l) && !/^tar: Removing leading/.test(l),
    );
    if (error) return error.replace(/^tar: /, '');
  }
  // docker ("Error response from daemon: ..."), a shell ("sh: 1: pg_dump: not found"), or anything else.
  return lines.find((l) => /error|not found|denied|no such/i.test(l)) ?? lines[lines.length - 1]!;
}
