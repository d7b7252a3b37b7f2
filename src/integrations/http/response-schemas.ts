import { z } from 'zod';
import {
  BACKUP_STATUSES,
  BACKUP_TYPES,
  RETENTION_TYPES,
  STORAGE_PROVIDER_TYPES,
  TASK_STATUSES,
  TaskType,
  type BackupStatus,
  type BackupType,
  type RetentionType,
  type StorageProviderType,
  type TaskStatus,
} from '../../domain/enums.js';
import { ERROR_CODES, type ErrorCode } from '../../errors/error-codes.js';

/*
 * The bodies the handler answers, as zod schemas: the OpenAPI document's response schemas are
 * generated from them (`z.toJSONSchema`, output side). Each one's output type is pinned equal to
 * the TypeScript type the service returns by a type test (test/unit/http/response-schemas.test.ts),
 * so a field added to `BackupDetail` does not compile until the document shows it. Not exported
 * from the package: the document is the public description.
 */

const tuple = <T extends string>(values: readonly T[]) => values as unknown as [T, ...T[]];
const backupStatus = z.enum(tuple<BackupStatus>(BACKUP_STATUSES));
const backupType = z.enum(tuple<BackupType>(BACKUP_TYPES));
const retentionType = z.enum(tuple<RetentionType>(RETENTION_TYPES));
const taskStatus = z.enum(tuple<TaskStatus>(TASK_STATUSES));
const taskType = z.enum(tuple(Object.values(TaskType)));
const providerType = z.enum(tuple<StorageProviderType>(STORAGE_PROVIDER_TYPES));
/** A timestamp: the API answers `Date.toISOString()` (UTC, `Z`); an offset is allowed for stored data. */
export const IsoDateTimeSchema = z.iso.datetime({ offset: true }).describe('ISO 8601 date and time, UTC (`2026-03-10T10:00:00.000Z`).');
const isoDateTime = IsoDateTimeSchema;
const bytes = z.number().int().min(0);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const anyObject = z.record(z.string(), z.unknown());

/** `BackupSdkError.toJSON()`: the body of every failure (a 500 not raised by the SDK is `E_UNEXPECTED`). */
export const ErrorResponseSchema = z.object({
  name: z.string().describe('The error class (`ValidationError`, `NotFoundError`...); `Error` for E_UNEXPECTED.'),
  code: z.enum(tuple(Object.keys(ERROR_CODES) as ErrorCode[])).describe('Stable code from the catalogue (docs/errors.md).'),
  message: z.string().describe('For a person; never holds a secret.'),
  details: anyObject.describe('Structured facts (`issues` of E_VALIDATION, `allow` of E_METHOD_NOT_ALLOWED...).'),
  transient: z.boolean().describe('True when the same request may succeed later (answered 503 with Retry-After).'),
});

/** `BackupDetail`: `GET /backups/{id}`. */
export const BackupDetailSchema = z.object({
  id: z.string(),
  environment_id: z.string(),
  storage_config_id: z.string().nullable(),
  task_id: z.string().nullable(),
  status: backupStatus,
  backup_type: backupType,
  database_size: bytes,
  filestore_size: bytes,
  total_size: bytes,
  compressed_size: bytes,
  started_at: isoDateTime.nullable(),
  completed_at: isoDateTime.nullable(),
  duration_seconds: z.number().min(0).nullable(),
  retention_type: retentionType.nullable(),
  expires_at: isoDateTime.nullable(),
  is_verified: z.boolean(),
  verified_at: isoDateTime.nullable(),
  database_checksum: sha256Hex.nullable(),
  filestore_checksum: sha256Hex.nullable(),
  error_message: z.string().nullable(),
  created_at: isoDateTime,
});

/** The fields the create answer and the list items share with the detail. */
const backupBasics = {
  id: true,
  environment_id: true,
  status: true,
  backup_type: true,
  database_size: true,
  filestore_size: true,
  total_size: true,
  compressed_size: true,
  retention_type: true,
  expires_at: true,
  is_verified: true,
  created_at: true,
} as const;

/** `BackupCreatedResponse`: the 201 of `POST .../backups` (the task that tracks the job exists by then). */
export const BackupCreatedResponseSchema = BackupDetailSchema.pick({ ...backupBasics, storage_config_id: true }).extend({
  task_id: z.string(),
});

/** `BackupListItem`: one item of the list. */
export const BackupListItemSchema = BackupDetailSchema.pick({
  ...backupBasics,
  started_at: true,
  completed_at: true,
  duration_seconds: true,
});

