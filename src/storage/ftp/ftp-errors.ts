import { AbortedError, StorageError } from '../../errors/errors.js';
import { isBackupSdkError } from '../../errors/backup-sdk-error.js';
import { networkErrorCode, scrubMessage } from '../network-errors.js';

/** Where an FTP error happened. */
export interface FtpErrorContext {
  host: string;
  action: string;
  key?: string;
  secrets: readonly (string | undefined)[];
}

/** The reply code of a basic-ftp `FTPError`, if it is one. */
export function ftpReplyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Maps a basic-ftp or socket error to a {@link StorageError}. Server reply text is kept only after
 * its absolute paths and any credential are removed: servers such as ftp-srv echo their own file
 * system layout (`550 ENOENT: no such file or directory, stat '/srv/ftp/...'`).
 */
export function classifyFtpError(error: unknown, ctx: FtpErrorContext): StorageError | AbortedError {
  if (error instanceof StorageError || error instanceof AbortedError) return error;
  if (isBackupSdkError(error)) return new StorageError('E_STORAGE', error.message, { cause: error, transient: error.transient });
  const reply = ftpReplyCode(error);
  const text = scrubMessage(error instanceof Error ? error.message : String(error), ctx.secrets);
  const where = `FTP server ${ctx.host}`;
  const target = ctx.key ? ` ${ctx.key}` : '';
  const details = { provider: 'ftp', action: ctx.action, ...(ctx.key ? { key: ctx.key } : {}), ...(reply ? { reply_code: reply } : {}) };
  // The cause would carry the raw reply (with server paths): keep only a scrubbed copy.
  const cause = new Error(text);
  if (reply === 530 || reply === 332) {
    return new StorageError('E_STORAGE_AUTH', `${where} refused the login (${reply}): check username and password`, { details, cause });
  }
  if (reply === 550 || reply === 553 || reply === 450) {
    if (/permi|denied|EACCES|EPERM|not allowed|read-only/i.test(text)) {
      return new StorageError(
        'E_STORAGE_PERMISSION',
        `${where} denied ${ctx.action} of${target} (${reply}): the account lacks the permission`,
        { details, cause },
      );
    }
    return new StorageError('E_STORAGE_NOT_FOUND', `${where}: ${ctx.action} of${target} failed, no such file or folder (${reply})`, {
      details: { ...details, missing: 'object' },
      cause,
    });
  }
  if (reply === 452 || reply === 552) {
    return new StorageError('E_STORAGE_FULL', `${where} is out of space during ${ctx.action} of${target} (${reply})`, {
      details,
      cause,
      transient: reply === 452,
    });
  }
  const errno = (error as { code?: unknown } | null)?.code;
  const tls = tlsFailure(typeof errno === 'string' ? errno : undefined, text);
  if (tls === 'certificate') {
    return new StorageError(
      'E_STORAGE_TLS',
      `${where}: the TLS certificate was not accepted (${typeof errno === 'string' ? errno : 'certificate'}): set settings.ca to the server's CA or certificate`,
      { details, cause },
    );
  }
  if (tls === 'negotiation') {
    return new StorageError(
      'E_STORAGE_TLS',
      `${where}: client and server found no TLS version or cipher in common (${String(errno)}): check the server's TLS settings`,
      { details, cause },
    );
  }
  if (tls === 'session') {
    // The handshake succeeded (or was never the problem): a record or alert failed later. Not a certificate matter.
    return new StorageError(
      'E_STORAGE',
      `${where}: the TLS connection failed during ${ctx.action}${target ? ` of${target}` : ''} (${String(errno)}): ${text}`,
      {
        details: { ...details, errno },
        cause,
      },
    );
  }
  const net = networkErrorCode(error);
  if (net || (reply !== undefined && reply >= 400 && reply < 500)) {
    return new StorageError(
      'E_STORAGE_UNAVAILABLE',
      `${where} is unavailable during ${ctx.action}${target ? ` of${target}` : ''} (${net ?? reply}); it may succeed later`,
      {
        details: { ...details, ...(net ? { errno: net } : {}) },
        cause,
        transient: true,
      },
    );
  }
  return new StorageError(
    'E_STORAGE',
    `${where}: ${ctx.action}${target ? ` of${target}` : ''} failed${reply ? ` (${reply})` : ''}: ${text}`,
    { details, cause },
  );
}

/** Node's certificate verification codes (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`...). */
const CERTIFICATE_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;
/** OpenSSL failures of the negotiation itself: no common protocol version or cipher. */
const NEGOTIATION_CODES = /UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|PROTOCOL_VERSION|NO_SHARED_CIPHER|HANDSHAKE_FAILURE|NO_CIPHERS/;

/**
 * Which TLS failure an error is, by what actually failed: the server's certificate (the only case
 * where `settings.ca` helps), the negotiation, or the TLS session later (a bad record, an alert
 * such as `decode_error`, `wrong version number`); undefined when it is not a TLS error.
 */
export function tlsFailure(errno: string | undefined, message: string): 'certificate' | 'negotiation' | 'session' | undefined {
  if ((errno && CERTIFICATE_CODES.test(errno)) || /certificate/i.test(message)) return 'certificate';
  if (!errno || !/SSL|TLS/.test(errno)) return undefined;
  return NEGOTIATION_CODES.test(errno) ? 'negotiation' : 'session';
}
