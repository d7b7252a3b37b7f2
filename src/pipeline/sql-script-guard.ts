import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from '../errors/errors.js';
import { PsqlLineLexer, UnsafeSqlLine, type UnsafeSqlReason } from './psql-line-lexer.js';

/** Options of {@link SqlScriptGuard}. */
export interface SqlScriptGuardOptions {
  /**
   * Written first as `\restrict KEY`, for a psql that knows the command and no longer expands
   * backticks in its argument: psql then refuses every meta-command until `\unrestrict KEY`,
   * which the script cannot name. Letters and digits only.
   */
  restrictKey?: string;
  /** Longest SQL line (outside COPY data) held in memory, in bytes. Default 64 MiB. */
  maxSqlLineBytes?: number;
  /** The script's name in messages (default `dump.sql`). */
  name?: string;
}

/** What {@link SqlScriptGuard} saw, once it finished. */
export interface SqlScriptGuardStats {
  lines: number;
  /** `\restrict` / `\unrestrict` lines left out. */
  droppedLines: number;
  /** `COPY ... FROM stdin` data blocks. */
  copyBlocks: number;
}

const DEFAULT_MAX_SQL_LINE = 64 * 1024 * 1024;
const NEWLINE = 0x0a;
const NEWLINE_BYTE = Buffer.from('\n');

/**
 * A plain SQL script (`pg_dump` plain format, Odoo's `dump.sql`) is code: psql runs its
 * meta-commands (`\! cmd`, `\copy ... from program`, `\i file`, `\o |cmd`) on the host where psql
 * runs. This transform passes the script through unchanged while reading it the way psql will
 * (see psql-line-lexer.ts), and fails with `E_IMPORT_UNSAFE` at the first line that could make
 * psql do anything but send SQL and COPY data: any meta-command but the `\.` ending COPY data and
 * pg_dump's own `\restrict KEY` / `\unrestrict KEY` lines (left out, so psql versions that do not
 * know them do not stop), and a client_encoding other than UTF8.
 *
 * Memory: one SQL line at most (`maxSqlLineBytes`); COPY data flows through unbuffered.
 * The output must not reach psql before the guard finished: stage it (a file), then run psql.
 */
export class SqlScriptGuard extends Transform {
  private readonly lexer = new PsqlLineLexer();
  private readonly maxSqlLine: number;
  private readonly scriptName: string;
  private restrictLine: Buffer | null;
  private inCopyData = false;
  private lineNumber = 1;
  /** SQL mode: the pieces of the current line. COPY mode: the first bytes of the current line. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly counts: SqlScriptGuardStats = { lines: 0, droppedLines: 0, copyBlocks: 0 };

  constructor(options: SqlScriptGuardOptions = {}) {
    super();
    this.maxSqlLine = options.maxSqlLineBytes ?? DEFAULT_MAX_SQL_LINE;
    this.scriptName = options.name ?? 'dump.sql';
    if (options.restrictKey !== undefined && !/^[A-Za-z0-9]{1,256}$/.test(options.restrictKey)) {
      throw new TypeError('restrictKey must be 1-256 letters and digits');
    }
    this.restrictLine = options.restrictKey === undefined ? null : Buffer.from(`\\restrict ${options.restrictKey}\n`);
  }

  /** Line and block counts (final once the stream ended). */
  get stats(): SqlScriptGuardStats {
    return { ...this.counts };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.restrictLine) {
        this.push(this.restrictLine);
        this.restrictLine = null;
      }
      if (chunk.includes(0)) throw this.unsafe('control_character', 'a NUL byte (psql cuts lines there)');
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(NEWLINE, start);
        const end = nl === -1 ? chunk.length : nl;
        if (this.inCopyData) this.copyPiece(chunk, start, end, nl !== -1);
        else this.sqlPiece(chunk.subarray(start, end), nl !== -1);
        start = end + 1;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.restrictLine) this.push(this.restrictLine);
      if (!this.inCopyData && this.pendingBytes > 0) this.sqlPiece(Buffer.alloc(0), false, true);
      if (!this.inCopyData) this.lexer.end();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private unsafe(reason: UnsafeSqlReason | 'line_length', what: string): ArchiveError {
    return new ArchiveError(
      `${this.scriptName} line ${this.lineNumber}: ${what}; a plain SQL script runs through psql, which would obey it, so it was refused before psql started`,
      { details: { entry: this.scriptName, line: this.lineNumber, reason } },
      'E_IMPORT_UNSAFE',
    );
  }

  /** COPY data: passed through as it comes; only a line `\.` (or `\.` CR) ends the block, as in psql's handleCopyIn. */
  private copyPiece(chunk: Buffer, start: number, end: number, lineEnds: boolean): void {
    if (this.pendingBytes < 4) {
      const head = chunk.subarray(start, Math.min(end, start + 4 - this.pendingBytes));
      this.pending.push(head);
      this.pendingBytes += head.length;
    } else {
      this.pendingBytes += end - start;
    }
    this.push(chunk.subarray(start, lineEnds ? end + 1 : end));
    if (!lineEnds) return;
    const head = Buffer.concat(this.pending).toString('latin1');
    const ends = this.pendingBytes <= 3 && (head === '\\.' || head === '\\.\r');
    this.pending = [];
    this.pendingBytes = 0;
    this.counts.lines++;
    this.lineNumber++;
    if (ends) this.inCopyData = false;
  }

  private sqlPiece(piece: Buffer, lineEnds: boolean, atEnd = false): void {
    if (piece.length > 0) {
      this.pendingBytes += piece.length;
      if (this.pendingBytes > this.maxSqlLine) throw this.unsafe('line_length', `an SQL line longer than ${this.maxSqlLine} bytes`);
      this.pending.push(piece);
    }
    if (!lineEnds && !atEnd) return;
    const line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    let lexed;
    try {
      lexed = this.lexer.line(line);
    } catch (error) {
      if (error instanceof UnsafeSqlLine) throw this.unsafe(error.reason, error.message);
      throw error;
    }
    this.counts.lines++;
    if (lexed.drop) this.counts.droppedLines++;
    else {
      this.push(line);
      if (lineEnds) this.push(NEWLINE_BYTE);
    }
    if (lexed.copyDataFollows) {
      this.inCopyData = true;
      this.counts.copyBlocks++;
    }
    this.lineNumber++;
  }
}
