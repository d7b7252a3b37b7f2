import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { HTTP_STATUS_BY_CODE } from './http-status.js';

/** Seconds a client is told to wait after a transient failure that names no wait of its own. */
const TRANSIENT_RETRY_AFTER_SECONDS = 30;

/** A JSON response with the given status and extra headers. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * The response of a failure: an SDK error's own JSON (`toJSON()`) with its status from
 * {@link HTTP_STATUS_BY_CODE} (503 and `Retry-After` when transient, `Retry-After` on 429, `Allow`
 * on 405); anything else is a 500 `E_UNEXPECTED` whose message is not shown (it may hold a secret
 * or an internal detail).
 */
export function errorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  if (!(error instanceof BackupSdkError)) {
    return jsonResponse(500, { name: 'Error', code: 'E_UNEXPECTED', message: 'Internal error', details: {}, transient: false }, headers);
  }
  const extra: Record<string, string> = { ...headers };
  let status = HTTP_STATUS_BY_CODE[error.code];
  const retryAfter = error.details.retry_after_seconds;
  if (error.transient) {
    status = 503;
    extra['retry-after'] = String(typeof retryAfter === 'number' ? retryAfter : TRANSIENT_RETRY_AFTER_SECONDS);
  } else if (status === 429 && typeof retryAfter === 'number') {
    extra['retry-after'] = String(retryAfter);
  }
  if (error.code === 'E_METHOD_NOT_ALLOWED' && Array.isArray(error.details.allow)) extra.allow = error.details.allow.join(', ');
  return jsonResponse(status, error.toJSON(), extra);
}
