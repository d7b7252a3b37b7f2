import { maskedBytes } from './psql-masked-bytes.js';

/**
 * A line-by-line model of how `psql -f` reads a plain SQL script (src/fe_utils/psqlscan.l and
 * psql's main loop), kept only as far as it decides what psql *executes*: where a backslash
 * starts a meta-command, where a statement is sent, and where the data of a `COPY ... FROM stdin`
 * begins and ends. psql reads its input one line at a time (the newline removed) and lexes each
 * line on its own, carrying only the lexer state (inside a string, a comment...) to the next one;
 * this class does the same, byte by byte.
 *
 * Wherever psql's reading could depend on something this model cannot see, the line is refused
 * instead of guessed:
 * - `standard_conforming_strings` can be switched by the server at any time, so a plain string
 *   where a backslash stands before a quote (`'a\'`, read one way when it is on and another way
 *   when it is off) is refused; every other plain string reads the same under both settings.
 * - The client encoding can be switched from inside the server too: bytes that an encoding psql
 *   masks (SJIS, BIG5...) would hide are refused where they matter (see psql-masked-bytes.ts), and
 *   non-ASCII bytes outside strings, quoted names and comments are refused (pg_dump quotes every
 *   name that is not plain lowercase ASCII).
 * - psql variables: `:NAME` is replaced by the variable's value and lexed again; psql defines
 *   only upper-case names by itself and a script cannot define any without a meta-command, so a
 *   `:NAME` without a lower-case letter is refused.
 * - A number followed by letters (`1e'x'`, `0x1F`, `1_000`) is read differently by psql 14, 15
 *   and 16 (trailing junk, hex and underscore literals): refused, except decimal exponents.
 * - A carriage return inside a line ends `--` comments and can continue a string: refused
 *   (one at the end of a line, from CRLF files, is allowed).
 */

/** Why a line was refused (also `details.reason` of `E_IMPORT_UNSAFE`). */
export type UnsafeSqlReason =
  | 'meta_command'
  | 'psql_variable'
  | 'ambiguous_string'
  | 'encoding'
  | 'non_ascii'
  | 'control_character'
  | 'numeric_literal'
  | 'copy_in_block'
  | 'copy_line';

/** The lexer refused a line: the reason and a short description. */
export class UnsafeSqlLine extends Error {
  constructor(
    readonly reason: UnsafeSqlReason,
    message: string,
  ) {
    super(message);
  }
}

type State = 'initial' | 'xc' | 'xq' | 'xe' | 'xus' | 'xb' | 'xh' | 'xd' | 'xui' | 'xdolq';

/** What one SQL line asks of the caller. */
export interface LexedLine {
  /** Drop the line from psql's input (pg_dump's own `\restrict KEY` / `\unrestrict KEY`). */
  drop: boolean;
  /** The line ended a `COPY ... FROM stdin` statement: the lines after it are COPY data up to `\.`. */
  copyDataFollows: boolean;
}

/** The first tokens of the statement being read, enough to judge `SET client_encoding`. */
interface StatementTokens {
  /** Lower-cased text of the first tokens (strings and quoted names by their content). */
  head: string[];
  count: number;
  /** The statement starts a unit psql sends on its own (not inside a `CREATE FUNCTION ... BEGIN` block). */
  startsUnit: boolean;
  isCopy: boolean;
  copyFromStdin: boolean;
  previousWasFrom: boolean;
  mentionsClientEncoding: boolean;
}

const RESTRICT_LINE = /^\\(?:restrict|unrestrict) [A-Za-z0-9]{1,256}\r?$/;
const HEAD_TOKENS = 6;
const CAPTURED_TEXT = 64;

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isAsciiLetter = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isIdentStart = (b: number): boolean => isAsciiLetter(b) || b === 0x5f || b >= 0x80;
const isIdentCont = (b: number): boolean => isIdentStart(b) || isDigit(b) || b === 0x24;
const isVariableChar = (b: number): boolean => isIdentStart(b) || isDigit(b);
const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0c;
const ascii = (line: Uint8Array, from: number, to: number): string =>
  Buffer.from(line.buffer, line.byteOffset + from, to - from).toString('latin1');

