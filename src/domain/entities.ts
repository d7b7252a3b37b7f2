import type { BackupCopyStatus, BackupStatus, BackupType, RetentionType, StorageProviderType, TaskStatus, TaskType } from './enums.js';
import type { EnvironmentSnapshot } from './environment-snapshot.js';

/** An ISO 8601 timestamp in UTC, e.g. `2024-12-11T10:30:00.000Z`. */
export type IsoDateTime = string;

/**
 * A backup record: every column of the product's `backups` table, in its wire (snake_case) names.
 *
 * Deviations, documented in docs/decisions.md: the table's `create_date` / `write_date` are
 * `created_at` / `updated_at` (the names the product's API returns); `organization_id`,
 * `project_id` and `include_filestore` are added so quota queries and jobs need no joins.
 */
export interface Backup {
  id: string;
  environment_id: string;
  organization_id: string;
  project_id: string;
  storage_config_id: string | null;
  task_id: string | null;
  status: BackupStatus;
  backup_type: BackupType;
  include_filestore: boolean;
  /**
   * Storage key of the ZIP (`organizations/{org}/projects/{project}/environments/{env}/{id}.zip`),
   * ending `.zip.age` when the backup is encrypted.
   */
  database_key: string | null;
  /** Always null for new backups: the filestore is inside the ZIP. */
  filestore_key: string | null;
  /** Always null for new backups: the manifest is inside the ZIP. */
  manifest_key: string | null;
  /** Bytes of the `pg_dump -Fc` output. */
  database_size: number;
  /** Bytes of the filestore tar.gz. */
  filestore_size: number;
  /** database_size + filestore_size. */
  total_size: number;
  /** Bytes of the object as stored: the ZIP, or the age file holding it when encrypted. */
  compressed_size: number;
  /**
   * The age X25519 recipients (`age1…`) the stored object is encrypted to; null or absent when it
   * is stored unencrypted. The record, not the object, says whether it is encrypted.
   */
  encryption_recipients?: string[] | null;
  /**
   * Lowercase hex SHA-256 of the object as stored, computed in flight; set when it is encrypted or
   * its policy names a secondary storage (the copy is checked against it), else null or absent.
   */
  stored_checksum?: string | null;
  /**
   * The second copy (`BackupPolicy.secondary_storage_config_id`): the config it goes to, set when
   * the copy is scheduled. Null or absent: no copy. See docs/backup-service.md#a-second-copy.
   */
  copy_storage_config_id?: string | null;
  /** The copy's key on that config (the primary's `database_key`), set once the copy completed; null after cleanup deleted it. */
  copy_key?: string | null;
  /** The `backup_copy` task that makes the copy. */
  copy_task_id?: string | null;
  /** Where the copy stands; a failed copy never changes the backup's own status or verification. */
  copy_status?: BackupCopyStatus | null;
  /** Why the copy failed (a message for a person), else null. */
  copy_error?: string | null;
  /** When the copy was written and read back equal to `stored_checksum`. */
  copied_at?: IsoDateTime | null;
  started_at: IsoDateTime | null;
  completed_at: IsoDateTime | null;
  duration_seconds: number | null;
  retention_type: RetentionType | null;
  expires_at: IsoDateTime | null;
  is_verified: boolean;
  verified_at: IsoDateTime | null;
  verification_error: string | null;
  /** Lowercase hex SHA-256 of the dump. */
  database_checksum: string | null;
  /** Lowercase hex SHA-256 of the filestore tar.gz. */
  filestore_checksum: string | null;
  error_message: string | null;
  error_details: Record<string, unknown> | null;
  environment_snapshot: EnvironmentSnapshot | null;
  created_at: IsoDateTime;
  updated_at: IsoDateTime;
  /** The user who asked for it; null for system (scheduled) backups. */
  created_by: string | null;
  write_by: string | null;
  /**
   * When someone asked to cancel the backup (`cancelBackup`), else null. The running job watches
   * it and stops; optional because records stored before this field existed lack it.
   */
  cancel_requested_at?: IsoDateTime | null;
}

