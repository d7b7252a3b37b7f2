import { NotFoundError } from '../../errors/errors.js';
import type { RestoreProgress } from '../../domain/restore-progress.js';
import type { RestoreTarget } from '../../ports/restore-target.js';
import type { StorageConfigRepository } from '../../ports/repositories.js';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import type { StorageProvider, StorageProviderFactory } from '../../ports/storage-provider.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { restoreCustomDump } from '../../pipeline/custom-dump-restore.js';
import { restoreOdooZip } from '../../pipeline/odoo-zip-import.js';
import type { DumpVersions } from './restore-compatibility.js';
import type { ImportSourceRecord } from './restore-journal.js';
import type { RestoreArchiveOptions, RestoreArchiveResult } from '../../pipeline/restore-runner.js';

/** What restoring an imported file into the temporaries gave. */
export interface ImportedToTemp {
  /** Versions to check against the target (unknown ones are warnings). */
  versions: DumpVersions;
  database_bytes: number;
  filestore_bytes: number;
  filestore_entries: number;
  /** Members of an Odoo ZIP left out (neither dump.sql, manifest.json nor filestore/). */
  skipped?: string[];
}

/** How an import's storage is reached: its config, the provider factory, the credentials by reference. */
export interface ImportStorageDeps {
  storageConfigs: StorageConfigRepository;
  storageProviders: StorageProviderFactory;
  secrets?: SecretResolver | undefined;
}

/** What {@link restoreImportToTemp} needs. */
export interface ImportToTempCall extends ImportStorageDeps {
  /** The archive restore pipeline the service runs (`RestoreServiceOptions.restoreArchive`). */
  restoreArchive: (call: Omit<RestoreArchiveOptions, 'limits'>) => Promise<RestoreArchiveResult>;
  target: RestoreTarget;
  /** The temporary database to create and fill. */
  database: string;
  /** The temporary folder, or null to skip the filestore. */
  filestoreFolder: string | null;
  jobs: number;
  /** Import plain SQL with a privileged role (odoo_zip only). */
  allowPrivilegedRole: boolean;
  force: boolean;
  signal: AbortSignal;
  onProgress: (progress: RestoreProgress) => void;
}

/** The storage provider an import reads from (its storage config must still exist). */
export async function importStorage(deps: ImportStorageDeps, source: ImportSourceRecord): Promise<StorageProvider> {
  const config = await deps.storageConfigs.get(source.storage_config_id);
  if (!config) throw new NotFoundError('storage_config', source.storage_config_id, { details: { key: source.key } });
  return buildStorageProvider(deps.storageProviders, deps.secrets, config);
}

/**
 * Restores an imported file into the temporary database and folder, by its format: an archive
 * of this SDK through `restoreArchive` (every check a backup's restore makes but the record's
 * checksums, which an import has not), a bare `pg_dump -Fc` through `restoreCustomDump` (no
 * filestore), Odoo's ZIP through `restoreOdooZip`. Every path drops what it created on failure.
 */
export async function restoreImportToTemp(source: ImportSourceRecord, call: ImportToTempCall): Promise<ImportedToTemp> {
  const storage = await importStorage(call, source);
  try {
    switch (source.format) {
      case 'obsdk': {
        const outcome = await call.restoreArchive({
          storage,
          key: source.key,
          target: call.target,
          database: call.database,
          filestoreFolder: call.filestoreFolder,
          jobs: call.jobs,
          signal: call.signal,
          onProgress: call.onProgress,
        });
        return { ...outcome, versions: outcome.manifest };
      }
      case 'pg_custom': {
        const outcome = await restoreCustomDump({
          storage,
          key: source.key,
          target: call.target,
          database: call.database,
          jobs: call.jobs,
          signal: call.signal,
          onProgress: call.onProgress,
        });
        return {
          versions: { odoo_version: null, database: { pg_dump_version: outcome.pg_dump_version } },
          database_bytes: outcome.database_bytes,
          filestore_bytes: 0,
          filestore_entries: 0,
        };
      }
      case 'odoo_zip':
        return await restoreOdooZipToTemp(storage, source, call);
    }
  } finally {
    await storage.close();
  }
}

/** Removes a file uploaded for an import once the import ended; a failure is returned, not thrown. */
export async function removeUploadedSource(deps: ImportStorageDeps, source: ImportSourceRecord | null | undefined): Promise<string | null> {
  if (!source?.uploaded) return null;
  try {
    const storage = await importStorage(deps, source);
    try {
      await storage.delete(source.key);
    } finally {
      await storage.close();
    }
    return null;
  } catch (error) {
    return `could not remove the uploaded file ${source.key}: ${(error as Error).message}`;
  }
}

/** Odoo's own backup ZIP: `dump.sql` through the guard into psql, `filestore/**` re-packed for tar. */
async function restoreOdooZipToTemp(storage: StorageProvider, source: ImportSourceRecord, call: ImportToTempCall): Promise<ImportedToTemp> {
  const outcome = await restoreOdooZip({
    storage,
    key: source.key,
    target: call.target,
    database: call.database,
    filestoreFolder: call.filestoreFolder,
    allowPrivilegedRole: call.allowPrivilegedRole,
    force: call.force,
    signal: call.signal,
    onProgress: call.onProgress,
  });
  return {
    versions: { odoo_version: outcome.odoo_version, database: { pg_dump_version: outcome.pg_dump_version, plain_sql: true } },
    database_bytes: outcome.database_bytes,
    filestore_bytes: outcome.filestore_bytes,
    filestore_entries: outcome.filestore_entries,
    skipped: outcome.skipped,
  };
}
