import { createHash } from 'node:crypto';
import { PassThrough, Readable, addAbortSignal } from 'node:stream';
import type { CompletedPart, S3Client, ServerSideEncryption, StorageClass } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../../domain/entities.js';
import { AbortedError, StorageError, ValidationError } from '../../errors/errors.js';
import type {
  DownloadOptions,
  ObjectHead,
  ObjectInfo,
  StorageProvider,
  UploadOptions,
  UploadResult,
} from '../../ports/storage-provider.js';
import { probeStorage } from '../connection-test.js';
import { CLEANUP_RETRIES, withRetry } from '../retry.js';
import { assertSafeKey } from '../safe-key.js';
import { loadS3, type S3Sdk } from './load-s3.js';
import { classifyS3Error } from './s3-errors.js';
import { MAX_PARTS, resolveS3Options, type S3ProviderOptions } from './s3-presets.js';

/** SigV4 presigned URLs are valid for at most seven days. */
export const MAX_PRESIGN_SECONDS = 604_800;

/** Any S3 command (the SDK's overloads do not accept a union). */
type Sendable = object;

/**
 * A {@link StorageProvider} for AWS S3 and S3-compatible services (Cloudflare R2, Backblaze B2,
 * MinIO), on `@aws-sdk/client-s3`.
 *
 * Uploads of unknown length stream as a multipart upload of equal `partSize` parts (R2 requires
 * equal parts), at most `queueSize` in flight, in at most (queueSize + 1) part buffers that are
 * reused: memory stays near (queueSize + 1) x partSize.
 * An object smaller than one part is sent with a single `PutObject`. Each request is retried with
 * backoff on transient errors (p-retry; the SDK's own retries are off so there is one policy).
 * On failure or abort, in-flight part requests are cancelled and the multipart upload is aborted
 * so no parts remain; if that abort fails too, the original error is still the one thrown.
 */
export class S3StorageProvider implements StorageProvider {
  readonly name: string;
  readonly canPresign = true;
  private readonly options: S3ProviderOptions;
  /** Built on first use, with the SDK it comes from (see load-s3.ts). */
  private connecting: Promise<{ client: S3Client; sdk: S3Sdk }> | undefined;
  private client: S3Client | undefined;

  constructor(options: S3ProviderOptions) {
    if (options.partSize < 5 * 1024 * 1024)
      throw new ValidationError([{ field: 'settings.part_size_mb', message: 'must be at least 5 (S3 minimum part size)' }]);
    this.options = options;
    this.name = options.preset;
  }

  /** Builds the provider from a StorageConfig of kind s3, r2, b2 or minio (see `resolveS3Options`). */
  static fromConfig(config: StorageConfig): S3StorageProvider {
    return new S3StorageProvider(resolveS3Options(config));
  }

