import { PassThrough, type Readable } from 'node:stream';
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
      (stream) => {
        stream.on('error', (error) => out.destroy(error));
        out.on('close', () => stream.destroy());
        stream.pipe(out);
      },
      (error: unknown) => out.destroy(error as Error),
    );
    return out;
  }
}
