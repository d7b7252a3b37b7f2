import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { AbortedError, StorageError, UnsupportedOperationError } from '../../errors/errors.js';
import type {
  DownloadOptions,
  ObjectHead,
  ObjectInfo,
  StorageProvider,
  UploadOptions,
  UploadResult,
} from '../../ports/storage-provider.js';
import { probeStorage } from '../connection-test.js';
import { assertSafeKey } from '../safe-key.js';

/** Temp files carry this marker so `list` never shows a half-written object. */
const TEMP_MARK = '.obsdk-partial-';

/** Options of {@link LocalStorageProvider}. */
export interface LocalStorageOptions {
  /** Folder under which keys become files. Created if missing. */
  root: string;
}

function fsError(error: unknown, key: string, action: string): StorageError {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT')
    return new StorageError('E_STORAGE_NOT_FOUND', `local storage: no object at ${key}`, { details: { key }, cause: error });
  if (code === 'EACCES' || code === 'EPERM')
    return new StorageError('E_STORAGE_PERMISSION', `local storage: permission denied to ${action} ${key}`, {
      details: { key },
      cause: error,
    });
  if (code === 'ENOSPC')
    return new StorageError('E_STORAGE_FULL', `local storage: disk full while trying to ${action} ${key}`, {
      details: { key },
      cause: error,
      transient: true,
    });
  return new StorageError('E_STORAGE', `local storage: could not ${action} ${key} (${code ?? (error as Error)?.message})`, {
    details: { key, errno: code },
    cause: error,
  });
}

/**
 * A {@link StorageProvider} on a local folder. Uploads stream to a temp file beside the target,
 * are fsynced, then renamed into place, so readers never see a partial object and a failure
 * leaves nothing behind.
 */
export class LocalStorageProvider implements StorageProvider {
  readonly name = 'local';
  readonly canPresign = false;
  readonly root: string;

  constructor(options: LocalStorageOptions) {
    this.root = options.root;
  }

  private path(key: string): string {
    return join(this.root, ...assertSafeKey(key).split('/'));
  }

  async upload(key: string, body: NodeJS.ReadableStream | Readable, options: UploadOptions = {}): Promise<UploadResult> {
    const target = this.path(key);
    const temp = join(dirname(target), `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    let size = 0;
    try {
      if (options.signal?.aborted) throw new AbortedError(`Upload of ${key}`, options.signal.reason);
      await mkdir(dirname(target), { recursive: true });
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          options.onProgress?.(size);
          cb(null, chunk);
        },
      });
      await pipeline(body as Readable, counter, createWriteStream(temp, { flags: 'wx' }), { signal: options.signal });
      const fh = await open(temp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (error) {
      // A failed clean-up (the folder is not there, or not a folder) must not hide why the upload failed.
      await rm(temp, { force: true }).catch(() => undefined);
      // The body's own typed error (a failed source) is the caller's: pass it through unchanged.
      if (error instanceof BackupSdkError) throw error;
      // A disk error that happened before an abort is still the reason the upload failed.
      const code = (error as NodeJS.ErrnoException)?.code;
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw fsError(error, key, 'write');
      if (options.signal?.aborted) throw new AbortedError(`Upload of ${key}`, options.signal.reason);
      throw error;
    }
    return { key, size };
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    const path = this.path(key);
    try {
      await stat(path);
    } catch (error) {
      throw fsError(error, key, 'read');
    }
    return createReadStream(path, {
      ...(options.range ? { start: options.range.start, ...(options.range.end !== undefined ? { end: options.range.end } : {}) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async head(key: string): Promise<ObjectHead> {
    try {
      const s = await stat(this.path(key));
      return { exists: true, key, size: s.size, last_modified: s.mtime, etag: `${s.size}-${s.mtimeMs}` };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, key };
      throw fsError(error, key, 'stat');
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.path(key), { force: true });
    } catch (error) {
      throw fsError(error, key, 'delete');
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw fsError(error, prefix, 'list');
    });
    const keys = entries
      .filter((e) => e.isFile() && !e.name.startsWith(TEMP_MARK))
      .map((e) => relative(this.root, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((k) => k.startsWith(prefix))
      .sort();
    for (const key of keys) {
      const h = await this.head(key);
      if (h.exists) yield { key, size: h.size, ...(h.last_modified ? { last_modified: h.last_modified } : {}) };
    }
  }

  async presign(): Promise<string> {
    throw new UnsupportedOperationError('presigned URLs', 'The local storage provider', 'use download() to stream the object');
  }

  testConnection() {
    return probeStorage(this);
  }

  async close(): Promise<void> {}
}
