import type { Readable } from 'node:stream';

/**
 * Destroys `stream` with `error()` when `signal` aborts, and forgets the signal once the stream
 * has closed. One signal often outlives many streams (a restore reads a ZIP in storage through
 * dozens of ranged downloads under its job's signal): a listener left behind per stream keeps
 * the stream alive and, past ten, makes Node warn of a leak in the host's process.
 */
export function destroyOnAbort(stream: Readable, signal: AbortSignal | undefined, error: () => Error): void {
  if (!signal) return;
  const onAbort = () => stream.destroy(error());
  signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
}
