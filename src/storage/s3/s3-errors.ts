import { AbortedError, StorageError } from '../../errors/errors.js';
import { isBackupSdkError } from '../../errors/backup-sdk-error.js';
import { networkErrorCode, scrubMessage } from '../network-errors.js';

/** The parts of an AWS SDK service error this module reads. */
interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
  'InvalidSecurity',
  'MissingSecurityHeader',
  'Unauthorized',
  'UnrecognizedClientException',
  'CredentialsProviderError',
]);
const PERMISSION_CODES = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem', 'Forbidden', 'InvalidObjectState', 'NotSignedUp']);
const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeoutException',
]);

/** Where the error happened, for the message and `details`. */
export interface S3ErrorContext {
  provider: string;
  bucket: string;
  action: string;
  key?: string;
  /** Credential values to scrub from any text taken from the server. */
  secrets: readonly (string | undefined)[];
}

/**
 * Maps an AWS SDK (or socket) error to a typed {@link StorageError}: permanent failures (auth,
 * missing bucket, permission) are not transient and fail at once; resets, timeouts, 5xx and 429
 * are transient and retried. The server's own code is kept in `details.server_code`.
 */
export function classifyS3Error(error: unknown, ctx: S3ErrorContext): StorageError | AbortedError {
  if (error instanceof StorageError || error instanceof AbortedError) return error;
  if (isBackupSdkError(error)) return new StorageError('E_STORAGE', error.message, { cause: error, transient: error.transient });
  const e = (error ?? {}) as SdkError;
  const serverCode = e.Code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const where = `${ctx.provider} bucket '${ctx.bucket}'`;
  const target = ctx.key ? ` (${ctx.key})` : '';
  const details = {
    provider: ctx.provider,
    bucket: ctx.bucket,
    action: ctx.action,
    ...(ctx.key ? { key: ctx.key } : {}),
    server_code: serverCode,
    ...(status ? { http_status: status } : {}),
  };
  const opts = (transient: boolean) => ({ details, cause: error, transient });

  if (serverCode === 'AbortError' || e.name === 'AbortError') return new AbortedError(`${ctx.action} on ${where}${target}`);
  if (AUTH_CODES.has(serverCode) || status === 401) {
    return new StorageError(
      'E_STORAGE_AUTH',
      `${where} rejected the credentials (${serverCode}) during ${ctx.action}: check access_key_id and secret_access_key`,
      opts(false),
    );
  }
  if (serverCode === 'NoSuchBucket') {
    return new StorageError('E_STORAGE_NOT_FOUND', `${where} does not exist: create it or fix settings.bucket`, {
      ...opts(false),
      details: { ...details, missing: 'bucket' },
    });
  }
  if (serverCode === 'NoSuchKey' || serverCode === 'NotFound' || serverCode === 'NoSuchUpload' || status === 404) {
    return new StorageError('E_STORAGE_NOT_FOUND', `${where} has no object${target}`, {
      ...opts(false),
      details: { ...details, missing: 'object' },
    });
  }
  if (PERMISSION_CODES.has(serverCode) || status === 403) {
    return new StorageError(
      'E_STORAGE_PERMISSION',
      `${where} denied ${ctx.action}${target} (${serverCode}): the credentials lack the permission`,
      opts(false),
    );
  }
  const net = networkErrorCode(error);
  if (THROTTLE_CODES.has(serverCode) || status === 429 || (status !== undefined && status >= 500) || net) {
    const why = net ?? (status ? `HTTP ${status} ${serverCode}` : serverCode);
    return new StorageError(
      'E_STORAGE_UNAVAILABLE',
      `${where} is unavailable during ${ctx.action}${target} (${why}); it may succeed later`,
      { ...opts(true), details: { ...details, ...(net ? { errno: net } : {}) } },
    );
  }
  const text = scrubMessage(e.message ?? String(error), ctx.secrets);
  return new StorageError(
    'E_STORAGE',
    `${where}: ${ctx.action}${target} failed (${serverCode}${status ? `, HTTP ${status}` : ''}): ${text}`,
    opts(false),
  );
}
