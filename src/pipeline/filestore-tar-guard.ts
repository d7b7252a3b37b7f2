import { posix } from 'node:path';
import { pipeline, Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { ArchiveError } from '../errors/errors.js';
import { CoalescingStream } from '../streams/coalescing-stream.js';
import { onceAny } from '../streams/once-any.js';
import { STREAM_BUFFER_BYTES } from '../streams/stream-buffer.js';
import { COMPRESSION_RATIO_ALLOWANCE, type RestoreLimits } from './restore-limits.js';

/** What {@link guardFilestoreTar} let through. */
export interface FilestoreGuardResult {
  /** Sum of the file sizes written. */
  bytes: number;
  /** Files and folders written (the top folder itself not counted). */
  entries: number;
}

/** An uncompressed tar of checked entries, and how the check ended. */
export interface GuardedTar {
  /** The re-packed tar for `tar -x`: names relative to the restored folder, regular files and folders only. */
  tar: Readable;
  /** Resolves once every entry passed; rejects with an `ArchiveError` at the first bad one (and `tar` errors too). */
  done: Promise<FilestoreGuardResult>;
}

function refuse(reason: string, message: string, entry?: string): ArchiveError {
  return new ArchiveError(`filestore.tar.gz ${message}: refusing to restore it`, {
    details: { entry: 'filestore.tar.gz', reason, ...(entry !== undefined ? { tar_entry: entry } : {}) },
  });
}

/** A name for messages: control characters escaped, cut at 200 characters. */
const shown = (name: string): string => JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);

/**
 * The entry's path below the filestore folder, or an error. Backups hold `<folder>/ab/abcd...`
 * (`tar -C <root> -- <folder>`): every name must start with the same top folder, which is
 * stripped; absolute names, `..` segments and NUL bytes are refused, `.` and empty segments dropped.
 */
function relativeName(raw: string, top: { name: string | null }): string {
  if (raw.includes('\0')) throw refuse('path', `holds an entry name with a NUL byte ${shown(raw)}`, raw);
  if (raw.startsWith('/')) throw refuse('path', `holds an absolute entry name ${shown(raw)}`, raw);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse('path', `holds an entry name with a ".." segment ${shown(raw)}`, raw);
  if (parts.length === 0) throw refuse('path', `holds an empty entry name`, raw);
  top.name ??= parts[0]!;
  if (parts[0] !== top.name) throw refuse('path', `holds ${shown(raw)} outside its folder ${shown(top.name)}`, raw);
  const rest = posix.normalize(parts.slice(1).join('/') || '.');
  if (rest.startsWith('..') || rest.startsWith('/')) throw refuse('path', `holds an entry leading outside its folder ${shown(raw)}`, raw);
  return rest;
}

/** An entry's sink errors when the pack is torn down mid-entry: `done` reports that failure, the sink must not throw it. */
function quiet(sink: unknown): Writable {
  (sink as Writable).on('error', () => undefined);
  return sink as Writable;
}

/**
 * The re-packed tar comes out of the packer in pieces of a header (512 bytes), a file's chunks and
 * its padding: three pipe writes per file to tar. Joined into pieces of this size, 20,000 files
 * cost a few hundred writes per 64 MiB instead of thousands.
 */
const OUTPUT_CHUNK_BYTES = 256 * 1024;

/** Writes with backpressure; a sink destroyed meanwhile (the other side failed) ends the wait too. */
async function write(sink: Writable, chunk: Buffer): Promise<void> {
  if (!sink.write(chunk)) await onceAny(sink, ['drain', 'close']);
}

/**
 * Gunzips and parses a filestore tarball in Node and re-packs it entry by entry, each header
 * checked before any byte of its entry goes on: regular files and folders only (no symlink,
 * hard link, device, FIFO), names inside the folder (see {@link relativeName}), sizes and counts
 * within `limits`, and a bound on the decompression ratio. Uid, gid and special mode bits are
 * dropped; long names and pax headers are read by the parser and written back as needed.
 */