/** `Page<BackupListItem>`: the list's paging envelope. */
export const BackupPageSchema = z.object({
  items: z.array(BackupListItemSchema),
  total: z.number().int().min(0),
  page: z.number().int().min(1),
  page_size: z.number().int().min(1),
  pages: z.number().int().min(0).describe('ceil(total / page_size); 0 when nothing matches.'),
});

/** `BackupSummary`: `GET .../summary`. */
export const BackupSummarySchema = z.object({
  environment_id: z.string(),
  total_backups: z.number().int().min(0),
  completed_backups: z.number().int().min(0),
  failed_backups: z.number().int().min(0),
  total_size_bytes: bytes,
  oldest_backup_at: isoDateTime.nullable(),
  newest_backup_at: isoDateTime.nullable(),
  last_successful_backup_at: isoDateTime.nullable(),
  policy_enabled: z.boolean(),
  next_scheduled_backup: isoDateTime.nullable(),
});

/** `BackupDownloadUrls`: `GET /backups/{id}/download` (one ZIP per backup: the other two URLs are null). */
export const BackupDownloadUrlsSchema = z.object({
  backup_id: z.string(),
  database_url: z.url().describe("The archive: the provider's presigned URL, or the handler's signed `/archive` URL."),
  filestore_url: z.null(),
  manifest_url: z.null(),
  expires_in: z.number().int().min(1),
  expires_at: isoDateTime,
});

/** `Task`: `GET /tasks/{id}`, the 202 of a restore or a cancel. */
export const TaskSchema = z.object({
  id: z.string(),
  task_type: taskType,
  status: taskStatus,
  environment_id: z.string(),
  organization_id: z.string().optional(),
  project_id: z.string().optional(),
  backup_id: z.string().nullable(),
  job_id: z.string().nullable(),
  attempts: z.number().int().min(0),
  result: anyObject.nullable(),
  error_message: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: isoDateTime,
  started_at: isoDateTime.nullable(),
  completed_at: isoDateTime.nullable(),
  updated_at: isoDateTime,
});

/** `BackupPolicy`: the policy routes. */
export const BackupPolicySchema = z.object({
  id: z.string(),
  environment_id: z.string(),
  is_enabled: z.boolean(),
  schedule_cron: z.string(),
  timezone: z.string(),
  daily_retention: z.number().int().min(0),
  weekly_retention: z.number().int().min(0),
  monthly_retention: z.number().int().min(0),
  yearly_retention: z.number().int().min(0),
  weekly_backup_day: z.number().int().min(0).max(6),
  storage_config_id: z.string().nullable(),
  notify_on_success: z.boolean(),
  notify_on_failure: z.boolean(),
  require_encryption: z.boolean().optional(),
  secondary_storage_config_id: z
    .string()
    .nullable()
    .optional()
    .describe('The storage config each completed, verified backup is copied to.'),
  last_backup_at: isoDateTime.nullable(),
  last_backup_status: backupStatus.nullable(),
  next_backup_at: isoDateTime.nullable(),
  created_at: isoDateTime,
  updated_at: isoDateTime,
});

/** `RedactedStorageConfig`: a storage config as the API returns it, every credential value `[redacted]` (a `{ ref }` as given). */
export const StorageConfigSchema = z.object({
  id: z.string(),
  organization_id: z.string(),
  name: z.string(),
  provider: providerType,
  is_default: z.boolean(),
  settings: anyObject.describe("The provider's options (bucket, region, root folder, host...); no secret."),
  credentials: z
    .record(z.string(), z.union([z.string(), z.strictObject({ ref: z.string() })]))
    .nullable()
    .describe('The names of the stored secrets, each value `[redacted]`, or the `{ ref }` to the host’s secret store given for it.'),
  storage_class: z.string().nullable(),
  require_encryption: z.boolean().optional(),
  total_size_bytes: bytes,
  object_count: z.number().int().min(0),
  last_used_at: isoDateTime.nullable(),
  created_at: isoDateTime,
  updated_at: isoDateTime,
});

/** `ConnectionTestResult`: a storage connection test (a failed step is a result, not an error). */
export const ConnectionTestResultSchema = z.object({
  ok: z.boolean(),
  steps: z.array(
    z.object({
      step: z.enum(['connect', 'write', 'read', 'delete']),
      ok: z.boolean(),
      duration_ms: z.number().min(0),
      message: z.string().optional(),
    }),
  ),
  message: z.string(),
});

