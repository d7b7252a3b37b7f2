import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import { MeasuringStream, type Measurement } from './measuring-stream.js';

/**
 * Writes the backup ZIP as a stream (DECISIONS 8): parts of unknown length (the dump, the
 * filestore tarball) are STORED, without deflate, since they are compressed already; small
 * metadata (the manifest) is deflated. Each part is hashed and counted in flight. Entries of
 * unknown size use data descriptors, and yazl switches an entry (and the end of the central
 * directory) to ZIP64 when its size or offset passes 4 GiB, so archives of any size are valid.
 */
export class ArchiveWriter {
  private readonly zip = new yazl.ZipFile();
  private ended = false;

  /** @param mtime Modification time written on every entry (the backup's start). */
  constructor(private readonly mtime: Date) {
    // yazl reports its own failures as 'error' events on the ZipFile: surface them on the output.
    this.zip.on('error', (error: Error) => this.output.destroy(error));
  }

  /** The ZIP bytes; pipe them into storage. */
  get output(): Readable {
    return this.zip.outputStream as unknown as Readable;
  }

  /**
   * Appends a STORED entry fed by `source`. Resolves with its size and SHA-256 once every byte
   * has passed into the archive; rejects if `source` fails. The caller still awaits the tool's
   * exit: a stream can end cleanly while its tool failed.
   */
  addStream(name: string, source: Readable, options: { keepHead?: number } = {}): { measured: Promise<Measurement>; meter: MeasuringStream } {
    const meter = new MeasuringStream(undefined, options);
    source.on('error', (error) => meter.destroy(error));
    source.pipe(meter);
    this.zip.addReadStream(meter, name, { compress: false, mtime: this.mtime, mode: 0o100640 });
    const measured = finished(meter, { readable: true, writable: false }).then(() => meter.result());
    measured.catch(() => undefined);
    return { measured, meter };
  }

  /** Appends a small entry held in memory (deflated unless `compress` is false). */
  addBuffer(name: string, data: Buffer, compress = true): void {
    this.zip.addBuffer(data, name, { compress, mtime: this.mtime, mode: 0o100640 });
  }

  /** Writes the central directory; the output ends after the last entry. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.zip.end();
  }

  /** Stops producing: the output errors with `error`. */
  destroy(error: Error): void {
    this.output.destroy(error);
  }
}
