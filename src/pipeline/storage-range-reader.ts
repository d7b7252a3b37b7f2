import { PassThrough, pipeline, type Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { StorageProvider } from '../ports/storage-provider.js';

/**
 * Lets yauzl read a ZIP in storage by byte ranges (`download({ range })`), so a multi-GB archive
 * is checked without downloading it whole or writing it to disk: the central directory first,
 * then each entry as a stream.
 */
export class StorageRangeReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly provider: StorageProvider,
    private readonly key: string,
    private readonly signal?: AbortSignal,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    if (end <= start) {
      out.end();
      return out;
    }
    this.provider.download(this.key, { range: { start, end: end - 1 }, ...(this.signal ? { signal: this.signal } : {}) }).then(
      // pipeline() also ends the download when yauzl closed `out` before the download
      // started (a hand-wired 'close' listener would come too late and leave it running).
      (stream) => pipeline(stream, out, () => undefined),
      (error: unknown) => out.destroy(error as Error),
    );
    return out;
  }
}
