import { PassThrough, pipeline, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { STREAM_BUFFER_BYTES } from '../streams/stream-buffer.js';
import { crc32 } from './crc32.js';
import { MeasuringStream, type Measurement } from './measuring-stream.js';
import {
  centralDirectoryRecord,
  dataDescriptor,
  endOfCentralDirectory,
  localFileHeader,
  ZIP_DEFLATED,
  ZIP_STORED,
  type ZipEntryRecord,
} from './zip-records.js';

/** Unix mode of every entry: a regular file, rw for the owner, r for the group. */
const ENTRY_MODE = 0o100640;

/** What a deflated entry of unknown size came to, once its last byte is in the archive. */
export interface DeflatedEntrySize {
  /** Bytes before deflate. */
  size: number;
  /** Bytes the entry takes in the archive. */
  compressedSize: number;
  /** CRC-32 of the bytes before deflate. */
  crc32: number;
}

/** Options of {@link ArchiveWriter}. */
export interface ArchiveWriterOptions {
  /**
   * Write every entry with ZIP64 records (64-bit data descriptors, ZIP64 extra fields, the ZIP64
   * end records) whatever its size: for tests of the ZIP64 layout on small data. Default false:
   * ZIP64 appears exactly where a size, an offset or a count needs it.
   */
  forceZip64?: boolean;
}

/**
 * Writes the backup ZIP as a stream (see docs/decisions.md#archive-layout): parts of unknown length (the dump, the
 * filestore tarball) are STORED, without deflate, since they are compressed already; small
 * metadata (the manifest) is deflated. Each part is hashed (SHA-256), CRC'd and counted in the
 * one pass that copies it into the archive. Entries of unknown size use data descriptors, and
 * ZIP64 fields appear wherever a size, an offset or the directory passes 4 GiB, so archives of
 * any size are valid (zip-records.ts).
 *
 * Why not yazl: it runs every entry through four more stream stages and a JavaScript CRC-32,
 * about 4 s of CPU per GB here, taken from pg_dump and gzip on a small machine (see
 * docs/pipeline.md for the measured difference).
 */
export class ArchiveWriter {
  private readonly out = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
  private readonly records: ZipEntryRecord[] = [];
  /** Bytes written to the output so far: the next entry's offset. */
  private offset = 0;
  /** Entries are written one after another, in the order they were added. */
  private queue: Promise<unknown> = Promise.resolve();
  private ended = false;

  private readonly forceZip64: boolean;

  /** @param mtime Modification time written on every entry (the backup's start). */
  constructor(
    private readonly mtime: Date,
    options: ArchiveWriterOptions = {},
  ) {
    this.forceZip64 = options.forceZip64 === true;
  }

  /** The ZIP bytes; pipe them into storage. */
  get output(): Readable {
    return this.out;
  }

  /**
   * Appends a STORED entry fed by `source`. `source` is read, hashed (unless `hash: false`) and held (up to
   * `readAheadBytes`, then it waits) while the entries before this one are written. Resolves with
   * its size and SHA-256 once every byte has passed into the archive; rejects if `source` fails
   * (and fails the output with it). The caller still awaits the tool's exit: a stream can end
   * cleanly while its tool failed.
   */
  addStream(
    name: string,
    source: Readable,
    options: { keepHead?: number; readAheadBytes?: number; hash?: boolean; onBytes?: (delta: number) => void } = {},
  ): { measured: Promise<Measurement>; meter: MeasuringStream } {
    const { onBytes, ...meterOptions } = options;
    const meter = new MeasuringStream(onBytes, { ...meterOptions, crc32: true });
    // A source error fails the meter, and `measured` reports it (through `finished` below, even
    // when the entry's turn comes after the error): the callback has nothing more to do.
    pipeline(source, meter, () => undefined);
    const measured = this.enqueue(async () => {
      const entry = { ...this.entryBase(name), method: ZIP_STORED, streamed: true } as const;
      const offset = this.offset;
      this.write(localFileHeader({ ...entry, crc32: 0, compressedSize: 0, uncompressedSize: 0 }));
      meter.pipe(this.out, { end: false });
      // 'end' comes after the last chunk was handed to the output, so the descriptor follows it.
      await Promise.race([finished(meter, { readable: true, writable: false }), this.outputGone()]);
      const measurement = meter.result();
      this.offset += measurement.size;
      const record: ZipEntryRecord = {
        ...entry,
        crc32: meter.crc32,
        compressedSize: measurement.size,
        uncompressedSize: measurement.size,
        offset,
      };
      this.write(dataDescriptor(record));
      this.records.push(record);
      return measurement;
    });
    measured.catch((error: unknown) => this.destroy(error as Error));
    return { measured, meter };
  }

  /**
   * Appends a DEFLATED entry fed by `source`, of a size nobody knows up front (pg_restore's plain
   * SQL): deflated at `level` (zlib, on the thread pool) as it streams, CRC'd and counted before
   * deflate, the sizes and CRC in a data descriptor after the data (64-bit once a size passes
   * 4 GiB). `source` is held (one stream buffer, then it waits) while the entries before this one
   * are written. Resolves once its last byte is in the archive; rejects if `source` fails (and
   * fails the output with it).
   */
  addDeflatedStream(
    name: string,
    source: Readable,
    options: { level?: number; onBytes?: (delta: number) => void } = {},
  ): { measured: Promise<DeflatedEntrySize> } {
    const plain = new MeasuringStream(options.onBytes, { hash: false, crc32: true });
    pipeline(source, plain, () => undefined);
    const measured = this.enqueue(async () => {
      const entry = { ...this.entryBase(name), method: ZIP_DEFLATED, streamed: true } as const;
      const offset = this.offset;
      this.write(localFileHeader({ ...entry, crc32: 0, compressedSize: 0, uncompressedSize: 0 }));
      const deflated = new MeasuringStream(undefined, { hash: false });
      // A failure anywhere (the source, zlib) destroys `deflated`, which ends the wait below with it.
      pipeline(plain, createDeflateRaw({ level: options.level ?? 6 }), deflated, () => undefined);
      deflated.pipe(this.out, { end: false });
      await Promise.race([finished(deflated, { readable: true, writable: false }), this.outputGone()]);
      this.offset += deflated.size;
      const record: ZipEntryRecord = {
        ...entry,
        crc32: plain.crc32,
        compressedSize: deflated.size,
        uncompressedSize: plain.size,
        offset,
      };
      this.write(dataDescriptor(record));
      this.records.push(record);
      return { size: plain.size, compressedSize: deflated.size, crc32: plain.crc32 };
    });
    measured.catch((error: unknown) => this.destroy(error as Error));
    return { measured };
  }

  /** Appends a small entry held in memory (deflated unless `compress` is false). */
  addBuffer(name: string, data: Buffer, compress = true): void {
    this.addKnown(name, data, compress ? deflateRawSync(data) : null);
  }

  /**
   * Appends a small entry held in memory whose deflated form the caller made already (off the
   * main thread), or `null` to store it as is. Resolves once it is written.
   */
  addDeflatedBuffer(name: string, data: Buffer, deflated: Buffer | null): Promise<void> {
    return this.addKnown(name, data, deflated);
  }

  /**
   * Resolves once the output holds less than its buffer (or is gone): a producer adding many small
   * entries awaits it between them, so a slow reader holds it back instead of filling memory.
   */
  async drained(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.out.destroyed || !this.out.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('close', done);
    });
  }

  /** Writes the central directory; the output ends after the last entry. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    void this.enqueue(async () => {
      const start = this.offset;
      for (const record of this.records) this.write(centralDirectoryRecord(record));
      this.write(endOfCentralDirectory(this.records.length, this.offset - start, start, this.forceZip64));
      this.out.end();
    });
  }

  private entryBase(name: string): Pick<ZipEntryRecord, 'name' | 'mtime' | 'mode' | 'zip64'> {
    return { name: Buffer.from(name, 'utf8'), mtime: this.mtime, mode: ENTRY_MODE, ...(this.forceZip64 ? { zip64: true } : {}) };
  }

  private addKnown(name: string, data: Buffer, deflated: Buffer | null): Promise<void> {
    const run = this.enqueue(async () => {
      const body = deflated ?? data;
      const record: ZipEntryRecord = {
        ...this.entryBase(name),
        method: deflated ? ZIP_DEFLATED : ZIP_STORED,
        streamed: false,
        crc32: crc32(data),
        compressedSize: body.length,
        uncompressedSize: data.length,
        offset: this.offset,
      };
      this.write(localFileHeader(record));
      this.write(body);
      this.records.push(record);
    });
    run.catch((error: unknown) => this.destroy(error as Error));
    return run;
  }

  /** Stops producing: the output errors with `error`. */
  destroy(error: Error): void {
    this.out.destroy(error);
  }

  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    // A failed step fails every later one: nothing is written after a broken entry.
    const run = this.queue.then(step);
    this.queue = run;
    run.catch(() => undefined);
    return run;
  }

  private write(bytes: Buffer): void {
    if (this.out.destroyed) throw new Error('The archive output was closed');
    this.out.write(bytes);
    this.offset += bytes.length;
  }

  /** Rejects when the output is destroyed (the upload failed or was aborted) before an entry ends. */
  private outputGone(): Promise<never> {
    return new Promise((_, reject) => {
      const fail = () => reject(new Error('The archive output was closed before the entry ended'));
      if (this.out.destroyed) fail();
      else this.out.once('close', fail);
    });
  }
}
