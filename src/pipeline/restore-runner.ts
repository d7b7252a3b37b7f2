import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { BackupManifest } from '../domain/manifest.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { AbortedError, ConflictError, ValidationError } from '../errors/errors.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import type { RestoreProgress } from '../domain/restore-progress.js';
import { checkAbsolutePath, checkRestoreDatabaseName } from '../sources/restore-names.js';
import { archiveFailure, checkChecksum, type OpenedBackupArchive } from './backup-archive-reader.js';
import type { ArchiveExpectation } from './archive-expectation.js';
import { openRecordedArchive } from './recorded-archive.js';
import { guardFilestoreTar, type FilestoreGuardResult } from './filestore-tar-guard.js';
import { MeasuringStream } from './measuring-stream.js';
import { DEFAULT_RESTORE_LIMITS, type RestoreLimits } from './restore-limits.js';

export type { RestoreProgress } from '../domain/restore-progress.js';

/** Options of `restoreArchive`. */
export interface RestoreArchiveOptions {
  /** Where the backup's ZIP is. */
  storage: StorageProvider;
  /** The backup's storage key. */
  key: string;
  target: RestoreTarget;
  /** Temporary database: created by the restore (it must not exist), filled by pg_restore. Never the target's own. */
  database: string;
  /** Temporary folder: created and filled (it must not exist); null skips the filestore. Never the target's own. */
  filestoreFolder: string | null;
  /**
   * From the Backup record, cross-checked with the object and its manifest before anything is
   * created. `size` is the bytes stored (`compressed_size`); non-empty `encryption_recipients`
   * say the object is age-encrypted.
   */
  expected?: ArchiveExpectation;
  /** `AGE-SECRET-KEY-1…` identities for an encrypted backup; none for one of its recipients is `E_ENCRYPTION_KEY`. */
  identities?: readonly string[];
  /** `pg_restore -j` (default 1: the dump streams; above, the target stages it in a temp file). */
  jobs?: number;
  /** Tar and gzip bomb bounds; defaults `DEFAULT_RESTORE_LIMITS`. */
  limits?: Partial<RestoreLimits>;
  /** Aborting stops every tool and cleans up; the call rejects with `E_ABORTED`. */
  signal?: AbortSignal;
  onProgress?: (progress: RestoreProgress) => void;
}

/** What `restoreArchive` restored. */
export interface RestoreArchiveResult {
  manifest: BackupManifest;
  /** Bytes of the dump restored. */
  database_bytes: number;
  /** Bytes of the files written to the filestore folder (0 when skipped or absent). */
  filestore_bytes: number;
  /** Files and folders written to the filestore folder. */
  filestore_entries: number;
}

/** Progress is reported at most once per this many bytes (and at each phase's end). */
const PROGRESS_STEP = 8 * 1024 * 1024;

/**
 * Restores a backup archive from storage into a new database and a new folder on `target`, and
 * proves the archive whole on the way (see docs/pipeline.md, "Restore"): ZIP structure and
 * entries, manifest version and sizes, the record's checksums, `pg_restore --list` of the dump,
 * every tar header of the filestore (files and folders only, inside the folder, within
 * `limits`), and both SHA-256 sums computed as the bytes flow into pg_restore and tar.
 *
 * On any failure, a checksum mismatch found at the end of a stream included, it drops the
 * database and removes the folder it created, then rejects with `ArchiveError`,
 * `ChecksumMismatchError`, `SourceError`, `ConflictError` (the database or folder exists),
 * `ValidationError` or `AbortedError`. It never touches the target's own database and folder.
 */
