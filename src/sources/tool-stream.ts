import { finished, type Readable } from 'node:stream';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { AbortedError, SourceError } from '../errors/errors.js';
import type { SourceStream } from '../ports/backup-source.js';
import type { CommandRunner, CommandSpec, RunningCommand } from '../ports/command-runner.js';
import { redactSecrets } from './redact-secrets.js';
import { isToolSuccess, toolErrorCode, toolExitError, type SourcePhase, type SourceTool } from './tool-errors.js';

/** What {@link startToolStream} runs and how its failures are described. */
export interface ToolStreamRequest {
  runner: CommandRunner;
  spec: CommandSpec;
  tool: SourceTool;
  phase: SourcePhase;
  /** Where the tool runs, for messages: `in container x_db`, `on odoo@vm:22`. */
  where?: string;
  /** Values to redact from messages and stderr tails (the database password). */
  secrets?: readonly (string | undefined)[];
  signal?: AbortSignal;
}

/** What {@link startToolStream} runs: a {@link ToolStreamRequest}, optionally fed an input. */
export interface ToolStreamStart extends ToolStreamRequest {
  /**
   * Piped into the tool's stdin (`pg_restore -f -` reads the dump there; the spec needs
   * `input: true`). Its failure kills the tool, and `done` rejects with that failure.
   */
  input?: Readable;
}

/**
 * Starts a tool's command: `AbortedError` when the signal already fired, connection errors
 * (`E_SOURCE_SSH...`) as they are, any other failure to start as the tool's typed `SourceError`.
 */
export async function startToolCommand(request: ToolStreamRequest): Promise<RunningCommand> {
  const { runner, spec, tool, phase, where, secrets = [], signal } = request;
  if (signal?.aborted) throw new AbortedError(tool, signal.reason);
  try {
    return await runner.start(spec, { signal });
  } catch (error) {
    if (error instanceof BackupSdkError && error.code.startsWith('E_SOURCE_SSH')) throw error;
    const reason = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
    throw new SourceError(toolErrorCode(tool), `${tool} could not be started${where ? ` (${where})` : ''}: ${reason}`, {
      details: { tool, phase, program: spec.argv[0] },
      cause: error,
    });
  }
}

/**
 * Starts a tool through a {@link CommandRunner} and wraps it as a {@link SourceStream}: `done`
 * rejects with a typed `SourceError` when the tool exits non-zero (even after a clean end of its
 * output), with `AbortedError` after {@link SourceStream.abort} or the signal, and passes
 * connection errors (`E_SOURCE_SSH`) through.
 */
export async function startToolStream(request: ToolStreamStart): Promise<SourceStream> {
  const { tool, phase, where, secrets = [], signal, input } = request;
  const running = await startToolCommand(request);
  let aborted: AbortedError | null = null;
  let settled = false;
  let inputError: unknown = null;
  if (input) {
    // finished() also reports an input that failed before this call: its pipe would never end stdin.
    finished(input, { writable: false }, (error) => {
      if (!error || settled) return;
      inputError ??= error;
      running.kill();
    });
    input.pipe(running.stdin);
  }
  // A stream the consumer has not started reading yet (the tarball while the dump streams) may
  // be destroyed with an error (abort, SSH drop): that must not be an uncaught exception. Readers
  // still get the error; `done` reports it too.
  running.stdout.on('error', () => undefined);
  const abort = (reason?: unknown) => {
    if (settled || aborted) return;
    aborted = new AbortedError(tool, reason);
    running.kill();
    // Consumers see the abort as a stream error, not as a (truncated) clean end.
    running.stdout.destroy(aborted);
  };
  const onAbort = () => abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const done = (async () => {
    try {
      let exit;
      try {
        exit = await running.wait();
      } catch (error) {
        throw aborted ?? error;
      }
      if (aborted) throw aborted;
      if (inputError) throw inputError;
      if (!isToolSuccess(tool, exit)) throw toolExitError(tool, phase, exit, { where, secrets });
    } finally {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
    }
  })();
  // The pipeline may stop reading before awaiting `done` (an upload failed): never an unhandled rejection.
  done.catch(() => undefined);
  return { stream: running.stdout, done, abort: () => abort() };
}
