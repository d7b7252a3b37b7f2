import { buffer } from 'node:stream/consumers';
import { ArchiveError, StorageError } from '../errors/errors.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { downloadRange } from './storage-range-reader.js';
import { readCentralDirectory } from './zip-central-directory.js';

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

/**
 * Tells an Odoo backup ZIP, a bare `pg_dump -Fc` dump and an archive of this SDK apart, from the
 * object's first bytes and, for a ZIP, its central directory (read in one ranged read: a few KiB,
 * or the directory's size for a filestore of many files). It reads nothing else and creates nothing.
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
  let entries: { name: string; method: number }[];
  try {
    // One ranged read of the whole directory (yauzl would ask for each record on its own).
    const directory = await readCentralDirectory(provider, key, object.size, signal);
    entries = directory.entries.map((e) => ({ name: e.nameRaw.toString('latin1'), method: e.method }));
  } catch (error) {
    if (signal?.aborted) throw error;
    throw unknownFormat(key, 'an unreadable ZIP', error);
  }
  const names = new Set(entries.map((e) => e.name));
  const dump = entries.find((e) => e.name === 'dump.sql');
  if (!dump) throw unknownFormat(key, 'a ZIP without dump.sql');
  // Ours stores the already-compressed custom-format dump; Odoo deflates its plain SQL.
  if (dump.method === 0 && [...names].every((n) => ['dump.sql', 'filestore.tar.gz', 'manifest.json'].includes(n))) return 'obsdk';
  if (dump.method === 8 || dump.method === 0) return 'odoo_zip';
  throw unknownFormat(key, `dump.sql compressed with method ${dump.method}`);
}
