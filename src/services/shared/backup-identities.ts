import type { Backup } from '../../domain/entities.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import type { KeyProvider } from '../../ports/key-provider.js';

/**
 * The identities that may open `backup`'s object, from the host's `KeyProvider`: none for an
 * unencrypted backup or without a provider (an encrypted one then fails with `E_ENCRYPTION_KEY`
 * before any read). A provider that throws is `E_ADAPTER` (identities are never put in errors).
 */
export async function backupIdentities(keys: KeyProvider | undefined, backup: Backup): Promise<readonly string[]> {
  const recipients = backup.encryption_recipients ?? [];
  if (recipients.length === 0 || !keys) return [];
  try {
    return await keys.identities({ organization_id: backup.organization_id, environment_id: backup.environment_id, recipients });
  } catch (error) {
    if (error instanceof BackupSdkError) throw error;
    throw new BackupSdkError(
      'E_ADAPTER',
      `The key provider failed to give the identities of backup ${backup.id}: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
        details: { port: 'keys', backup_id: backup.id },
      },
    );
  }
}

/** `{ identities }` for an encrypted backup, `{}` for a plain one: spread into the archive readers' options. */
export async function encryptedArchiveOptions(keys: KeyProvider | undefined, backup: Backup): Promise<{ identities?: readonly string[] }> {
  return (backup.encryption_recipients ?? []).length > 0 ? { identities: await backupIdentities(keys, backup) } : {};
}
