import { ARCHIVE_ENTRIES } from '../domain/manifest.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import type { ArchiveExpectation } from './archive-expectation.js';
import { archiveError, checkChecksum, openBackupArchive, type OpenedBackupArchive } from './backup-archive-reader.js';

/**
 * Opens a backup's archive as its record describes it (`expected`: encrypted to its recipients,
 * its stored size; decrypted with `identities`) and checks that the record and the manifest agree,
 * before anything is created or sent. Closes the archive when the check fails.
 */
export async function openRecordedArchive(
  storage: StorageProvider,
  key: string,
  options: { expected?: ArchiveExpectation | undefined; identities?: readonly string[] | undefined; signal: AbortSignal },
): Promise<OpenedBackupArchive> {
  const archive = await openBackupArchive(storage, key, {
    signal: options.signal,
    recipients: options.expected?.encryption_recipients ?? null,
    storedSize: options.expected?.size ?? null,
    ...(options.identities ? { identities: options.identities } : {}),
  });
  try {
    crossCheckArchive(archive, options.expected);
  } catch (error) {
    archive.close();
    throw error;
  }
  return archive;
}

/** The Backup record and the manifest must agree before anything is created (or exported). */
function crossCheckArchive(archive: OpenedBackupArchive, expected: ArchiveExpectation | undefined): void {
  if (!expected) return;
  const { manifest } = archive;
  if (typeof expected.size === 'number' && expected.size !== archive.stored_size)
    throw archiveError(`${archive.key} is ${archive.stored_size} bytes but the backup record says ${expected.size}`, {
      key: archive.key,
      size: archive.stored_size,
      expected_size: expected.size,
    });
  if (expected.database_checksum)
    checkChecksum(`${ARCHIVE_ENTRIES.DUMP} (manifest against the backup record)`, expected.database_checksum, manifest.database.checksum);
  if (expected.filestore_checksum)
    checkChecksum(
      `${ARCHIVE_ENTRIES.FILESTORE} (manifest against the backup record)`,
      expected.filestore_checksum,
      manifest.filestore?.checksum ?? 'none',
    );
}
