import { finished, type Readable } from 'node:stream';
import { AbortedError } from '../errors/errors.js';
import type { CommandExit } from '../ports/command-runner.js';
import { toolExitError } from './tool-errors.js';
import { startToolCommand, type ToolStreamRequest } from './tool-stream.js';

/** One command run to its end by {@link runToolCommand}. */
export interface ToolRun extends ToolStreamRequest {
  /** Piped into the command's stdin (the product needs `input: true`); its error kills the command and is rethrown. */
  input?: Readable;
  /** The program's own name for messages (`mkdir`), when argv starts with `docker exec`. */
  program?: string;
  /** Bytes of stdout kept (default 64 MiB); beyond that the output is cut. */
  maxOutputBytes?: number;
}

/** How a {@link runToolCommand} ended. */
export interface ToolResult {
  exit: CommandExit;
  stdout: string;
}

/**
 * Runs a command to its end, feeding `input` (when given) to its stdin, and collects its stdout.
 * Resolves with the exit whatever the code; rejects with `AbortedError` after the signal, with the
 * input's own error when reading it failed, and with a typed `SourceError` when it cannot start.
 *
 * A tool may exit before reading all its input (`pg_restore --list` stops after the table of
 * contents): the input is then unpiped, left for its owner to drain or destroy.
 */
export async function runToolCommand(run: ToolRun): Promise<ToolResult> {
  const { tool, signal, input } = run;
  const command = await startToolCommand(run);
  const max = run.maxOutputBytes ?? 64 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let kept = 0;
  command.stdout.on('data', (chunk: Buffer) => {
    if (kept >= max) return;
    chunks.push(chunk);
    kept += chunk.length;
  });
  command.stdout.on('error', () => undefined);
  let inputError: unknown = null;
  const onInputError = (error: unknown) => {
    inputError ??= error;
    command.kill();
  };
  // finished() also reports an input that failed or was destroyed before this call: piping it
  // would never end the tool's stdin, and the tool would wait forever.
  const stopWatching = input ? finished(input, { writable: false }, (error) => error && onInputError(error)) : () => undefined;
  if (input) input.pipe(command.stdin);
  let exit: CommandExit;
  try {
    exit = await command.wait();
  } catch (error) {
    if (signal?.aborted) throw new AbortedError(tool, signal.reason);
    throw error;
  } finally {
    stopWatching();
    input?.unpipe(command.stdin);
  }
  if (signal?.aborted) throw new AbortedError(tool, signal.reason);
  if (inputError) throw inputError;
  return { exit, stdout: Buffer.concat(chunks).toString('utf8') };
}

/** {@link runToolCommand}, rejecting with the tool's typed `SourceError` unless it succeeded; resolves with its stdout. */
export async function runTool(run: ToolRun): Promise<string> {
  const { exit, stdout } = await runToolCommand(run);
  // Strict: `tar -x` has no benign warnings (those of isToolSuccess are for reading a live folder).
  if (exit.code !== 0) throw toolExitError(run.tool, run.phase, exit, { where: run.where, secrets: run.secrets, program: run.program });
  return stdout;
}
