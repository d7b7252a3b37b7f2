import { randomUUID } from 'node:crypto';
import type { Backup, BackupPolicy, StorageConfig, Task } from '../../domain/entities.js';

/** The `created_at` / `updated_at` of sample records: long ago, so an update visibly moves `updated_at`. */
export const SAMPLE_RECORD_TIME = '2020-01-01T00:00:00.000Z';

/**
 * A complete, plausible {@link Backup} record (a completed manual backup with a snapshot) with
 * fresh UUIDs; `overrides` replace fields. For repository tests and contract suites.
 */
export function makeBackup(overrides: Partial<Backup> = {}): Backup {
  const id = overrides.id ?? randomUUID();
  const environment_id = overrides.environment_id ?? randomUUID();
  const organization_id = overrides.organization_id ?? randomUUID();
  const project_id = overrides.project_id ?? randomUUID();
  return {
    id,
    environment_id,
    organization_id,
    project_id,
    storage_config_id: null,
    task_id: null,
    status: 'completed',
    backup_type: 'manual',
    include_filestore: true,
    database_key: `organizations/${organization_id}/projects/${project_id}/environments/${environment_id}/${id}.zip`,
    filestore_key: null,
    manifest_key: null,
    database_size: 1000,
    filestore_size: 500,
    total_size: 1500,
    compressed_size: 700,
    started_at: SAMPLE_RECORD_TIME,
    completed_at: SAMPLE_RECORD_TIME,
    duration_seconds: 12,
    retention_type: 'daily',
    expires_at: null,
    is_verified: true,
    verified_at: SAMPLE_RECORD_TIME,
    verification_error: null,
    database_checksum: 'a'.repeat(64),
    filestore_checksum: 'b'.repeat(64),
    error_message: null,
    error_details: null,
    environment_snapshot: {
      environment: {
        id: environment_id,
        name: 'Production',
        type: 'production',
        status: 'running',
        db_name: 'prod_db',
        domain: 'prod.example.com',
      },
      project: { id: project_id, name: 'Shop', slug: 'shop', odoo_version: '18.0' },
      vm: { id: 'vm-1', name: 'server-1', ip_address: '203.0.113.10' },
      timestamp: SAMPLE_RECORD_TIME,
    },
    created_at: SAMPLE_RECORD_TIME,
    updated_at: SAMPLE_RECORD_TIME,
    created_by: null,
    write_by: null,
    // Kept by every repository: the running job of a cancelled backup reads it back.
    cancel_requested_at: null,
    ...overrides,
  };
}

/** A complete {@link BackupPolicy} with the default settings (daily 02:00 UTC, 7/4/12/2, Sunday). */
export function makeBackupPolicy(overrides: Partial<BackupPolicy> = {}): BackupPolicy {
  return {
    id: randomUUID(),
    environment_id: randomUUID(),
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
    created_at: SAMPLE_RECORD_TIME,
    updated_at: SAMPLE_RECORD_TIME,
    ...overrides,
  };
}

/** A complete {@link StorageConfig} (an S3 bucket with dummy credentials and zero usage). */
export function makeStorageConfig(overrides: Partial<StorageConfig> = {}): StorageConfig {
  return {
    id: randomUUID(),
    organization_id: randomUUID(),
    name: 'Primary S3',
    provider: 's3',
    is_default: false,
    settings: { bucket: 'backups', region: 'eu-west-1' },
    credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'not-a-real-secret' },
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: SAMPLE_RECORD_TIME,
    updated_at: SAMPLE_RECORD_TIME,
    ...overrides,
  };
}

/** A complete pending backup {@link Task}. */
export function makeTask(overrides: Partial<Task> = {}): Task {
  return {
    id: randomUUID(),
    task_type: 'backup',
    status: 'pending',
    environment_id: randomUUID(),
    backup_id: null,
    job_id: null,
    attempts: 0,
    result: null,
    error_message: null,
    created_by: null,
    created_at: SAMPLE_RECORD_TIME,
    started_at: null,
    completed_at: null,
    updated_at: SAMPLE_RECORD_TIME,
    ...overrides,
  };
}
