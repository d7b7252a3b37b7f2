import type { Backup, StorageConfig } from '../../domain/entities.js';
import type { ResolvedEnvironment } from '../../ports/environment-resolver.js';

/**
 * The fields a backup try fills in, as they stand before any try: a new record starts from them, and
 * a retry puts a record back to them (backup-lifecycle's `CLEAN_TRY_FIELDS`). One list, so a new
 * column cannot be reset in one place and forgotten in the other.
 */
export const FRESH_TRY_FIELDS = Object.freeze({
  database_key: null,
  filestore_key: null,
  manifest_key: null,
  database_size: 0,
  filestore_size: 0,
  total_size: 0,
  compressed_size: 0,
  encryption_recipients: null,
  stored_checksum: null,
  copy_storage_config_id: null,
  copy_key: null,
  copy_task_id: null,
  copy_status: null,
  copy_error: null,
  copied_at: null,
  started_at: null,
  completed_at: null,
  duration_seconds: null,
  expires_at: null,
  is_verified: false,
  verified_at: null,
  verification_error: null,
  database_checksum: null,
  filestore_checksum: null,
  error_message: null,
  error_details: null,
  environment_snapshot: null,
} as const satisfies Partial<Backup>);

/** What a new backup record is made of. */
export interface NewBackupParams {
  id: string;
  env: ResolvedEnvironment;
  config: StorageConfig;
  taskId: string;
  type: Backup['backup_type'];
  includeFilestore: boolean;
  retentionType: Backup['retention_type'];
  at: string;
  actorId: string | null;
}

/**
 * A fresh `pending` backup record: every column of the product's table, sizes 0, nothing stored yet.
 * `created_by` is the actor (null for the system).
 */
export function newBackupRecord(p: NewBackupParams): Backup {
  return {
    id: p.id,
    environment_id: p.env.environment_id,
    organization_id: p.env.organization_id,
    project_id: p.env.project_id,
    storage_config_id: p.config.id,
    task_id: p.taskId,
    status: 'pending',
    backup_type: p.type,
    include_filestore: p.includeFilestore,
    ...FRESH_TRY_FIELDS,
    retention_type: p.retentionType,
    created_at: p.at,
    updated_at: p.at,
    created_by: p.actorId,
    write_by: p.actorId,
    cancel_requested_at: null,
  };
}
