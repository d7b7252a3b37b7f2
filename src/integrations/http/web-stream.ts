import type { Readable } from 'node:stream';

/**
 * A web `ReadableStream` over a Node stream, pulled one chunk at a time (backpressure holds).
 * Written out rather than `Readable.toWeb`, which on Node 20 can throw "Controller is already
 * closed" from a late `data` event after the consumer cancelled: an unhandled error in the host.
 * `onCancel` says what a cancel does to the source (destroy a download, drain a request body).
 */
export function webStreamOf(source: Readable, onCancel: (source: Readable) => void): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else
            controller.enqueue(
              typeof value === 'string' ? Buffer.from(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
            );
        } catch (error) {
          controller.error(error);
        }
      },
      cancel() {
        onCancel(source);
      },
    },
    { highWaterMark: 0 },
  );
}
