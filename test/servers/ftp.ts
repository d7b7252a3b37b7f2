import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort } from './free-port.js';

/**
 * An FTP server (ftp-srv, from npm) in its own process on 127.0.0.1, passive mode, for integration
 * tests. With `tls: true` it offers explicit FTPS (AUTH TLS) with a self-signed certificate made
 * by openssl for 127.0.0.1; {@link FtpServer.caPem} is that certificate.
 */
export interface FtpServer {
  host: string;
  port: number;
  username: string;
  password: string;
  /** The folder the FTP session sees as `/`. */
  ftpRoot: string;
  /** `/backups`: an existing folder to use as the provider's root. */
  root: string;
  /** PEM of the self-signed certificate (with `tls`). */
  caPem?: string;
  /** Files under the root whose name marks an unfinished upload. */
  tempFiles(): string[];
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL = 'npm install --save-dev ftp-srv';

// Runs inside the child (CommonJS, `node -e`): ftp-srv with one account rooted at cfg.root.
const CHILD = String.raw`
const cfg = JSON.parse(process.env.FTPSRV_HARNESS);
const path = require('path');
const FtpSrv = require(cfg.module);
const bunyan = require(require.resolve('bunyan', { paths: [path.dirname(cfg.module)] }));
const fs = require('fs');
const tls = cfg.tls ? { key: fs.readFileSync(cfg.tls.key), cert: fs.readFileSync(cfg.tls.cert) } : false;
// ftp-srv 4.6 wraps the socket in TLS a tick after replying 234 to AUTH TLS; a client's
// ClientHello arriving in between is read as a command and answered in plain text. Wrap at once.
const registry = require(path.join(path.dirname(cfg.module), 'src', 'commands', 'registry.js'));
const nodeTls = require('tls');
registry.AUTH.handler = function ({ command } = {}) {
  if (String(command.arg).toUpperCase() !== 'TLS') return this.reply(504);
  if (!this.server.options.tls) return this.reply(502);
  if (this.secure) return this.reply(202);
  const raw = this.commandSocket;
  raw.write('234 Honored\r\n');
  const secureSocket = new nodeTls.TLSSocket(raw, { isServer: true, secureContext: nodeTls.createSecureContext(this.server.options.tls) });
  ['data', 'timeout', 'end', 'close', 'drain', 'error'].forEach((event) => secureSocket.on(event, (...args) => raw.emit(event, ...args)));
  this.commandSocket = secureSocket;
  this.secure = true;
};
const server = new FtpSrv({
  url: 'ftp://127.0.0.1:' + cfg.port,
  pasv_url: '127.0.0.1',
  pasv_min: cfg.pasvMin,
  pasv_max: cfg.pasvMax,
  anonymous: false,
  tls,
  greeting: 'odoo-backup-sdk test FTP',
  log: bunyan.createLogger({ name: 'ftp', level: 'fatal' }),
});
server.on('login', ({ username, password }, resolve, reject) => {
  if (username === cfg.user && password === cfg.password) resolve({ root: cfg.root });
  else reject(new Error('Invalid username or password'));
});
server.on('client-error', () => {});
server.listen().then(() => process.stdout.write('READY\n'), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function resolveModule(): string {
  try {
    return createRequire(import.meta.url).resolve('ftp-srv');
  } catch {
    throw new Error(`ftp-srv (the FTP test server) is not installed. Install it: ${INSTALL}`);
  }
}

function launch(env: Record<string, unknown>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD], {
      env: { ...process.env, FTPSRV_HARNESS: JSON.stringify(env) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ftp-srv did not start within 20 s: ${err}`));
    }, 20_000);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      children.delete(child);
      clearTimeout(timer);
      reject(new Error(`ftp-srv exited with ${code} before it was ready: ${err}`));
    });
  });
}

function exit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** A self-signed certificate for 127.0.0.1 made by openssl in `dir` (`newkey`: the key type arguments). */
export function selfSignedCertificate(dir: string, newkey: string[]): { key: string; cert: string } {
  const tls = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
  execFileSync(
    requireBinary('openssl'),
    ['req', '-x509', '-newkey', ...newkey, '-nodes', '-keyout', tls.key, '-out', tls.cert, '-days', '2', ...subject],
    { stdio: 'pipe' },
  );
  return tls;
}

/** Files under `folder` whose path marks an unfinished upload. */
export function tempFilesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true })
    .map(String)
    .filter((f) => f.split('/').some((s) => s.startsWith('.obsdk-partial-')));
}

/** Starts ftp-srv with a `/backups` folder; `tls` adds explicit FTPS with a self-signed certificate. */
export async function startFtp(options: { tls?: boolean } = {}): Promise<FtpServer> {
  const module = resolveModule();
  const base = mkdtempSync(join(tmpdir(), 'obsdk-ftp-'));
  const ftpRoot = join(base, 'root');
  mkdirSync(join(ftpRoot, 'backups'), { recursive: true });
  let tls: { key: string; cert: string } | undefined;
  let caPem: string | undefined;
  if (options.tls) {
    tls = selfSignedCertificate(base, ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);
    caPem = readFileSync(tls.cert, 'utf8');
  }
  const port = await freePort();
  // Passive ports: a random window, so parallel test files rarely collide (ftp-srv skips busy ones).
  const pasvMin = randomInt(20_000, 60_000);
  const env = {
    module,
    root: ftpRoot,
    port,
    pasvMin,
    pasvMax: pasvMin + 400,
    user: 'backup',
    password: randomBytes(9).toString('hex'),
    ...(tls ? { tls } : {}),
  };
  let child = await launch(env);
  return {
    host: '127.0.0.1',
    port,
    username: env.user,
    password: env.password,
    ftpRoot,
    root: '/backups',
    ...(caPem ? { caPem } : {}),
    tempFiles: () => tempFilesUnder(join(ftpRoot, 'backups')),
    kill: () => exit(child, 'SIGKILL'),
    restart: async () => {
      await exit(child, 'SIGKILL');
      child = await launch(env);
    },
    stop: async () => {
      await exit(child, 'SIGTERM');
      rmSync(base, { recursive: true, force: true });
    },
  };
}
