import type { Backup, IsoDateTime } from '../../domain/entities.js';
import type { BackupStatus, BackupType, RetentionType } from '../../domain/enums.js';

/**
 * The response shapes of the product's backup endpoints, field for field, so a host can return
 * them as JSON unchanged. Records hold more (keys, snapshots, error details); these shapes are
 * what a client of the REST API sees.
 */

/** The product's `201 Created` body of `POST .../environments/{id}/backups`. */
export interface BackupCreatedResponse {
  id: string;
  environment_id: string;
  storage_config_id: string | null;
  /** The task that tracks the job (its id is also the job id on the queue). */
  task_id: string;
  status: BackupStatus;
  backup_type: BackupType;
  database_size: number;
  filestore_size: number;
  total_size: number;
  compressed_size: number;
  retention_type: RetentionType | null;
  expires_at: IsoDateTime | null;
  is_verified: boolean;
  created_at: IsoDateTime;
}

/** One item of the product's list endpoint. */
export interface BackupListItem {
  id: string;
  environment_id: string;
  status: BackupStatus;
  backup_type: BackupType;
  database_size: number;
  filestore_size: number;
  total_size: number;
  compressed_size: number;
  started_at: IsoDateTime | null;
  completed_at: IsoDateTime | null;
  duration_seconds: number | null;
  retention_type: RetentionType | null;
  expires_at: IsoDateTime | null;
  is_verified: boolean;
  created_at: IsoDateTime;
}

/**
 * The product's `GET /backups/{id}` body. Adds `error_message` (null unless the backup failed), which
 * troubleshooting relies on although the product's example omits it.
 */
export interface BackupDetail {
  id: string;
  environment_id: string;
  storage_config_id: string | null;
  task_id: string | null;
  status: BackupStatus;
  backup_type: BackupType;
  database_size: number;
  filestore_size: number;
  total_size: number;
  compressed_size: number;
  started_at: IsoDateTime | null;
  completed_at: IsoDateTime | null;
  duration_seconds: number | null;
  retention_type: RetentionType | null;
  expires_at: IsoDateTime | null;
  is_verified: boolean;
  verified_at: IsoDateTime | null;
  database_checksum: string | null;
  filestore_checksum: string | null;
  error_message: string | null;
  created_at: IsoDateTime;
}

/** The product's paging envelope: `pages` is `ceil(total / page_size)` (0 when nothing matches). */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
  pages: number;
}

/**
 * The product's download response (see docs/decisions.md#download-urls): one ZIP per backup, so `database_url` points at
 * it and `filestore_url` / `manifest_url` are null (both are inside the ZIP).
 */
export interface BackupDownloadUrls {
  backup_id: string;
  database_url: string;
  filestore_url: null;
  manifest_url: null;
  expires_in: number;
  expires_at: IsoDateTime;
}

/** The product's `GET .../environments/{id}/summary` body. */
export interface BackupSummary {
  environment_id: string;
  /** Backups of the environment that are not expired or deleted, whatever their status. */
  total_backups: number;
  completed_backups: number;
  failed_backups: number;
  /** Sum of `compressed_size` over the counted backups (the environment's share of the quota). */
  total_size_bytes: number;
  /** `created_at` of the oldest counted backup. */
  oldest_backup_at: IsoDateTime | null;
  /** `created_at` of the newest counted backup. */
  newest_backup_at: IsoDateTime | null;
  /** `created_at` of the newest completed backup. */
  last_successful_backup_at: IsoDateTime | null;
  /** Whether the environment has an enabled policy. */
  policy_enabled: boolean;
  /** The policy's `next_backup_at` when it is enabled, else null. */
  next_scheduled_backup: IsoDateTime | null;
}

/** Maps a record to the product's create response. */
export function toBackupCreatedResponse(backup: Backup, taskId: string): BackupCreatedResponse {
  return {
    id: backup.id,
    environment_id: backup.environment_id,
    storage_config_id: backup.storage_config_id,
    task_id: taskId,
    status: backup.status,
    backup_type: backup.backup_type,
    database_size: backup.database_size,
    filestore_size: backup.filestore_size,
    total_size: backup.total_size,
    compressed_size: backup.compressed_size,
    retention_type: backup.retention_type,
    expires_at: backup.expires_at,
    is_verified: backup.is_verified,
    created_at: backup.created_at,
  };
}

/** Maps a record to one item of the product's list response. */
export function toBackupListItem(backup: Backup): BackupListItem {
  return {
    id: backup.id,
    environment_id: backup.environment_id,
    status: backup.status,
    backup_type: backup.backup_type,
    database_size: backup.database_size,
    filestore_size: backup.filestore_size,
    total_size: backup.total_size,
    compressed_size: backup.compressed_size,
    started_at: backup.started_at,
    completed_at: backup.completed_at,
    duration_seconds: backup.duration_seconds,
    retention_type: backup.retention_type,
    expires_at: backup.expires_at,
    is_verified: backup.is_verified,
    created_at: backup.created_at,
  };
}

/** Maps a record to the product's detail response. */
export function toBackupDetail(backup: Backup): BackupDetail {
  return {
    id: backup.id,
    environment_id: backup.environment_id,
    storage_config_id: backup.storage_config_id,
    task_id: backup.task_id,
    status: backup.status,
    backup_type: backup.backup_type,
    database_size: backup.database_size,
    filestore_size: backup.filestore_size,
    total_size: backup.total_size,
    compressed_size: backup.compressed_size,
    started_at: backup.started_at,
    completed_at: backup.completed_at,
    duration_seconds: backup.duration_seconds,
    retention_type: backup.retention_type,
    expires_at: backup.expires_at,
    is_verified: backup.is_verified,
    verified_at: backup.verified_at,
    database_checksum: backup.database_checksum,
    filestore_checksum: backup.filestore_checksum,
    error_message: backup.error_message,
    created_at: backup.created_at,
  };
}
