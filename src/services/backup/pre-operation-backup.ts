import type { Backup } from '../../domain/entities.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { isErrorCode } from '../../errors/error-codes.js';
import { ValidationError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import { createBackup } from './backup-commands.js';
import type { PreOperationBackupOptions, PreOperationBackupType } from './backup-service-types.js';
import type { BackupServiceContext } from './backup-service-context.js';
import { startJobDeadline } from '../shared/job-timeout.js';
import { longestJobMs } from './wait-for-backup.js';

const PRE_OPERATION_TYPES: readonly PreOperationBackupType[] = ['pre_restore', 'pre_upgrade', 'pre_destroy'];

/** `BackupService.createPreOperationBackup`: create, wait for the end, insist on a verified backup. */
export async function createPreOperationBackup(
  ctx: BackupServiceContext,
  environmentId: string,
  type: PreOperationBackupType,
  actor: Actor | null,
  options: PreOperationBackupOptions,
): Promise<Backup> {
  if (!PRE_OPERATION_TYPES.includes(type)) {
    throw new ValidationError([{ field: 'backup_type', message: `must be one of ${PRE_OPERATION_TYPES.join(', ')}` }]);
  }
  const created = await createBackup(
    ctx,
    environmentId,
    {
      backup_type: type,
      ...(options.storage_config_id !== undefined ? { storage_config_id: options.storage_config_id } : {}),
      ...(options.include_filestore !== undefined ? { include_filestore: options.include_filestore } : {}),
    },
    actor,
    { preOperation: true },
  );
  const limit = options.timeoutMs ?? longestJobMs(ctx);
  const deadline = startJobDeadline(ctx.clock, limit, `Waiting for the ${type} backup ${created.id}`, options.signal);
  try {
    await ctx.completions.waitFor(
      created.task_id,
      async () => {
        const t = await ctx.tasks.get(created.task_id);
        return t === null || t.status === 'completed' || t.status === 'failed';
      },
      ctx.clock,
      ctx.pollMs,
      deadline.signal,
    );
  } catch (error) {
    throw deadline.timeoutError ?? error;
  } finally {
    deadline.dispose();
  }
  const backup = await ctx.backups.get(created.id);
  if (backup?.status === 'completed') {
    if (backup.is_verified) return backup;
    // Stored but it did not read back as written: not a backup anyone should rely on.
    throw new BackupSdkError(
      'E_VERIFICATION_FAILED',
      `The ${type} backup ${created.id} of environment ${environmentId} was stored but did not verify: ${backup.verification_error ?? 'unknown reason'}`,
      {
        details: {
          backup_id: created.id,
          task_id: created.task_id,
          status: backup.status,
          verification_error: backup.verification_error,
        },
      },
    );
  }
  const cause = backup?.error_details ?? {};
  const code = isErrorCode(cause.code) ? cause.code : 'E_BACKUP_FAILED';
  throw new BackupSdkError(
    code,
    `The ${type} backup ${created.id} of environment ${environmentId} did not complete: ${backup?.error_message ?? `it is ${backup?.status ?? 'gone'}`}`,
    {
      details: { backup_id: created.id, task_id: created.task_id, status: backup?.status ?? null, error: cause },
    },
  );
}
