import { PassThrough, Writable } from 'node:stream';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { resolveSecret, type SshTarget } from '../domain/source-config.js';
import { SourceError, ValidationError } from '../errors/errors.js';
import type { CommandExit, CommandRunner, CommandSpec, RunningCommand } from '../ports/command-runner.js';
import { hostKeyVerifier, parseExpectedHostKey } from '../ssh/host-key.js';
import { loadSsh2 } from '../ssh/load-ssh2.js';
import { buildRemoteCommand } from './remote-command.js';
import { StderrTail } from './stderr-tail.js';

/** Tuning of a {@link SshCommandRunner}. */
export interface SshCommandRunnerOptions {
  /** Keepalive probe interval in ms (default 10000): a dead link is noticed within ~4 intervals. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost (default 3). */
  keepaliveCountMax?: number;
}

/**
 * Runs commands on a remote host over one SSH connection (ssh2), opened on first use and
 * reopened after a drop.
 *
 * - The host key is always verified against `target.host_key`; an unknown key is refused with
 *   `E_SOURCE_SSH_HOST_KEY`. Login failures are `E_SOURCE_SSH_AUTH`; network failures and drops
 *   are `E_SOURCE_SSH` (transient).
 * - Commands are built from argv with single-quote shell quoting; environment variables (secrets)
 *   are sent as lines on the channel's stdin and `read` by a wrapper script, never put on a
 *   command line.
 * - `kill()` sends SIGKILL to the remote process group and closes the channel; the wrapper also
 *   kills the command whenever the channel closes or the connection drops.
 * - `stdin` of a remote command is connected to the program only for a spec with `input: true`
 *   (after the secret lines); otherwise the channel's stdin carries the secrets and watches for
 *   the channel's end, and writing to it fails.
 */
export class SshCommandRunner implements CommandRunner {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private closed = false;
  private readonly label: string;

  constructor(
    private readonly target: SshTarget,
    private readonly options: SshCommandRunnerOptions = {},
  ) {
    validateSshTarget(target);
    this.label = `${target.username}@${target.host}:${target.port ?? 22}`;
  }

