import type { Backup, BackupPolicy, StorageConfig } from '../domain/entities.js';
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

/** Whether the storage config or the environment's policy asks that backups be stored encrypted only. */
export function encryptionRequired(
  config: Pick<StorageConfig, 'require_encryption'>,
  policy: Pick<BackupPolicy, 'require_encryption'> | null,
): boolean {
  return config.require_encryption === true || policy?.require_encryption === true;
}

/**
 * Fail closed: refuses (`E_ENCRYPTION_REQUIRED`) a backup that would be stored unencrypted where
 * the storage config or the policy requires encryption.
 */
export function assertEncryptionAllowed(
  recipients: readonly string[],
  config: Pick<StorageConfig, 'id' | 'require_encryption'>,
  policy: Pick<BackupPolicy, 'id' | 'require_encryption'> | null,
): void {
  if (recipients.length > 0 || !encryptionRequired(config, policy)) return;
  const by = config.require_encryption === true ? `storage config ${config.id}` : `the backup policy ${policy?.id ?? ''}`.trim();
  throw new BackupSdkError(
    'E_ENCRYPTION_REQUIRED',
    `${by} requires encryption but no recipient was given for this backup: nothing was stored`,
    {
      details: {
        storage_config_id: config.id,
        storage_config_requires: config.require_encryption === true,
        policy_requires: policy?.require_encryption === true,
      },
    },
  );
}
