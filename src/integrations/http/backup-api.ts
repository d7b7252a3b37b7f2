import { createHash } from 'node:crypto';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import type { Actor } from '../../ports/authorizer.js';
import type { IdempotencyStore } from '../../ports/idempotency-store.js';
import type { BackupApiHandler, BackupApiOptions } from './backup-api-types.js';
import { errorResponse } from './error-response.js';
import { readJsonBody } from './request-body.js';
import { openApiDocument } from './openapi-document.js';
import { matchRoute } from './router.js';
import { BACKUP_API_ROUTES, type RouteContext } from './routes.js';

export type { BackupApiHandler, BackupApiOptions, RequestInfo } from './backup-api-types.js';

/** How long a replayable response is kept under its `Idempotency-Key`. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The spec's REST API (and ours: storage configs, restores, cancels, verification, usage, live
 * events, the OpenAPI document) as one web-standard handler, `(Request) => Promise<Response>`,
 * for any server: `toNodeHandler` adapts it to `node:http`, Express and Fastify. Each route calls
 * one service method (docs/http.md); errors answer `BackupSdkError.toJSON()` with the status of
 * `HTTP_STATUS_BY_CODE`; anything else is a 500 `E_UNEXPECTED` without its message.
 *
 * @throws Error when `sdk.ports.authorize` is unset and `allowEveryone` is not true
 */
export function createBackupApi(options: BackupApiOptions): BackupApiHandler {
  if (!options.sdk.ports.authorize && options.allowEveryone !== true) {
    throw new Error(
      'createBackupApi: the SDK has no authorize hook (createBackupSdk({ authorize })), so every caller could do everything; pass allowEveryone: true if that is meant',
    );
  }
  const basePath = `/${(options.basePath ?? '/api/v1').replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;

  return async (request, info = {}) => {
    const rateHeaders: Record<string, string> = {};
    try {
      const url = new URL(request.url);
      if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) {
        throw new BackupSdkError('E_ROUTE_NOT_FOUND', `No route for ${request.method} ${url.pathname}`, {
          details: { method: request.method, path: url.pathname },
        });
      }
      const path = url.pathname.slice(basePath.length) || '/';
      const { route, params } = matchRoute(BACKUP_API_ROUTES, request.method, path);
      let actor: Actor | null = null;
      if (!route.handler.public) {
        actor = await options.authenticate(request, info);
        if (!actor || typeof actor.id !== 'string') throw new BackupSdkError('E_UNAUTHENTICATED', 'Authentication required');
        if (actor.rate_limit_key === undefined && info.clientAddress) actor = { ...actor, rate_limit_key: info.clientAddress };
      }
      const body =
        route.method === 'POST' || route.method === 'PATCH' ? await readJsonBody(request, maxBodyBytes) : { text: '', value: {} };
      const ctx: RouteContext = {
        sdk: options.sdk,
        options,
        request,
        url,
        basePath,
        params,
        query: Object.fromEntries(url.searchParams),
        body: body.value,
        actor: actor as Actor,
        onRateLimit: (d) => {
          rateHeaders['x-ratelimit-limit'] = String(d.limit);
          rateHeaders['x-ratelimit-remaining'] = String(d.remaining);
          rateHeaders['x-ratelimit-reset'] = String(d.reset_after_seconds);
        },
        openApiDocument: () => openApiDocument(basePath),
      };
      const run = async () => withHeaders(await route.handler.run(ctx), rateHeaders);
      const key = request.headers.get('idempotency-key');
      if (route.handler.idempotent && key !== null && options.idempotency && actor) {
        return await idempotently(options.idempotency, `${actor.id}\n${route.method} ${path}\n${key}`, key, body.text, run);
      }
      return await run();
    } catch (error) {
      return errorResponse(error, rateHeaders);
    }
  };
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

/**
 * Runs a POST once per key: the first 2xx is kept and replayed (`Idempotent-Replayed: true`);
 * the same key with another body is 422, while the first is in flight 409. A request that did
 * not succeed releases its key.
 */
async function idempotently(
  store: IdempotencyStore,
  scopedKey: string,
  key: string,
  bodyText: string,
  run: () => Promise<Response>,
): Promise<Response> {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BackupSdkError('E_VALIDATION', `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, {
      details: { issues: [{ field: 'Idempotency-Key', message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` }] },
    });
  }
  const fingerprint = createHash('sha256').update(bodyText).digest('hex');
  const claim = await store.claim(scopedKey, fingerprint, IDEMPOTENCY_TTL_SECONDS);
  if (!claim.claimed) {
    if (claim.record.fingerprint !== fingerprint) {
      throw new BackupSdkError('E_IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${key} was used with another body`, { details: { key } });
    }
    if (!claim.record.response) {
      throw new BackupSdkError('E_IDEMPOTENCY_IN_PROGRESS', `A request with Idempotency-Key ${key} is still being handled`, {
        details: { key },
      });
    }
    const { status, headers, body } = claim.record.response;
    return new Response(body, { status, headers: { ...headers, 'idempotent-replayed': 'true' } });
  }
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    await store.release(scopedKey);
    throw error;
  }
  if (response.status < 200 || response.status >= 300) {
    await store.release(scopedKey);
    return response;
  }
  const text = await response.text();
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!name.startsWith('x-ratelimit-')) headers[name] = value;
  });
  await store.complete(scopedKey, { status: response.status, headers, body: text }, IDEMPOTENCY_TTL_SECONDS);
  return new Response(text, { status: response.status, headers: response.headers });
}
