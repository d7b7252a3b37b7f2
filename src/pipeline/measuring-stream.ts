import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

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
  private bytes = 0;
  private digest: string | null = null;

  /**
   * @param onBytes Called with the size of every chunk that passes.
   * @param hash False to only count (no SHA-256), for streams whose digest nobody needs.
   */
  constructor(
    private readonly onBytes?: (delta: number) => void,
    hash = true,
  ) {
    super();
    this.hash = hash ? createHash('sha256') : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
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
