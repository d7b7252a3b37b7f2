import type { Readable } from 'node:stream';
import type { StorageConfig } from '../domain/entities.js';

/** Options of {@link StorageProvider.upload}. */
export interface UploadOptions {
  contentType?: string;
  /** Aborting removes any partial object and rejects with an `AbortedError`. */
  signal?: AbortSignal;
  /** Called with the total bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
}

/** What an upload stored. */
export interface UploadResult {
  key: string;
  /** Bytes stored. */
  size: number;
  etag?: string;
}

/** Options of {@link StorageProvider.download}. */
export interface DownloadOptions {
  /** Inclusive byte range; `end` omitted means to the end. */
  range?: { start: number; end?: number };
  signal?: AbortSignal;
}

/** An object as listed or headed. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  last_modified?: Date;
}

/** The result of {@link StorageProvider.head}. */
export type ObjectHead = ({ exists: true } & ObjectInfo) | { exists: false; key: string };

/** One step of {@link StorageProvider.testConnection}. */
export interface ConnectionTestStep {
  step: 'connect' | 'write' | 'read' | 'delete';
  ok: boolean;
  duration_ms: number;
  /** What went wrong, in words a person can act on. */
  message?: string;
}

/** The product's "test storage connection" result. */
export interface ConnectionTestResult {
  ok: boolean;
  steps: ConnectionTestStep[];
  message: string;
}

/**
 * Where archives are stored. Streams both ways; never buffers a whole object. Objects appear
 * atomically: readers never see a partial one, and a failed or aborted upload leaves nothing.
 * Errors are `StorageError`s (`E_STORAGE_AUTH`, `E_STORAGE_NOT_FOUND`, ...), with secrets removed.
 */
export interface StorageProvider {
  /** Provider kind, for messages (`s3`, `sftp`...). */
  readonly name: string;
  /** Whether {@link presign} works. */
  readonly canPresign: boolean;
  /** Streams `body` (of unknown length) to `key`, replacing any object there. */
  upload(key: string, body: NodeJS.ReadableStream | Readable, options?: UploadOptions): Promise<UploadResult>;
  /** A stream of the object's bytes. Throws `E_STORAGE_NOT_FOUND` for a missing key. */
  download(key: string, options?: DownloadOptions): Promise<Readable>;
  /** Whether the object exists, and its size. */
  head(key: string): Promise<ObjectHead>;
  /** Removes the object; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, paging as needed. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A GET URL valid for `expiresInSeconds`; `UnsupportedOperationError` where the provider cannot sign. */
  presign(key: string, expiresInSeconds: number): Promise<string>;
  /**
   * Removes what an upload of `key` that never finished left in storage (its worker was killed):
   * temp files of an upload under a temp name (local, FTP, SFTP), pending S3 multipart uploads.
   * Never the object at `key`, never what an upload of another key left or is writing. Call it
   * only when no upload of `key` runs (crash recovery does, for a backup whose worker is gone):
   * it would break that upload. Resolves with the number of things removed. Optional, so
   * providers written before it still compile; without it, recovery leaves such leftovers
   * (see docs/storage-providers.md, "Writing your own provider").
   */
  abortPartialUploads?(key: string): Promise<number>;
  /** Writes, reads back and deletes a small probe object, reporting each step. */
  testConnection(): Promise<ConnectionTestResult>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Builds (or returns a cached) provider for a storage config. `createStorageProvider` is the
 * SDK's own; hosts may wrap it (to cache connections, add metrics) or replace it in tests.
 */
export type StorageProviderFactory = (config: StorageConfig) => StorageProvider;