export function guardFilestoreTar(gz: Readable, options: { limits: RestoreLimits; compressedSize: number }): GuardedTar {
  const { limits, compressedSize } = options;
  // zlib's default 16 KiB output chunks cost more in the per-chunk async steps below than the
  // inflate itself: 256 KiB chunks took a 365 MB tarball from 1.5 s to 0.6 s of CPU, and 1 MiB
  // chunks (with the coalesced output below) took the filestore of the restore bench's full set
  // from 3.4 s to 3.0 s.
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  const extract = tarExtract();
  const pack = tarPack();
  const packed = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false, highWaterMark: STREAM_BUFFER_BYTES });
  const tar = new CoalescingStream(OUTPUT_CHUNK_BYTES);
  pipeline(packed, tar, () => undefined);
  // Errors are reported through `done`; the streams' own 'error' events must not be uncaught.
  for (const stream of [pack, extract, gunzip, packed, tar] as unknown as Readable[]) stream.on('error', () => undefined);
  const maxInflated = Math.max(COMPRESSION_RATIO_ALLOWANCE, compressedSize * limits.maxCompressionRatio);

  const fail = (error: unknown) => {
    gz.unpipe(gunzip);
    gunzip.destroy();
    extract.destroy();
    pack.destroy(error as Error);
    tar.destroy(error as Error);
  };

  // gzip bytes in, tar bytes to the parser, with the ratio guard and backpressure.
  const inflate = (async () => {
    let inflated = 0;
    gz.on('error', (error) => gunzip.destroy(error));
    gz.pipe(gunzip);
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        inflated += chunk.length;
        if (inflated > maxInflated)
          throw refuse('ratio', `expands past ${limits.maxCompressionRatio} times its ${compressedSize} bytes (a gzip bomb)`);
        await write(extract as unknown as Writable, chunk);
      }
    } catch (error) {
      if (error instanceof ArchiveError) throw error;
      throw refuse('gzip', `is not a readable gzip stream (${(error as Error).message})`);
    }
    (extract as unknown as Writable).end();
  })();

  const parse = (async (): Promise<FilestoreGuardResult> => {
    const top = { name: null as string | null };
    let entries = 0;
    let bytes = 0;
    try {
      for await (const entry of extract) {
        const h = entry.header;
        const name = relativeName(h.name, top);
        if (h.type !== 'file' && h.type !== 'directory')
          throw refuse('type', `holds ${shown(h.name)} of type ${h.type ?? 'unknown'}; only files and folders are restored`, h.name);
        if (name === '.') {
          if (h.type !== 'directory') throw refuse('path', `holds a file ${shown(h.name)} where its folder should be`, h.name);
          entry.resume();
          continue;
        }
        if (++entries > limits.maxEntries) throw refuse('limit', `holds more than ${limits.maxEntries} entries`, h.name);
        const size = h.size ?? 0;
        if (h.type === 'file' && size > limits.maxEntryBytes)
          throw refuse(
            'limit',
            `holds ${shown(h.name)} of ${size} bytes, above the ${limits.maxEntryBytes} bytes allowed per file`,
            h.name,
          );
        bytes += h.type === 'file' ? size : 0;
        if (bytes > limits.maxTotalBytes) throw refuse('limit', `holds more than ${limits.maxTotalBytes} bytes of files`, h.name);
        const mode = (h.mode ?? (h.type === 'directory' ? 0o755 : 0o644)) & 0o777;
        const header = { name, type: h.type, mode, mtime: h.mtime ?? new Date(0), size: h.type === 'file' ? size : 0 };
        if (h.type === 'directory') {
          entry.resume();
          quiet(pack.entry(header));
          continue;
        }
        const sink = quiet(pack.entry(header));
        for await (const chunk of entry as AsyncIterable<Buffer>) await write(sink, chunk);
        sink.end();
      }
    } catch (error) {
      if (error instanceof ArchiveError) throw error;
      throw refuse('tar', `is not a readable tar archive (${(error as Error).message})`);
    }
    if (top.name === null) throw refuse('tar', 'holds no entry');
    pack.finalize();
    return { bytes, entries };
  })();

  const done = Promise.all([inflate, parse]).then(
    ([, result]) => result,
    (error: unknown) => {
      fail(error);
      throw error;
    },
  );
  // Whichever side fails first tears both down; `done` reports it.
  inflate.catch(fail);
  parse.catch(fail);
  done.catch(() => undefined);
  return { tar, done };
}
