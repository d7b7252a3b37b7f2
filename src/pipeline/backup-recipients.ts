import type { Backup } from '../domain/entities.js';
import { checkAgeRecipients } from '../domain/age-keys.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { KeyProvider } from '../ports/key-provider.js';

/**
 * The recipients a backup is encrypted to, from the host's `KeyProvider` (none without one), each
 * checked to be an age X25519 recipient (`E_VALIDATION` otherwise). A provider that throws fails
 * the backup (`E_ADAPTER`, or its own typed error): it never means "store unencrypted".
 */
export async function backupRecipients(
  keys: KeyProvider | undefined,
  backup: Pick<Backup, 'organization_id' | 'environment_id'>,
  storageConfigId: string,
): Promise<string[]> {
  if (!keys) return [];
  let recipients: readonly string[];
  try {
    recipients = await keys.recipients({
      organization_id: backup.organization_id,
      environment_id: backup.environment_id,
      storage_config_id: storageConfigId,
    });
  } catch (error) {
    if (error instanceof BackupSdkError) throw error;
    throw new BackupSdkError(
      'E_ADAPTER',
      `The key provider failed to give the recipients of a backup: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
        details: { port: 'keys', environment_id: backup.environment_id, storage_config_id: storageConfigId },
      },
    );
  }
  return [...checkAgeRecipients(recipients, 'keys.recipients')];
}