export async function restoreArchive(options: RestoreArchiveOptions): Promise<RestoreArchiveResult> {
  const { storage, key, target, database, filestoreFolder } = options;
  checkOptions(options);
  const limits: RestoreLimits = { ...DEFAULT_RESTORE_LIMITS, ...options.limits };
  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) throw new AbortedError('Restore', outer.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;
  const created = { database: false, folder: false };
  let archive: OpenedBackupArchive | null = null;
  try {
    archive = await openRecordedArchive(storage, key, { ...options, signal });
    const manifest = archive.manifest;
    report(options, 'verify', 0, 0);
    await listDump(archive, target, signal);
    const withFilestore = filestoreFolder !== null && archive.filestore !== null;
    if (await target.databaseExists(database, { signal }))
      throw new ConflictError(`Database ${JSON.stringify(database)} already exists; a restore fills a new one`, { details: { database } });
    if (withFilestore && (await target.pathExists(filestoreFolder, { signal })))
      throw new ConflictError(`Folder ${filestoreFolder} already exists; a restore fills a new one`, {
        details: { folder: filestoreFolder },
      });

    await target.createDatabase(database, { signal });
    created.database = true;
    if (withFilestore) created.folder = true;
    // One after the other, the database first, as an operator types them (createdb, pg_restore,
    // then tar -x). Measured on a 2-core host (docs/pipeline.md, "Restore"): the two at once took
    // longer than in sequence, as tar, the checks here and PostgreSQL compete for the CPU and for
    // page-cache writeback; and pg_restore run after the filestore's gigabyte of small files was
    // slower than run first, the kernel still writing those pages back under it. A hostile
    // filestore is still refused before any of it reaches the target: only the temporaries'
    // time is lost, and both are dropped.
    const databaseBytes = await restoreDatabase(archive, options, signal);
    const filestore: FilestoreGuardResult = withFilestore
      ? await restoreFilestore(archive, options, filestoreFolder, limits, signal)
      : { bytes: 0, entries: 0 };
    return { manifest, database_bytes: databaseBytes, filestore_bytes: filestore.bytes, filestore_entries: filestore.entries };
  } catch (error) {
    controller.abort(error);
    const failure = outer?.aborted
      ? new AbortedError('Restore', outer.reason)
      : error instanceof BackupSdkError
        ? error
        : archiveFailure(error, key, signal);
    await cleanUp(target, created, database, filestoreFolder, failure);
    throw failure;
  } finally {
    outer?.removeEventListener('abort', onAbort);
    archive?.close();
  }
}

function checkOptions(options: RestoreArchiveOptions): void {
  const { target, database, filestoreFolder } = options;
  checkRestoreDatabaseName(database);
  if (database === target.database)
    throw new ValidationError([{ field: 'database', message: "is the target's own database; a restore fills a temporary one" }]);
  if (filestoreFolder !== null) {
    checkAbsolutePath(filestoreFolder, 'filestoreFolder');
    if (filestoreFolder === target.filestorePath)
      throw new ValidationError([{ field: 'filestoreFolder', message: "is the target's own folder; a restore fills a temporary one" }]);
  }
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new ValidationError([{ field: 'jobs', message: `must be a whole number from 1 to 64, got ${String(jobs)}` }]);
  for (const [field, value] of Object.entries(options.limits ?? {}))
    if (typeof value !== 'number' || !(value > 0))
      throw new ValidationError([{ field: `limits.${field}`, message: 'must be a positive number' }]);
}

/**
 * `pg_restore --list` on the target, over a separate ranged read of the dump's first bytes: the
 * table of contents is at the start, so it costs little, it runs before anything is created, and
 * it proves the target's own pg_restore reads this dump's format.
 */
async function listDump(archive: OpenedBackupArchive, target: RestoreTarget, signal: AbortSignal): Promise<void> {
  const stream = await archive.openEntry(archive.dump);
  stream.on('error', () => undefined);
  try {
    // A readable table of contents is all this needs; an empty one is a dump of an empty database.
    await target.listDump(stream, { signal });
  } finally {
    stream.destroy();
  }
}

