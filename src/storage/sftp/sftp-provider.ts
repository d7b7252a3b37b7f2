import { posix } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import type SftpClient from 'ssh2-sftp-client';
import type { StorageConfig } from '../../domain/entities.js';
import { AbortedError, StorageError, UnsupportedOperationError, ValidationError } from '../../errors/errors.js';
import type {
  DownloadOptions,
  ObjectHead,
  ObjectInfo,
  StorageProvider,
  UploadOptions,
  UploadResult,
} from '../../ports/storage-provider.js';
import { hostKeyVerifier } from '../../ssh/host-key.js';
import { loadSftpClient } from './load-sftp.js';
import { ConnectionPool } from '../connection-pool.js';
import { probeStorage } from '../connection-test.js';
import { CLEANUP_RETRIES, withRetry } from '../retry.js';
import { assertSafeKey } from '../safe-key.js';
import { isTempName, tempName, tempPrefix } from '../temp-name.js';
import { classifySftpError, isSftpNotFound } from './sftp-errors.js';
import { resolveSftpOptions, type SftpProviderOptions } from './sftp-options.js';
import { pipelinedReadStream } from './sftp-read-stream.js';
import { pipelinedWriteStream } from './sftp-write-stream.js';
import { destroyOnAbort } from '../../streams/destroy-on-abort.js';

/**
 * Buffer of an upload stream. ssh2's own SFTP streams send one request per chunk and wait for
 * each (with 16 KiB chunks a 20 MiB upload took 12.7 s here, with 1 MiB chunks 0.6 s); the
 * pipelined streams used below also keep several requests in flight.
 */
const STREAM_CHUNK = 1024 * 1024;

/**
 * The ssh2 SFTP session under an ssh2-sftp-client connection, for the pipelined streams. It is
 * gone once the connection dropped: that is a (transient) connection reset.
 */
function sftpSession(c: SftpClient): SFTPWrapper {
  const sftp = (c as unknown as { sftp?: SFTPWrapper }).sftp;
  if (!sftp) throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
  return sftp;
}

/**
 * Downloads at least this long read through a second SFTP channel on the same connection. Each
 * channel has its own 2 MiB flow-control window (ssh2's fixed size): with one channel the server
 * stalls whenever the window is spent until ssh2 reads on and adjusts it; two channels keep twice
 * the data in flight and give the server a second SFTP process to read the file. Small reads (the
 * archive check reads ZIP records by ranges) skip the extra channel's round trip.
 */
const SECOND_CHANNEL_MIN_BYTES = 8 * 1024 * 1024;

/**
 * Opens one more SFTP channel on the connection under `c`, or null when the server refuses it
 * (MaxSessions): the download then runs on the one channel.
 */
function extraSftpSession(c: SftpClient, timeoutMs: number): Promise<SFTPWrapper | null> {
  const client = (c as unknown as { client?: { sftp(cb: (err: Error | undefined, sftp: SFTPWrapper) => void): void } }).client;
  if (!client) return Promise.resolve(null);
  return new Promise((resolve) => {
    let done = false;
    // A connection that dies meanwhile may never answer: go on with one channel.
    const timer = setTimeout(() => {
      done = true;
      resolve(null);
    }, timeoutMs);
    timer.unref();
    try {
      client.sftp((err, sftp) => {
        if (sftp) sftp.on('error', () => undefined); // its reads fail on their own
        if (done) return void sftp?.end();
        done = true;
        clearTimeout(timer);
        resolve(err ? null : sftp);
      });
    } catch {
      done = true;
      clearTimeout(timer);
      resolve(null);
    }
  });
}

/**
 * A {@link StorageProvider} on an SFTP server (ssh2-sftp-client), with password or key login.
 *
 * The server's host key must match the configured `host_key` (fingerprint or known_hosts line):
 * unknown keys are refused (`E_STORAGE_HOST_KEY`). Keys are paths under the configured root
 * folder (which must exist; missing sub-folders are created). Uploads stream to a temp file in
 * the target's folder and replace the target with `posixRename` on success (plain SFTP rename
 * fails onto an existing file); on failure or abort the temp file is deleted.
 */
export class SftpStorageProvider implements StorageProvider {
  readonly name = 'sftp';
  readonly canPresign = false;
  private readonly options: SftpProviderOptions;
  private readonly pool: ConnectionPool<SftpClient>;
  private readonly knownDirs = new Set<string>();
  private readonly creatingDirs = new Map<string, Promise<void>>();
  /** Per connection: what to do when it drops (ssh2 leaves pending SFTP requests unanswered). */
  private readonly onLost = new WeakMap<SftpClient, Set<(error: Error) => void>>();
  private readonly dead = new WeakSet<SftpClient>();

