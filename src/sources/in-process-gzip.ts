import { pipeline } from 'node:stream';
import type { SourceStream } from '../ports/backup-source.js';
import { AdaptiveGzipStream } from '../streams/adaptive-gzip-stream.js';

/**
 * A plain tar stream from a source host, gzipped in this process ({@link AdaptiveGzipStream} at
 * `level`): the same `done` and `abort` as the tar, its stream replaced by the gzip's. An abort or
 * a failed read of the tar's output reaches the reader as the gzip stream's error; a reader that
 * stops reading (destroys the gzip stream) stops the tar's stream too.
 */
export function gzipInProcess(tar: SourceStream, level: number): SourceStream {
  const gzip = new AdaptiveGzipStream({ level });
  // As with the tool's own stream: the tarball may fail (abort, SSH drop) before the pipeline
  // reads it; readers still get the error, but it must never be an uncaught 'error' event.
  gzip.on('error', () => undefined);
  pipeline(tar.stream, gzip, () => undefined);
  return { stream: gzip, done: tar.done, abort: () => tar.abort() };
}
