import { Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/** Options of {@link pipelinedWriteStream}. */
export interface PipelinedWriteOptions {
  /** WRITE requests kept in flight (default 8). */
  parallel?: number;
  /** Stream buffer (default 1 MiB). */
  highWaterMark?: number;
}

/**
 * An upload stream that keeps several SFTP WRITE requests in flight (each at its own offset) and
 * finishes only when every one is acknowledged and the handle is closed. ssh2's own write stream
 * waits for each reply before sending the next chunk. Memory is bounded by the chunks in flight
 * (`parallel` x the source's chunk size) plus `highWaterMark`.
 */
export function pipelinedWriteStream(sftp: SFTPWrapper, path: string, options: PipelinedWriteOptions = {}): Writable {
  const parallel = options.parallel ?? 8;
  let handle: Buffer | undefined;
  let position = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  let waiter: (() => void) | undefined;
  const settle = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const closeHandle = () =>
    new Promise<void>((resolve, reject) => {
      if (!handle) return resolve();
      const h = handle;
      handle = undefined;
      sftp.close(h, (err) => (err ? reject(err) : resolve()));
    });

  return new Writable({
    highWaterMark: options.highWaterMark ?? 1024 * 1024,
    construct(cb) {
      sftp.open(path, 'w', (err, h) => {
        if (err) return cb(err);
        handle = h;
        cb();
      });
    },
    write(chunk: Buffer, _enc, cb) {
      if (failure) return cb(failure);
      const pos = position;
      position += chunk.length;
      inFlight++;
      sftp.write(handle!, chunk, 0, chunk.length, pos, (err) => {
        inFlight--;
        if (err && !failure) failure = err;
        settle();
      });
      if (inFlight < parallel) return cb();
      // Too many in flight: acknowledge this chunk when one completes (backpressure).
      waiter = () => cb(failure);
    },
    final(cb) {
      const finish = () => {
        if (failure) return cb(failure);
        closeHandle().then(() => cb(), cb);
      };
      if (inFlight === 0) return finish();
      const wait = () => {
        if (inFlight === 0) finish();
        else waiter = wait;
      };
      waiter = wait;
    },
    destroy(err, cb) {
      closeHandle().then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
}
