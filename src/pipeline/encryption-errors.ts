import { BackupSdkError } from '../errors/backup-sdk-error.js';

/** `E_ENCRYPTION_KEY`: no identity given is for one of `recipients` (decided before any read). */
export function encryptionKeyError(key: string, recipients: readonly string[]): BackupSdkError {
  return new BackupSdkError(
    'E_ENCRYPTION_KEY',
    `${key} is encrypted to ${recipients.length} recipient(s) and none of the identities given is for one of them`,
    { details: { key, recipients: [...recipients] } },
  );
}

/** `E_ENCRYPTION_TAMPERED`: the object does not authenticate; `what` says which part. */
export function encryptionTamperedError(key: string, what: string, details: Record<string, unknown> = {}): BackupSdkError {
  return new BackupSdkError('E_ENCRYPTION_TAMPERED', `${key} does not authenticate: ${what}`, { details: { key, ...details } });
}

/** `E_ENCRYPTION_TRUNCATED`: bytes are missing at the object's end. */
export function encryptionTruncatedError(key: string, what: string, details: Record<string, unknown> = {}): BackupSdkError {
  return new BackupSdkError('E_ENCRYPTION_TRUNCATED', `${key} is truncated: ${what}`, { details: { key, ...details } });
}
