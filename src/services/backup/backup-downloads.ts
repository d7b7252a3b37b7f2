import type { Readable } from 'node:stream';
import type { Backup, StorageConfig } from '../../domain/entities.js';
import { Permission } from '../../domain/permissions.js';
import { DownloadQuerySchema, parseInput } from '../../domain/validation.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { objectKeyOf } from './backup-lifecycle.js';
import type { BackupDownloadUrls } from './backup-responses.js';
import type { BackupDownload, OdooExport, OpenDownloadOptions, OpenOdooExportOptions } from './backup-service-types.js';
import { exportOdooArchive } from '../../pipeline/odoo-export.js';
import { pgRestoreToPlainSql } from '../../sources/plain-sql-export.js';
import { encryptedArchiveOptions } from '../shared/backup-identities.js';
import { loadAuthorized, type BackupServiceContext } from './backup-service-context.js';

/** Downloads of completed backups: signed URLs where the storage can sign, streams everywhere. */

/** `BackupService.getDownloadUrls`. */
export async function getDownloadUrls(
  ctx: BackupServiceContext,
  backupId: string,
  expiresIn: number | string | undefined,
  actor: Actor | null,
): Promise<BackupDownloadUrls> {
  const { expires_in } = parseInput(DownloadQuerySchema, expiresIn === undefined ? {} : { expires_in: expiresIn });
  const backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_VIEW, actor);
  const { config, key } = await downloadable(ctx, backup);
  const provider = await buildStorageProvider(ctx.storageProviders, ctx.secrets, config);
  try {
    const url = await provider.presign(key, expires_in);
    return {
      backup_id: backup.id,
      database_url: url,
      filestore_url: null,
      manifest_url: null,
      expires_in,
      expires_at: new Date(ctx.clock.now().getTime() + expires_in * 1000).toISOString(),
    };
  } finally {
    await provider.close();
  }
}

/** `BackupService.openDownload`. */
export async function openDownload(
  ctx: BackupServiceContext,
  backupId: string,
  options: OpenDownloadOptions,
  actor: Actor | null,
): Promise<BackupDownload> {
  const backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_VIEW, actor);
  const { config, key } = await downloadable(ctx, backup);
  const provider = await buildStorageProvider(ctx.storageProviders, ctx.secrets, config);
  let stream: Readable;
  try {
    stream = await provider.download(key, {
      ...(options.range ? { range: options.range } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    await provider.close();
    throw error;
  }
  // The provider's connection lives as long as the stream.
  stream.once('close', () => void provider.close().catch(() => undefined));
  // An encrypted backup is served as stored (an age file holding the ZIP): `age -d` opens it.
  const encrypted = (backup.encryption_recipients ?? []).length > 0;
  return {
    backup_id: backup.id,
    filename: encrypted ? `${backup.id}.zip.age` : `${backup.id}.zip`,
    content_type: encrypted ? 'application/octet-stream' : 'application/zip',
    size: backup.compressed_size,
    stream,
  };
}

/** `BackupService.openOdooExport`. */
export async function openOdooExport(
  ctx: BackupServiceContext,
  backupId: string,
  options: OpenOdooExportOptions,
  actor: Actor | null,
): Promise<OdooExport> {
  const level = options.compressionLevel;
  if (level !== undefined && !(Number.isInteger(level) && level >= 1 && level <= 9))
    throw new ValidationError([{ field: 'compressionLevel', message: `must be a whole number from 1 to 9, got ${String(level)}` }]);
  const backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_VIEW, actor);
  const { config, key } = await downloadable(ctx, backup);
  const identities = await encryptedArchiveOptions(ctx.options.keys, backup);
  const provider = ctx.storageProviders(config);
  let exported;
  try {
    exported = await exportOdooArchive({
      storage: provider,
      key,
      expected: {
        size: backup.compressed_size,
        database_checksum: backup.database_checksum,
        filestore_checksum: backup.filestore_checksum,
        encryption_recipients: backup.encryption_recipients ?? null,
      },
      ...identities,
      toPlainSql: (dump, { signal }) =>
        pgRestoreToPlainSql(dump, { signal, ...(options.pgBinDir !== undefined ? { pgBinDir: options.pgBinDir } : {}) }),
      ...(level !== undefined ? { level } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    await provider.close().catch(() => undefined);
    throw error;
  }
  // The provider's connection lives as long as the export.
  void exported.done.catch(() => undefined).finally(() => void provider.close().catch(() => undefined));
  return {
    backup_id: backup.id,
    filename: odooExportFilename(exported.manifest.database.name, backup.created_at),
    content_type: 'application/zip',
    size: null,
    stream: exported.stream,
    done: exported.done,
  };
}

/** `<db>_<YYYY-MM-DD_HH-MM-SS>.zip` as Odoo's manager names its dumps, with only safe filename characters. */
function odooExportFilename(database: string, createdAt: string): string {
  const stamp = createdAt.slice(0, 19).replace('T', '_').replace(/:/g, '-');
  const safe = database.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'odoo';
  return `${safe}_${stamp}.zip`;
}

/** The storage config and key of a completed backup; refuses any other status. */
/**
 * The second copy of a completed backup, as a place to read from: its config and key. Refused with
 * `E_BACKUP_NOT_DOWNLOADABLE` unless the backup is completed and its copy completed too.
 */
export async function copySource(
  ctx: Pick<BackupServiceContext, 'storageConfigs'>,
  backup: Backup,
): Promise<{ config: StorageConfig; key: string }> {
  if (backup.status !== 'completed' || backup.copy_status !== 'completed' || !backup.copy_key || !backup.copy_storage_config_id) {
    throw new ConflictError(
      `Backup ${backup.id} has no completed copy to read (status '${backup.status}', copy_status '${backup.copy_status ?? null}')`,
      { details: { backup_id: backup.id, status: backup.status, copy_status: backup.copy_status ?? null, from: 'copy' } },
      'E_BACKUP_NOT_DOWNLOADABLE',
    );
  }
  const config = await ctx.storageConfigs.get(backup.copy_storage_config_id);
  if (!config) throw new NotFoundError('storage_config', backup.copy_storage_config_id, { details: { backup_id: backup.id } });
  return { config, key: backup.copy_key };
}

export async function downloadable(ctx: BackupServiceContext, backup: Backup): Promise<{ config: StorageConfig; key: string }> {
  if (backup.status !== 'completed') {
    throw new ConflictError(
      `Backup ${backup.id} is '${backup.status}': only completed backups can be downloaded`,
      { details: { backup_id: backup.id, status: backup.status } },
      'E_BACKUP_NOT_DOWNLOADABLE',
    );
  }
  if (!backup.storage_config_id) throw new NotFoundError('storage_config', 'null', { details: { backup_id: backup.id } });
  const config = await ctx.storageConfigs.get(backup.storage_config_id);
  if (!config) throw new NotFoundError('storage_config', backup.storage_config_id, { details: { backup_id: backup.id } });
  return { config, key: objectKeyOf(backup) };
}
