import type { Backup } from '../../domain/entities.js';
import { Permission } from '../../domain/permissions.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { AbortedError, TimeoutError } from '../../errors/errors.js';
import { verifyBackupArchive, type ArchiveVerification } from '../../pipeline/verify-archive.js';
import type { Actor } from '../../ports/authorizer.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { copySource, downloadable } from './backup-downloads.js';
import type { StoredObject } from './backup-copy.js';
import { errorDetailsOf, errorMessageOf } from './backup-lifecycle.js';
import { loadAuthorized, type BackupServiceContext } from './backup-service-context.js';
import { errorLogFields } from '../../logging/log-lines.js';
import { encryptedArchiveOptions } from '../shared/backup-identities.js';

/** Options of `BackupService.verifyBackup`. */
export interface VerifyBackupOptions {
  /** Aborting stops reading: rejects with `AbortedError` and records nothing. */
  signal?: AbortSignal;
  /**
   * Which object to check: the backup's own (`primary`, default) or its second copy (`copy`, on the
   * policy's secondary storage; `E_BACKUP_NOT_DOWNLOADABLE` when it has no completed copy). A
   * failed check of the copy is recorded on the copy (`copy_status: 'failed'`, `copy_error`),
   * never on the backup's own verification.
   */
  from?: StoredObject;
}

/** What `BackupService.verifyBackup` found, as also recorded on the backup. */
export interface BackupVerificationResult {
  backup_id: string;
  /** True when the archive read back whole and matched its checksums. */
  ok: boolean;
  /** The record after the check (`is_verified`, `verified_at`, `verification_error`). */
  backup: Backup;
  /** What the check proved (sizes, manifest, the dump's listing), when it passed. */
  verification: ArchiveVerification | null;
  /** Why it failed (`code`, `message`, details), when it did. */
  error: Record<string, unknown> | null;
}

/**
 * `BackupService.verifyBackup`: reads a completed backup's object back from storage and checks it
 * (`verifyBackupArchive`: ZIP structure, manifest, SHA-256 of each part against the record, the
 * dump's table of contents; an encrypted one opened with the key provider's identities), then
 * records the outcome. Passed: `is_verified: true`, `verified_at`
 * now, `verification_error: null`. Failed: `is_verified: false`, `verified_at: null`,
 * `verification_error` the reason, and a `W_VERIFICATION_FAILED` warning event — the same record
 * the pipeline leaves after a failed read-back. A check that could not run (aborted, timed out,
 * storage unreachable: a transient storage error; no identity for an encrypted backup's
 * recipients: `E_ENCRYPTION_KEY`) throws and records nothing.
 */
export async function verifyBackup(
  ctx: BackupServiceContext,
  backupId: string,
  actor: Actor | null,
  options: VerifyBackupOptions,
): Promise<BackupVerificationResult> {
  const backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_VIEW, actor);
  const from = options.from ?? 'primary';
  const { config, key } = from === 'copy' ? await copySource(ctx, backup) : await downloadable(ctx, backup);
  const provider = await buildStorageProvider(ctx.storageProviders, ctx.secrets, config);
  const lister = ctx.options.runnerOptions?.dumpLister;
  let verification: ArchiveVerification | null = null;
  let failure: unknown = null;
  try {
    verification = await verifyBackupArchive(provider, key, {
      expected: {
        database_checksum: backup.database_checksum,
        filestore_checksum: backup.filestore_checksum,
        encryption_recipients: backup.encryption_recipients ?? null,
        size: backup.compressed_size,
      },
      ...(await encryptedArchiveOptions(ctx.options.keys, backup)),
      ...(lister !== undefined ? { lister } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (!isVerdict(error, options.signal)) throw error;
    failure = error;
  } finally {
    await provider.close().catch(() => undefined);
  }
  const at = ctx.clock.now().toISOString();
  const fields = { backup_id: backup.id, environment_id: backup.environment_id, from };
  if (from === 'copy') return recordCopyVerdict(ctx, backup, verification, failure, at);
  if (failure === null) {
    const updated = await ctx.backups.update(
      backup.id,
      { is_verified: true, verified_at: at, verification_error: null },
      { status: 'completed' },
    );
    ctx.logger.info(fields, 'backup verified');
    return { backup_id: backup.id, ok: true, backup: updated, verification, error: null };
  }
  const message = errorMessageOf(failure);
  const updated = await ctx.backups.update(
    backup.id,
    { is_verified: false, verified_at: null, verification_error: message },
    { status: 'completed' },
  );
  ctx.events.emit({
    type: 'warning',
    data: {
      code: 'W_VERIFICATION_FAILED',
      message: `Backup ${backup.id} did not verify: ${message}`,
      environment_id: backup.environment_id,
      organization_id: backup.organization_id,
      project_id: backup.project_id,
      backup_id: backup.id,
      timestamp: at,
    },
  });
  ctx.logger.warn({ ...fields, ...errorLogFields(failure) }, 'backup did not verify');
  return { backup_id: backup.id, ok: false, backup: updated, verification: null, error: errorDetailsOf(failure) };
}

/** A check of the copy: a pass changes nothing; a failure marks the copy failed (the backup's own verification stands). */
async function recordCopyVerdict(
  ctx: BackupServiceContext,
  backup: Backup,
  verification: ArchiveVerification | null,
  failure: unknown,
  at: string,
): Promise<BackupVerificationResult> {
  if (failure === null) return { backup_id: backup.id, ok: true, backup, verification, error: null };
  const message = `The copy did not verify: ${errorMessageOf(failure)}`;
  const updated = await ctx.backups.update(
    backup.id,
    { copy_status: 'failed', copy_error: message },
    { copy_key: backup.copy_key ?? null, copy_status: 'completed' },
  );
  ctx.events.emit({
    type: 'warning',
    data: {
      code: 'W_BACKUP_COPY_FAILED',
      message: `Backup ${backup.id}: ${message}`,
      environment_id: backup.environment_id,
      organization_id: backup.organization_id,
      project_id: backup.project_id,
      backup_id: backup.id,
      timestamp: at,
    },
  });
  ctx.logger.warn({ backup_id: backup.id, from: 'copy', ...errorLogFields(failure) }, 'backup copy did not verify');
  return { backup_id: backup.id, ok: false, backup: updated, verification: null, error: errorDetailsOf(failure) };
}

/** Whether an error says something about the archive (recorded) rather than that the check could not run (thrown). */
function isVerdict(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted || error instanceof AbortedError || error instanceof TimeoutError) return false;
  // No identity for the backup's recipients (or none from the key provider): the check could not run.
  if (error instanceof BackupSdkError && (error.code === 'E_ENCRYPTION_KEY' || error.code === 'E_ADAPTER')) return false;
  if (error instanceof BackupSdkError && error.code.startsWith('E_STORAGE') && error.code !== 'E_STORAGE_NOT_FOUND')
    return !error.transient;
  return true;
}
