import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { selfSignedCertificate, tempFilesUnder, type FtpServer } from './ftp.js';
import { freePort } from './free-port.js';

/**
 * Debian's vsftpd (a C server with OpenSSL, unlike ftp-srv which shares Node's TLS stack with the
 * client) as a root-run daemon on 127.0.0.1 with a temp config: anonymous login with write,
 * mkdir, rename and delete rights in `/backups` (no system account is created), passive ports
 * on 127.0.0.1, and with `tls: true` explicit FTPS required for logins and data, with a
 * self-signed RSA certificate made by openssl. Installed by scripts/ensure-system-deps.mjs.
 */
/** The account vsftpd runs anonymous sessions as (created by Debian's vsftpd package). */
const FTP_USER = 'ftp';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.pid) [c.pid, ...descendants(c.pid)].forEach((pid) => signalQuietly(pid, 'SIGKILL'));
});

function ftpIds(): { uid: number; gid: number } {
  const line = execFileSync('getent', ['passwd', FTP_USER], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(line[2]), gid: Number(line[3]) };
}

function config(options: { port: number; pasvMin: number; root: string; emptyDir: string; tls?: { key: string; cert: string } }): string {
  const lines = [
    'listen=YES',
    'listen_ipv6=NO',
    'listen_address=127.0.0.1',
    `listen_port=${options.port}`,
    'background=NO',
    // Containers have no seccomp filter to install nor namespaces to spare.
    'seccomp_sandbox=NO',
    'isolate=NO',
    'isolate_network=NO',
    `secure_chroot_dir=${options.emptyDir}`,
    'local_enable=NO',
    'anonymous_enable=YES',
    'no_anon_password=YES',
    `anon_root=${options.root}`,
    `ftp_username=${FTP_USER}`,
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_world_readable_only=NO',
    'anon_umask=022',
    'pasv_enable=YES',
    'pasv_address=127.0.0.1',
    `pasv_min_port=${options.pasvMin}`,
    `pasv_max_port=${options.pasvMin + 200}`,
    'connect_from_port_20=NO',
    'max_clients=0',
    'max_per_ip=0',
    'xferlog_enable=NO',
    'syslog_enable=NO',
    'dirmessage_enable=NO',
    'use_localtime=NO',
    'idle_session_timeout=120',
    'data_connection_timeout=60',
  ];
  if (options.tls)
    lines.push(
      'ssl_enable=YES',
      'allow_anon_ssl=YES',
      'force_anon_logins_ssl=YES',
      'force_anon_data_ssl=YES',
      'ssl_tlsv1=YES',
      'ssl_sslv2=NO',
      'ssl_sslv3=NO',
      'ssl_ciphers=HIGH',
      // Basic-ftp resumes the control connection's TLS session on data connections, but not always
      // in the way vsftpd's check expects (TLS 1.3 tickets): the usual client setting for vsftpd.
      'require_ssl_reuse=NO',
      `rsa_cert_file=${options.tls.cert}`,
      `rsa_private_key_file=${options.tls.key}`,
    );
  return lines.join('\n') + '\n';
}

/** Resolves once the server answers its 220 greeting. */
async function waitForGreeting(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vsftpd exited with ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('220'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`vsftpd did not greet within 20 s: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function launch(configFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(requireBinary('vsftpd'), [configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  await waitForGreeting(port, child, () => err);
  return child;
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Every process descending from `pid` (vsftpd forks one or two per session, in new sessions). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (parents.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

/** Signals the daemon and every session process it forked: a crash takes running transfers down too. */
function exit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    const sessions = descendants(child.pid!);
    child.kill(signal);
    for (const pid of sessions) signalQuietly(pid, signal);
  });
}

/**
 * Starts vsftpd; the provider logs in as `anonymous`. Must run as root (vsftpd drops to the `ftp`
 * account for anonymous sessions and chroots into the FTP root).
 */
export async function startVsftpd(options: { tls?: boolean } = {}): Promise<FtpServer> {
  if (userInfo().uid !== 0) throw new Error('vsftpd tests must run as root (the daemon chroots and drops privileges)');
  const base = mkdtempSync(join(tmpdir(), 'obsdk-vsftpd-'));
  chmodSync(base, 0o755);
  // The anonymous root must not be writable by the ftp account (vsftpd refuses); /backups is.
  const ftpRoot = join(base, 'root');
  const emptyDir = join(base, 'empty');
  mkdirSync(join(ftpRoot, 'backups'), { recursive: true });
  mkdirSync(emptyDir);
  chmodSync(ftpRoot, 0o755);
  const { uid, gid } = ftpIds();
  chownSync(join(ftpRoot, 'backups'), uid, gid);
  let tls: { key: string; cert: string } | undefined;
  let caPem: string | undefined;
  if (options.tls) {
    tls = selfSignedCertificate(base, ['rsa:2048']);
    caPem = readFileSync(tls.cert, 'utf8');
  }
  const port = await freePort();
  const configFile = join(base, 'vsftpd.conf');
  writeFileSync(configFile, config({ port, pasvMin: randomInt(20_000, 60_000), root: ftpRoot, emptyDir, ...(tls ? { tls } : {}) }));
  let child = await launch(configFile, port);
  return {
    host: '127.0.0.1',
    port,
    username: 'anonymous',
    password: 'backup@example.com',
    ftpRoot,
    root: '/backups',
    ...(caPem ? { caPem } : {}),
    tempFiles: () => tempFilesUnder(join(ftpRoot, 'backups')),
    kill: () => exit(child, 'SIGKILL'),
    restart: async () => {
      await exit(child, 'SIGKILL');
      child = await launch(configFile, port);
    },
    stop: async () => {
      await exit(child, 'SIGTERM');
      rmSync(base, { recursive: true, force: true });
    },
  };
}
