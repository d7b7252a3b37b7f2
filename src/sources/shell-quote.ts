import { ValidationError } from '../errors/errors.js';

// Characters that never mean anything to a POSIX shell (nor to bash/zsh/dash) when they appear in a
// word: such words are left bare so command lines stay readable in logs and `ps`.
const SAFE_WORD = /^[A-Za-z0-9_./:@%+,-][A-Za-z0-9_./:@%+,=-]*$/;

/**
 * Quotes one argument for a POSIX shell so it reaches the program as exactly these bytes and is
 * never interpreted: quotes, spaces, `;`, `$()`, backticks, globs and newlines included.
 *
 * Uses single quotes, inside which a POSIX shell interprets nothing; a single quote itself is
 * written `'\''` (close, escaped quote, reopen). Throws a `ValidationError` for a NUL byte,
 * which no command-line argument can carry.
 */
export function quoteShellArg(arg: string): string {
  if (typeof arg !== 'string') throw new ValidationError([{ field: 'argv', message: 'every argument must be a string' }]);
  if (arg.includes('\0')) throw new ValidationError([{ field: 'argv', message: 'an argument cannot contain a NUL byte' }]);
  if (arg === '') return "''";
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argument vector into one shell command line, each argument quoted by {@link quoteShellArg}. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new ValidationError([{ field: 'argv', message: 'a command needs at least a program name' }]);
  return argv.map(quoteShellArg).join(' ');
}