  async start(spec: CommandSpec, options: { signal?: AbortSignal } = {}): Promise<RunningCommand> {
    const { command, stdinPreamble } = buildRemoteCommand(spec.argv, spec.env, { input: spec.input });
    if (spec.cwd) throw new ValidationError([{ field: 'cwd', message: 'is not supported for commands over SSH' }]);
    const client = await this.connection();
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      client.exec(command, (error, ch) => {
        if (error) {
          reject(
            new SourceError('E_SOURCE_SSH', `Could not start a command over SSH on ${this.label}: ${error.message}`, {
              details: { host: this.target.host, port: this.target.port ?? 22, phase: 'exec' },
              cause: error,
              transient: true,
            }),
          );
        } else resolve(ch);
      });
    });
    if (stdinPreamble) channel.write(stdinPreamble);
    return new SshRunningCommand(channel, client, this.label, this.target, options.signal, spec.input === true);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    this.connecting = null;
    if (client) {
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end();
        // A dead peer may never answer the disconnect: do not wait on it.
        setTimeout(() => {
          client.destroy();
          resolve();
        }, 2000).unref();
      });
    }
  }

  private connection(): Promise<Client> {
    if (this.closed)
      return Promise.reject(
        new SourceError('E_SOURCE_SSH', `The SSH runner for ${this.label} is closed`, { details: { phase: 'connect' } }),
      );
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      this.connecting = this.connect().then(
        (client) => {
          this.connecting = null;
          if (this.closed) {
            client.end();
            throw new SourceError('E_SOURCE_SSH', `The SSH runner for ${this.label} is closed`, { details: { phase: 'connect' } });
          }
          this.client = client;
          client.once('close', () => {
            if (this.client === client) this.client = null;
          });
          return client;
        },
        (error: unknown) => {
          this.connecting = null;
          throw error;
        },
      );
    }
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const t = this.target;
    const port = t.port ?? 22;
    const [password, privateKey, passphrase] = await Promise.all([
      resolveSecret(t.password),
      resolveSecret(t.private_key),
      resolveSecret(t.passphrase),
    ]);
    let offered: string | null = null;
    const config: ConnectConfig = {
      host: t.host,
      port,
      username: t.username,
      readyTimeout: t.ready_timeout_ms ?? 20_000,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: this.options.keepaliveCountMax ?? 3,
      hostVerifier: hostKeyVerifier(t.host_key, (fingerprint) => {
        offered = fingerprint;
      }),
    };
    if (password !== undefined) config.password = password;
    if (privateKey !== undefined) config.privateKey = privateKey;
    if (passphrase !== undefined) config.passphrase = passphrase;
    const details = { host: t.host, port, username: t.username, phase: 'connect' };
    const { Client } = await loadSsh2().catch((error: unknown) => {
      throw new SourceError('E_SOURCE_SSH', `Could not load the ssh2 package to reach ${this.label}`, { details, cause: error });
    });
    const client = new Client();
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('error', (error: Error & { level?: string }) => {
        if (ready) return; // after the handshake, channels report the loss ('close' without exit status)
        client.destroy();
        if (offered !== null) {
          const expected = parseExpectedHostKey(t.host_key).description;
          reject(
            new SourceError(
              'E_SOURCE_SSH_HOST_KEY',
              `SSH host key of ${t.host}:${port} is not the expected one: the server offered ${offered}, host_key says ${expected}. If the server's key was changed on purpose, update host_key; otherwise do not connect (the connection may be intercepted)`,
              { details: { ...details, offered_fingerprint: offered, expected_fingerprint: expected } },
            ),
          );
        } else if (error.level === 'client-authentication') {
          reject(
            new SourceError('E_SOURCE_SSH_AUTH', `SSH login as ${this.label} was refused: check the username, password or private key`, {
              details,
              cause: error,
            }),
          );
        } else {
          reject(
            new SourceError('E_SOURCE_SSH', `Could not connect to ${this.label} over SSH: ${error.message}`, {
              details,
              cause: error,
              transient: true,
            }),
          );
        }
      });
      client.once('ready', () => {
        ready = true;
        resolve(client);
      });
      try {
        client.connect(config);
      } catch (error) {
        // ssh2 throws synchronously for an unusable private key (bad format, missing passphrase).
        reject(
          new SourceError('E_SOURCE_SSH_AUTH', `The SSH private key for ${this.label} cannot be used: ${(error as Error).message}`, {
            details,
            cause: error,
          }),
        );
      }
    });
  }
}

/** Throws a `ValidationError` naming every bad field of an SSH target. */
export function validateSshTarget(target: SshTarget, prefix = 'ssh'): void {
  const issues: { field: string; message: string }[] = [];
  if (!target || typeof target !== 'object') throw new ValidationError([{ field: prefix, message: 'is required' }]);
  if (typeof target.host !== 'string' || target.host.trim() === '') issues.push({ field: `${prefix}.host`, message: 'is required' });
  if (target.port !== undefined && !(Number.isInteger(target.port) && target.port >= 1 && target.port <= 65535))
    issues.push({ field: `${prefix}.port`, message: 'must be a whole number from 1 to 65535' });
  if (typeof target.username !== 'string' || target.username === '') issues.push({ field: `${prefix}.username`, message: 'is required' });
  if (target.password === undefined && target.private_key === undefined)
    issues.push({ field: `${prefix}.password`, message: 'a password or a private_key is required' });
  if (typeof target.host_key !== 'string' || target.host_key.trim() === '') {
    issues.push({
      field: `${prefix}.host_key`,
      message: "is required: the server's SHA256 fingerprint (ssh-keygen -lf) or known_hosts line; unknown host keys are refused",
    });
  } else {
    try {
      parseExpectedHostKey(target.host_key, `${prefix}.host_key`);
    } catch (error) {
      if (error instanceof ValidationError) issues.push(...error.issues);
      else throw error;
    }
  }
  if (issues.length) throw new ValidationError(issues);
}

