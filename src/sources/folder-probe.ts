import { SourceError } from '../errors/errors.js';
import type { CommandRunner } from '../ports/command-runner.js';

/**
 * Whether `path` is a folder where `runner` runs, found with `test -d` (prefixed by
 * `docker exec <container>` for a container). `test` exits 1 quietly for a missing folder; an
 * exit 1 with a message (docker: "No such container") or any other code is an error.
 */
export async function probeFolder(
  runner: CommandRunner,
  prefix: readonly string[],
  path: string,
  context: { where?: string; signal?: AbortSignal } = {},
): Promise<boolean> {
  const command = await runner.start({ argv: [...prefix, 'test', '-d', path] }, { signal: context.signal });
  command.stdout.resume();
  const exit = await command.wait();
  if (exit.code === 0) return true;
  if (exit.code === 1 && exit.stderrTail.trim() === '') return false;
  const reason =
    exit.stderrTail.trim().split(/\r?\n/).pop() || (exit.code === null ? `killed by signal ${exit.signal}` : `exit code ${exit.code}`);
  throw new SourceError(
    'E_SOURCE_TAR',
    `Could not check the filestore folder ${path}${context.where ? ` (${context.where})` : ''}: ${reason}`,
    {
      details: { tool: 'test', phase: 'filestore_probe', exit_code: exit.code, signal: exit.signal, stderr_tail: exit.stderrTail, path },
    },
  );
}
