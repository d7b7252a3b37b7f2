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
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digest: string | null = null;

  constructor(private readonly onBytes?: (delta: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  /** The measurement; call once the stream has ended. */
  result(): Measurement {
    this.digest ??= this.hash.digest('hex');
    return { size: this.bytes, sha256: this.digest };
  }
}
