import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type yauzl from 'yauzl';
import { loadOnce } from '../adapters/load-once.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import {
  AGE_CHUNK_BYTES,
  AGE_NONCE_BYTES,
  AGE_SEALED_CHUNK_BYTES,
  agePayloadKey,
  agePayloadLayout,
  openAgeChunk,
  type AgePayloadLayout,
} from './age-chunks.js';
import { AGE_MAGIC, ageHeaderLength, openAgeHeader, type AgeHeaderKey } from './age-header.js';
import { encryptionTamperedError, encryptionTruncatedError } from './encryption-errors.js';
import { downloadRange, loadYauzl, type StorageRangeReader } from './storage-range-reader.js';
import { STREAM_BUFFER_BYTES } from '../streams/stream-buffer.js';

/** Bytes read from the object's start to find its header: room for well over a hundred recipients. */
const HEADER_PROBE_BYTES = 16 * 1024;

/** An age-encrypted object opened for reading by plaintext range. */
export interface OpenedAgeObject {
  /** Reads plaintext [a, b) by fetching and opening only the chunks that hold it. */
  reader: StorageRangeReader;
  /** Bytes of the plaintext (the ZIP). */
  plaintextBytes: number;
}

/**
 * Opens the age file at `key` (`storedBytes` long): reads its header, unwraps the file key (or
 * checks the header's MAC with the key a run holds), and returns a reader that decrypts on the fly.
 * No temp copy: a plaintext range [a, b) is chunks ⌊a/64 KiB⌋..⌊(b-1)/64 KiB⌋, fetched as one
 * ranged read at `header + 16 + i × 65552`.
 *
 * Throws `E_ENCRYPTION_TAMPERED` (not an age file, header MAC, an empty last chunk after full
 * ones) or `E_ENCRYPTION_TRUNCATED` (no room for the nonce and a tag, a last chunk cut in its tag).
 */
export async function openAgeObject(
  provider: StorageProvider,
  key: string,
  storedBytes: number,
  headerKey: AgeHeaderKey,
  signal: AbortSignal,
): Promise<OpenedAgeObject> {
  const probe = await readRange(provider, key, 0, Math.min(storedBytes, HEADER_PROBE_BYTES), signal);
  if (!probe.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC))
    throw encryptionTamperedError(key, 'its record says it is encrypted but it is not an age file', { part: 'header' });
  const headerBytes = ageHeaderLength(probe);
  if (headerBytes === null) throw encryptionTamperedError(key, 'its age header has no MAC line', { part: 'header' });
  const fileKey = await openAgeHeader(key, probe.subarray(0, headerBytes), headerKey);
  const layout = agePayloadLayout(headerBytes, storedBytes);
  if (layout === 'short') throw encryptionTruncatedError(key, 'it ends inside its nonce or last tag', { stored_size: storedBytes });
  if (layout === 'empty-last') throw encryptionTamperedError(key, 'it ends with an empty chunk after full ones', { part: 'payload' });
  const nonce =
    probe.length >= headerBytes + AGE_NONCE_BYTES
      ? probe.subarray(headerBytes, headerBytes + AGE_NONCE_BYTES)
      : await readRange(provider, key, headerBytes, AGE_NONCE_BYTES, signal);
  const Reader = await loadReaderClass();
  return {
    reader: new Reader(provider, key, { layout, storedBytes, payloadKey: agePayloadKey(fileKey, nonce) }, signal),
    plaintextBytes: layout.plaintextBytes,
  };
}

/** `length` bytes of `key` from `start`, whole. */
async function readRange(provider: StorageProvider, key: string, start: number, length: number, signal: AbortSignal): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const stream = await provider.download(key, { range: { start, end: start + length - 1 }, signal });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface AgeReadPlan {
  layout: AgePayloadLayout;
  storedBytes: number;
  payloadKey: Buffer;
}

const loadReaderClass = loadOnce(async () => decryptingReaderClass(await loadYauzl()));