class SshRunningCommand implements RunningCommand {
  readonly stdout: PassThrough;
  readonly stdin: Writable;
  private readonly exited: Promise<CommandExit>;
  private killed = false;
  private ended = false;

  constructor(
    private readonly channel: ClientChannel,
    client: Client,
    label: string,
    target: SshTarget,
    signal?: AbortSignal,
    input = false,
  ) {
    // ssh2's channel.destroy() closes quietly instead of erroring, so the output goes through a
    // plain stream whose end or error this class decides: a dropped connection is an error for
    // whoever reads, never a clean (truncated) end.
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    this.stdout = out;
    // Output nobody reads yet may be destroyed with the connection's loss: not an uncaught
    // exception. Readers still get the error, and `wait()` rejects with it.
    out.on('error', () => undefined);
    channel.pipe(out, { end: false });
    this.stdin = input
      ? channel
      : new Writable({
          write(_chunk, _encoding, callback) {
            callback(
              new SourceError('E_SOURCE', 'Writing to the stdin of a command over SSH is not supported', { details: { phase: 'stdin' } }),
            );
          },
        });
    const tail = new StderrTail();
    channel.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    let status: { code: number | null; signal: string | null } | null = null;
    channel.on('exit', (code: number | null, sig?: string) => {
      status = { code: typeof code === 'number' ? code : null, signal: sig ?? null };
    });
    channel.on('error', () => undefined);
    const onAbort = () => this.kill();
    this.exited = new Promise<CommandExit>((resolve, reject) => {
      const settle = () => {
        this.ended = true;
        signal?.removeEventListener('abort', onAbort);
        client.off('close', onConnectionClosed);
      };
      const onConnectionClosed = () => {
        if (this.ended || status || this.killed) return;
        settle();
        const error = new SourceError('E_SOURCE_SSH', `The SSH connection to ${label} was lost while the command ran`, {
          details: { host: target.host, port: target.port ?? 22, phase: 'stream', stderr_tail: tail.toString() },
          transient: true,
        });
        this.discardOutput();
        out.destroy(error);
        reject(error);
      };
      client.once('close', onConnectionClosed);
      // ssh2 passes the exit to 'close' as well: under load the exit status can arrive in the
      // same packet batch as the channel's opening, before the 'exit' listener above exists.
      channel.once('close', (code?: number | null, sig?: string) => {
        if (!status && code !== undefined) status = { code: typeof code === 'number' ? code : null, signal: sig ?? null };
        if (this.ended) return;
        // ssh2 emits 'close' without an exit status when the connection died under the channel.
        if (!status && !this.killed) return onConnectionClosed();
        settle();
        const result = { ...(status ?? { code: null, signal: 'KILL' }), stderrTail: tail.toString() };
        if (out.destroyed || out.writableEnded) return resolve(result);
        out.once('close', () => resolve(result));
        if (this.killed) out.destroy();
        else out.end();
      });
    });
    this.exited.catch(() => undefined);
    // The reader gave up (destroyed the stream): the remote command must not run on.
    out.once('close', () => {
      if (!this.ended) this.kill();
    });
    if (signal?.aborted) this.kill();
    else signal?.addEventListener('abort', onAbort, { once: true });
  }

  wait(): Promise<CommandExit> {
    return this.exited;
  }

  kill(): void {
    if (this.killed || this.ended) return;
    this.killed = true;
    try {
      // OpenSSH >= 7.9 delivers this to the command's whole process group (killpg).
      this.channel.signal('KILL');
    } catch {
      /* channel already gone */
    }
    try {
      // Closing also ends the wrapper's stdin, which kills the group where signals are not supported.
      this.channel.close();
    } catch {
      /* already closed */
    }
    // ssh2 emits the channel's 'close' only once its output was read to the end: drop what is left.
    this.discardOutput();
  }

  private discardOutput(): void {
    this.channel.unpipe();
    this.channel.resume();
    this.channel.stderr.resume();
  }
}
