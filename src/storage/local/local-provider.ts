import { constants, createReadStream, createWriteStream, type Stats, type WriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
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
import { isTempName, tempName, tempPrefix } from '../temp-name.js';
import { onceAny } from '../../streams/once-any.js';
import { STREAM_BUFFER_BYTES } from '../../streams/stream-buffer.js';

/**
 * Downloads read 1 MiB at a time, not fs's default 64 KiB: every chunk costs a thread-pool trip
 * and a pass through each stream stage after it (the ZIP reader, the hashes, gunzip), and on a
 * GB-size restore that per-chunk cost was a second of CPU.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Options of {@link LocalStorageProvider}. */
export interface LocalStorageOptions {
  /**
   * Folder under which keys become files. It must exist: a missing root is `E_STORAGE_NOT_FOUND`
   * (as a missing bucket is), never created, so a typo or an unmounted volume cannot send backups
   * into a folder nobody watches. Folders below it are created as keys need them.
   */
  root: string;
}

function fsError(error: unknown, key: string, action: string): StorageError {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
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

function notAnObject(key: string): StorageError {
  return new StorageError('E_STORAGE_NOT_FOUND', `local storage: no object at ${key} (it names a folder)`, { details: { key } });
}

function linkError(key: string, action: string, link: string): StorageError {
  return new StorageError(
    'E_STORAGE_PERMISSION',
    `local storage: refusing to ${action} ${key}: ${link} is a symbolic link, which could lead out of the storage root`,
    { details: { key, link } },
  );
}

/**
 * A {@link StorageProvider} on a local folder. Uploads stream to a temp file beside the target,
 * are fsynced, then renamed into place, so readers never see a partial object and a failure
 * leaves nothing behind. Keys never leave the root: they are checked by `assertSafeKey`, and a
 * symbolic link below the root is never followed (`E_STORAGE_PERMISSION`).
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
    const temp = join(dirname(target), tempName(key));
    let size = 0;
    let file: WriteStream | null = null;
    try {
      if (options.signal?.aborted) throw new AbortedError(`Upload of ${key}`, options.signal.reason);
      await this.assertRoot();
      // Checked before mkdir (which would follow a linked folder) and after it (a link made meanwhile).
      await this.assertNoLink(dirname(target), key, 'write');
      await mkdir(dirname(target), { recursive: true });
      await this.assertNoLink(dirname(target), key, 'write');
      const counter = new Transform({
        highWaterMark: STREAM_BUFFER_BYTES,
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          options.onProgress?.(size);
          cb(null, chunk);
        },
      });
      file = createWriteStream(temp, { flags: 'wx', highWaterMark: STREAM_BUFFER_BYTES });
      await pipeline(body as Readable, counter, file, { signal: options.signal });
      const fh = await open(temp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (error) {
      // A body that fails at once can fail the pipeline while the file is still being opened: the
      // open would then create it after the rm below. Remove it once the stream has closed.
      if (file && !file.closed) {
        const closed = onceAny(file, ['close']);
        file.destroy();
        await closed;
      }
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
    await this.assertNoLink(path, key, 'read');
    let handle;
    try {
      // O_NOFOLLOW: a link swapped in after the check is refused too.
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw this.linkOrFsError(error, key, 'read');
    }
    const info = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw fsError(error, key, 'read');
    });
    if (!info.isFile()) {
      await handle.close();
      throw notAnObject(key);
    }
    return createReadStream('', {
      fd: handle,
      highWaterMark: READ_CHUNK_BYTES,
      ...(options.range ? { start: options.range.start, ...(options.range.end !== undefined ? { end: options.range.end } : {}) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async head(key: string): Promise<ObjectHead> {
    const path = this.path(key);
    const s = await this.objectStats(path, key, 'stat');
    if (!s) return { exists: false, key };
    return { exists: true, key, size: s.size, last_modified: s.mtime, etag: `${s.size}-${s.mtimeMs}` };
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    // A folder or a missing file is no object: deleting it is a no-op, as in every provider.
    if (!(await this.objectStats(path, key, 'delete'))) return;
    try {
      await rm(path, { force: true });
    } catch (error) {
      throw fsError(error, key, 'delete');
    }
  }

  /** The stats of the regular file `key` names, or null when there is none (missing, or a folder). */
  private async objectStats(path: string, key: string, action: string): Promise<Stats | null> {
    await this.assertNoLink(path, key, action);
    try {
      const s = await lstat(path);
      return s.isFile() ? s : null;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw fsError(error, key, action);
    }
  }

  /**
   * Refuses a path that goes through a symbolic link below the root: reads and writes would
   * follow it out of the root (someone with write access to the folder could plant one).
   */
  private async assertNoLink(path: string, key: string, action: string): Promise<void> {
    let at = this.root;
    for (const part of relative(this.root, path).split(sep).filter(Boolean)) {
      at = join(at, part);
      let info: Stats;
      try {
        info = await lstat(at);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw fsError(error, key, action);
      }
      if (info.isSymbolicLink()) throw linkError(key, action, relative(this.root, at));
    }
  }

  private linkOrFsError(error: unknown, key: string, action: string): StorageError {
    return (error as NodeJS.ErrnoException)?.code === 'ELOOP' ? linkError(key, action, key) : fsError(error, key, action);
  }

  /**
   * The root must be an existing folder. Listing a missing root as empty would tell retention and
   * reconciliation that every backup is gone; writing would create a folder nobody configured.
   */
  private async assertRoot(): Promise<void> {
    // stat, not lstat: the root itself may be a link the host made (to a mounted volume).
    const info = await stat(this.root).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
      throw fsError(error, '', 'open the root folder for');
    });
    if (!info?.isDirectory()) {
      throw new StorageError(
        'E_STORAGE_NOT_FOUND',
        `local storage: the root folder ${this.root} does not exist: create it or fix settings.root`,
        { details: { provider: 'local', missing: 'root', root: this.root } },
      );
    }
  }

  async abortPartialUploads(key: string): Promise<number> {
    const dir = dirname(this.path(key));
    await this.assertNoLink(dir, key, 'delete');
    const prefix = tempPrefix(key);
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
      throw fsError(error, key, 'delete');
    });
    const temps = entries.filter((e) => e.isFile() && e.name.startsWith(prefix));
    for (const e of temps)
      await rm(join(dir, e.name), { force: true }).catch((error: unknown) => Promise.reject(fsError(error, key, 'delete')));
    return temps.length;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    await this.assertRoot();
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      throw fsError(error, prefix, 'list');
    });
    const keys = entries
      .filter((e) => e.isFile() && !isTempName(e.name))
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

  /** Checks the root folder exists, then writes, reads back and deletes a probe at the root. */
  async testConnection() {
    return probeStorage(this);
  }

  async close(): Promise<void> {}
}
