import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { SourceError } from '../errors/errors.js';
import type { CommandExit, CommandRunner, CommandSpec, RunningCommand } from '../ports/command-runner.js';
import { STREAM_BUFFER_BYTES } from '../streams/stream-buffer.js';
import { StderrTail } from './stderr-tail.js';

// Process groups started by this module and still running: killed if Node exits first, so an
// interrupted backup never leaves a pg_dump behind.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) killGroup(group);
    });
  }
  liveGroups.add(pid);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * Runs commands on this host: `spawn` without a shell (arguments reach the program as they are),
 * extra environment variables (PGPASSWORD) merged into the child's environment, never argv.
 *
 * Each command leads its own process group, so {@link RunningCommand.kill} also ends helpers
 * it started (`tar -z` runs `gzip`). Node reaps the child: no zombie is left.
 */
export class LocalCommandRunner implements CommandRunner {
  async start(spec: CommandSpec, options: { signal?: AbortSignal } = {}): Promise<RunningCommand> {
    const [program, ...args] = spec.argv;
    if (!program) throw new SourceError('E_SOURCE', 'Cannot run an empty command', { details: { phase: 'start' } });
    const child = spawn(program, args, {
      cwd: spec.cwd,
      env: spec.env ? { ...process.env, ...spec.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        child.off('spawn', onSpawn);
        reject(
          new SourceError('E_SOURCE', `Could not start ${program}: ${error.code === 'ENOENT' ? 'no such program' : error.message}`, {
            details: { program, errno: error.code, phase: 'start' },
            cause: error,
          }),
        );
      };
      const onSpawn = () => {
        child.off('error', onError);
        resolve();
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
    // After the spawn, 'error' only comes from child.kill() or IPC, which this runner does not use;
    // should one come anyway, an unheard 'error' event would crash the host.
    child.on('error', () => undefined);
    return new LocalRunningCommand(child, options.signal);
  }

  async close(): Promise<void> {}
}

class LocalRunningCommand implements RunningCommand {
  readonly stdout;
  readonly stdin;
  private readonly exited: Promise<CommandExit>;
  private ended = false;

  constructor(
    private readonly child: ChildProcess,
    signal?: AbortSignal,
  ) {
    const pid = child.pid!;
    trackGroup(pid);
    const held = heldOutput(child);
    this.stdout = held;
    // wait() also waits for the output to reach its reader (or be given up): the child's 'close'
    // now says only that the pipe is drained into `held`, and callers read what they collected.
    const delivered = new Promise<void>((resolve) => {
      held.once('end', resolve);
      held.once('close', resolve);
    });
    this.stdin = child.stdin!;
    // The tool may exit before reading its stdin: a write after that is EPIPE, not a crash.
    this.stdin.on('error', () => undefined);
    const tail = new StderrTail();
    child.stderr!.on('data', (chunk: Buffer) => tail.push(chunk));
    const onAbort = () => this.kill();
    this.exited = new Promise<CommandExit>((resolve) => {
      child.once('close', (code, sig) => {
        this.ended = true;
        liveGroups.delete(pid);
        signal?.removeEventListener('abort', onAbort);
        void delivered.then(() => resolve({ code, signal: sig, stderrTail: tail.toString() }));
      });
    });
    if (signal?.aborted) this.kill();
    else signal?.addEventListener('abort', onAbort, { once: true });
  }

  wait(): Promise<CommandExit> {
    return this.exited;
  }

  kill(): void {
    if (this.ended) return;
    killGroup(this.child.pid!);
  }
}

/**
 * The child's stdout, piped at once into a buffer that holds it for its reader. When a child
 * exits, Node resumes any of its output streams nobody reads yet (child_process's flushStdio),
 * and what they held is dropped: a small `pg_dump` that finished before the archive writer
 * started reading it (it waits for the filestore's tool to start, which under load took longer
 * than the dump) gave an empty `dump.sql` in a completed backup, and every restore of it failed
 * with `pg_restore: input file is too short (read 0, expected 5)`. Piped here, the bytes flow
 * with backpressure as before: the tool still waits while its reader does not read.
 */
function heldOutput(child: ChildProcess): PassThrough {
  const source = child.stdout!;
  const held = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
  source.on('error', (error) => held.destroy(error));
  source.pipe(held);
  // The reader gave up (or the tool was aborted): close the pipe too, so the tool is not left
  // blocked writing into it.
  held.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return held;
}