/** Bytes whose loss to an encoding's masking would change how psql reads the current state. */
function significant(state: State, b: number): boolean {
  switch (state) {
    case 'initial':
      return true;
    case 'xc':
      return b === 0x2a || b === 0x2f;
    case 'xd':
    case 'xui':
      return b === 0x22;
    case 'xdolq':
      return b === 0x24;
    default:
      return b === 0x27 || b === 0x5c;
  }
}

/** A psql-compatible reader of one SQL script; feed it every line outside COPY data, in order. */
export class PsqlLineLexer {
  private state: State = 'initial';
  private commentDepth = 0;
  private dollarTag = '';
  private parenDepth = 0;
  private beginDepth = 0;
  private identifierCount = 0;
  private readonly identifiers = [0, 0, 0, 0];
  private statement: StatementTokens = PsqlLineLexer.newStatement(true);
  /** Content of the string or quoted name being read (first bytes only), for the client_encoding check. */
  private captured = '';

  private static newStatement(startsUnit: boolean): StatementTokens {
    return { head: [], count: 0, startsUnit, isCopy: false, copyFromStdin: false, previousWasFrom: false, mentionsClientEncoding: false };
  }

  /** Reads one line (without its `\n`). Throws {@link UnsafeSqlLine} when psql could run something the guard cannot vouch for. */
  line(line: Uint8Array): LexedLine {
    if (this.state === 'initial' && line[0] === 0x5c && RESTRICT_LINE.test(ascii(line, 0, line.length))) {
      return { drop: true, copyDataFollows: false };
    }
    const cr = line.indexOf(0x0d);
    if (cr !== -1 && cr !== line.length - 1) {
      throw new UnsafeSqlLine('control_character', 'a carriage return inside a line (psql ends comments and continues strings there)');
    }
    const masked = maskedBytes(line);
    let copyDataFollows = false;
    let i = 0;
    while (i < line.length) {
      const b = line[i]!;
      if (masked?.[i] === 1 && significant(this.state, b)) {
        throw new UnsafeSqlLine(
          'encoding',
          'a quote, backslash or delimiter right after non-ASCII text that a client encoding such as SJIS or BIG5 would swallow',
        );
      }
      switch (this.state) {
        case 'initial': {
          const next = this.initial(line, i);
          if (next.copyDataFollows) {
            copyDataFollows = true;
            const rest = ascii(line, next.at, line.length);
            if (!/^[ \t\f]*\r?$/.test(rest)) {
              throw new UnsafeSqlLine('copy_line', 'text after a COPY ... FROM stdin statement on its line');
            }
            return { drop: false, copyDataFollows };
          }
          i = next.at;
          break;
        }
        case 'xq':
          i = this.plainString(line, i);
          break;
        case 'xe':
          i = this.escapeString(line, i);
          break;
        case 'xus':
          i = this.quotedUntil(line, i, 0x27, true);
          break;
        case 'xb':
        case 'xh':
          i = this.quotedUntil(line, i, 0x27, false);
          break;
        case 'xd':
        case 'xui':
          i = this.quotedUntil(line, i, 0x22, true);
          break;
        case 'xc':
          i = this.blockComment(line, i);
          break;
        case 'xdolq':
          i = this.dollarQuoted(line, i);
          break;
      }
    }
    return { drop: false, copyDataFollows };
  }

  /** The script ended: psql sends what it holds, so the last statement is judged too. */
  end(): void {
    this.endStatement();
  }

  private closeQuoted(): void {
    const text = this.captured;
    this.captured = '';
    this.state = 'initial';
    this.token('quoted', text);
  }

  private capture(line: Uint8Array, from: number, to: number): void {
    if (this.captured.length < CAPTURED_TEXT) this.captured += ascii(line, from, Math.min(to, from + CAPTURED_TEXT));
  }

  /** A standard string (`'...'`): refused where `standard_conforming_strings = off` would read it otherwise. */
  private plainString(line: Uint8Array, i: number): number {
    const b = line[i]!;
    if (b === 0x5c) {
      if (line[i + 1] === 0x27) {
        throw new UnsafeSqlLine(
          'ambiguous_string',
          "a backslash before a quote in a standard string ('...\\'): its end depends on standard_conforming_strings",
        );
      }
      this.capture(line, i, i + 2);
      return Math.min(i + 2, line.length);
    }
    return this.quotedUntil(line, i, 0x27, true);
  }

