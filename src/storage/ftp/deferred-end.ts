import { Readable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { onceAny } from '../../streams/once-any.js';

/**
 * Resolves once `socket` (an FTPS data connection) has finished its TLS handshake; at once for a
 * plain socket, or one that is gone (its own error then fails the transfer).
 */
export function handshakeDone(socket: unknown): Promise<void> {
  if (!(socket instanceof TLSSocket) || socket.destroyed) return Promise.resolve();
  if (socket.getFinished() !== undefined && socket.getPeerFinished() !== undefined) return Promise.resolve();
  return onceAny(socket, ['secureConnect', 'close']);
}

/**
 * The bytes of `source`, whose end reaches the reader only once `ready()` resolves (asked when
 * the reader first reads), plus one event-loop turn.
 *
 * Why: basic-ftp starts piping an upload into an FTPS data connection as soon as the TLS
 * socket knows its cipher, which it does after the server's hello, before the handshake is
 * over. Data written then waits inside the socket, but an end does not: a short or empty upload
 * closes the connection mid-handshake, and vsftpd (OpenSSL) answers with a `decode_error`
 * alert (TLS 1.3) or bytes the client reads as `wrong version number` (TLS 1.2). A 0-byte upload
 * failed every time. Holding the end until the handshake is done, then one turn for its last
 * records to leave, makes the close orderly.
 */
export function deferEnd(source: Readable, ready: () => Promise<void>): Readable {
  let sourceEnded = false;
  let asked = false;
  let ending = false;
  const out = new Readable({
    read() {
      asked = true;
      source.resume();
      maybeEnd();
    },
    destroy(error, callback) {
      if (!source.destroyed) source.destroy(error ?? undefined);
      callback(error);
    },
  });
  const maybeEnd = () => {
    if (!sourceEnded || !asked || ending) return;
    ending = true;
    void ready().then(() => setImmediate(() => out.push(null)));
  };
  // Paused before the 'data' listener is added, so nothing flows until `out` is read.
  source.pause();
  source.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) source.pause();
  });
  source.once('end', () => {
    sourceEnded = true;
    maybeEnd();
  });
  source.once('error', (error) => out.destroy(error));
  return out;
}
