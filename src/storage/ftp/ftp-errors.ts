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
  if ((typeof errno === 'string' && /CERT|TLS|SSL/.test(errno)) || /certificate/i.test(text)) {
    return new StorageError(
      'E_STORAGE_TLS',
      `${where}: the TLS certificate was not accepted (${typeof errno === 'string' ? errno : 'certificate'}): set settings.ca to the server's CA or certificate`,
      { details, cause },
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
