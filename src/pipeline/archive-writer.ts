import { PassThrough, pipeline, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { deflateRawSync } from 'node:zlib';
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

  /** @param mtime Modification time written on every entry (the backup's start). */
  constructor(private readonly mtime: Date) {}

  /** The ZIP bytes; pipe them into storage. */
  get output(): Readable {
    return this.out;
  }

  /**
   * Appends a STORED entry fed by `source`. `source` is read, hashed and held (up to
   * `readAheadBytes`, then it waits) while the entries before this one are written. Resolves with
   * its size and SHA-256 once every byte has passed into the archive; rejects if `source` fails
   * (and fails the output with it). The caller still awaits the tool's exit: a stream can end
   * cleanly while its tool failed.
   */
  addStream(
    name: string,
    source: Readable,
    options: { keepHead?: number; readAheadBytes?: number; onBytes?: (delta: number) => void } = {},
  ): { measured: Promise<Measurement>; meter: MeasuringStream } {
    const { onBytes, ...meterOptions } = options;
    const meter = new MeasuringStream(onBytes, { ...meterOptions, crc32: true });
    // A source error fails the meter, and `measured` reports it (through `finished` below, even
    // when the entry's turn comes after the error): the callback has nothing more to do.
    pipeline(source, meter, () => undefined);
    const measured = this.enqueue(async () => {
      const entry = { name: Buffer.from(name, 'utf8'), method: ZIP_STORED, streamed: true, mtime: this.mtime, mode: ENTRY_MODE } as const;
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

  /** Appends a small entry held in memory (deflated unless `compress` is false). */
  addBuffer(name: string, data: Buffer, compress = true): void {
    void this.enqueue(async () => {
      const body = compress ? deflateRawSync(data) : data;
      const record: ZipEntryRecord = {
        name: Buffer.from(name, 'utf8'),
        method: compress ? ZIP_DEFLATED : ZIP_STORED,
        streamed: false,
        mtime: this.mtime,
        mode: ENTRY_MODE,
        crc32: crc32(data),
        compressedSize: body.length,
        uncompressedSize: data.length,
        offset: this.offset,
      };
      this.write(localFileHeader(record));
      this.write(body);
      this.records.push(record);
    });
  }

  /** Writes the central directory; the output ends after the last entry. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    void this.enqueue(async () => {
      const start = this.offset;
      for (const record of this.records) this.write(centralDirectoryRecord(record));
      this.write(endOfCentralDirectory(this.records.length, this.offset - start, start));
      this.out.end();
    });
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