  /** An escape string (`E'...'`): a backslash takes the next byte with it. */
  private escapeString(line: Uint8Array, i: number): number {
    if (line[i] === 0x5c) return Math.min(i + 2, line.length);
    return this.quotedUntil(line, i, 0x27, true);
  }

  /** Reads a quoted run up to `quote`; a doubled quote stays inside when `doubles`. */
  private quotedUntil(line: Uint8Array, i: number, quote: number, doubles: boolean): number {
    const b = line[i]!;
    if (b === quote) {
      if (doubles && line[i + 1] === quote) {
        this.capture(line, i, i + 1);
        return i + 2;
      }
      this.closeQuoted();
      return i + 1;
    }
    // In standard and escape strings a backslash has its own rule (see the callers): the run stops there.
    const stopsAtBackslash = this.state === 'xq' || this.state === 'xe';
    let j = i + 1;
    while (j < line.length && line[j] !== quote && !(stopsAtBackslash && line[j] === 0x5c)) j++;
    this.capture(line, i, j);
    return j;
  }

  /** `/* ... *\/`, nested as PostgreSQL nests them. */
  private blockComment(line: Uint8Array, i: number): number {
    const b = line[i]!;
    if (b === 0x2f && line[i + 1] === 0x2a) {
      this.commentDepth++;
      return i + 2;
    }
    if (b === 0x2a) {
      let j = i;
      while (line[j] === 0x2a) j++;
      if (line[j] === 0x2f) {
        if (this.commentDepth <= 0) this.state = 'initial';
        else this.commentDepth--;
        return j + 1;
      }
      return j;
    }
    return i + 1;
  }

  /** The `$tag$` delimiter starting at `i` (its length), or 0 when there is none; `failedAt` is where a `$tag` without its closing `$` ends. */
  private static delimiterAt(line: Uint8Array, i: number): { length: number; failedAt: number } {
    let j = i + 1;
    if (line[j] === 0x24) return { length: 2, failedAt: 0 };
    if (j >= line.length || !isIdentStart(line[j]!)) return { length: 0, failedAt: 0 };
    while (j < line.length && isVariableChar(line[j]!)) j++;
    if (line[j] === 0x24) return { length: j + 1 - i, failedAt: 0 };
    return { length: 0, failedAt: j };
  }

  private dollarQuoted(line: Uint8Array, i: number): number {
    if (line[i] !== 0x24) {
      const j = line.indexOf(0x24, i);
      return j === -1 ? line.length : j;
    }
    const { length, failedAt } = PsqlLineLexer.delimiterAt(line, i);
    if (length > 0) {
      if (ascii(line, i, i + length) === this.dollarTag) {
        this.state = 'initial';
        this.token('quoted', '');
        return i + length;
      }
      return i + length - 1;
    }
    return failedAt > 0 ? failedAt : i + 1;
  }

  /** One token outside any quote; returns where the next one starts. */
  private initial(line: Uint8Array, i: number): { at: number; copyDataFollows: boolean } {
    const b = line[i]!;
    const next = line[i + 1];
    const at = (n: number) => ({ at: n, copyDataFollows: false });
    if (isSpace(b)) return at(i + 1);
    if (b === 0x2d && next === 0x2d) return at(line.length);
    if (b === 0x2f && next === 0x2a) {
      this.state = 'xc';
      this.commentDepth = 0;
      return at(i + 2);
    }
    if (b >= 0x80) throw new UnsafeSqlLine('non_ascii', 'non-ASCII text outside strings, quoted names and comments');
    if (b === 0x5c)
      throw new UnsafeSqlLine('meta_command', `a psql meta-command (${JSON.stringify(ascii(line, i, Math.min(line.length, i + 24)))})`);
    if (b === 0x27) return at(this.open('xq', i + 1));
    if (b === 0x22) return at(this.open('xd', i + 1));
    if (next === 0x27 && (b === 0x45 || b === 0x65)) return at(this.open('xe', i + 2));
    if (next === 0x27 && (b === 0x42 || b === 0x62)) return at(this.open('xb', i + 2));
    if (next === 0x27 && (b === 0x58 || b === 0x78)) return at(this.open('xh', i + 2));
    if (next === 0x27 && (b === 0x4e || b === 0x6e)) return at(i + 1); // N'...': the N alone, then a plain string
    if ((b === 0x55 || b === 0x75) && next === 0x26) {
      if (line[i + 2] === 0x27) return at(this.open('xus', i + 3));
      if (line[i + 2] === 0x22) return at(this.open('xui', i + 3));
      this.token('other', 'u');
      return at(i + 1);
    }
    if (b === 0x24) return at(this.dollar(line, i));
    if (isDigit(b)) return at(this.number(line, i));
    if (isIdentStart(b)) return at(this.identifier(line, i));
    if (b === 0x3a) return at(this.colon(line, i));
    if (b === 0x28) this.parenDepth++;
    if (b === 0x29 && this.parenDepth > 0) this.parenDepth--;
    if (b === 0x3b) return { at: i + 1, copyDataFollows: this.semicolon() };
    this.token('other', String.fromCharCode(b));
    return at(i + 1);
  }

