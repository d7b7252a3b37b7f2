import type { BackupManifest } from '../domain/manifest.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { openBackupArchive } from './backup-archive-reader.js';

/** Options of {@link readBackupManifest}. */
export interface ReadBackupManifestOptions {
  /** Aborting stops reading and rejects with an `AbortedError`. */
  signal?: AbortSignal;
  /** Largest manifest accepted, in bytes (default 1 MiB). */
  maxManifestBytes?: number;
}

/**
 * The `manifest.json` of a backup archive in storage, read by byte ranges: the ZIP's central
 * directory and the manifest entry only (a few KiB whatever the archive's size). The archive's
 * structure is checked as {@link verifyBackupArchive} checks it (only our three entries, no
 * deflated dump, sizes matching the manifest), but the two big parts are not hashed: use
 * `verifyBackupArchive` for that. Lets a tool with nothing but a storage target rebuild its
 * catalogue from the objects it finds.
 *
 * Throws `ArchiveError` (missing, corrupt or foreign archive, unknown manifest version), the
 * provider's `StorageError`, or `AbortedError`.
 */
export async function readBackupManifest(
  provider: StorageProvider,
  key: string,
  options: ReadBackupManifestOptions = {},
): Promise<BackupManifest> {
  const signal = options.signal ?? new AbortController().signal;
  const archive = await openBackupArchive(provider, key, {
    signal,
    ...(options.maxManifestBytes !== undefined ? { maxManifestBytes: options.maxManifestBytes } : {}),
  });
  archive.close();
  return archive.manifest;
}