/** `EnvironmentSnapshot`: the environment as it was backed up (extra fields kept). */
export const EnvironmentSnapshotSchema = z.looseObject({
  environment: z.looseObject({
    id: z.string(),
    name: z.string(),
    type: z.string().nullish(),
    status: z.string().nullish(),
    container_name: z.string().nullish(),
    db_name: z.string(),
    domain: z.string().nullish(),
  }),
  project: z.looseObject({
    id: z.string(),
    name: z.string(),
    slug: z.string().nullish(),
    odoo_version: z.string().nullish(),
  }),
  vm: z.looseObject({ id: z.string(), name: z.string(), ip_address: z.string().nullish() }).nullish(),
  timestamp: z.string(),
});

/** `BackupManifest`: the archive's `manifest.json` (extra fields kept). */
export const BackupManifestSchema = z.looseObject({
  version: z.string(),
  backup_id: z.string(),
  environment_id: z.string(),
  backup_type: backupType,
  created_at: z.string(),
  database: z.object({
    name: z.string(),
    key: z.string(),
    size: bytes,
    checksum: z.string(),
    format: z.literal('pg_dump_custom'),
    compression_level: z.number().int().nullish(),
    pg_version: z.string().nullish(),
    pg_dump_version: z.string().nullish(),
    archive_version: z.string().nullish(),
  }),
  filestore: z
    .object({
      key: z.null(),
      size: bytes,
      checksum: z.string(),
      format: z.literal('tar.gz'),
      compressor: z.object({ tool: z.string(), level: z.number().int(), version: z.string().optional() }).optional(),
    })
    .nullable(),
  environment_snapshot: EnvironmentSnapshotSchema.nullable(),
  retention: z.object({ type: retentionType, expires_at: z.string().nullable() }),
  include_filestore: z.boolean().optional(),
  odoo_version: z.string().nullish(),
  odoo: z
    .object({
      base_version: z.string().nullable(),
      major_version: z.string().nullable(),
      pg_version: z.string(),
      modules: z.record(z.string(), z.string().nullable()),
      row_counts: z.record(z.string(), z.number().int().min(0)).optional(),
    })
    .nullable()
    .optional(),
  tool: z.string().optional(),
});

/** `ArchiveVerification`: what a passed verification proved. */
export const ArchiveVerificationSchema = z.object({
  key: z.string(),
  archive_size: bytes,
  manifest: BackupManifestSchema,
  database: z.object({ size: bytes, checksum: z.string() }),
  filestore: z.object({ size: bytes, checksum: z.string() }).nullable(),
  dump_listing: z.object({ entries: z.number().int().min(0), table_data: z.number().int().min(0) }).nullable(),
});

/** `BackupVerificationResponse`: `POST /backups/{id}/verify`. */
export const BackupVerificationResponseSchema = z.object({
  backup_id: z.string(),
  ok: z.boolean().describe('True when the archive read back whole and matched its checksums.'),
  backup: BackupDetailSchema.describe('The backup after the check (`is_verified`, `verified_at`).'),
  verification: ArchiveVerificationSchema.nullable().describe('What the check proved, when it passed.'),
  error: anyObject.nullable().describe('Why it failed (`code`, `message`, details), when it did.'),
});

/** `OrganizationUsageResponse`: `GET /organizations/{id}/usage`. */
export const OrganizationUsageResponseSchema = z.object({
  organization_id: z.string(),
  total_backup_storage: bytes.describe("The spec's name of `used_bytes`."),
  used_bytes: bytes.describe('Sum of compressed_size of the backups not expired or deleted.'),
  limit_bytes: bytes.nullable().describe('The quota; null for unlimited.'),
  exceeded: z.boolean(),
  copy_bytes: bytes.optional().describe('Bytes of the completed second copies of those backups (not counted against the quota).'),
});

/** The response schemas by the name the document's `components.schemas` gives them. */
export const RESPONSE_SCHEMAS = {
  IsoDateTime: IsoDateTimeSchema,
  ErrorResponse: ErrorResponseSchema,
  BackupCreatedResponse: BackupCreatedResponseSchema,
  BackupListItem: BackupListItemSchema,
  BackupPage: BackupPageSchema,
  BackupDetail: BackupDetailSchema,
  BackupSummary: BackupSummarySchema,
  BackupDownloadUrls: BackupDownloadUrlsSchema,
  Task: TaskSchema,
  BackupPolicy: BackupPolicySchema,
  StorageConfig: StorageConfigSchema,
  ConnectionTestResult: ConnectionTestResultSchema,
  EnvironmentSnapshot: EnvironmentSnapshotSchema,
  BackupManifest: BackupManifestSchema,
  ArchiveVerification: ArchiveVerificationSchema,
  BackupVerificationResponse: BackupVerificationResponseSchema,
  OrganizationUsageResponse: OrganizationUsageResponseSchema,
} as const;

/** The name of a response schema in the document. */
export type ResponseSchemaName = keyof typeof RESPONSE_SCHEMAS;
