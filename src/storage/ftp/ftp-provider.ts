import { isIP } from 'node:net';
import { posix } from 'node:path';
import { PassThrough, Readable, Transform, Writable, pipeline } from 'node:stream';
import type { Client } from 'basic-ftp';
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
import { ConnectionPool } from '../connection-pool.js';
import { probeStorage } from '../connection-test.js';
import { CLEANUP_RETRIES, withRetry } from '../retry.js';
import { assertSafeKey } from '../safe-key.js';
import { deferEnd, handshakeDone } from './deferred-end.js';
import { isTempName, tempName, tempPrefix } from '../temp-name.js';
import { classifyFtpError, ftpReplyCode } from './ftp-errors.js';
import { loadFtp } from './load-ftp.js';
import { resolveFtpOptions, type FtpProviderOptions } from './ftp-options.js';
import { destroyOnAbort } from '../../streams/destroy-on-abort.js';

/**
 * A {@link StorageProvider} on an FTP or explicit-FTPS server (basic-ftp, passive mode).
 *
 * Keys are paths under the configured root folder (which must exist; missing sub-folders are
 * created). Uploads stream to a temp file in the target's folder and are renamed into place on
 * success; on failure or abort the transfer is cut and the temp file deleted. Connecting is
 * retried on transient errors; a transfer is not (its source stream cannot be replayed). FTP
 * cannot sign URLs, so `presign` raises `E_UNSUPPORTED`.
 */
export class FtpStorageProvider implements StorageProvider {
  readonly name = 'ftp';
  readonly canPresign = false;
  private readonly options: FtpProviderOptions;
  private readonly pool: ConnectionPool<Client>;
  /** Folders known to exist, so uploads skip a round trip per path segment. */
  private readonly knownDirs = new Set<string>();

  constructor(options: FtpProviderOptions) {
    this.options = options;
    this.pool = new ConnectionPool(
      () => this.connect(),
      (c) => c.close(),
      options.maxConnections,
    );
  }

  /** Builds the provider from a StorageConfig of kind ftp (see `resolveFtpOptions`). */
  static fromConfig(config: StorageConfig): FtpStorageProvider {
    return new FtpStorageProvider(resolveFtpOptions(config));
  }