function decryptingReaderClass(zip: typeof yauzl) {
  return class DecryptingStorageRangeReader extends zip.RandomAccessReader {
    constructor(
      private readonly provider: StorageProvider,
      private readonly key: string,
      private readonly plan: AgeReadPlan,
      private readonly signal: AbortSignal,
    ) {
      super();
    }

    override _readStreamForRange(start: number, end: number): Readable {
      if (end <= start) return downloadRange(this.provider, this.key, 0, 0, this.signal);
      const { layout, storedBytes } = this.plan;
      const first = Math.floor(start / AGE_CHUNK_BYTES);
      const last = Math.floor((end - 1) / AGE_CHUNK_BYTES);
      const from = layout.start + first * AGE_SEALED_CHUNK_BYTES;
      const to = Math.min(layout.start + (last + 1) * AGE_SEALED_CHUNK_BYTES, storedBytes);
      return downloadRange(this.provider, this.key, from, to, this.signal, new ChunkOpener(this.key, this.plan, first, last, start, end));
    }
  };
}

/**
 * Opens sealed chunks `first`..`last` as they arrive and passes on the plaintext within [start, end).
 * A chunk that does not authenticate is `E_ENCRYPTION_TAMPERED`, unless it is the last one and opens
 * as a non-final chunk: then the object was cut at a chunk boundary (`E_ENCRYPTION_TRUNCATED`).
 */
class ChunkOpener extends Transform {
  private readonly sealed = Buffer.allocUnsafe(AGE_SEALED_CHUNK_BYTES);
  private filled = 0;
  private index: number;

  constructor(
    private readonly key: string,
    private readonly plan: AgeReadPlan,
    first: number,
    private readonly last: number,
    private readonly rangeStart: number,
    private readonly rangeEnd: number,
  ) {
    super({ writableHighWaterMark: STREAM_BUFFER_BYTES, readableHighWaterMark: STREAM_BUFFER_BYTES });
    this.index = first;
  }

  /** Sealed bytes of chunk `i`: full, but for the object's last chunk. */
  private sealedLength(i: number): number {
    const { layout, storedBytes } = this.plan;
    return i < layout.chunks - 1 ? AGE_SEALED_CHUNK_BYTES : storedBytes - layout.start - i * AGE_SEALED_CHUNK_BYTES;
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.index > this.last) return callback(encryptionTamperedError(this.key, 'storage sent more bytes than asked for'));
      const want = this.sealedLength(this.index);
      // A whole chunk in this input is opened where it lies; only one split across inputs is copied.
      if (this.filled === 0 && data.length - offset >= want) {
        const error = this.openOne(data.subarray(offset, offset + want));
        if (error) return callback(error);
        offset += want;
        this.index++;
        continue;
      }
      const n = Math.min(want - this.filled, data.length - offset);
      data.copy(this.sealed, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === want) {
        const error = this.openOne(this.sealed.subarray(0, want));
        if (error) return callback(error);
        this.filled = 0;
        this.index++;
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.index <= this.last)
      return callback(encryptionTruncatedError(this.key, `chunk ${this.index} ends early`, { chunk: this.index }));
    callback();
  }

  private openOne(sealed: Buffer): Error | null {
    const i = this.index;
    const isLast = i === this.plan.layout.chunks - 1;
    const plain = openAgeChunk(this.plan.payloadKey, i, isLast, sealed);
    if (!plain) {
      if (isLast && openAgeChunk(this.plan.payloadKey, i, false, sealed))
        return encryptionTruncatedError(this.key, 'its last chunk is not marked final (chunks are missing after it)', { chunk: i });
      return encryptionTamperedError(this.key, `chunk ${i} does not authenticate`, { part: 'payload', chunk: i });
    }
    const base = i * AGE_CHUNK_BYTES;
    const from = Math.max(this.rangeStart - base, 0);
    const to = Math.min(this.rangeEnd - base, plain.length);
    if (to > from) this.push(plain.subarray(from, to));
    return null;
  }
}
