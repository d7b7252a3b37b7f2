import type { Readable } from 'node:stream';
import { importStorageKey } from '../../domain/storage-keys.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { NotFoundError, ValidationError } from '../../errors/errors.js';
import { detectArchiveFormat } from '../../pipeline/detect-archive-format.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { errorMessageOf } from '../backup/backup-lifecycle.js';
import type { ImportStorageDeps } from './import-source.js';
import type { ImportSourceRecord } from './restore-journal.js';

/** A file already in one of the organisation's storage configs. */
export interface StoredImportSource {
  storage_config_id: string;
  /** The object's key in that storage. */
  key: string;
}

/**
 * What `importOdooArchive` imports: a file in the organisation's storage (left there), or a
 * stream stored first in the organisation's default storage under its `imports/` prefix (and
 * removed when the import ends).
 */
export type ImportSource = StoredImportSource | Readable | NodeJS.ReadableStream;

type AdmissionDeps = ImportStorageDeps;

function isStream(source: ImportSource): source is Readable | NodeJS.ReadableStream {
  return typeof (source as Readable | null)?.pipe === 'function';
}

function storedSource(source: unknown): StoredImportSource {
  const s = (source ?? {}) as Partial<Record<keyof StoredImportSource, unknown>>;
  const issues = [];
  if (typeof s.storage_config_id !== 'string' || s.storage_config_id.trim() === '')
    issues.push({ field: 'source.storage_config_id', message: 'must be a non-empty string' });
  if (typeof s.key !== 'string' || s.key === '' || s.key.includes('\0') || s.key.length > 1024)
    issues.push({ field: 'source.key', message: 'must be a storage key of 1-1024 characters without NUL' });
  if (issues.length > 0) throw new ValidationError(issues);
  return { storage_config_id: s.storage_config_id as string, key: s.key as string };
}

/**
 * Puts an import's file where its job will read it and tells what it is, before any task exists:
 * a stored file is checked to belong to the organisation; a stream is uploaded to the
 * organisation's default storage first. A file of no known format is `E_IMPORT_FORMAT`, and an
 * uploaded one is removed again on every refusal.
 */
export async function stageImport(
  deps: AdmissionDeps,
  source: ImportSource,
  organizationId: string,
  taskId: string,
): Promise<ImportSourceRecord> {
  if (!isStream(source)) {
    const { storage_config_id, key } = storedSource(source);
    const config = await deps.storageConfigs.get(storage_config_id);
    if (!config) throw new NotFoundError('storage_config', storage_config_id);
    if (config.organization_id !== organizationId)
      throw new ValidationError([
        { field: 'source.storage_config_id', message: 'belongs to another organisation than the target environment' },
      ]);
    const provider = await buildStorageProvider(deps.storageProviders, deps.secrets, config);
    try {
      return { storage_config_id, key, format: await detectArchiveFormat(provider, key), uploaded: false };
    } finally {
      await provider.close();
    }
  }
  const config = await deps.storageConfigs.getDefault(organizationId);
  if (!config)
    throw new ValidationError([
      { field: 'source', message: `organisation ${organizationId} has no default storage config to store the uploaded file in` },
    ]);
  const key = importStorageKey(organizationId, taskId);
  const provider = await buildStorageProvider(deps.storageProviders, deps.secrets, config);
  try {
    await provider.upload(key, source, { contentType: 'application/octet-stream' });
    try {
      return { storage_config_id: config.id, key, format: await detectArchiveFormat(provider, key), uploaded: true };
    } catch (error) {
      await provider.delete(key).catch((e: unknown) => {
        if (error instanceof BackupSdkError) error.details.cleanup_failed = `could not remove the uploaded ${key}: ${errorMessageOf(e)}`;
      });
      throw error;
    }
  } finally {
    await provider.close();
  }
}
