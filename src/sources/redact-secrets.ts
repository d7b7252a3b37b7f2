/** Letters, digits and `_`: the characters that make up a word, a name or an identifier. */
const WORD = '[\\p{L}\\p{N}_]';
const WORD_CHAR = new RegExp(`^${WORD}$`, 'u');

/**
 * A secret at least this long is redacted wherever it appears, inside longer tokens too (a key
 * URL-encoded into a signature): ordinary text does not contain such a string by chance.
 */
const ANYWHERE_LENGTH = 12;

/**
 * Replaces each secret in `text` with `[redacted]` where it stands as a token of its own: not
 * glued to letters, digits or `_` on a side where the secret itself starts or ends with one. A
 * one-character password `x` is redacted in `password x rejected`, and `database "exist" does not
 * exist` stays as it is instead of becoming `e[redacted]ist`. Secrets of 12 characters or more are
 * redacted everywhere. Empty secrets are ignored.
 *
 * This is the last line: secrets travel in the environment (PGPASSWORD), never in argv or in a
 * message the SDK writes, so only text a tool or server echoes back can hold one.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    if ([...secret].length >= ANYWHERE_LENGTH) {
      out = out.split(secret).join('[redacted]');
      continue;
    }
    const chars = [...secret];
    const before = WORD_CHAR.test(chars[0]!) ? `(?<!${WORD})` : '';
    const after = WORD_CHAR.test(chars.at(-1)!) ? `(?!${WORD})` : '';
    out = out.replace(new RegExp(`${before}${escapeRegExp(secret)}${after}`, 'gu'), '[redacted]');
  }
  return out;
}

function escapeRegExp(text: string): string {
  // Only syntax characters: unicode-mode patterns refuse any other escape.
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