  private open(state: State, at: number): number {
    this.state = state;
    this.captured = '';
    return at;
  }

  private dollar(line: Uint8Array, i: number): number {
    if (isDigit(line[i + 1] ?? 0)) {
      let j = i + 1;
      while (j < line.length && isDigit(line[j]!)) j++;
      this.token('other', '$n');
      return j;
    }
    const { length } = PsqlLineLexer.delimiterAt(line, i);
    if (length === 0) {
      this.token('other', '$');
      return i + 1; // a `$tag` without its closing `$`: psql takes the `$` alone
    }
    for (let j = i; j < i + length; j++) {
      if (line[j]! >= 0x80) throw new UnsafeSqlLine('non_ascii', 'non-ASCII text in a dollar-quote tag');
    }
    this.dollarTag = ascii(line, i, i + length);
    this.state = 'xdolq';
    return i + length;
  }

  private number(line: Uint8Array, i: number): number {
    let j = i;
    while (j < line.length && (isIdentCont(line[j]!) || line[j] === 0x2e)) j++;
    const text = ascii(line, i, j);
    const plain = /^[0-9][0-9.]*$/.test(text) || /^[0-9][0-9.]*[eE][0-9]+$/.test(text);
    const signedExponent = /^[0-9][0-9.]*[eE]$/.test(text) && (line[j] === 0x2b || line[j] === 0x2d) && isDigit(line[j + 1] ?? 0);
    if (!plain && !signedExponent) {
      throw new UnsafeSqlLine(
        'numeric_literal',
        `a number followed by letters (${JSON.stringify(text.slice(0, 24))}), which psql versions read differently`,
      );
    }
    this.token('other', 'number');
    return j;
  }

  private identifier(line: Uint8Array, i: number): number {
    let j = i + 1;
    while (j < line.length && isIdentCont(line[j]!)) j++;
    for (let k = i; k < j; k++) {
      if (line[k]! >= 0x80) throw new UnsafeSqlLine('non_ascii', 'non-ASCII text outside strings, quoted names and comments');
    }
    const word = ascii(line, i, j).toLowerCase();
    this.beginHeuristic(word);
    this.token('word', word);
    return j;
  }

  /**
   * psql's rule for `CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ... END`: inside such a
   * body a semicolon does not send the statement (psqlscan.l, identifier rule).
   */
  private beginHeuristic(word: string): void {
    if (this.identifierCount === 0) this.identifiers.fill(0);
    if (['create', 'function', 'procedure', 'or', 'replace'].includes(word) && this.identifierCount < this.identifiers.length) {
      this.identifiers[this.identifierCount] = word.charCodeAt(0);
    }
    this.identifierCount++;
    const [a, b, c, d] = this.identifiers;
    const c_ = 0x63;
    const f = 0x66;
    const p = 0x70;
    const o = 0x6f;
    const r = 0x72;
    const inBody = a === c_ && (b === f || b === p || (b === o && c === r && (d === f || d === p)));
    if (!inBody || this.parenDepth !== 0) return;
    if (word === 'begin') this.beginDepth++;
    else if (word === 'case' && this.beginDepth >= 1) this.beginDepth++;
    else if (word === 'end' && this.beginDepth > 0) this.beginDepth--;
  }

