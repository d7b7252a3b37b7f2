import { redactSecrets } from '../sources/redact-secrets.js';

/** Socket-level error codes that say "try again": the peer went away or the network hiccuped. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The errno-style code of an error or of its causes (`ECONNRESET`...), if any. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return e.code;
  }
  const message = error instanceof Error ? error.message : '';
  if (/socket hang up|timed? ?out|connection (?:closed|reset)|closed by the server|Client is closed|Not connected/i.test(message))
    return 'ECONNRESET';
  return undefined;
}

/** Whether an error is a network failure worth retrying. */
export function isTransientNetworkError(error: unknown): boolean {
  return networkErrorCode(error) !== undefined;
}

/**
 * Removes things a remote server or library may put in a message that users must not see:
 * the credentials' values and absolute server paths (FTP/SFTP servers echo their own file
 * system layout, e.g. `/srv/ftp/root/backups/x`). Paths become `<path>`. Secrets are redacted
 * where they stand as tokens (`redactSecrets`), so a short password neither leaks nor mangles words.
 */
export function scrubMessage(message: string, secrets: readonly (string | undefined)[] = []): string {
  let out = message;
  out = redactSecrets(out, secrets);
  // Quoted paths may hold spaces; unquoted ones end at whitespace or punctuation.
  return out.replace(/(['"`])\/[^'"`\n]*\1/g, '$1<path>$1').replace(/(^|[\s(=:])\/[^\s'"`),]*/g, '$1<path>');
}