  constructor(options: SftpProviderOptions) {
    this.options = options;
    this.pool = new ConnectionPool(
      () => this.connect(),
      (c) => (this.dead.has(c) ? undefined : c.end().then(() => undefined)),
      options.maxConnections,
      (c) => !this.dead.has(c),
    );
  }

  /** Builds the provider from a StorageConfig of kind sftp (see `resolveSftpOptions`). */
  static fromConfig(config: StorageConfig): SftpStorageProvider {
    return new SftpStorageProvider(resolveSftpOptions(config));
  }

  /** Host, port, root and user: never the password or key. */
  toJSON(): Record<string, unknown> {
    const o = this.options;
    return { provider: 'sftp', host: o.host, port: o.port, root: o.root, username: o.username };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SftpStorageProvider ${JSON.stringify(this.toJSON())}`;
  }

  private classify(error: unknown, action: string, key?: string) {
    const o = this.options;
    return classifySftpError(error, { host: o.host, action, ...(key ? { key } : {}), secrets: [o.password, o.passphrase] });
  }

  private path(key: string): string {
    return posix.join(this.options.root, ...assertSafeKey(key).split('/'));
  }

  private connect(): Promise<SftpClient> {
    const o = this.options;
    return withRetry(
      'SFTP connect',
      async () => {
        // Our own connection listeners (the library's defaults print to the console): a dropped
        // connection fails whatever stream is using it, instead of leaving it waiting forever.
        const lost = (error?: Error) => {
          if (this.dead.has(client)) return;
          this.dead.add(client);
          const reason = Object.assign(new Error(`connection lost${error?.message ? `: ${error.message}` : ''}`), {
            code: (error as NodeJS.ErrnoException | undefined)?.code ?? 'ECONNRESET',
          });
          for (const h of this.onLost.get(client) ?? []) h(reason);
        };
        const SftpClientClass = await loadSftpClient().catch((error: unknown) => {
          throw this.classify(error, 'load ssh2-sftp-client');
        });
        const client: SftpClient = new SftpClientClass('odoo-backup-sdk', {
          error: (e: Error) => lost(e),
          end: () => lost(),
          close: () => lost(),
        } as never);
        this.onLost.set(client, new Set());
        let offered: string | undefined;
        try {
          await client.connect({
            host: o.host,
            port: o.port,
            username: o.username,
            ...(o.password ? { password: o.password } : {}),
            ...(o.privateKey ? { privateKey: o.privateKey } : {}),
            ...(o.passphrase ? { passphrase: o.passphrase } : {}),
            hostVerifier: hostKeyVerifier(o.hostKey, (fp) => (offered = fp)),
            readyTimeout: o.timeoutMs,
            // ssh2-sftp-client retries connects itself; ours (p-retry) is the one policy.
            retries: 0,
          });
        } catch (error) {
          await client.end().catch(() => undefined);
          if (offered) {
            throw new StorageError(
              'E_STORAGE_HOST_KEY',
              `SFTP server ${o.host} presented host key ${offered}, which does not match settings.host_key: if the server's key changed on purpose, update host_key`,
              {
                details: { provider: 'sftp', offered_fingerprint: offered },
              },
            );
          }
          throw this.classify(error, 'connect');
        }
        try {
          const kind = await client.exists(o.root);
          if (kind !== 'd') {
            throw new StorageError(
              'E_STORAGE_NOT_FOUND',
              `SFTP server ${o.host}: the root folder ${o.root} does not exist: create it or fix settings.root`,
              {
                details: { provider: 'sftp', missing: 'root', root: o.root },
              },
            );
          }
        } catch (error) {
          await client.end().catch(() => undefined);
          throw this.classify(error, 'open root folder');
        }
        return client;
      },
      o.retry,
    );
  }

  /** Fails `stream` if `c` drops; returns the unsubscribe. */
  private failOnLoss(c: SftpClient, stream: NodeJS.ReadableStream | NodeJS.WritableStream): () => void {
    const handler = (error: Error) => (stream as Readable).destroy(error);
    if (this.dead.has(c)) handler(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }));
    this.onLost.get(c)?.add(handler);
    return () => this.onLost.get(c)?.delete(handler);
  }

  /** A pooled connection for an idempotent step, retried while the failure is transient. */
  private run<R>(action: string, key: string | undefined, fn: (c: SftpClient) => Promise<R>): Promise<R> {
    return withRetry(
      `SFTP ${action}`,
      async () => {
        const c = await this.pool.acquire();
        try {
          const result = await fn(c);
          this.pool.release(c);
          return result;
        } catch (error) {
          const classified = this.classify(error, action, key);
          // A connection that failed at the transport level is not reused.
          if (classified.transient) this.pool.destroy(c);
          else this.pool.release(c);
          throw classified;
        }
      },
      this.options.retry,
    );
  }

  /** Creates `dir` and its parents once per provider; concurrent uploads share the creation. */
  private ensureDir(c: SftpClient, dir: string): Promise<void> {
    if (dir === this.options.root || this.knownDirs.has(dir)) return Promise.resolve();
    let pending = this.creatingDirs.get(dir);
    if (!pending) {
      pending = this.createDir(c, dir)
        .then(() => void this.knownDirs.add(dir))
        .finally(() => this.creatingDirs.delete(dir));
      this.creatingDirs.set(dir, pending);
    }
    return pending;
  }

  private async createDir(c: SftpClient, dir: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.mkdir(dir, true);
        return;
      } catch (error) {
        // Another client (or an upload to a sibling folder) created this folder or a parent
        // meanwhile: OpenSSH answers a mkdir of one that now exists with a generic failure, which
        // ssh2-sftp-client reports as "permission denied". Done if it exists; else try again.
        if ((await c.exists(dir).catch(() => false)) === 'd') return;
        if (attempt === 3) throw error;
      }
    }
  }

  async upload(key: string, body: NodeJS.ReadableStream | Readable, options: UploadOptions = {}): Promise<UploadResult> {
    const target = this.path(key);
    const dir = posix.dirname(target);
    const temp = posix.join(dir, tempName(key));
    const signal = options.signal;
    if (signal?.aborted) throw new AbortedError(`Upload of ${key}`, signal.reason);
    const source = body instanceof Readable ? body : new Readable().wrap(body);
    let size = 0;
    let sourceError: unknown;
    let sinkError: unknown;
    // pipeline() destroys the source with the sink's error too: only an error the source raised
    // first is the caller's.
    source.once('error', (e) => {
      if (sinkError === undefined) sourceError ??= e;
    });
    const counter = new Transform({
      highWaterMark: STREAM_CHUNK,
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        options.onProgress?.(size);
        cb(null, chunk);
      },
    });
    let opened = false;
    let c: SftpClient | undefined;
    try {
      c = await this.pool.acquire();
      await this.ensureDir(c, dir).catch((e: unknown) => {
        throw this.classify(e, 'create folder', key);
      });
      const ws = pipelinedWriteStream(sftpSession(c), temp, { highWaterMark: STREAM_CHUNK });
      opened = true;
      ws.once('error', (e: Error) => (sinkError ??= e));
      const unwatch = this.failOnLoss(c, ws);
      try {
        // Resolves once every write is acknowledged and the handle closed: then rename.
        await pipeline(source, counter, ws, ...(signal ? [{ signal }] : []));
      } finally {
        unwatch();
      }
      await c.posixRename(temp, target);
      this.pool.release(c);
      c = undefined;
      return { key, size };
    } catch (error) {
      if (c) this.pool.destroy(c);
      if (!source.destroyed) source.destroy();
      if (opened) await this.removeQuietly(temp);
      // The caller's source failed: pass its error through unchanged (it may be a SourceError).
      if (sourceError !== undefined && !signal?.aborted) throw sourceError;
      // Only a failure the abort caused is an abort: a connection lost before it is the reason
      // the caller gave up, and must be the error reported.
      const byAbort = !(error instanceof Error) || error.name === 'AbortError' || error instanceof AbortedError;
      if (signal?.aborted && (byAbort || sourceError !== undefined)) throw new AbortedError(`Upload of ${key}`, signal.reason);
      throw this.classify(error, 'upload', key);
    }
  }

  /** Deletes a temp file after a failure, on a fresh connection; its failure must not mask the first. */
  private async removeQuietly(path: string): Promise<void> {
    try {
      await withRetry(
        'SFTP remove temp file',
        async () => {
          const c = await this.pool.acquire();
          try {
            await c.delete(path, true);
            this.pool.release(c);
          } catch (error) {
            this.pool.destroy(c);
            throw this.classify(error, 'remove temp file');
          }
        },
        { ...this.options.retry, retries: CLEANUP_RETRIES },
      );
    } catch {
      /* the server is gone: list() skips temp files */
    }
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    const path = this.path(key);
    const r = options.range;
    if (r && (r.start < 0 || (r.end !== undefined && r.end < r.start)))
      throw new ValidationError([{ field: 'range', message: 'must have 0 <= start <= end' }]);
    const { c, sftp, size } = await withRetry(
      'SFTP download',
      async () => {
        const conn = await this.pool.acquire();
        try {
          const st = await conn.stat(path);
          return { c: conn, sftp: sftpSession(conn), size: st.size };
        } catch (error) {
          const classified = this.classify(error, 'download', key);
          if (classified.transient) this.pool.destroy(conn);
          else this.pool.release(conn);
          throw classified;
        }
      },
      this.options.retry,
    );
    const start = r?.start ?? 0;
    const end = Math.min(r?.end ?? Infinity, size - 1);
    const extra = end - start + 1 >= SECOND_CHANNEL_MIN_BYTES ? await extraSftpSession(c, this.options.timeoutMs) : null;
    const rs = pipelinedReadStream(extra ? [sftp, extra] : sftp, path, { start, end });
    const out = new PassThrough({ highWaterMark: STREAM_CHUNK });
    const unwatch = this.failOnLoss(c, rs);
    let settled = false;
    const finish = (healthy: boolean) => {
      if (settled) return;
      settled = true;
      unwatch();
      extra?.end();
      if (healthy) this.pool.release(c);
      else this.pool.destroy(c);
    };
    rs.once('error', (e) => {
      finish(false);
      out.destroy(this.classify(e, 'download', key));
    });
    // The generator closes the file handle before the stream ends.
    rs.once('end', () => finish(true));
    out.once('close', () => {
      if (!settled && !rs.readableEnded) {
        rs.destroy();
        finish(false);
      }
    });
    rs.pipe(out);
    destroyOnAbort(out, options.signal, () => new AbortedError(`Download of ${key}`, options.signal?.reason));
    return out;
  }

  async head(key: string): Promise<ObjectHead> {
    const path = this.path(key);
    return this.run('head', key, async (c) => {
      try {
        const s = await c.stat(path);
        if (!s.isFile) return { exists: false as const, key };
        return { exists: true as const, key, size: s.size, last_modified: new Date(s.modifyTime) };
      } catch (error) {
        if (isSftpNotFound(error)) return { exists: false as const, key };
        throw error;
      }
    });
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await this.run('delete', key, (c) => c.delete(path, true).then(() => undefined));
  }

  async abortPartialUploads(key: string): Promise<number> {
    const dir = posix.dirname(this.path(key));
    const prefix = tempPrefix(key);
    return this.run('remove partial uploads', key, async (c) => {
      let entries;
      try {
        entries = await c.list(dir);
      } catch (error) {
        if (isSftpNotFound(error)) return 0;
        throw error;
      }
      const temps = entries.filter((e) => e.type === '-' && e.name.startsWith(prefix));
      for (const e of temps) await c.delete(posix.join(dir, e.name), true);
      return temps.length;
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const cut = prefix.lastIndexOf('/');
    const startKey = cut >= 0 ? prefix.slice(0, cut) : '';
    if (startKey) assertSafeKey(startKey);
    const stack: string[] = [startKey];
    while (stack.length > 0) {
      const dirKey = stack.pop()!;
      const dirPath = dirKey ? posix.join(this.options.root, dirKey) : this.options.root;
      const entries = await this.run('list', dirKey || undefined, async (c) => {
        try {
          return await c.list(dirPath);
        } catch (error) {
          if (isSftpNotFound(error)) return [];
          throw error;
        }
      });
      const subdirs: string[] = [];
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (e.name === '.' || e.name === '..' || isTempName(e.name)) continue;
        const key = dirKey ? `${dirKey}/${e.name}` : e.name;
        if (e.type === 'd') {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) subdirs.push(key);
        } else if (e.type === '-' && key.startsWith(prefix)) {
          yield { key, size: e.size, last_modified: new Date(e.modifyTime) };
        }
      }
      stack.push(...subdirs.reverse());
    }
  }

  async presign(): Promise<string> {
    throw new UnsupportedOperationError('presigned URLs', 'The SFTP storage provider', 'use download() to stream the object');
  }

  /** Connects (host key, login, root folder), then writes, reads back and deletes a probe. */
  async testConnection() {
    const started = Date.now();
    try {
      this.pool.release(await this.pool.acquire());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        steps: [{ step: 'connect' as const, ok: false, duration_ms: Date.now() - started, message }],
        message: `Storage connect failed: ${message}`,
      };
    }
    return probeStorage(this);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
