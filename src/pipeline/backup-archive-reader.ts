import type { Readable } from 'node:stream';
import type yauzl from 'yauzl';
import { ARCHIVE_ENTRIES, parseManifest, type BackupManifest } from '../domain/manifest.js';
import { AbortedError, ArchiveError, ChecksumMismatchError } from '../errors/errors.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { byteReaderOf, checkArchiveStructure } from './archive-structure.js';
import { crc32 } from './crc32.js';
import { loadYauzl, openStorageRangeReader, type StorageRangeReader } from './storage-range-reader.js';
import { AGE_MAGIC, identitiesFor, type AgeHeaderKey } from './age-header.js';
import { openAgeObject } from './age-range-reader.js';
import { encryptionTamperedError, encryptionTruncatedError } from './encryption-errors.js';

/** A backup archive in storage whose structure and manifest were checked; its entries are read by range. */
export interface OpenedBackupArchive {
  key: string;
  /** Bytes of the ZIP (decrypted, when the object is encrypted). */
  size: number;
  /** Bytes of the object in storage: the ZIP's, or the age file's when encrypted. */
  stored_size: number;
  manifest: BackupManifest;
  /** `dump.sql`: stored (not deflated), its size equal to the manifest's. */
  dump: yauzl.Entry;
  /** `filestore.tar.gz`, present exactly when the manifest lists a filestore. */
  filestore: yauzl.Entry | null;
  /** A stream of the entry's bytes (a ranged read); yauzl fails it when the entry is not its declared size. */
  openEntry(entry: yauzl.Entry): Promise<Readable>;
  /** Releases the reader. Idempotent. */
  close(): void;
}

const KNOWN = new Set<string>(Object.values(ARCHIVE_ENTRIES));
const MAX_ENTRIES = 16;
const DEFLATE = 8;
const STORED = 0;
/** A deflated entry that expands more than this is treated as a zip bomb. */
const MAX_DEFLATE_RATIO = 200;

/** An `ArchiveError` with details. */
export function archiveError(message: string, details: Record<string, unknown> = {}, cause?: unknown): ArchiveError {
  return new ArchiveError(message, { details, ...(cause !== undefined ? { cause } : {}) });
}

