import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fingerprintOf } from '../../src/ssh/host-key.js';
import { requireBinary } from './binaries.js';
import { freePort } from './free-port.js';

/** A throwaway OpenSSH server on 127.0.0.1 for integration tests (SSH source, SFTP storage). */
export interface SshServer {
  host: string;
  port: number;
  /** The account to log in as. */
  username: string;
  /** Its password (password login works only when the harness runs as root). */
  password: string;
  /** The client's private key (OpenSSH format), authorized for `username`. */
  privateKey: string;
  /** `SHA256:...` fingerprint of the server's host key. */
  hostKeyFingerprint: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA...` */
  knownHostsLine: string;
  /** A writable folder owned by `username` (an SFTP root, a remote work dir). */
  homeDir: string;
  /** The remote side's TMPDIR (inside homeDir): this server's own, so `mktemp` files of concurrent test files never mix. */
  tmpDir: string;
  /** Kills the per-connection sshd processes, dropping every open session; the listener survives. */
  dropConnections(): void;
  stop(): Promise<void>;
}

const TEST_USER = 'obsdk-ssh';
const STATE_DIR = '/var/lib/obsdk-ssh';

/**
 * As root: a dedicated unprivileged account whose password is made once and kept in a
 * root-only file, so parallel test files share it (a fresh chpasswd per server would race).
 */
function ensureTestUser(): { username: string; password: string } {
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('useradd', ['--create-home', '--home-dir', STATE_DIR, '--shell', '/bin/sh', TEST_USER], { stdio: 'pipe' });
    } catch {
      execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' }); // lost a race with a parallel test file: fine if it exists now
    }
  }
  mkdirSync(STATE_DIR, { recursive: true });
  const pwFile = join(STATE_DIR, '.obsdk-password');
  try {
    writeFileSync(pwFile, randomBytes(12).toString('hex'), { flag: 'wx', mode: 0o600 });
    const password = readFileSync(pwFile, 'utf8');
    execFileSync('chpasswd', [], { input: `${TEST_USER}:${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chownSync(pwFile, 0, 0);
  chmodSync(pwFile, 0o600);
  return { username: TEST_USER, password: readFileSync(pwFile, 'utf8') };
}

function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`sshd exited with ${child.exitCode}: ${log()}`));
      const socket = connect(port, '127.0.0.1');
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${port}: ${log()}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Every process as [pid, ppid, command name] (read from /proc, so no procps is needed). */
function processTable(): [number, number, string][] {
  const out: [number, number, string][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push([Number(entry), ppid, comm]);
    } catch {
      /* process ended while we looked */
    }
  }
  return out;
}

/**
 * The per-connection sshd processes under the listener `pid` (monitor and session children,
 * `sshd` or `sshd-session`), but not the user's commands: killing these drops the TCP
 * connection the way a network failure would, and leaves the remote command to notice.
 */
function connectionPids(pid: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid, comm] of table) {
      if (ppid === parent && comm.startsWith('sshd')) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `sshd -D` with its own host key, config, authorized_keys and port in a temp dir.
 * As root it logs in a dedicated account (password and key); otherwise the current user (key only).
 * A missing sshd is a thrown error naming the package to install, never a skip.
 */
export async function startSshd(): Promise<SshServer> {
  const sshd = requireBinary('sshd');
  const keygen = requireBinary('ssh-keygen');
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'obsdk-sshd-'));
  // sshd reads authorized_keys as the target user: it must be able to reach it.
  chmodSync(dir, 0o755);
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'obsdk-test-host', '-f', hostKey]);
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'obsdk-test-client', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`));
  chmodSync(authorizedKeys, 0o644);

  const account = isRoot ? ensureTestUser() : { username: userInfo().username, password: '' };
  const homeDir = join(dir, 'home');
  const tmpDir = join(homeDir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', account.username]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', account.username]).toString().trim());
    chownSync(homeDir, uid, gid);
    chownSync(tmpDir, uid, gid);
  }
  if (isRoot) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'PubkeyAuthentication yes',
      `PasswordAuthentication ${isRoot ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin no',
      `AllowUsers ${account.username}`,
      'Subsystem sftp internal-sftp',
      `SetEnv TMPDIR=${tmpDir}`,
      'MaxStartups 200',
      'MaxSessions 200',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  try {
    await waitForPort(port, child, () => log);
  } catch (error) {
    child.kill('SIGKILL');
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const hostBlob = Buffer.from(pub[1]!, 'base64');
  return {
    host: '127.0.0.1',
    port,
    username: account.username,
    password: account.password,
    privateKey: readFileSync(clientKey, 'utf8'),
    hostKeyFingerprint: fingerprintOf(hostBlob),
    knownHostsLine: `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}`,
    homeDir,
    tmpDir,
    dropConnections: () => {
      if (child.pid === undefined) return;
      for (const pid of connectionPids(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
    stop: async () => {
      if (child.pid !== undefined) {
        for (const pid of connectionPids(child.pid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      running.delete(child);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
