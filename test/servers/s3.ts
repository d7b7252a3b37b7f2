import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/**
 * An S3-compatible server (s3rver, from npm) in its own process on 127.0.0.1, for integration tests.
 *
 * Why a child process: ListObjectsV2 continuation tokens in s3rver use DES, which OpenSSL 3 only
 * offers with `--openssl-legacy-provider`; and a separate process can be killed mid-upload.
 *
 * What s3rver cannot prove (see docs/storage-providers.md): it does not verify SigV4 signatures
 * (only that the access key id exists: the key pair is `S3RVER`/`S3RVER`), it does not implement
 * AbortMultipartUpload or ListMultipartUploads, and it ignores storage class and SSE. The harness
 * adds AbortMultipartUpload (DELETE ?uploadId: removes that upload's stored parts, 404
 * NoSuchUpload if unknown) and ListMultipartUploads (GET ?uploads&prefix, one page, from the key
 * s3rver records per upload) so tests can prove the adapter cleans up, and exposes the parts folder
 * through {@link S3Server.pendingUploads}.
 */
export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  dataDir: string;
  /** Multipart uploads started and neither completed nor aborted (read from s3rver's folder). */
  pendingUploads(): string[];
  /** SIGKILLs the server process (an abrupt crash: sockets reset, nothing flushed). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL = 'npm install --save-dev s3rver';

// Runs inside the child (CommonJS, `node -e`). The shim answers AbortMultipartUpload, which
// s3rver 3.7 routes to 405 MethodNotAllowed, by deleting the parts folder s3rver keeps, and
// ListMultipartUploads (501 NotImplemented there) from those folders.
const CHILD = String.raw`
const cfg = JSON.parse(process.env.S3RVER_HARNESS);
const S3rver = require(cfg.module);
const fs = require('fs');
const path = require('path');
const server = new S3rver({ address: '127.0.0.1', port: cfg.port, directory: cfg.dir, silent: true, vhostBuckets: false, configureBuckets: cfg.buckets.map((name) => ({ name })) });
server.middleware.unshift(async (ctx, next) => {
  const listing = /^\/([^/?]+)\/?$/.exec(ctx.path);
  if (ctx.method === 'GET' && listing && ctx.query.uploads !== undefined) {
    // ListMultipartUploads, from the folder s3rver keeps per upload (its 'key' file), one page.
    const dir = path.join(cfg.dir, listing[1], '._S3rver_uploads');
    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    const esc = (v) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const uploads = [];
    for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      try {
        const key = fs.readFileSync(path.join(dir, id, 'key'), 'utf8');
        if (key.startsWith(prefix)) uploads.push('<Upload><Key>' + esc(key) + '</Key><UploadId>' + id + '</UploadId></Upload>');
      } catch {}
    }
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>' + esc(listing[1]) + '</Bucket><Prefix>' + esc(prefix) + '</Prefix><IsTruncated>false</IsTruncated>' + uploads.join('') + '</ListMultipartUploadsResult>';
    return;
  }
  const m = /^\/([^/?]+)\/.+$/.exec(ctx.path);
  if (ctx.method === 'DELETE' && m && typeof ctx.query.uploadId === 'string' && /^[a-f0-9]+$/.test(ctx.query.uploadId)) {
    const dir = path.join(cfg.dir, m[1], '._S3rver_uploads', ctx.query.uploadId);
    if (!fs.existsSync(dir)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  return next();
});
server.run().then(() => process.stdout.write('READY\n'), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function resolveS3rver(): string {
  try {
    return createRequire(import.meta.url).resolve('s3rver');
  } catch {
    throw new Error(`s3rver (the S3-compatible test server) is not installed. Install it: ${INSTALL}`);
  }
}

function launch(module: string, dir: string, port: number, buckets: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
      env: { ...process.env, S3RVER_HARNESS: JSON.stringify({ module, dir, port, buckets }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within 20 s: ${err}`));
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
      reject(new Error(`s3rver exited with ${code} before it was ready: ${err}`));
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

/** Starts s3rver with one empty bucket. */
export async function startS3(options: { bucket?: string } = {}): Promise<S3Server> {
  const module = resolveS3rver();
  const dataDir = mkdtempSync(join(tmpdir(), 'obsdk-s3-'));
  const bucket = options.bucket ?? 'backups';
  const port = await freePort();
  let child = await launch(module, dataDir, port, [bucket]);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    dataDir,
    pendingUploads: () => {
      const dir = join(dataDir, bucket, '._S3rver_uploads');
      return existsSync(dir) ? readdirSync(dir) : [];
    },
    kill: () => exit(child, 'SIGKILL'),
    restart: async () => {
      await exit(child, 'SIGKILL');
      child = await launch(module, dataDir, port, [bucket]);
    },
    stop: async () => {
      await exit(child, 'SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
