import { buffer } from 'node:stream/consumers';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { AbortedError, ConflictError, StorageError } from '../errors/errors.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import type { RestoreProgress } from '../domain/restore-progress.js';
import { checkRestoreDatabaseName } from '../sources/restore-names.js';
import { MeasuringStream } from './measuring-stream.js';
import { parsePgDumpHeader } from './pg-dump-header.js';
import { downloadRange } from './storage-range-reader.js';

/** Options of {@link restoreCustomDump}. */
export interface RestoreCustomDumpOptions {
  storage: StorageProvider;
  /** The object: a bare `pg_dump -Fc` file. */
  key: string;
  target: RestoreTarget;
  /** The database to create and fill (must not exist; never the target's own). */
  database: string;
  /** `pg_restore -j` (default 1). */
  jobs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RestoreProgress) => void;
}

/** What {@link restoreCustomDump} restored. */
export interface RestoreCustomDumpResult {
  /** The header's pg_dump version (`15.4`), or null when the header could not be read. */
  pg_dump_version: string | null;
  database_bytes: number;
}

const HEADER_BYTES = 4096;

/**
 * Restores a bare `pg_dump -Fc` file from storage into a new database: `pg_restore --list` first
 * (a dump the target's pg_restore cannot read is refused before anything exists), then the
 * database is created and `pg_restore --no-owner` fills it from one more read of the object. The
 * database is dropped again on any failure. A custom-format dump holds no meta-commands: psql
 * never reads it.
 */
export async function restoreCustomDump(options: RestoreCustomDumpOptions): Promise<RestoreCustomDumpResult> {
  const { storage, key, target, database, signal } = options;
  checkRestoreDatabaseName(database);
  if (signal?.aborted) throw new AbortedError('Restore', signal.reason);
  const head = await storage.head(key);
  if (!head.exists) throw new StorageError('E_STORAGE_NOT_FOUND', `${key} does not exist`, { details: { key, missing: 'object' } });
  const header = parsePgDumpHeader(await buffer(downloadRange(storage, key, 0, Math.min(HEADER_BYTES, head.size), signal)));
  options.onProgress?.({ phase: 'verify', bytes_done: 0, bytes_total: 0 });
  const listing = downloadRange(storage, key, 0, head.size, signal);
  listing.on('error', () => undefined);
  try {
    await target.listDump(listing, signal ? { signal } : {});
  } finally {
    listing.destroy();
  }
  if (await target.databaseExists(database, signal ? { signal } : {}))
    throw new ConflictError(`Database ${JSON.stringify(database)} already exists; a restore fills a new one`, { details: { database } });
  await target.createDatabase(database, signal ? { signal } : {});
  try {
    let done = 0;
    const meter = new MeasuringStream((delta) => {
      done += delta;
      if (done === head.size) options.onProgress?.({ phase: 'database', bytes_done: done, bytes_total: head.size });
    });
    const source = downloadRange(storage, key, 0, head.size, signal);
    source.on('error', (error) => meter.destroy(error));
    source.pipe(meter);
    await target.restoreDump(database, meter, { jobs: options.jobs ?? 1, ...(signal ? { signal } : {}) });
    return { pg_dump_version: header?.pg_dump_version ?? null, database_bytes: head.size };
  } catch (error) {
    await target.dropDatabase(database).catch(() => undefined);
    if (signal?.aborted) throw new AbortedError('Restore', signal.reason);
    throw error instanceof BackupSdkError ? error : new BackupSdkError('E_UNEXPECTED', (error as Error).message, { cause: error });
  }
}
