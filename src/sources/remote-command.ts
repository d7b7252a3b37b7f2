import { ValidationError } from '../errors/errors.js';
import { quoteShellArg } from './shell-quote.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The POSIX `sh` script every remote command runs under (the program and its arguments are its
 * positional parameters, so they are never parsed as code):
 *
 * 1. reads each secret environment variable as one line from stdin (`read -r`) and exports it:
 *    secrets never appear on a command line, in `ps`, or in sshd's logs;
 * 2. starts the program in the background (its stdin is /dev/null), keeping the channel's stdin
 *    on fd 3;
 * 3. a watcher waits for the channel's stdin to close (the client closed the channel, or the
 *    connection dropped and sshd died) and then kills the whole process group: the remote
 *    pg_dump never outlives its channel, even if it is blocked (waiting on a lock) and would
 *    never notice its broken output pipe;
 * 4. exits with the program's status.
 */
function wrapperScript(envNames: readonly string[]): string {
  const reads = envNames.map((name) => `IFS= read -r ${name} || exit 125; export ${name}; `).join('');
  return (
    reads +
    'exec 3<&0; ' +
    '"$@" 3<&- & c=$!; ' +
    '( while IFS= read -r _ <&3; do :; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 & w=$!; ' +
    'wait "$c"; r=$?; kill "$w" 2>/dev/null; exit "$r"'
  );
}

/**
 * The wrapper for a command that reads its stdin (`CommandSpec.input`): after the secret
 * lines (`read` takes one byte at a time from a pipe, so nothing past them is consumed), the
 * program replaces the shell and reads the rest of the channel's stdin. It ends when that input
 * ends or when the channel is killed (OpenSSH signals the process group); a dropped connection
 * closes its input and output, which ends `pg_restore` and `tar -x` with an error.
 */
function inputWrapperScript(envNames: readonly string[]): string {
  return envNames.map((name) => `IFS= read -r ${name} || exit 125; export ${name}; `).join('') + 'exec "$@"';
}

/** A command line for a remote shell plus the bytes to send first on the channel's stdin. */
export interface RemoteCommand {
  /** `sh -c '<wrapper>' obsdk-run '<program>' '<arg>'...`: every argument single-quoted. */
  command: string;
  /** The secret values, one per line, in the order the wrapper reads them. Never logged. */
  stdinPreamble: string;
}

/**
 * Builds the command line that runs `argv` on a remote host with `env` through the wrapper
 * script (see the module). Throws a `ValidationError` for an environment variable name that is
 * not an identifier or a value containing a newline or NUL (it could not be read back as one line).
 */
export function buildRemoteCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
  options: { input?: boolean } = {},
): RemoteCommand {
  if (argv.length === 0) throw new ValidationError([{ field: 'argv', message: 'a command needs at least a program name' }]);
  const names = Object.keys(env);
  for (const name of names) {
    if (!ENV_NAME.test(name))
      throw new ValidationError([{ field: 'env', message: `environment variable name ${JSON.stringify(name)} is not a shell identifier` }]);
    if (/[\n\r\0]/.test(env[name]!))
      throw new ValidationError([{ field: `env.${name}`, message: 'cannot contain a newline or NUL byte when sent over SSH' }]);
  }
  const script = options.input ? inputWrapperScript(names) : wrapperScript(names);
  const command = ['sh', '-c', script, 'obsdk-run', ...argv].map(quoteShellArg).join(' ');
  return { command, stdinPreamble: names.map((n) => `${env[n]}\n`).join('') };
}