async function openZip(reader: StorageRangeReader, size: number): Promise<yauzl.ZipFile> {
  const zip = await loadYauzl();
  return new Promise((resolve, reject) => {
    zip.fromRandomAccessReader(
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

/** Options of {@link openBackupArchive}. */
export interface OpenBackupArchiveOptions {
  signal: AbortSignal;
  maxManifestBytes?: number;
  /**
   * The record's `encryption_recipients`: non-empty when the object is age-encrypted (the record,
   * not the bytes, says so; bytes that disagree are `E_ENCRYPTION_TAMPERED`).
   */
  recipients?: readonly string[] | null;
  /** `AGE-SECRET-KEY-1…` identities to open an encrypted object with; those for other recipients are ignored. */
  identities?: readonly string[];
  /** The file key of an object this process just encrypted (the run's read-back), instead of identities. */
  fileKey?: Uint8Array;
  /** The record's `compressed_size`: an encrypted object shorter than this is `E_ENCRYPTION_TRUNCATED`. */
  storedSize?: number | null;
}

/**
 * Opens a backup archive in storage by byte ranges and checks everything short of reading the two
 * big entries: a ZIP laid out as our writer lays it out holding only `dump.sql`,
 * `filestore.tar.gz` (optional) and `manifest.json` (no other entry, no duplicate, no
 * encryption, no deflated part, no zip bomb), a manifest of a known major version whose sizes
 * match the entries. An age-encrypted object (`recipients` given) is decrypted on the fly, chunk
 * by chunk as ranges are read. Throws `ArchiveError`, `E_ENCRYPTION_KEY` (before any read),
 * `E_ENCRYPTION_TAMPERED`, `E_ENCRYPTION_TRUNCATED` (never wrapped as `E_ARCHIVE`), or the
 * provider's `StorageError`, `AbortedError`.
 */
export async function openBackupArchive(
  provider: StorageProvider,
  key: string,
  options: OpenBackupArchiveOptions,
): Promise<OpenedBackupArchive> {
  const { signal } = options;
  const recipients = options.recipients ?? [];
  const headerKey: AgeHeaderKey | null =
    recipients.length === 0
      ? null
      : options.fileKey
        ? { fileKey: options.fileKey }
        : { identities: await identitiesFor(key, recipients, options.identities ?? []) };
  const head = await provider.head(key);
  if (!head.exists) throw archiveError(`No archive at ${key} in ${provider.name} storage`, { key });
  let reader: StorageRangeReader;
  let size = head.size;
  if (headerKey) {
    const expected = options.storedSize;
    if (typeof expected === 'number' && head.size < expected)
      throw encryptionTruncatedError(key, `it is ${head.size} bytes but ${expected} were stored`, {
        stored_size: head.size,
        expected_size: expected,
      });
    if (typeof expected === 'number' && head.size > expected)
      throw encryptionTamperedError(key, `it is ${head.size} bytes but ${expected} were stored`, {
        stored_size: head.size,
        expected_size: expected,
      });
    try {
      const opened = await openAgeObject(provider, key, head.size, headerKey, signal);
      reader = opened.reader;
      size = opened.plaintextBytes;
    } catch (error) {
      throw archiveFailure(error, key, signal);
    }
  } else {
    reader = await openStorageRangeReader(provider, key, signal);
  }
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(reader, size);
  } catch (error) {
    if (signal.aborted) throw new AbortedError('Archive verification', signal.reason);
    if (error instanceof BackupSdkError) throw error;
    if (!headerKey && (await startsWithAgeMagic(reader)))
      throw encryptionTamperedError(key, 'its record says it is not encrypted but it is an age file', { part: 'header' });
    throw archiveError(`${key} is not a readable ZIP archive: ${(error as Error).message}`, { key }, error);
  }
  try {
    return await checkOpened(zip, reader, key, size, head.size, options.maxManifestBytes ?? 1024 * 1024);
  } catch (error) {
    zip.close();
    throw archiveFailure(error, key, signal);
  }
}

/** Whether the object begins with age's magic line (asked only once it failed to open as a ZIP). */
async function startsWithAgeMagic(reader: StorageRangeReader): Promise<boolean> {
  try {
    return (await byteReaderOf(reader)(0, AGE_MAGIC.length)).equals(AGE_MAGIC);
  } catch {
    return false;
  }
}

/** `error` as the typed error a reader of `key` reports: aborted, ours, or a corrupt archive. */
export function archiveFailure(error: unknown, key: string, signal: AbortSignal): unknown {
  if (signal.aborted) return new AbortedError('Archive verification', signal.reason);
  if (error instanceof BackupSdkError) return error;
  return archiveError(`${key} is corrupt: ${(error as Error).message}`, { key }, error);
}

async function checkOpened(
  zip: yauzl.ZipFile,
  reader: StorageRangeReader,
  key: string,
  archiveSize: number,
  storedSize: number,
  maxManifest: number,
): Promise<OpenedBackupArchive> {
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
  if (manifestEntry.uncompressedSize > maxManifest)
    throw archiveError(`manifest.json is ${manifestEntry.uncompressedSize} bytes; at most ${maxManifest} are accepted`);
  const manifestBytes = await readSmall(zip, manifestEntry, maxManifest);
  checkEntryCrc(manifestEntry, crc32(manifestBytes));
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
  let closed = false;
  return {
    key,
    size: archiveSize,
    stored_size: storedSize,
    manifest,
    dump: dumpEntry,
    filestore: fsEntry ?? null,
    openEntry: (entry) => zip.openReadStreamPromise(entry),
    close() {
      if (closed) return;
      closed = true;
      zip.close();
    },
  };
}

/** Throws a `ChecksumMismatchError` unless `actual` is `expected`. */
export function checkChecksum(part: string, expected: string, actual: string): void {
  if (expected !== actual) throw new ChecksumMismatchError(part, expected, actual);
}

/** Other readers (unzip, Python) check the CRC-32 the headers declare: a wrong one breaks their extraction. */
export function checkEntryCrc(entry: yauzl.Entry, actual: number): void {
  if (entry.crc32 !== actual)
    throw archiveError(`${entry.fileName} does not match the CRC-32 its headers declare; other ZIP readers would refuse it`, {
      entry: entry.fileName,
    });
}

async function readSmall(zip: yauzl.ZipFile, entry: yauzl.Entry, max: number): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
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
