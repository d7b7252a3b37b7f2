import { Transform, type TransformCallback } from 'node:stream';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { STREAM_BUFFER_BYTES } from '../streams/stream-buffer.js';
import { AGE_CHUNK_BYTES, agePayloadKey, sealAgeChunk } from './age-chunks.js';
import { AGE_MAGIC, type SealedAgeHeader } from './age-header.js';

/**
 * The encryption stage: turns the archive's bytes into an age v1 file (header, nonce, sealed
 * 64 KiB chunks), in flight. A full chunk is held until the next byte arrives or the input ends,
 * since only then is it known whether it is the last one.
 */
export class AgeEncryptStream extends Transform {
  private readonly key: Buffer;
  private readonly chunk = Buffer.allocUnsafe(AGE_CHUNK_BYTES);
  private filled = 0;
  private index = 0;
  private started = false;

  constructor(private readonly sealed: SealedAgeHeader) {
    super({ writableHighWaterMark: STREAM_BUFFER_BYTES, readableHighWaterMark: STREAM_BUFFER_BYTES });
    this.key = agePayloadKey(sealed.fileKey, sealed.nonce);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.push(Buffer.concat([this.sealed.header, this.sealed.nonce]));
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.start();
      let offset = 0;
      while (offset < data.length) {
        if (this.filled === AGE_CHUNK_BYTES) {
          this.push(sealAgeChunk(this.key, this.index++, false, this.chunk));
          this.filled = 0;
        }
        const n = Math.min(AGE_CHUNK_BYTES - this.filled, data.length - offset);
        data.copy(this.chunk, this.filled, offset, offset + n);
        this.filled += n;
        offset += n;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.start();
      this.push(sealAgeChunk(this.key, this.index, true, this.chunk.subarray(0, this.filled)));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/**
 * The fail-closed check on the stage that feeds an encrypted run's upload: it lets no byte through
 * until the first ones are age's magic line, and fails the stream (`E_ENCRYPTION_REQUIRED`)
 * otherwise, so plaintext never reaches storage when encryption was asked for, whatever the stages
 * before it did.
 */
export class AgePrefixGuard extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private passed = false;

  constructor() {
    super({ writableHighWaterMark: STREAM_BUFFER_BYTES, readableHighWaterMark: STREAM_BUFFER_BYTES });
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.passed) return callback(null, data);
    this.held.push(data);
    this.heldBytes += data.length;
    if (this.heldBytes < AGE_MAGIC.length) return callback();
    const bytes = Buffer.concat(this.held);
    this.held = [];
    if (!bytes.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) return callback(refusal());
    this.passed = true;
    callback(null, bytes);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.passed ? null : refusal());
  }
}

function refusal(): BackupSdkError {
  return new BackupSdkError('E_ENCRYPTION_REQUIRED', 'The bytes about to be uploaded are not an age file; nothing was uploaded', {
    details: { stage: 'upload' },
  });
}
