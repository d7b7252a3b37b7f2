import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
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

interface StoredObject {
  data: Buffer;
  etag: string;
  last_modified: Date;
}

/** A fault the next uploads will hit, for testing failure paths. */
export interface MemoryUploadFault {
  /** Fail after this many bytes of the body have been read (default 0: at once). */
  afterBytes?: number;
  /** Whether the error is transient (retryable). Default true. */
  transient?: boolean;
  /** How many uploads fail (default 1). */
  times?: number;
}

// Objects live per namespace so several provider instances (a writer and a reader) can share them.
const namespaces = new Map<string, Map<string, StoredObject>>();

/** Options of {@link MemoryStorageProvider}. */
export interface MemoryStorageOptions {
  /** Instances with the same namespace share objects (default: a private store). */
  namespace?: string;
}

/**
 * A {@link StorageProvider} in process memory, for users' unit tests. Same contract as the real
 * ones: objects appear only when an upload completes, aborted or failed uploads leave nothing.
 * It holds objects in memory by nature: keep test objects small.
 */
export class MemoryStorageProvider implements StorageProvider {
  readonly name = 'memory';
  readonly canPresign = false;
  private readonly objects: Map<string, StoredObject>;
  private faults: Required<MemoryUploadFault>[] = [];
  /** Uploads currently streaming (for tests checking that nothing is left running). */
  activeUploads = 0;

  constructor(options: MemoryStorageOptions = {}) {
    if (options.namespace === undefined) this.objects = new Map();
    else {
      let ns = namespaces.get(options.namespace);
      if (!ns) namespaces.set(options.namespace, (ns = new Map()));
      this.objects = ns;
    }
  }

  /** Makes the next `times` uploads fail after `afterBytes` bytes. */
  injectUploadFault(fault: MemoryUploadFault = {}): void {
    this.faults.push({ afterBytes: fault.afterBytes ?? 0, transient: fault.transient ?? true, times: fault.times ?? 1 });
  }

  /** Every key currently stored (sorted). */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** Nothing to remove: an upload here stores its object only once whole, and nothing before. */
  async abortPartialUploads(key: string): Promise<number> {
    assertSafeKey(key);
    return 0;
  }

  async upload(key: string, body: NodeJS.ReadableStream | Readable, options: UploadOptions = {}): Promise<UploadResult> {
    assertSafeKey(key);
    const fault = this.faults[0];
    if (fault && --fault.times <= 0) this.faults.shift();
    const chunks: Buffer[] = [];
    let size = 0;
    this.activeUploads++;
    try {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        if (options.signal?.aborted) throw new AbortedError(`Upload of ${key}`, options.signal.reason);
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(buf);
        size += buf.length;
        options.onProgress?.(size);
        if (fault && size >= fault.afterBytes) {
          throw new StorageError(
            fault.transient ? 'E_STORAGE_UNAVAILABLE' : 'E_STORAGE',
            `memory storage: injected upload failure after ${size} bytes`,
            { transient: fault.transient },
          );
        }
      }
      if (options.signal?.aborted) throw new AbortedError(`Upload of ${key}`, options.signal.reason);
      if (fault)
        throw new StorageError(fault.transient ? 'E_STORAGE_UNAVAILABLE' : 'E_STORAGE', 'memory storage: injected upload failure', {
          transient: fault.transient,
        });
    } catch (error) {
      (body as Readable).destroy?.();
      throw error;
    } finally {
      this.activeUploads--;
    }
    const data = Buffer.concat(chunks);
    const etag = createHash('md5').update(data).digest('hex');
    this.objects.set(key, { data, etag, last_modified: new Date() });
    return { key, size, etag };
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    assertSafeKey(key);
    const obj = this.objects.get(key);
    if (!obj) throw new StorageError('E_STORAGE_NOT_FOUND', `memory storage: no object at ${key}`, { details: { key } });
    const start = options.range?.start ?? 0;
    const end = options.range?.end === undefined ? obj.data.length : options.range.end + 1;
    const slice = obj.data.subarray(start, end);
    // Chunked like a network stream, so consumers see realistic backpressure.
    const parts: Buffer[] = [];
    for (let i = 0; i < slice.length; i += 64 * 1024) parts.push(slice.subarray(i, i + 64 * 1024));
    return Readable.from(parts, { signal: options.signal } as never);
  }

  async head(key: string): Promise<ObjectHead> {
    assertSafeKey(key);
    const obj = this.objects.get(key);
    return obj ? { exists: true, key, size: obj.data.length, etag: obj.etag, last_modified: obj.last_modified } : { exists: false, key };
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const key of this.keys()) {
      if (!key.startsWith(prefix)) continue;
      const obj = this.objects.get(key);
      if (obj) yield { key, size: obj.data.length, etag: obj.etag, last_modified: obj.last_modified };
    }
  }

  async presign(): Promise<string> {
    throw new UnsupportedOperationError('presigned URLs', 'The memory storage provider', 'use download() to stream the object');
  }

  testConnection() {
    return probeStorage(this);
  }

  async close(): Promise<void> {}
}
