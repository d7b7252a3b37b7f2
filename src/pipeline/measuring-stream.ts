import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { STREAM_BUFFER_BYTES } from '../streams/stream-buffer.js';
import { crc32 } from './crc32.js';

/** What a {@link MeasuringStream} saw. */
export interface Measurement {
  /** Bytes that passed. */
  size: number;
  /** Lowercase hex SHA-256 of those bytes. */
  sha256: string;
}

/**
 * A pass-through that hashes (SHA-256) and counts the bytes flowing through it, so checksums
 * and sizes are known the moment the last byte passes: no second read, no temp file.
 */
export class MeasuringStream extends Transform {
  private readonly hash: Hash | null;
  private readonly withCrc: boolean;
  private crc = 0;
  private bytes = 0;
  private digest: string | null = null;

  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;
  private readonly keepHead: number;

  /**
   * @param onBytes Called with the size of every chunk that passes.
   * @param options `hash: false` only counts (for streams whose digest nobody needs);
   *   `keepHead` keeps that many first bytes (to read a file header in flight);
   *   `crc32: true` also computes the CRC-32 a ZIP entry needs; `readAheadBytes` lets that many
   *   bytes wait on the way out when nobody reads them yet (default: one stream buffer).
   */
  constructor(
    private readonly onBytes?: (delta: number) => void,
    options: { hash?: boolean; keepHead?: number; crc32?: boolean; readAheadBytes?: number } = {},
  ) {
    super({
      writableHighWaterMark: STREAM_BUFFER_BYTES,
      readableHighWaterMark: Math.max(STREAM_BUFFER_BYTES, options.readAheadBytes ?? 0),
    });
    this.hash = options.hash === false ? null : createHash('sha256');
    this.withCrc = options.crc32 === true;
    this.keepHead = options.keepHead ?? 0;
  }

  /** The first `keepHead` bytes seen (fewer if the stream was shorter). */
  get head(): Buffer {
    return Buffer.concat(this.headChunks).subarray(0, this.keepHead);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash?.update(chunk);
    if (this.withCrc) this.crc = crc32(chunk, this.crc);
    if (this.headBytes < this.keepHead) {
      this.headChunks.push(Buffer.from(chunk.subarray(0, this.keepHead - this.headBytes)));
      this.headBytes += Math.min(chunk.length, this.keepHead - this.headBytes);
    }
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  /** CRC-32 of the bytes seen so far (0 unless asked for with `crc32: true`). */
  get crc32(): number {
    return this.crc;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  /** The measurement; call once the stream has ended. `sha256` is empty when hashing was off. */
  result(): Measurement {
    this.digest ??= this.hash ? this.hash.digest('hex') : '';
    return { size: this.bytes, sha256: this.digest };
  }
}
