// Builders of plausible records for retention tests.
import type { Backup, BackupPolicy, StorageConfig } from '../../../src/index.js';

let seq = 0;

/** A completed backup record; override any field. */
export function backup(overrides: Partial<Backup> = {}): Backup {
  const id = overrides.id ?? `b-${String(++seq).padStart(6, '0')}`;
  const created = overrides.created_at ?? '2026-01-01T02:00:00.000Z';
  return {
    id,
    environment_id: 'env-1',
    organization_id: 'org-1',
    project_id: 'proj-1',
    storage_config_id: null,
    task_id: null,
    status: 'completed',
    backup_type: 'scheduled',
    include_filestore: true,
    database_key: null,
    filestore_key: null,
    manifest_key: null,
    database_size: 0,
    filestore_size: 0,
    total_size: 0,
    compressed_size: 0,
    started_at: created,
    completed_at: created,
    duration_seconds: 1,
    retention_type: 'daily',
    expires_at: null,
    is_verified: false,
    verified_at: null,
    verification_error: null,
    database_checksum: null,
    filestore_checksum: null,
    error_message: null,
    error_details: null,
    environment_snapshot: null,
    created_at: created,
    updated_at: created,
    created_by: null,
    write_by: null,
    ...overrides,
  };
}

/** A backup policy with the default settings; override any field. */
export function policy(overrides: Partial<BackupPolicy> = {}): BackupPolicy {
  return {
    id: `p-${overrides.environment_id ?? 'env-1'}`,
    environment_id: 'env-1',
    is_enabled: true,
    schedule_cron: '0 2 * * *',
    timezone: 'UTC',
    daily_retention: 7,
    weekly_retention: 4,
    monthly_retention: 12,
    yearly_retention: 2,
    weekly_backup_day: 6,
    storage_config_id: null,
    notify_on_success: false,
    notify_on_failure: true,
    last_backup_at: null,
    last_backup_status: null,
    next_backup_at: null,
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** A storage config; override any field. */
export function storageConfig(overrides: Partial<StorageConfig> = {}): StorageConfig {
  return {
    id: 'sc-1',
    organization_id: 'org-1',
    name: 'test storage',
    provider: 'memory',
    is_default: true,
    settings: {},
    credentials: null,
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}
