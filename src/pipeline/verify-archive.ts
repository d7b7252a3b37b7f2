import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ARCHIVE_ENTRIES, parseManifest, type BackupManifest } from '../domain/manifest.js';
import { AbortedError, ArchiveError, ChecksumMismatchError } from '../errors/errors.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { byteReaderOf, checkArchiveStructure } from './archive-structure.js';
import { crc32 } from './crc32.js';
import { pgRestoreLister, type DumpLister, type DumpListing } from './dump-lister.js';
import { StorageRangeReader } from './storage-range-reader.js';

/** Options of {@link verifyBackupArchive}. */
export interface VerifyArchiveOptions {
  /** Lists the dump's TOC; default `pgRestoreLister()`. `null` skips listing (checksums only). */
  lister?: DumpLister | null;
  /** Checksums the archive must also match (from the Backup record), beyond its own manifest. */
  expected?: { database_checksum?: string | null; filestore_checksum?: string | null };
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

const KNOWN = new Set<string>(Object.values(ARCHIVE_ENTRIES));
const MAX_ENTRIES = 16;
const DEFLATE = 8;
const STORED = 0;
/** A deflated entry that expands more than this is treated as a zip bomb. */
const MAX_DEFLATE_RATIO = 200;

function archiveError(message: string, details: Record<string, unknown> = {}, cause?: unknown): ArchiveError {
  return new ArchiveError(message, { details, ...(cause !== undefined ? { cause } : {}) });
}

function openZip(reader: StorageRangeReader, size: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(
      reader,
      size,
      { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true, decodeStrings: true },
      (error, zip) => (error ? reject(error) : resolve(zip)),
    );
  });
}

/** yauzl's cursor: where the next central record is read (the directory's start, then its end). */
const cursorOf = (zip: yauzl.ZipFile): number => zip.readEntryCursor as unknown as number;

function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    if (zip.entryCount > MAX_ENTRIES)
      return reject(
        archiveError(`The archive has ${zip.entryCount} entries; a backup archive has at most 3`, { entry_count: zip.entryCount }),
      );
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/**
 * Reads a backup archive back from storage and proves it whole: a well-formed ZIP holding only
 * the expected entries (no path tricks, no overlapping or oversized entries, no zip bomb), a
 * manifest of a known version, both parts hashing to the manifest's SHA-256 (and to
 * `expected`, when given), and a dump `pg_restore --list` can read. Streams by byte ranges:
 * constant memory whatever the archive size.
 *
 * Throws `ArchiveError` (corrupt or hostile archive, unknown manifest version),
 * `ChecksumMismatchError`, `SourceError` (`E_SOURCE_PG_RESTORE`) or the provider's `StorageError`.
 */
export async function verifyBackupArchive(
  provider: StorageProvider,
  key: string,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerification> {
  const signal = options.signal ?? new AbortController().signal;
  const head = await provider.head(key);
  if (!head.exists) throw archiveError(`No archive at ${key} in ${provider.name} storage`, { key });
  const reader = new StorageRangeReader(provider, key, signal);
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(reader, head.size);
  } catch (error) {
    if (signal.aborted) throw new AbortedError('Archive verification', signal.reason);
    throw archiveError(`${key} is not a readable ZIP archive: ${(error as Error).message}`, { key }, error);
  }
  try {
    return await verifyOpened(zip, reader, key, head.size, options, signal);
  } catch (error) {
    if (signal.aborted) throw new AbortedError('Archive verification', signal.reason);
    if (error instanceof BackupSdkError) throw error;
    throw archiveError(`${key} is corrupt: ${(error as Error).message}`, { key }, error);
  } finally {
    zip.close();
  }
}