  /** Bucket, region and endpoint: never the credentials. */
  toJSON(): Record<string, unknown> {
    const o = this.options;
    return {
      provider: o.preset,
      bucket: o.bucket,
      region: o.region,
      endpoint: o.endpoint ?? null,
      prefix: o.prefix,
      part_size: o.partSize,
      queue_size: o.queueSize,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `S3StorageProvider ${JSON.stringify(this.toJSON())}`;
  }

  /** The effective multipart settings (for diagnostics and benchmarks). */
  get multipart(): { partSize: number; queueSize: number } {
    return { partSize: this.options.partSize, queueSize: this.options.queueSize };
  }

  /** The client, created (and the SDK loaded) on the first request. */
  private sdk(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    this.connecting ??= loadS3().then(
      (sdk) => {
        const options = this.options;
        this.client = new sdk.s3.S3Client({
          region: options.region,
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          forcePathStyle: options.forcePathStyle,
          credentials: {
            accessKeyId: options.accessKeyId,
            secretAccessKey: options.secretAccessKey,
            ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
          },
          requestChecksumCalculation: options.checksums,
          responseChecksumValidation: options.checksums,
          maxAttempts: 1,
          requestHandler: { connectionTimeout: options.connectTimeoutMs, requestTimeout: options.socketTimeoutMs },
        });
        return { client: this.client, sdk };
      },
      (error: unknown) => {
        this.connecting = undefined; // retried on the next request; the caller classifies the error
        throw error;
      },
    );
    return this.connecting;
  }

  private fullKey(key: string): string {
    assertSafeKey(key);
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  private classify(error: unknown, action: string, key?: string) {
    return classifyS3Error(error, {
      provider: this.name,
      bucket: this.options.bucket,
      action,
      ...(key ? { key } : {}),
      secrets: [this.options.secretAccessKey, this.options.sessionToken],
    });
  }

  /** One request, retried while the failure is transient. */
  private send<T>(action: string, key: string | undefined, command: (s3: S3Sdk['s3']) => Sendable, signal?: AbortSignal): Promise<T> {
    return withRetry(
      `${action}${key ? ` ${key}` : ''}`,
      async () => {
        try {
          const { client, sdk } = await this.sdk();
          return (await client.send(command(sdk.s3) as never, signal ? { abortSignal: signal } : {})) as T;
        } catch (error) {
          if (signal?.aborted) throw new AbortedError(`${action}${key ? ` of ${key}` : ''}`, signal.reason);
          throw this.classify(error, action, key);
        }
      },
      { ...this.options.retry, ...(signal ? { signal } : {}) },
    );
  }

  private objectParams(contentType?: string) {
    const o = this.options;
    return {
      ...(contentType ? { ContentType: contentType } : {}),
      ...(o.storageClass ? { StorageClass: o.storageClass as StorageClass } : {}),
      ...(o.serverSideEncryption ? { ServerSideEncryption: o.serverSideEncryption as ServerSideEncryption } : {}),
      ...(o.sseKmsKeyId ? { SSEKMSKeyId: o.sseKmsKeyId } : {}),
    };
  }

  async upload(key: string, body: NodeJS.ReadableStream | Readable, options: UploadOptions = {}): Promise<UploadResult> {
    const Key = this.fullKey(key);
    const { bucket: Bucket, partSize, queueSize } = this.options;
    const outer = options.signal;
    if (outer?.aborted) throw new AbortedError(`Upload of ${key}`, outer.reason);
    // One controller for this upload: the caller's abort and our own first failure both cancel
    // every request in flight (the SDK's abortSignal destroys the socket).
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const source = body instanceof Readable ? body : new Readable().wrap(body);
    addAbortSignal(controller.signal, source);

    let uploadId: string | undefined;
    let failure: unknown;
    let sent = 0;
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    // Part buffers come back here once their part is stored, so at most queueSize + 1 are ever
    // allocated: memory is bounded by the settings, not by how fast the garbage collector runs.
    const spare: Buffer[] = [];
    const fail = (error: unknown) => {
      if (failure === undefined) failure = error;
      controller.abort(error);
    };
    const startPart = (partNumber: number, data: Buffer) => {
      const p = this.send<{ ETag?: string }>(
        'upload part',
        key,
        (s3) =>
          new s3.UploadPartCommand({
            Bucket,
            Key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: data,
            ContentLength: data.length,
            ContentMD5: md5(data),
          }),
        controller.signal,
      ).then((res) => {
        parts[partNumber - 1] = { PartNumber: partNumber, ETag: res.ETag };
        sent += data.length;
        if (data.length === partSize) spare.push(data);
        options.onProgress?.(sent);
      }, fail);
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };

    try {
      let buffer: Buffer = Buffer.allocUnsafe(partSize);
      let filled = 0;
      let partNumber = 0;
      let total = 0;
      for await (const raw of source) {
        let chunk = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
        total += chunk.length;
        while (chunk.length > 0) {
          const n = Math.min(chunk.length, partSize - filled);
          chunk.copy(buffer, filled, 0, n);
          filled += n;
          chunk = chunk.subarray(n);
          if (filled < partSize) continue;
          // A full part: start the multipart upload on the first one, then hand the part over.
          if (failure !== undefined) throw failure;
          if (uploadId === undefined) uploadId = await this.createMultipart(Key, key, options.contentType, controller.signal);
          if (++partNumber > MAX_PARTS) throw tooLarge(key, partSize);
          while (inFlight.size >= queueSize) await Promise.race(inFlight);
          if (failure !== undefined) throw failure;
          startPart(partNumber, buffer);
          buffer = spare.pop() ?? Buffer.allocUnsafe(partSize);
          filled = 0;
        }
      }
      if (uploadId === undefined) {
        // Smaller than one part: a single PutObject with a known length (no aws-chunked body).
        const data = buffer.subarray(0, filled);
        const res = await this.send<{ ETag?: string }>(
          'upload',
          key,
          (s3) =>
            new s3.PutObjectCommand({
              Bucket,
              Key,
              Body: data,
              ContentLength: data.length,
              ContentMD5: md5(data),
              ...this.objectParams(options.contentType),
            }),
          controller.signal,
        );
        options.onProgress?.(data.length);
        return { key, size: data.length, ...(res.ETag ? { etag: res.ETag } : {}) };
      }
      if (filled > 0) {
        if (++partNumber > MAX_PARTS) throw tooLarge(key, partSize);
        while (inFlight.size >= queueSize) await Promise.race(inFlight);
        if (failure !== undefined) throw failure;
        startPart(partNumber, buffer.subarray(0, filled));
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      const done = await this.send<{ ETag?: string }>(
        'complete upload',
        key,
        (s3) => new s3.CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        controller.signal,
      );
      return { key, size: total, ...(done.ETag ? { etag: done.ETag } : {}) };
    } catch (error) {
      const original = failure ?? error;
      controller.abort(original);
      await Promise.allSettled(inFlight);
      if (uploadId !== undefined) await this.abortMultipart(Key, key, uploadId, original);
      // A storage failure that came before the caller's abort (the caller gave up because of it)
      // is the reason; requests cut by the abort itself fail as AbortedError, never StorageError.
      if (outer?.aborted && !(original instanceof StorageError)) throw new AbortedError(`Upload of ${key}`, outer.reason);
      throw original;
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  private async createMultipart(Key: string, key: string, contentType: string | undefined, signal: AbortSignal): Promise<string> {
    const res = await this.send<{ UploadId?: string }>(
      'start multipart upload',
      key,
      (s3) => new s3.CreateMultipartUploadCommand({ Bucket: this.options.bucket, Key, ...this.objectParams(contentType) }),
      signal,
    );
    if (!res.UploadId) throw new StorageError('E_STORAGE', `${this.name} bucket '${this.options.bucket}' returned no UploadId for ${key}`);
    return res.UploadId;
  }

  /**
   * Removes the parts of a failed upload. Its own failure must not hide why the upload failed, so
   * it is attached to the original error's details instead of thrown.
   */
  private async abortMultipart(Key: string, key: string, uploadId: string, original: unknown): Promise<void> {
    try {
      await withRetry(
        'abort multipart upload',
        async () => {
          try {
            const { client, sdk } = await this.sdk();
            await client.send(new sdk.s3.AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key, UploadId: uploadId }));
          } catch (error) {
            const c = this.classify(error, 'abort multipart upload', key);
            if (c.code === 'E_STORAGE_NOT_FOUND') return; // already gone
            throw c;
          }
        },
        { ...this.options.retry, retries: CLEANUP_RETRIES },
      );
    } catch (abortError) {
      if (original && typeof original === 'object' && 'details' in original && typeof original.details === 'object' && original.details) {
        const d = original.details as Record<string, unknown>;
        d.abort_failed = true;
        d.upload_id = uploadId;
        d.abort_error = abortError instanceof Error ? abortError.message : String(abortError);
      }
    }
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    const Key = this.fullKey(key);
    const r = options.range;
    if (r && (r.start < 0 || (r.end !== undefined && r.end < r.start)))
      throw new ValidationError([{ field: 'range', message: 'must have 0 <= start <= end' }]);
    const res = await this.send<{ Body?: Readable }>(
      'download',
      key,
      (s3) => new s3.GetObjectCommand({ Bucket: this.options.bucket, Key, ...(r ? { Range: `bytes=${r.start}-${r.end ?? ''}` } : {}) }),
      options.signal,
    );
    const body = res.Body ?? Readable.from([]);
    const out = new PassThrough();
    body.once('error', (e) => out.destroy(this.classify(e, 'download', key)));
    out.once('close', () => {
      if (!body.destroyed) body.destroy();
    });
    body.pipe(out);
    if (options.signal) addAbortSignal(options.signal, out);
    return out;
  }

  async head(key: string): Promise<ObjectHead> {
    const Key = this.fullKey(key);
    try {
      const res = await this.send<{ ContentLength?: number; ETag?: string; LastModified?: Date }>(
        'head',
        key,
        (s3) => new s3.HeadObjectCommand({ Bucket: this.options.bucket, Key }),
      );
      return {
        exists: true,
        key,
        size: res.ContentLength ?? 0,
        ...(res.ETag ? { etag: res.ETag } : {}),
        ...(res.LastModified ? { last_modified: res.LastModified } : {}),
      };
    } catch (error) {
      if (!(error instanceof StorageError) || (error.code !== 'E_STORAGE_NOT_FOUND' && error.code !== 'E_STORAGE_PERMISSION')) throw error;
      // A HEAD error has no body, so a bare 404 or 403 does not say whether the bucket is missing
      // or the credentials are wrong. A one-byte GET gets the server's error code.
      const reason = await this.explainHeadError(Key, key);
      if (reason === null) return { exists: false, key };
      throw reason ?? error;
    }
  }

  /** `null` when the object is simply missing; the typed error otherwise (`undefined`: no better answer). */
  private async explainHeadError(Key: string, key: string): Promise<StorageError | AbortedError | null | undefined> {
    try {
      const { client, sdk } = await this.sdk();
      const res = await client.send(new sdk.s3.GetObjectCommand({ Bucket: this.options.bucket, Key, Range: 'bytes=0-0' }));
      (res.Body as Readable | undefined)?.destroy();
      return undefined;
    } catch (error) {
      const c = this.classify(error, 'head', key);
      if (c instanceof StorageError && c.code === 'E_STORAGE_NOT_FOUND' && c.details.missing !== 'bucket') return null;
      // An empty object answers a range request with 416: it exists after all (raced with an upload).
      if (c instanceof StorageError && c.details.http_status === 416) return undefined;
      return c;
    }
  }

  /** Aborts every pending multipart upload of exactly `key` (the listing is by prefix: longer keys are skipped). */
  async abortPartialUploads(key: string): Promise<number> {
    const Key = this.fullKey(key);
    const Bucket = this.options.bucket;
    let removed = 0;
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (;;) {
      const page = await this.send<{
        Uploads?: { Key?: string; UploadId?: string }[];
        IsTruncated?: boolean;
        NextKeyMarker?: string;
        NextUploadIdMarker?: string;
      }>('list multipart uploads', key, (s3) => new s3.ListMultipartUploadsCommand({ Bucket, Prefix: Key, ...markers }));
      for (const upload of page.Uploads ?? []) {
        if (upload.Key !== Key || !upload.UploadId) continue;
        try {
          await this.send(
            'abort multipart upload',
            key,
            (s3) => new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId }),
          );
          removed++;
        } catch (error) {
          // Completed or aborted meanwhile: nothing left to remove.
          if (!(error instanceof StorageError && error.code === 'E_STORAGE_NOT_FOUND')) throw error;
        }
      }
      if (!page.IsTruncated) return removed;
      markers = {
        ...(page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker } : {}),
        ...(page.NextUploadIdMarker ? { UploadIdMarker: page.NextUploadIdMarker } : {}),
      };
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.send('delete', key, (s3) => new s3.DeleteObjectCommand({ Bucket: this.options.bucket, Key }));
    } catch (error) {
      if (error instanceof StorageError && error.code === 'E_STORAGE_NOT_FOUND' && error.details.missing === 'object') return;
      throw error;
    }
  }

