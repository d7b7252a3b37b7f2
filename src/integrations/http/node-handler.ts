import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackupApiHandler } from './backup-api-types.js';
import { webStreamOf } from './web-stream.js';

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /**
   * Believe `X-Forwarded-For` / `-Proto` / `-Host` (the client's address, scheme and host as a
   * reverse proxy saw them). Only behind a proxy that sets them; otherwise a client could choose
   * its own rate-limit key. Default false.
   */
  trustProxy?: boolean;
}

const firstOf = (value: string | string[] | undefined): string | undefined =>
  (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim() || undefined;

/**
 * Adapts a web-standard handler (`createBackupApi`) to `node:http` (and to Express or Fastify,
 * which hand over the same objects): the body is streamed to the handler, not read first;
 * `request.signal` aborts when the client leaves, which ends an SSE stream or a download; the
 * response body is written with backpressure. Never throws or rejects: a failure after the
 * headers went out ends the connection.
 */
export function toNodeHandler(
  api: BackupApiHandler,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new Error('The client closed the connection'));
    };
    res.once('close', onClose);
    try {
      const trust = options.trustProxy === true;
      const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
      const proto = (trust && firstOf(req.headers['x-forwarded-proto'])) || (encrypted ? 'https' : 'http');
      const host = (trust && firstOf(req.headers['x-forwarded-host'])) || req.headers.host || 'localhost';
      const clientAddress = (trust && firstOf(req.headers['x-forwarded-for'])) || req.socket.remoteAddress;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const method = req.method ?? 'GET';
      const hasBody = method !== 'GET' && method !== 'HEAD';
      const request = new Request(`${proto}://${host}${req.url ?? '/'}`, {
        method,
        headers,
        signal: controller.signal,
        // A body the handler stops reading (too large, wrong type) is drained, not destroyed: the answer must still go out.
        ...(hasBody ? { body: webStreamOf(req, (r) => void r.resume()), duplex: 'half' } : {}),
      } as RequestInit);
      const response = await api(request, clientAddress ? { clientAddress } : {});
      await writeResponse(response, res, req);
    } catch {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: 'Error', code: 'E_UNEXPECTED', message: 'Internal error', details: {}, transient: false }));
      } else {
        res.destroy();
      }
    }
  };
}

async function writeResponse(response: Response, res: ServerResponse, req: IncomingMessage): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // The rest of an unread body must not be parsed as the next request on this connection.
  if (!req.complete && req.method !== 'GET' && req.method !== 'HEAD') headers.connection = 'close';
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  res.once('close', stop);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      // Flush each chunk as it comes: an SSE frame must reach the client now, not with the next one.
      if (!res.write(value)) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
    }
    res.end();
  } finally {
    res.off('close', stop);
  }
}
