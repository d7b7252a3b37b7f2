import { BackupSdkError, type BackupSdkErrorOptions } from './backup-sdk-error.js';
import type { ErrorCodeOf } from './error-codes.js';

/**
 * Why a restore was refused or failed, beyond the errors its parts raise (checksums, tools,
 * storage). Every code leaves the target as it was:
 *
 * - `E_RESTORE_INCOMPATIBLE`: the backup's Odoo major differs from the target's (without `force`),
 *   or the target's `pg_restore` is older than the `pg_dump` that wrote the dump.
 * - `E_RESTORE_PRIVILEGES`: the target's role may not create databases, or does not own the
 *   database `replace` mode swaps.
 * - `E_RESTORE_DISK_SPACE`: the target reports less free space than the filestore needs.
 * - `E_RESTORE_TARGET_EXISTS`: the `new_database` name or folder is taken.
 * - `E_RESTORE_TARGET_MISSING`: `replace` mode over a database that does not exist.
 * - `E_RESTORE_NOT_RESTORABLE`: the backup is not `completed`, or has no stored archive.
 * - `E_RESTORE_IN_PROGRESS`: another restore onto the same environment is queued or running.
 * - `E_RESTORE_PRE_BACKUP_FAILED`: the pre-restore backup failed or did not verify.
 * - `E_RESTORE_ROLLBACK_FAILED`: a failure after the swap began, and putting the target back
 *   failed too; `details` names what is where so a person can finish by hand.
 * - `E_RESTORE_TARGET_CHANGED`: the target's database or folder was swapped by another restore
 *   after this one began; the swap (or rollback) left that object alone.
 */
export type RestoreErrorCode = ErrorCodeOf<'RestoreError'>;

/** A restore refused or failed for a reason of its own; see {@link RestoreErrorCode}. */
export class RestoreError extends BackupSdkError {
  constructor(code: RestoreErrorCode, message: string, options: BackupSdkErrorOptions = {}) {
    super(code, message, options);
  }
}
