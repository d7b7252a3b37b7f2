import { spawn, type ChildProcess } from 'node:child_process';
import { SourceError } from '../errors/errors.js';
import type { CommandExit, CommandRunner, CommandSpec, RunningCommand } from '../ports/command-runner.js';
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
    this.stdout = child.stdout!;
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
        resolve({ code, signal: sig, stderrTail: tail.toString() });
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
