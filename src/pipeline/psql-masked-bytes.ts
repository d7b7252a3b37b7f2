/**
 * Which bytes of a line psql would hide if the session's client encoding were switched to one
 * of the encodings psql cannot lex byte by byte (SJIS, SHIFT_JIS_2004, BIG5, GBK, UHC, JOHAB,
 * GB18030). psql's lexer (`psqlscan_prepare_buffer`) copies the first byte of each multibyte
 * character of such an encoding and replaces the bytes after it with 0xFF, whatever they are:
 * a quote or a backslash after a lead byte stops counting. A script can switch the encoding
 * from inside the server (a function running `SET client_encoding`), where no lexer sees it,
 * so the guard refuses a line where any of these readings would hide a byte that matters.
 *
 * Each line is masked from its first byte, as psql masks each line it reads.
 */

/** Length of the character starting at `i` in one encoding family, as psql's `PQmblen` says. */
type CharLength = (line: Uint8Array, i: number) => number;

const highBit = (b: number): boolean => b >= 0x80;

const FAMILIES: readonly CharLength[] = [
  // SJIS and SHIFT_JIS_2004: half-width katakana (0xA1-0xDF) are one byte, other high bytes lead two.
  (line, i) => (highBit(line[i]!) && !(line[i]! >= 0xa1 && line[i]! <= 0xdf) ? 2 : 1),
  // BIG5, GBK, UHC: any high byte leads two.
  (line, i) => (highBit(line[i]!) ? 2 : 1),
  // JOHAB (EUC rules): SS3 (0x8F) leads three, other high bytes two.
  (line, i) => (line[i] === 0x8f ? 3 : highBit(line[i]!) ? 2 : 1),
  // GB18030: four bytes when the second is a digit, else two.
  (line, i) => (highBit(line[i]!) ? (line[i + 1] !== undefined && line[i + 1]! >= 0x30 && line[i + 1]! <= 0x39 ? 4 : 2) : 1),
];

/**
 * Marks, for one line, every byte that at least one psql-unsafe client encoding would replace
 * with 0xFF. Returns null when the line is plain ASCII (nothing can be masked).
 */
export function maskedBytes(line: Uint8Array): Uint8Array | null {
  let anyHigh = false;
  for (const b of line) {
    if (highBit(b)) {
      anyHigh = true;
      break;
    }
  }
  if (!anyHigh) return null;
  const masked = new Uint8Array(line.length);
  for (const length of FAMILIES) {
    for (let i = 0; i < line.length;) {
      const n = Math.min(length(line, i), line.length - i);
      for (let j = 1; j < n; j++) masked[i + j] = 1;
      i += n;
    }
  }
  return masked;
}
