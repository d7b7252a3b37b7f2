import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type yauzl from 'yauzl';
import { ARCHIVE_ENTRIES, type BackupManifest } from '../domain/manifest.js';
import { AbortedError } from '../errors/errors.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import {
  archiveError,
  archiveFailure,
  checkChecksum,
  checkEntryCrc,
  openBackupArchive,
  type OpenedBackupArchive,
} from './backup-archive-reader.js';
import { crc32 } from './crc32.js';
import { pgRestoreLister, type DumpLister, type DumpListing } from './dump-lister.js';

/** Options of {@link verifyBackupArchive}. */
export interface VerifyArchiveOptions {
  /** Lists the dump's TOC; default `pgRestoreLister()`. `null` skips listing (checksums only). */
  lister?: DumpLister | null;
  /**
   * From the Backup record: checksums the archive must also match beyond its own manifest; the
   * recipients it is encrypted to (non-empty: the object is age-encrypted, opened with
   * `identities`); the bytes stored (`compressed_size`: an encrypted object shorter is truncated).
   */
  expected?: {
    database_checksum?: string | null;
    filestore_checksum?: string | null;
    encryption_recipients?: readonly string[] | null;
    size?: number | null;
  };
  /** `AGE-SECRET-KEY-1…` identities for an encrypted backup; none for one of its recipients is `E_ENCRYPTION_KEY`, before any read. */
  identities?: readonly string[];
  /** The file key of an object this process just encrypted (a run's read-back), instead of identities. */
  fileKey?: Uint8Array;
  /** Aborting stops reading and rejects with an `AbortedError`. */
  signal?: AbortSignal;
  /** Largest manifest accepted, in bytes (default 1 MiB). */
  maxManifestBytes?: number;
}

/** What {@link verifyBackupArchive} proved. */
export interface ArchiveVerification {
  key: string;
  /** Bytes of the ZIP in storage. */
  archive_size: number;
  manifest: BackupManifest;
  database: { size: number; checksum: string };
  filestore: { size: number; checksum: string } | null;
  /** The dump's table of contents, or null when listing was skipped. */
  dump_listing: DumpListing | null;
}

/**
 * Reads a backup archive back from storage and proves it whole: a well-formed ZIP holding only
 * the expected entries (no path tricks, no overlapping or oversized entries, no zip bomb), a
 * manifest of a known version, both parts hashing to the manifest's SHA-256 (and to
 * `expected`, when given), and a dump `pg_restore --list` can read. Streams by byte ranges:
 * constant memory whatever the archive size.
 *
 * Throws `ArchiveError` (corrupt or hostile archive, unknown manifest version),
 * `E_ENCRYPTION_KEY` / `E_ENCRYPTION_TAMPERED` / `E_ENCRYPTION_TRUNCATED` for an encrypted one, `ChecksumMismatchError`, `SourceError` (`E_SOURCE_PG_RESTORE`) or the provider's `StorageError`.
 */
export async function verifyBackupArchive(
  provider: StorageProvider,
  key: string,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerification> {
  const signal = options.signal ?? new AbortController().signal;
  const archive = await openBackupArchive(provider, key, {
    signal,
    maxManifestBytes: options.maxManifestBytes,
    recipients: options.expected?.encryption_recipients ?? null,
    storedSize: options.expected?.size ?? null,
    ...(options.identities ? { identities: options.identities } : {}),
    ...(options.fileKey ? { fileKey: options.fileKey } : {}),
  });
  try {
    return await verifyOpened(archive, options, signal);
  } catch (error) {
    throw archiveFailure(error, key, signal);
  } finally {
    archive.close();
  }
}

async function verifyOpened(
  archive: OpenedBackupArchive,
  options: VerifyArchiveOptions,
  signal: AbortSignal,
): Promise<ArchiveVerification> {
  const { manifest, dump: dumpEntry, filestore: fsEntry } = archive;
  const lister = options.lister === undefined ? pgRestoreLister() : options.lister;
  const { measured: database, listing, crc: dumpCrc } = await hashEntry(archive, dumpEntry, lister, signal);
  checkChecksum(ARCHIVE_ENTRIES.DUMP, manifest.database.checksum, database.checksum);
  if (options.expected?.database_checksum)
    checkChecksum(`${ARCHIVE_ENTRIES.DUMP} (against the backup record)`, options.expected.database_checksum, database.checksum);
  checkEntryCrc(dumpEntry, dumpCrc);

  let filestore: { size: number; checksum: string } | null = null;
  if (fsEntry && manifest.filestore) {
    const hashed = await hashEntry(archive, fsEntry, null, signal);
    filestore = hashed.measured;
    checkChecksum(ARCHIVE_ENTRIES.FILESTORE, manifest.filestore.checksum, filestore.checksum);
    if (options.expected?.filestore_checksum)
      checkChecksum(`${ARCHIVE_ENTRIES.FILESTORE} (against the backup record)`, options.expected.filestore_checksum, filestore.checksum);
    checkEntryCrc(fsEntry, hashed.crc);
  }
  return { key: archive.key, archive_size: archive.size, manifest, database, filestore, dump_listing: listing };
}

async function hashEntry(
  archive: OpenedBackupArchive,
  entry: yauzl.Entry,
  lister: DumpLister | null,
  signal: AbortSignal,
): Promise<{ measured: { size: number; checksum: string }; listing: DumpListing | null; crc: number }> {
  const stream = await archive.openEntry(entry);
  const hash = createHash('sha256');
  let crc = 0;
  let size = 0;
  let tee: PassThrough | null = null;
  let listed: Promise<DumpListing> | null = null;
  let listerSettled = false;
  let settledSignal: Promise<void> = Promise.resolve();
  if (lister) {
    tee = new PassThrough();
    listed = lister(tee, { signal });
    settledSignal = listed.then(
      () => void (listerSettled = true),
      () => void (listerSettled = true),
    );
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal.aborted) throw new AbortedError('Archive verification', signal.reason);
      hash.update(chunk);
      crc = crc32(chunk, crc);
      size += chunk.length;
      // Feed the lister with backpressure, until it has what it needs (the TOC) and stops.
      if (tee && !listerSettled && !tee.write(chunk)) await Promise.race([once(tee, 'drain'), settledSignal]);
    }
  } catch (error) {
    tee?.destroy();
    stream.destroy();
    // yauzl reports "too many bytes" / "too few bytes" when an entry is not the size it declares.
    if (error instanceof BackupSdkError) throw error;
    throw archiveError(`${entry.fileName} could not be read back: ${(error as Error).message}`, { entry: entry.fileName }, error);
  }
  tee?.end();
  const listing = listed ? await listed : null;
  return { measured: { size, checksum: hash.digest('hex') }, listing, crc };
}
