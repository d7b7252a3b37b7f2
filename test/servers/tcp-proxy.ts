import { createServer, connect, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, for tests of network failures: it forwards
 * every connection to `target`, and on command refuses new connections or cuts the open ones
 * (at once, or once a number of bytes has gone from the clients to the server).
 */
export interface TcpProxy {
  host: string;
  port: number;
  /** New connections are reset as soon as they are accepted, until {@link restore}. */
  refuse(): void;
  /** Resets every open connection now; new ones are still forwarded (a dropped link, not an outage). */
  cutNow(): void;
  /** Cuts the open connections once `bytes` more have gone from the clients to the server. */
  cutAfter(bytes: number): void;
  /** Forwards again, with no cut armed. */
  restore(): void;
  /** Bytes sent by the clients since the proxy started. */
  readonly bytesUp: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) that forwards to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let cutAt = Infinity;
  let bytesUp = 0;
  const cutAll = () => {
    cutAt = Infinity;
    for (const s of open) s.resetAndDestroy();
    open.clear();
  };
  const server = createServer((client) => {
    // Both sides are ours: a reset is the expected end, never a test failure.
    client.on('error', () => undefined);
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    open.add(client).add(upstream);
    client.on('close', () => open.delete(client));
    upstream.on('close', () => open.delete(upstream));
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      if (bytesUp >= cutAt) return cutAll();
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    client.on('end', () => upstream.end());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('tcp proxy: no address');
  return {
    host: '127.0.0.1',
    port: address.port,
    refuse: () => {
      refusing = true;
    },
    cutNow: cutAll,
    cutAfter: (bytes) => {
      cutAt = bytesUp + bytes;
    },
    restore: () => {
      refusing = false;
      cutAt = Infinity;
    },
    get bytesUp() {
      return bytesUp;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