/** An environment's automated backup schedule and GFS retention settings. */
export interface BackupPolicy {
  id: string;
  environment_id: string;
  is_enabled: boolean;
  /** Standard 5-field cron (0 and 7 are Sunday). */
  schedule_cron: string;
  /** IANA zone name; governs cron and the GFS calendar. */
  timezone: string;
  daily_retention: number;
  weekly_retention: number;
  monthly_retention: number;
  yearly_retention: number;
  /** 0 = Monday ... 6 = Sunday. */
  weekly_backup_day: number;
  storage_config_id: string | null;
  notify_on_success: boolean;
  notify_on_failure: boolean;
  /**
   * Refuse to store this environment's backups unencrypted (`E_ENCRYPTION_REQUIRED`, before any
   * tool starts or byte is uploaded). Absent on policies stored before the field existed: false.
   */
  require_encryption?: boolean;
  /**
   * A second storage config (same organisation, not the primary) every completed, verified
   * backup is copied to, as stored (encrypted or not). Null or absent: no copy.
   */
  secondary_storage_config_id?: string | null;
  last_backup_at: IsoDateTime | null;
  last_backup_status: BackupStatus | null;
  next_backup_at: IsoDateTime | null;
  created_at: IsoDateTime;
  updated_at: IsoDateTime;
}

/**
 * A credential kept in the host's secret store: `ref` names it there (a Vault path, an ARN...).
 * The SDK stores and returns the reference as given and asks `SecretResolver.resolve(ref)` for
 * the value each time it builds a provider; the value itself is never stored.
 */
export interface SecretRef {
  ref: string;
}

/** One value of {@link StorageConfig.credentials}: the secret itself, or a reference to it. */
export type StorageCredential = string | SecretRef;

/**
 * Where backups of an organisation go. `settings` holds the provider's non-secret options
 * (bucket, region, endpoint, root folder, host...), `credentials` its secrets. Use
 * `redactStorageConfig` before logging or returning a config to a client.
 */
export interface StorageConfig {
  id: string;
  organization_id: string;
  name: string;
  provider: StorageProviderType;
  is_default: boolean;
  /** Provider options without secrets; each adapter validates its own. */
  settings: Record<string, unknown>;
  /**
   * Secrets (access keys, passwords, private keys), each given as its value or as a
   * {@link SecretRef} the host's `SecretResolver` turns into the value just before a provider is
   * built. Never logged, never returned by the API.
   */
  credentials: Record<string, StorageCredential> | null;
  /** Passed through to providers that support it (S3 `StorageClass`). */
  storage_class: string | null;
  /**
   * Refuse to store a backup here unencrypted (`E_ENCRYPTION_REQUIRED`, before any tool starts or
   * byte is uploaded). Absent on configs stored before the field existed: false.
   */
  require_encryption?: boolean;
  /** Usage counters, updated atomically through `StorageConfigRepository.adjustUsage`. */
  total_size_bytes: number;
  object_count: number;
  last_used_at: IsoDateTime | null;
  created_at: IsoDateTime;
  updated_at: IsoDateTime;
}

/** A unit of asynchronous work as users see it (the product's `tasks` table). */
export interface Task {
  id: string;
  task_type: TaskType;
  status: TaskStatus;
  environment_id: string;
  /**
   * The organisation and project of `environment_id`, so events and access checks need no lookup;
   * optional because records stored before these fields existed lack them.
   */
  organization_id?: string;
  project_id?: string;
  backup_id: string | null;
  /** The id the job queue knows this task's job by. */
  job_id: string | null;
  /** Tries started so far. */
  attempts: number;
  result: Record<string, unknown> | null;
  error_message: string | null;
  created_by: string | null;
  created_at: IsoDateTime;
  started_at: IsoDateTime | null;
  completed_at: IsoDateTime | null;
  updated_at: IsoDateTime;
}
