import { buffer } from 'node:stream/consumers';
import type yauzl from 'yauzl';
import { ArchiveError, StorageError } from '../errors/errors.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { downloadRange, loadYauzl, openStorageRangeReader } from './storage-range-reader.js';

/**
 * What a file to import is, judged from its bytes:
 * - `odoo_zip`: a backup ZIP of Odoo's database manager or Odoo.sh (`dump.sql` in plain SQL,
 *   deflated, with `filestore/...` files and Odoo's `manifest.json`);
 * - `pg_custom`: a bare `pg_dump -Fc` file;
 * - `obsdk`: an archive of this SDK (`dump.sql` holding a `pg_dump -Fc` dump, stored, beside
 *   `filestore.tar.gz` and `manifest.json`).
 */
export type ArchiveFormat = 'odoo_zip' | 'pg_custom' | 'obsdk';

/** Options of {@link detectArchiveFormat}. */
export interface DetectArchiveFormatOptions {
  /** Aborting stops reading and rejects with an `AbortedError`. */
  signal?: AbortSignal;
}

const PG_CUSTOM_MAGIC = 'PGDMP';
const ZIP_LOCAL_MAGIC = 'PK\x03\x04';
const ZIP_EMPTY_MAGIC = 'PK\x05\x06';
const AGE_MAGIC = 'age-encryption.org/';

function unknownFormat(key: string, why: string, cause?: unknown): ArchiveError {
  return new ArchiveError(
    `${key} is not a file the SDK can import (${why}): expected an Odoo backup ZIP, a pg_dump -Fc dump or an odoo-backup-sdk archive`,
    { details: { key, reason: why }, ...(cause !== undefined ? { cause } : {}) },
    'E_IMPORT_FORMAT',
  );
}

async function entriesOf(provider: StorageProvider, key: string, size: number, signal: AbortSignal | undefined): Promise<yauzl.Entry[]> {
  const zip = await loadYauzl();
  const reader = await openStorageRangeReader(provider, key, signal);
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    zip.fromRandomAccessReader(
      reader,
      size,
      { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false },
      (e, f) => (e ? reject(e) : resolve(f)),
    ),
  );
  try {
    return await new Promise<yauzl.Entry[]>((resolve, reject) => {
      const entries: yauzl.Entry[] = [];
      file.on('entry', (entry: yauzl.Entry) => {
        entries.push(entry);
        file.readEntry();
      });
      file.on('end', () => resolve(entries));
      file.on('error', reject);
      file.readEntry();
    });
  } finally {
    file.close();
  }
}

/**
 * Tells an Odoo backup ZIP, a bare `pg_dump -Fc` dump and an archive of this SDK apart, from the
 * object's first bytes and, for a ZIP, its central directory (read by byte ranges: a few KiB, or
 * the directory's size for a filestore of many files). It reads nothing else and creates nothing.
 *
 * Throws `ArchiveError` `E_IMPORT_FORMAT` for anything else (an encrypted archive included: it
 * must be imported by the SDK that holds its key), the provider's `StorageError`, or `AbortedError`.
 */
export async function detectArchiveFormat(
  provider: StorageProvider,
  key: string,
  options: DetectArchiveFormatOptions = {},
): Promise<ArchiveFormat> {
  const { signal } = options;
  const object = await provider.head(key);
  if (!object.exists) throw new StorageError('E_STORAGE_NOT_FOUND', `${key} does not exist`, { details: { key, missing: 'object' } });
  const head = (await buffer(downloadRange(provider, key, 0, Math.min(32, object.size), signal))).toString('latin1');
  if (head.startsWith(PG_CUSTOM_MAGIC)) return 'pg_custom';
  if (head.startsWith(AGE_MAGIC)) throw unknownFormat(key, 'an encrypted archive');
  if (!head.startsWith(ZIP_LOCAL_MAGIC) && !head.startsWith(ZIP_EMPTY_MAGIC))
    throw unknownFormat(key, 'neither a ZIP nor a pg_dump -Fc file');
  let entries: yauzl.Entry[];
  try {
    entries = await entriesOf(provider, key, object.size, signal);
  } catch (error) {
    if (signal?.aborted) throw error;
    throw unknownFormat(key, 'an unreadable ZIP', error);
  }
  const names = new Set(entries.map((e) => e.fileName));
  const dump = entries.find((e) => e.fileName === 'dump.sql');
  if (!dump) throw unknownFormat(key, 'a ZIP without dump.sql');
  // Ours stores the already-compressed custom-format dump; Odoo deflates its plain SQL.
  if (dump.compressionMethod === 0 && [...names].every((n) => ['dump.sql', 'filestore.tar.gz', 'manifest.json'].includes(n)))
    return 'obsdk';
  if (dump.compressionMethod === 8 || dump.compressionMethod === 0) return 'odoo_zip';
  throw unknownFormat(key, `dump.sql compressed with method ${dump.compressionMethod}`);
}
