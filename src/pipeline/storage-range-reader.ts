import { PassThrough, pipeline, type Readable, type Transform } from 'node:stream';
import type yauzl from 'yauzl';
import { loadOnce } from '../adapters/load-once.js';
import type { StorageProvider } from '../ports/storage-provider.js';

/** yauzl, loaded on first use: only archive verification reads ZIPs, so importing the package does not load it. */
export const loadYauzl = loadOnce(async () => (await import('yauzl')).default);

/** A yauzl reader over one object in storage (see {@link openStorageRangeReader}). */
export type StorageRangeReader = yauzl.RandomAccessReader;

/** Opens a {@link StorageRangeReader} on `key` (loads yauzl on the first call). */
export async function openStorageRangeReader(provider: StorageProvider, key: string, signal?: AbortSignal): Promise<StorageRangeReader> {
  const Reader = await loadReaderClass();
  return new Reader(provider, key, signal);
}

const loadReaderClass = loadOnce(async () => rangeReaderClass(await loadYauzl()));

/**
 * Lets yauzl read a ZIP in storage by byte ranges (`download({ range })`), so a multi-GB archive
 * is checked without downloading it whole or writing it to disk: the central directory first,
 * then each entry as a stream.
 */
function rangeReaderClass(zip: typeof yauzl) {
  return class StorageRangeReader extends zip.RandomAccessReader {
    constructor(
      private readonly provider: StorageProvider,
      private readonly key: string,
      private readonly signal?: AbortSignal,
    ) {
      super();
    }

    override _readStreamForRange(start: number, end: number): Readable {
      return downloadRange(this.provider, this.key, start, end, this.signal);
    }
  };
}

/**
 * A stream of `key`'s bytes [start, end), through `through` when given (the decrypting reader
 * opens chunks on the way), available at once while the download starts.
 */
export function downloadRange(
  provider: StorageProvider,
  key: string,
  start: number,
  end: number,
  signal: AbortSignal | undefined,
  through?: Transform,
): Readable {
  const out = new PassThrough();
  if (end <= start) {
    out.end();
    return out;
  }
  provider.download(key, { range: { start, end: end - 1 }, ...(signal ? { signal } : {}) }).then(
    // pipeline() also ends the download when yauzl closed `out` before the download
    // started (a hand-wired 'close' listener would come too late and leave it running).
    (stream) => (through ? pipeline(stream, through, out, () => undefined) : pipeline(stream, out, () => undefined)),
    (error: unknown) => out.destroy(error as Error),
  );
  return out;
}
