import pc from 'picocolors';
import { ERROR_CODES } from 'odoo-backup-sdk';
import { exitCodeOf } from './exit-codes.js';

/** The streams and variables the CLI writes with (a test gives its own). */
export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** The `{ error }` document `--json` prints on failure. */
export interface ErrorDocument {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** A failure as the CLI reports it: a code from the catalogue, a message, details. */
export function errorDocument(error: unknown): ErrorDocument {
  if (error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string') {
    const e = error as { code: string; message?: unknown; details?: unknown };
    // Only the catalogue's codes: a Node error's own (`ENOENT`) is an unexpected failure.
    const code = Object.hasOwn(ERROR_CODES, e.code) ? e.code : 'E_UNEXPECTED';
    return {
      error: {
        code,
        message: typeof e.message === 'string' ? e.message : String(error),
        details: e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {},
      },
    };
  }
  return { error: { code: 'E_UNEXPECTED', message: error instanceof Error ? error.message : String(error), details: {} } };
}

/**
 * Where a command's words go: with `--json`, stdout holds exactly one JSON document (the result
 * in the SDK's shapes, or `{ error }`); without it, tables and sentences for a person. Progress,
 * warnings and logs always go to stderr. Colours only on a terminal (not piped, not
 * `TERM=dumb`, not `NO_COLOR`).
 */
export class Output {
  /** stderr is an interactive terminal: progress may redraw in place. */
  readonly interactive: boolean;
  readonly colors: ReturnType<typeof pc.createColors>;
  private written = false;

  constructor(
    readonly json: boolean,
    readonly streams: Streams,
  ) {
    const dumb = streams.env.TERM === 'dumb';
    this.interactive = Boolean(streams.stderr.isTTY) && !dumb;
    const noColor = streams.env.NO_COLOR !== undefined && streams.env.NO_COLOR !== '';
    this.colors = pc.createColors(this.interactive && !noColor);
  }

  /** The command's result: `value` as JSON with `--json`, else `human()` as text. Written once. */
  result(value: unknown, human: () => string): void {
    if (this.written) return;
    this.written = true;
    if (this.json) this.streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = human();
      if (text) this.streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** A log line on stderr. */
  info(line: string): void {
    this.streams.stderr.write(`${line}\n`);
  }

  warn(line: string): void {
    this.streams.stderr.write(`${this.colors.yellow('warning:')} ${line}\n`);
  }

  /** Reports a failure (stderr, and the `{ error }` document with `--json`) and returns the exit status. */
  fail(error: unknown): number {
    const doc = errorDocument(error);
    this.streams.stderr.write(`${this.colors.red('error:')} ${doc.error.code} ${doc.error.message}\n`);
    const issues = doc.error.details.issues;
    if (Array.isArray(issues))
      for (const issue of issues as { field?: string; message?: string }[])
        this.streams.stderr.write(`  ${issue.field}: ${issue.message}\n`);
    if (this.json && !this.written) {
      this.written = true;
      this.streams.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    }
    return exitCodeOf(doc.error.code);
  }
}

/** Bytes for a person: `1.2 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A plain text table: a header row and rows, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
