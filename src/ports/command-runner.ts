import type { Readable, Writable } from 'node:stream';

/** A command as an argument vector: never a shell string. Runners quote each argument themselves. */
export interface CommandSpec {
  /** Program and arguments, e.g. `['pg_dump', '-Fc', dbName]`. */
  argv: readonly string[];
  /** Extra environment variables (e.g. PGPASSWORD). Values are secrets: never logged. */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /**
   * The command reads its standard input (a restore feeds `pg_restore` or `tar -x` through it).
   * Local runners always connect stdin; over SSH the channel's stdin is forwarded to the program
   * only when this is true (otherwise it carries the secrets and a watcher for the channel's end).
   */
  input?: boolean;
}

/** How a command ended. */
export interface CommandExit {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
  /** The last few KiB of stderr. */
  stderrTail: string;
}

/** A started command. */
export interface RunningCommand {
  /**
   * The command's standard output, to be consumed by the caller. Its bytes wait for the caller
   * (with backpressure), also once the command has exited: a reader that starts late reads them all.
   */
  readonly stdout: Readable;
  /** The command's standard input (over SSH, connected only for a spec with `input: true`). */
  readonly stdin: Writable;
  /** Resolves when the command has ended and its output is drained. Never rejects for a non-zero exit. */
  wait(): Promise<CommandExit>;
  /** Stops the command (and, for remote runners, the remote process). Idempotent. */
  kill(): void;
}

/** Starts commands on some machine: this host, a container, or a VM over SSH. */
export interface CommandRunner {
  /** Starts `spec`; aborting `signal` kills it. Rejects when the command cannot be started at all. */
  start(spec: CommandSpec, options?: { signal?: AbortSignal }): Promise<RunningCommand>;
  /** Releases connections (SSH). */
  close(): Promise<void>;
}
