import { AbortedError, StorageError } from '../../errors/errors.js';
import { isBackupSdkError } from '../../errors/backup-sdk-error.js';
import { networkErrorCode, scrubMessage } from '../network-errors.js';

/** Where an SFTP error happened. */
export interface SftpErrorContext {
  host: string;
  action: string;
  key?: string;
  secrets: readonly (string | undefined)[];
}

/** SFTP status codes (draft-ietf-secsh-filexfer) as ssh2 reports them in `code`. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/** Whether the error says the file or folder does not exist. */
export function isSftpNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === SFTP_NO_SUCH_FILE || /No such file/i.test(String((error as Error)?.message));
}

/**
 * Maps an ssh2 / ssh2-sftp-client error to a {@link StorageError}. Their messages name remote
 * paths (`_stat: No such file: /home/backup/...`): those are replaced by `<path>`.
 */
export function classifySftpError(error: unknown, ctx: SftpErrorContext): StorageError | AbortedError {
  if (error instanceof StorageError || error instanceof AbortedError) return error;
  if (isBackupSdkError(error)) return new StorageError('E_STORAGE', error.message, { cause: error, transient: error.transient });
  const raw = error instanceof Error ? error.message : String(error);
  const text = scrubMessage(raw, ctx.secrets);
  const code = (error as { code?: unknown } | null)?.code;
  const level = (error as { level?: unknown } | null)?.level;
  const where = `SFTP server ${ctx.host}`;
  const target = ctx.key ? ` of ${ctx.key}` : '';
  const details = {
    provider: 'sftp',
    action: ctx.action,
    ...(ctx.key ? { key: ctx.key } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { server_code: code } : {}),
  };
  const cause = new Error(text);
  if (level === 'client-authentication' || code === 'ERR_BAD_AUTH' || /authentication methods failed|Authentication failure/i.test(raw)) {
    return new StorageError('E_STORAGE_AUTH', `${where} refused the login: check username and password or private_key`, { details, cause });
  }
  if (/private key|parse privateKey|Encrypted private OpenSSH key|passphrase/i.test(raw)) {
    return new StorageError('E_STORAGE_AUTH', `${where}: the configured private key cannot be used (wrong format or passphrase)`, {
      details,
      cause,
    });
  }
  if (isSftpNotFound(error)) {
    return new StorageError('E_STORAGE_NOT_FOUND', `${where}: ${ctx.action}${target} failed, no such file or folder`, {
      details: { ...details, missing: 'object' },
      cause,
    });
  }
  if (code === 'EACCES' || code === SFTP_PERMISSION_DENIED || /Permission denied/i.test(raw)) {
    return new StorageError('E_STORAGE_PERMISSION', `${where} denied ${ctx.action}${target}: the account lacks the permission`, {
      details,
      cause,
    });
  }
  if (
    networkErrorCode(error) ||
    code === 'ERR_NOT_CONNECTED' ||
    /Unexpected (end|close)|No SFTP connection|Not connected|No response from server|connection lost|handshake|Keepalive/i.test(raw)
  ) {
    return new StorageError(
      'E_STORAGE_UNAVAILABLE',
      `${where} is unavailable during ${ctx.action}${target} (${networkErrorCode(error) ?? 'connection lost'}); it may succeed later`,
      {
        details,
        cause,
        transient: true,
      },
    );
  }
  return new StorageError('E_STORAGE', `${where}: ${ctx.action}${target} failed: ${text}`, { details, cause });
}