/**
 * A measured (SHA-256, progress) stream of one archive entry. No CRC-32: the SHA-256 against the
 * manifest and the record proves every byte, and the CRC only matters to other ZIP readers,
 * which `verifyBackupArchive` checks for (a quarter of a second per GB here).
 */
async function measuredEntry(
  archive: OpenedBackupArchive,
  entryName: 'dump' | 'filestore',
  options: RestoreArchiveOptions,
  phase: 'database' | 'filestore',
): Promise<{ source: Readable; meter: MeasuringStream }> {
  const entry = archive[entryName]!;
  const total = entry.uncompressedSize;
  let done = 0;
  let reported = 0;
  const meter = new MeasuringStream((delta) => {
    done += delta;
    if (done - reported >= PROGRESS_STEP || done === total) {
      reported = done;
      report(options, phase, done, total);
    }
  });
  const source = await archive.openEntry(entry);
  source.on('error', (error) => meter.destroy(error));
  source.pipe(meter);
  return { source, meter };
}

function checkMeasured(archive: OpenedBackupArchive, entryName: 'dump' | 'filestore', meter: MeasuringStream, expected: string): number {
  const entry = archive[entryName]!;
  const { size, sha256 } = meter.result();
  checkChecksum(entry.fileName, expected, sha256);
  return size;
}

async function restoreDatabase(archive: OpenedBackupArchive, options: RestoreArchiveOptions, signal: AbortSignal): Promise<number> {
  const { source, meter } = await measuredEntry(archive, 'dump', options, 'database');
  try {
    await options.target.restoreDump(options.database, meter, { jobs: options.jobs ?? 1, signal });
    // pg_restore may stop before the last bytes (nothing it needs is there): read them for the checksum.
    meter.resume();
    await finished(meter);
  } catch (error) {
    source.destroy();
    meter.destroy();
    throw error;
  }
  return checkMeasured(archive, 'dump', meter, archive.manifest.database.checksum);
}

async function restoreFilestore(
  archive: OpenedBackupArchive,
  options: RestoreArchiveOptions,
  folder: string,
  limits: RestoreLimits,
  signal: AbortSignal,
): Promise<FilestoreGuardResult> {
  const { source, meter } = await measuredEntry(archive, 'filestore', options, 'filestore');
  const guard = guardFilestoreTar(meter, { limits, compressedSize: archive.filestore!.uncompressedSize });
  // Both settle before this returns: a failed check has killed tar before the folder is removed.
  const [extracted, checked] = await Promise.allSettled([options.target.extractFilestore(folder, guard.tar, { signal }), guard.done]);
  if (checked.status === 'rejected' || extracted.status === 'rejected') {
    source.destroy();
    meter.destroy();
    guard.tar.destroy();
    // The archive's own fault explains a killed tar better than tar's message does.
    throw checked.status === 'rejected' ? checked.reason : (extracted as PromiseRejectedResult).reason;
  }
  await finished(meter);
  checkMeasured(archive, 'filestore', meter, archive.manifest.filestore!.checksum);
  return checked.value;
}

function report(options: RestoreArchiveOptions, phase: RestoreProgress['phase'], done: number, total: number): void {
  try {
    options.onProgress?.({ phase, bytes_done: done, bytes_total: total });
  } catch {
    /* a progress callback never fails a restore */
  }
}

/** Drops what this restore created (never what was there before); a failed cleanup is recorded on the error. */
async function cleanUp(
  target: RestoreTarget,
  created: { database: boolean; folder: boolean },
  database: string,
  folder: string | null,
  failure: unknown,
): Promise<void> {
  const problems: string[] = [];
  if (created.folder && folder !== null)
    await target.removePath(folder).catch((e: unknown) => problems.push(`folder ${folder}: ${(e as Error).message}`));
  if (created.database)
    await target.dropDatabase(database).catch((e: unknown) => problems.push(`database ${database}: ${(e as Error).message}`));
  if (problems.length && failure instanceof BackupSdkError) failure.details.cleanup_failed = problems;
}