async function verifyOpened(
  zip: yauzl.ZipFile,
  reader: StorageRangeReader,
  key: string,
  archiveSize: number,
  options: VerifyArchiveOptions,
  signal: AbortSignal,
): Promise<ArchiveVerification> {
  const centralDirectoryOffset = cursorOf(zip);
  const entries = await readEntries(zip);
  await checkArchiveStructure(entries, {
    size: archiveSize,
    centralDirectoryOffset,
    centralDirectoryEnd: cursorOf(zip),
    allowedNames: KNOWN,
    read: byteReaderOf(reader),
  });
  const byName = new Map<string, yauzl.Entry>();
  for (const entry of entries) {
    const name = entry.fileName;
    if (byName.has(name)) throw archiveError(`The archive holds ${name} twice`, { entry: name });
    if (entry.isEncrypted()) throw archiveError(`${name} is encrypted`, { entry: name });
    if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATE)
      throw archiveError(`${name} uses unsupported compression method ${entry.compressionMethod}`, { entry: name });
    if (name !== ARCHIVE_ENTRIES.MANIFEST && entry.compressionMethod !== STORED) {
      throw archiveError(`${name} is deflated; backup archives store it as is`, { entry: name });
    }
    if (entry.compressionMethod === STORED && entry.compressedSize !== entry.uncompressedSize) {
      throw archiveError(`${name} declares ${entry.uncompressedSize} bytes but stores ${entry.compressedSize}`, { entry: name });
    }
    if (entry.compressionMethod === DEFLATE && entry.uncompressedSize > Math.max(1024, entry.compressedSize * MAX_DEFLATE_RATIO)) {
      throw archiveError(
        `${name} would expand from ${entry.compressedSize} to ${entry.uncompressedSize} bytes: refusing a possible zip bomb`,
        { entry: name },
      );
    }
    byName.set(name, entry);
  }

  const manifestEntry = byName.get(ARCHIVE_ENTRIES.MANIFEST);
  if (!manifestEntry) throw archiveError('The archive has no manifest.json');
  const maxManifest = options.maxManifestBytes ?? 1024 * 1024;
  if (manifestEntry.uncompressedSize > maxManifest)
    throw archiveError(`manifest.json is ${manifestEntry.uncompressedSize} bytes; at most ${maxManifest} are accepted`);
  const manifestBytes = await readSmall(zip, manifestEntry, maxManifest);
  checkCrc(manifestEntry, crc32(manifestBytes));
  const manifest = parseManifest(manifestBytes);

  const dumpEntry = byName.get(ARCHIVE_ENTRIES.DUMP);
  if (!dumpEntry) throw archiveError('The archive has no dump.sql');
  const fsEntry = byName.get(ARCHIVE_ENTRIES.FILESTORE);
  if ((manifest.filestore === null) !== (fsEntry === undefined)) {
    throw archiveError(
      manifest.filestore === null
        ? 'The archive holds filestore.tar.gz but its manifest says it has none'
        : 'The manifest lists a filestore but the archive has no filestore.tar.gz',
    );
  }
  if (dumpEntry.uncompressedSize !== manifest.database.size) {
    throw archiveError(`dump.sql is ${dumpEntry.uncompressedSize} bytes but the manifest says ${manifest.database.size}`, {
      entry: ARCHIVE_ENTRIES.DUMP,
    });
  }
  if (fsEntry && manifest.filestore && fsEntry.uncompressedSize !== manifest.filestore.size) {
    throw archiveError(`filestore.tar.gz is ${fsEntry.uncompressedSize} bytes but the manifest says ${manifest.filestore.size}`, {
      entry: ARCHIVE_ENTRIES.FILESTORE,
    });
  }

  const lister = options.lister === undefined ? pgRestoreLister() : options.lister;
  const { measured: database, listing, crc: dumpCrc } = await hashEntry(zip, dumpEntry, lister, signal);
  check(ARCHIVE_ENTRIES.DUMP, manifest.database.checksum, database.checksum);
  if (options.expected?.database_checksum)
    check(`${ARCHIVE_ENTRIES.DUMP} (against the backup record)`, options.expected.database_checksum, database.checksum);
  checkCrc(dumpEntry, dumpCrc);

  let filestore: { size: number; checksum: string } | null = null;
  if (fsEntry && manifest.filestore) {
    const hashed = await hashEntry(zip, fsEntry, null, signal);
    filestore = hashed.measured;
    check(ARCHIVE_ENTRIES.FILESTORE, manifest.filestore.checksum, filestore.checksum);
    if (options.expected?.filestore_checksum)
      check(`${ARCHIVE_ENTRIES.FILESTORE} (against the backup record)`, options.expected.filestore_checksum, filestore.checksum);
    checkCrc(fsEntry, hashed.crc);
  }
  return { key, archive_size: archiveSize, manifest, database, filestore, dump_listing: listing };
}

function check(part: string, expected: string, actual: string): void {
  if (expected !== actual) throw new ChecksumMismatchError(part, expected, actual);
}

/** Other readers (unzip, Python) check the CRC-32 the headers declare: a wrong one breaks their extraction. */
function checkCrc(entry: yauzl.Entry, actual: number): void {
  if (entry.crc32 !== actual)
    throw archiveError(`${entry.fileName} does not match the CRC-32 its headers declare; other ZIP readers would refuse it`, {
      entry: entry.fileName,
    });
}

async function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return zip.openReadStreamPromise(entry);
}

async function readSmall(zip: yauzl.ZipFile, entry: yauzl.Entry, max: number): Promise<Buffer> {
  const stream = await openEntry(zip, entry);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      stream.destroy();
      throw archiveError(`${entry.fileName} holds more than ${max} bytes`, { entry: entry.fileName });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function hashEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  lister: DumpLister | null,
  signal: AbortSignal,
): Promise<{ measured: { size: number; checksum: string }; listing: DumpListing | null; crc: number }> {
  const stream = await openEntry(zip, entry);
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