  /** `::`, `:=`, psql's `:var`, `:'var'`, `:"var"`, `:{?var}`, or a lone colon. */
  private colon(line: Uint8Array, i: number): number {
    const next = line[i + 1];
    if (next === 0x3a || next === 0x3d) {
      this.token('other', ':');
      return i + 2;
    }
    if (next === 0x27 || next === 0x22) {
      let j = i + 2;
      while (j < line.length && isVariableChar(line[j]!)) j++;
      // :'name' and :"name" are replaced by a quoted value that psql does not lex again.
      if (j > i + 2 && line[j] === next) return j + 1;
      this.token('other', ':');
      return i + 1;
    }
    if (next === 0x7b && line[i + 2] === 0x3f) {
      let j = i + 3;
      while (j < line.length && isVariableChar(line[j]!)) j++;
      if (j > i + 3 && line[j] === 0x7d) return j + 1;
      this.token('other', ':');
      return i + 1;
    }
    if (next !== undefined && isVariableChar(next)) {
      let j = i + 1;
      while (j < line.length && isVariableChar(line[j]!)) j++;
      const name = ascii(line, i + 1, j);
      if (/[\x80-\xff]/.test(name)) throw new UnsafeSqlLine('non_ascii', 'non-ASCII text outside strings, quoted names and comments');
      if (!/^[0-9]+$/.test(name) && !/[a-z]/.test(name)) {
        throw new UnsafeSqlLine('psql_variable', `a psql variable reference (:${name.slice(0, 24)}), replaced by psql and read again`);
      }
      this.token('other', ':');
      return j;
    }
    this.token('other', ':');
    return i + 1;
  }

  /** Records a token of the current statement. */
  private token(kind: 'word' | 'quoted' | 'other', text: string): void {
    const s = this.statement;
    const lower = text.toLowerCase();
    if (s.count === 0 && kind === 'word' && lower === 'copy') {
      if (!s.startsUnit) {
        throw new UnsafeSqlLine(
          'copy_in_block',
          'a COPY statement inside a block psql sends as one query, where the COPY data would not start where it seems to',
        );
      }
      s.isCopy = true;
    }
    if (s.count < HEAD_TOKENS) s.head.push(kind === 'other' ? text : lower);
    s.count++;
    if ((kind === 'word' || kind === 'quoted') && lower === 'client_encoding') s.mentionsClientEncoding = true;
    if (s.isCopy && this.parenDepth === 0 && kind === 'word' && lower === 'stdin' && s.previousWasFrom) s.copyFromStdin = true;
    s.previousWasFrom = kind === 'word' && lower === 'from' && this.parenDepth === 0;
  }

  /** A `;` outside quotes: ends the statement; psql sends the query when no parenthesis or body is open. Returns true when COPY data follows. */
  private semicolon(): boolean {
    if (this.parenDepth > 0) {
      this.token('other', ';');
      return false;
    }
    const sends = this.beginDepth === 0;
    const copyFromStdin = this.statement.isCopy && this.statement.copyFromStdin;
    this.endStatement();
    if (sends) this.identifierCount = 0;
    this.statement = PsqlLineLexer.newStatement(sends);
    return copyFromStdin && sends;
  }

  /** The client encoding may only be set to UTF8 (`SET [SESSION|LOCAL] client_encoding = 'UTF8'`, `SET NAMES`, `RESET`). */
  private endStatement(): void {
    const { head, count, mentionsClientEncoding } = this.statement;
    const utf8 = (v: string | undefined) => v !== undefined && ['utf8', 'unicode', 'default'].includes(v.replace(/[-_]/g, ''));
    const at = head[1] === 'session' || head[1] === 'local' ? 2 : 1;
    if (head[0] === 'set' && head[at] === 'names' && !(count === at + 2 && utf8(head[at + 1]))) {
      throw new UnsafeSqlLine('encoding', 'SET NAMES to an encoding other than UTF8');
    }
    if (!mentionsClientEncoding) return;
    const setsUtf8 =
      head[0] === 'set' &&
      head[at] === 'client_encoding' &&
      (head[at + 1] === '=' || head[at + 1] === 'to') &&
      count === at + 3 &&
      utf8(head[at + 2]);
    const readsOnly = (head[0] === 'reset' || head[0] === 'show') && head[1] === 'client_encoding' && count === 2;
    if (!setsUtf8 && !readsOnly)
      throw new UnsafeSqlLine('encoding', 'a client_encoding other than UTF8 (or set in a way the guard cannot read)');
  }
}