  /** Host, port and root: never the password. */
  toJSON(): Record<string, unknown> {
    const o = this.options;
    return { provider: 'ftp', host: o.host, port: o.port, root: o.root, secure: o.secure, username: o.username };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FtpStorageProvider ${JSON.stringify(this.toJSON())}`;
  }

  private classify(error: unknown, action: string, key?: string) {
    return classifyFtpError(error, { host: this.options.host, action, ...(key ? { key } : {}), secrets: [this.options.password] });
  }

  private path(key: string): string {
    return posix.join(this.options.root, ...assertSafeKey(key).split('/'));
  }

  private connect(): Promise<Client> {
    const o = this.options;
    return withRetry(
      'FTP connect',
      async () => {
        const { Client } = await loadFtp().catch((error: unknown) => {
          throw this.classify(error, 'load basic-ftp');
        });
        const client = new Client(o.timeoutMs);
        try {
          await client.access({
            host: o.host,
            port: o.port,
            user: o.username,
            password: o.password,
            secure: o.secure,
            // SNI must not be an IP address (RFC 6066); certificates for IPs are still checked against it.
            secureOptions: {
              rejectUnauthorized: o.rejectUnauthorized,
              ...(o.ca ? { ca: o.ca } : {}),
              ...(isIP(o.host) ? {} : { servername: o.host }),
            },
          });
        } catch (error) {
          client.close();
          throw this.classify(error, 'connect');
        }
        try {
          await client.cd(o.root);
        } catch (error) {
          client.close();
          const c = this.classify(error, 'open root folder');
          if (c instanceof StorageError && c.code === 'E_STORAGE_NOT_FOUND') {
            throw new StorageError(
              'E_STORAGE_NOT_FOUND',
              `FTP server ${o.host}: the root folder ${o.root} does not exist: create it or fix settings.root`,
              {
                details: { provider: 'ftp', missing: 'root', root: o.root },
              },
            );
          }
          throw c;
        }
        return client;
      },
      o.retry,
    );
  }

  /** A pooled connection, retried as a whole while the failure is transient (for idempotent steps). */
  private run<R>(action: string, key: string | undefined, fn: (c: Client) => Promise<R>): Promise<R> {
    return withRetry(
      `FTP ${action}`,
      () =>
        this.pool.use(async (c) => {
          try {
            return await fn(c);
          } catch (error) {
            throw this.classify(error, action, key);
          }
        }),
      this.options.retry,
    );
  }

  /**
   * The size of a file. Some servers answer SIZE of an empty file without a number (ftp-srv:
   * `213 File status`); then the folder listing says it.
   */
  private async sizeOf(c: Client, path: string): Promise<number> {
    try {
      return await c.size(path);
    } catch (error) {
      if (ftpReplyCode(error) !== undefined || !/parse response to command 'SIZE/.test(String((error as Error)?.message))) throw error;
      const name = posix.basename(path);
      const entry = (await c.list(posix.dirname(path))).find((e) => e.name === name && !e.isDirectory);
      if (!entry) throw error;
      return entry.size;
    }
  }

  private async ensureDir(c: Client, dir: string): Promise<void> {
    if (dir === this.options.root || this.knownDirs.has(dir)) return;
    await c.ensureDir(dir);
    this.knownDirs.add(dir);
  }

  async upload(key: string, body: NodeJS.ReadableStream | Readable, options: UploadOptions = {}): Promise<UploadResult> {
    const target = this.path(key);
    const dir = posix.dirname(target);
    const temp = posix.join(dir, tempName(key));
    const signal = options.signal;
    if (signal?.aborted) throw new AbortedError(`Upload of ${key}`, signal.reason);
    const source = body instanceof Readable ? body : new Readable().wrap(body);
    let client: Client | undefined;
    let failure: unknown;
    let size = 0;
    // Cutting the control connection is the only way to stop a running FTP transfer.
    const cut = (reason: unknown) => {
      failure ??= reason;
      client?.close();
    };
    const onAbort = () => cut(new AbortedError(`Upload of ${key}`, signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        options.onProgress?.(size);
        cb(null, chunk);
      },
    });
    // A source error cuts the upload (before the transfer, it is checked after ensureDir). Once
    // the transfer runs, pipeline() carries it into `counted`, whose reader is basic-ftp; and a
    // failed transfer destroys `counted`, then pipeline() the source: only an error the source
    // raised first is the caller's. (Destroying `counted` by hand before basic-ftp reads it
    // would raise an 'error' event nobody listens to.)
    let sinkError: unknown;
    counted.on('error', (e) => (sinkError ??= e));
    source.on('error', (e) => {
      if (sinkError === undefined) cut(e);
    });
    let startedTransfer = false;
    try {
      client = await this.pool.acquire();
      try {
        await this.ensureDir(client, dir).catch((e: unknown) => {
          throw this.classify(e, 'create folder', key);
        });
        if (failure !== undefined) throw failure;
        startedTransfer = true;
        pipeline(source, counted, () => undefined); // errors: the listeners above, and uploadFrom
        const ftp = client.ftp;
        await client.uploadFrom(
          deferEnd(counted, () => handshakeDone(ftp.dataSocket)),
          temp,
        );
        if (failure !== undefined) throw failure;
        await client.rename(temp, target);
      } catch (error) {
        this.pool.destroy(client);
        client = undefined;
        throw error;
      }
      this.pool.release(client);
      client = undefined;
      return { key, size };
    } catch (error) {
      const original = failure ?? error;
      if (!source.destroyed) source.destroy();
      if (startedTransfer) await this.removeQuietly(temp);
      if (original instanceof StorageError) throw original;
      // `failure` is what cut the transfer: the abort, or the caller's source (pass its error
      // through unchanged: it may be a typed SourceError). Without one, the server or the link
      // failed, and that stays the reason even if the caller aborted meanwhile.
      if (failure instanceof AbortedError) throw new AbortedError(`Upload of ${key}`, signal?.reason);
      if (failure !== undefined) throw failure;
      throw this.classify(original, 'upload', key);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Deletes a temp file after a failure, on a fresh connection; a failure here must not mask the first. */
  private async removeQuietly(path: string): Promise<void> {
    try {
      await withRetry('FTP remove temp file', () => this.pool.use((c) => c.remove(path, true)), {
        ...this.options.retry,
        retries: CLEANUP_RETRIES,
      });
    } catch {
      /* the server is gone: list() skips temp files, and a later sweep may remove it */
    }
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    const path = this.path(key);
    const r = options.range;
    if (r && (r.start < 0 || (r.end !== undefined && r.end < r.start)))
      throw new ValidationError([{ field: 'range', message: 'must have 0 <= start <= end' }]);
    const client = await withRetry(
      'FTP download',
      async () => {
        const c = await this.pool.acquire();
        try {
          await this.sizeOf(c, path);
          return c;
        } catch (error) {
          if (ftpReplyCode(error) === undefined) this.pool.destroy(c);
          else this.pool.release(c);
          throw this.classify(error, 'download', key);
        }
      },
      this.options.retry,
    );
    const out = new PassThrough();
    let remaining = r?.end !== undefined ? r.end - r.start + 1 : Infinity;
    let done = false;
    const finish = (healthy: boolean) => {
      if (done) return;
      done = true;
      if (healthy) this.pool.release(client);
      else this.pool.destroy(client);
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (remaining <= 0) return cb();
        const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
        remaining -= piece.length;
        const ok = out.write(piece);
        if (remaining <= 0) {
          // The range is complete: stop the transfer by dropping this connection.
          out.end();
          finish(false);
          return cb();
        }
        if (ok) cb();
        else out.once('drain', () => cb());
      },
      final(cb) {
        out.end();
        cb();
      },
    });
    out.once('close', () => {
      if (!done && !out.writableFinished) finish(false);
    });
    destroyOnAbort(out, options.signal, () => new AbortedError(`Download of ${key}`, options.signal?.reason));
    client.downloadTo(sink, path, r?.start ?? 0).then(
      () => finish(true),
      (error: unknown) => {
        if (done) return;
        finish(false);
        out.destroy(this.classify(error, 'download', key));
      },
    );
    return out;
  }

  async head(key: string): Promise<ObjectHead> {
    const path = this.path(key);
    return this.run('head', key, async (c) => {
      let size: number;
      try {
        size = await this.sizeOf(c, path);
      } catch (error) {
        if (ftpReplyCode(error) === 550) return { exists: false as const, key };
        throw error;
      }
      const last = await c.lastMod(path).catch(() => undefined);
      return { exists: true as const, key, size, ...(last ? { last_modified: last } : {}) };
    });
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await this.run('delete', key, async (c) => {
      try {
        await c.remove(path);
      } catch (error) {
        if (ftpReplyCode(error) !== 550) throw error;
        // 550 is both "no such file" and "not allowed": only a missing file is success.
        const exists = await this.sizeOf(c, path).then(
          () => true,
          () => false,
        );
        if (exists) throw error;
      }
    });
  }

  async abortPartialUploads(key: string): Promise<number> {
    const target = this.path(key);
    const dir = posix.dirname(target);
    const prefix = tempPrefix(key);
    return this.run('remove partial uploads', key, async (c) => {
      let entries;
      try {
        entries = await c.list(dir);
      } catch (error) {
        if (ftpReplyCode(error) === 550 || ftpReplyCode(error) === 450) return 0;
        throw error;
      }
      const temps = entries.filter((e) => e.isFile && e.name.startsWith(prefix));
      for (const e of temps) await c.remove(posix.join(dir, e.name));
      return temps.length;
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk from the deepest folder the prefix names, descending only into folders that can match.
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
          if (ftpReplyCode(error) === 550 || ftpReplyCode(error) === 450) return [];
          throw error;
        }
      });
      const subdirs: string[] = [];
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (e.name === '.' || e.name === '..' || isTempName(e.name)) continue;
        const key = dirKey ? `${dirKey}/${e.name}` : e.name;
        if (e.isDirectory) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) subdirs.push(key);
        } else if (key.startsWith(prefix)) {
          yield { key, size: e.size, ...(e.modifiedAt ? { last_modified: e.modifiedAt } : {}) };
        }
      }
      stack.push(...subdirs.reverse());
    }
  }

  async presign(): Promise<string> {
    throw new UnsupportedOperationError('presigned URLs', 'The FTP storage provider', 'use download() to stream the object');
  }

  /** Connects (login and root folder), then writes, reads back and deletes a probe. */
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