  /**
   * Deletes many keys with `DeleteObjects` (1,000 per request). That call requires a body checksum
   * even under `WHEN_REQUIRED`; MD5 (`Content-MD5`) is the one every S3-compatible server accepts.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.fullKey(k));
    for (let i = 0; i < full.length; i += 1000) {
      const batch = full.slice(i, i + 1000);
      const res = await this.send<{ Errors?: { Key?: string; Code?: string; Message?: string }[] }>(
        'delete objects',
        undefined,
        (s3) =>
          new s3.DeleteObjectsCommand({
            Bucket: this.options.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            ChecksumAlgorithm: 'MD5',
          }),
      );
      const errors = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (errors.length > 0) {
        throw new StorageError(
          'E_STORAGE',
          `${this.name} bucket '${this.options.bucket}' could not delete ${errors.length} object(s), first: ${errors[0]?.Code}`,
          {
            details: { failed: errors.map((e) => ({ key: e.Key, code: e.Code })) },
          },
        );
      }
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const root = this.options.prefix ? `${this.options.prefix}/` : '';
    let token: string | undefined;
    do {
      const page: {
        Contents?: { Key?: string; Size?: number; ETag?: string; LastModified?: Date }[];
        IsTruncated?: boolean;
        NextContinuationToken?: string;
      } = await this.send(
        'list',
        prefix || undefined,
        (s3) =>
          new s3.ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: root + prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(root)) continue;
        yield {
          key: o.Key.slice(root.length),
          size: o.Size ?? 0,
          ...(o.ETag ? { etag: o.ETag } : {}),
          ...(o.LastModified ? { last_modified: o.LastModified } : {}),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async presign(key: string, expiresInSeconds: number): Promise<string> {
    const Key = this.fullKey(key);
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
      throw new ValidationError([
        { field: 'expires_in', message: `must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (7 days, the SigV4 limit)` },
      ]);
    }
    const { client, sdk } = await this.sdk();
    return sdk.presigner.getSignedUrl(client, new sdk.s3.GetObjectCommand({ Bucket: this.options.bucket, Key }), {
      expiresIn: expiresInSeconds,
    });
  }

  /** Checks the bucket is reachable with these credentials, then writes, reads back and deletes a probe. */
  async testConnection() {
    const started = Date.now();
    try {
      // A GET (not HeadBucket): its error body tells a missing bucket from bad credentials.
      await this.send(
        'connect',
        undefined,
        (s3) =>
          new s3.ListObjectsV2Command({
            Bucket: this.options.bucket,
            MaxKeys: 1,
            Prefix: this.options.prefix ? `${this.options.prefix}/` : '',
          }),
      );
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
    this.client?.destroy(); // never created: nothing to close
  }
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function tooLarge(key: string, partSize: number): StorageError {
  return new StorageError(
    'E_STORAGE_TOO_LARGE',
    `${key} needs more than ${MAX_PARTS} parts of ${Math.round(partSize / 1048576)} MiB: raise settings.part_size_mb`,
    {
      details: { key, part_size: partSize, max_parts: MAX_PARTS },
    },
  );
}
