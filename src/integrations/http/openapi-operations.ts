import { z } from 'zod';
import { RestoreRequestSchema } from '../../domain/restore-request.js';
import {
  BackupCreateSchema,
  BackupListQuerySchema,
  BackupPolicyCreateSchema,
  BackupPolicyUpdateSchema,
  DownloadQuerySchema,
  UuidSchema,
} from '../../domain/validation.js';
import { StorageConfigCreateSchema, StorageConfigUpdateSchema } from '../../services/storage-configs/storage-config-service.js';
import { StorageConfigSettingsSchema } from '../../storage/storage-settings-schemas.js';
import type { ResponseSchemaName } from './response-schemas.js';

/*
 * What the OpenAPI document says of each route beyond what the route table itself gives (method,
 * path, path parameters, public, Idempotency-Key): its name, its query and body schemas, its
 * success responses and the error statuses particular to it. Keyed by `METHOD path`; the document
 * refuses a route without an entry here and an entry without a route, so the two cannot drift.
 */

/** A create-a-config body: the bookkeeping fields, the organisation, and one provider's strict settings and credentials. */
const StorageConfigCreateBody = z.discriminatedUnion(
  'provider',
  StorageConfigSettingsSchema.options.map((member) =>
    StorageConfigCreateSchema.extend({ organization_id: UuidSchema, ...(member as z.ZodObject).shape }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

/** The request bodies, by the name the document's `components.schemas` gives them (input side: defaults optional). */
export const REQUEST_SCHEMAS = {
  BackupCreate: BackupCreateSchema,
  RestoreRequest: RestoreRequestSchema,
  BackupPolicyCreate: BackupPolicyCreateSchema,
  BackupPolicyUpdate: BackupPolicyUpdateSchema,
  StorageConfigCreate: StorageConfigCreateBody,
  StorageConfigUpdate: StorageConfigUpdateSchema.describe(
    "Any subset of the create fields. `settings` and `credentials`, when given, replace the stored ones whole, checked against the provider's strict schema (see StorageConfigCreate).",
  ),
} as const;

/** The name of a request schema in the document. */
export type RequestSchemaName = keyof typeof REQUEST_SCHEMAS;

/** The document's tags, in the order a reader meets them. */
export const TAGS = {
  backups: 'Backups of an environment: create, list, read, download, verify, restore, delete.',
  policies: "An environment's automated backup schedule and GFS retention.",
  tasks: 'The asynchronous work behind backups and restores.',
  usage: "An organisation's backup storage against its quota.",
  'storage-configs': 'Where an organisation’s backups are stored (credentials go in, never come back out).',
  events: 'Live events (server-sent events).',
  meta: 'This document.',
} as const;

/** A documented response header (the document's `components.headers`). */
export type ResponseHeaderName =
  | 'X-RateLimit-Limit'
  | 'X-RateLimit-Remaining'
  | 'X-RateLimit-Reset'
  | 'Retry-After'
  | 'Idempotent-Replayed'
  | 'Content-Disposition'
  | 'Content-Range';

/** A documented request header (the document's `components.parameters`), besides the derived `Idempotency-Key`. */
export type RequestHeaderName = 'Range' | 'Last-Event-ID';

/** One success response of an operation. */
export interface SuccessResponseSpec {
  description: string;
  /** A JSON body: a response schema, or an array of one. Absent for 204 and for bodies that are not JSON. */
  json?: ResponseSchemaName | { arrayOf: ResponseSchemaName };
  /** Bodies that are not described by a response schema: media type to OpenAPI media type object. */
  media?: Record<string, Record<string, unknown>>;
  headers?: readonly ResponseHeaderName[];
}

/** What the document says of one route beyond the route table. */
export interface OperationSpec {
  operationId: string;
  tag: keyof typeof TAGS;
  summary: string;
  /** The service method the route calls (named in the description). */
  calls: string;
  description?: string;
  /** The query parameters, one per property (documented with the schema's output side: what the route reads). */
  query?: z.ZodObject;
  body?: RequestSchemaName;
  headers?: readonly RequestHeaderName[];
  success: Readonly<Record<number, SuccessResponseSpec>>;
  /** Error statuses of this route beyond those every route of its kind answers (see `errorStatusesOf`). */
  errors?: readonly number[];
}

/** Descriptions of the path parameters, by name. */
export const PATH_PARAMETER_DESCRIPTIONS: Readonly<Record<string, string>> = {
  environment_id: "The environment's id (the host's environment resolver knows it).",
  backup_id: "The backup's id.",
  task_id: "The task's id (a backup's `task_id`, a restore's `id`).",
  organization_id: "The organisation's id.",
  storage_config_id: "The storage config's id.",
};

const json = (schema: ResponseSchemaName, description: string, headers?: readonly ResponseHeaderName[]): SuccessResponseSpec => ({
  description,
  json: schema,
  ...(headers ? { headers } : {}),
});
const noContent: SuccessResponseSpec = { description: 'Done; no body.' };
const archiveMedia = { 'application/zip': {}, 'application/octet-stream': {} };

/** Every route's operation, keyed by `METHOD path` as in the route table. */
export const OPERATIONS: Readonly<Record<string, OperationSpec>> = {
  'POST /backups/environments/{environment_id}/backups': {
    operationId: 'createBackup',
    tag: 'backups',
    summary: 'Start a backup',
    calls: 'sdk.backups.createBackup',
    description:
      'Counts against the manual rate limit (per `rate_limit_key`, else per client address) whatever `backup_type` it names, and is refused over quota (403 `E_QUOTA_EXCEEDED`). The backup runs on the queue: follow its `task_id`.',
    body: 'BackupCreate',
    success: {
      201: json('BackupCreatedResponse', 'Created and queued.', [
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        'Idempotent-Replayed',
      ]),
    },
    errors: [409, 429],
  },
  'GET /backups/environments/{environment_id}/backups': {
    operationId: 'listBackups',
    tag: 'backups',
    summary: "List an environment's backups",
    calls: 'sdk.backups.listBackups',
    description: 'Newest first.',
    query: BackupListQuerySchema,
    success: { 200: json('BackupPage', 'One page.') },
  },
  'GET /backups/environments/{environment_id}/summary': {
    operationId: 'getBackupSummary',
    tag: 'backups',
    summary: "Summarise an environment's backups",
    calls: 'sdk.backups.getSummary',
    success: { 200: json('BackupSummary', 'The summary.') },
  },
  'GET /backups/{backup_id}': {
    operationId: 'getBackup',
    tag: 'backups',
    summary: 'Read a backup',
    calls: 'sdk.backups.getBackup',
    success: { 200: json('BackupDetail', 'The backup.') },
  },
  'DELETE /backups/{backup_id}': {
    operationId: 'deleteBackup',
    tag: 'backups',
    summary: 'Delete a backup',
    calls: 'sdk.backups.deleteBackup',
    description: 'Marks it deleted; its object goes at the next retention cleanup, or now with `purge=true`.',
    query: z.object({ purge: z.boolean().optional().describe('Remove the stored object now (default false).') }),
    success: { 204: noContent },
    errors: [409, 502],
  },
  'GET /backups/{backup_id}/download': {
    operationId: 'getBackupDownloadUrls',
    tag: 'backups',
    summary: "Get a backup's download URL",
    calls: 'sdk.backups.getDownloadUrls',
    description:
      "The provider's presigned URL; where the provider cannot presign (local, FTP, SFTP, memory), the handler's own signed `GET /backups/{backup_id}/archive` URL (501 `E_UNSUPPORTED` when the handler has no `downloadSecret`).",
    query: DownloadQuerySchema,
    success: { 200: json('BackupDownloadUrls', 'The URL, valid `expires_in` seconds.') },
    errors: [409, 501, 502],
  },
  'GET /backups/{backup_id}/archive': {
    operationId: 'downloadBackupArchive',
    tag: 'backups',
    summary: "Download a backup's archive by a signed URL",
    calls: 'sdk.backups.openDownload',
    description:
      'No authentication: the signature is the permission (it was issued by `getBackupDownloadUrls`). A bad, expired or absent signature is 403. One byte range (`Range: bytes=a-b` or `bytes=a-`) is served as 206.',
    query: z.object({
      expires: z.string().regex(/^\d+$/).describe('When the link expires, in Unix seconds.'),
      signature: z.string().describe('HMAC-SHA256 of the backup id and `expires` with the handler’s `downloadSecret`.'),
    }),
    headers: ['Range'],
    success: {
      200: {
        description: 'The whole object as stored: a ZIP, or an age file holding it.',
        media: archiveMedia,
        headers: ['Content-Disposition'],
      },
      206: { description: 'The requested byte range.', media: archiveMedia, headers: ['Content-Disposition', 'Content-Range'] },
    },
    errors: [403, 409, 502, 504],
  },
  'POST /backups/{backup_id}/restore': {
    operationId: 'restoreBackup',
    tag: 'backups',
    summary: 'Restore a backup',
    calls: 'sdk.restores.restoreBackup',
    description: 'Queues the restore: follow the task (`GET /tasks/{task_id}`, `restore.*` events).',
    body: 'RestoreRequest',
    success: { 202: json('Task', 'The restore task, queued.', ['Idempotent-Replayed']) },
    errors: [409],
  },
  'POST /backups/{backup_id}/verify': {
    operationId: 'verifyBackup',
    tag: 'backups',
    summary: 'Read a backup back from storage and check it',
    calls: 'sdk.backups.verifyBackup',
    description: 'A failed check is an answer (`ok: false`, recorded on the backup), not an error.',
    success: { 200: json('BackupVerificationResponse', 'What the check found.') },
    errors: [409, 422, 502, 504],
  },
  'POST /backups/environments/{environment_id}/policy': {
    operationId: 'createBackupPolicy',
    tag: 'policies',
    summary: "Create an environment's backup policy",
    calls: 'sdk.policies.createPolicy',
    body: 'BackupPolicyCreate',
    success: { 201: json('BackupPolicy', 'Created.') },
    errors: [409],
  },
  'GET /backups/environments/{environment_id}/policy': {
    operationId: 'getBackupPolicy',
    tag: 'policies',
    summary: "Read an environment's backup policy",
    calls: 'sdk.policies.getPolicy',
    success: { 200: json('BackupPolicy', 'The policy.') },
  },
  'PATCH /backups/environments/{environment_id}/policy': {
    operationId: 'updateBackupPolicy',
    tag: 'policies',
    summary: "Change an environment's backup policy",
    calls: 'sdk.policies.updatePolicy',
    body: 'BackupPolicyUpdate',
    success: { 200: json('BackupPolicy', 'The policy as changed.') },
    errors: [409],
  },
  'DELETE /backups/environments/{environment_id}/policy': {
    operationId: 'deleteBackupPolicy',
    tag: 'policies',
    summary: "Delete an environment's backup policy",
    calls: 'sdk.policies.deletePolicy',
    success: { 204: noContent },
  },
  'GET /tasks/{task_id}': {
    operationId: 'getTask',
    tag: 'tasks',
    summary: 'Read a task',
    calls: 'sdk.backups.getTask',
    success: { 200: json('Task', 'The task.') },
  },
  'POST /tasks/{task_id}/cancel': {
    operationId: 'cancelTask',
    tag: 'tasks',
    summary: 'Cancel a backup or restore task',
    calls: 'sdk.backups.cancelBackup or sdk.restores.cancelRestore, by the task type',
    success: { 202: json('Task', 'The task as it now is.') },
    errors: [409, 501],
  },
  'GET /organizations/{organization_id}/usage': {
    operationId: 'getOrganizationUsage',
    tag: 'usage',
    summary: "Read an organisation's backup storage usage",
    calls: 'sdk.retention.usage',
    success: { 200: json('OrganizationUsageResponse', 'The usage.') },
  },
  'GET /backups/storage-configs': {
    operationId: 'listStorageConfigs',
    tag: 'storage-configs',
    summary: "List an organisation's storage configs",
    calls: 'sdk.storageConfigs.list',
    query: z.object({ organization_id: UuidSchema.describe('The organisation.') }),
    success: { 200: { description: 'Oldest first, credentials redacted.', json: { arrayOf: 'StorageConfig' } } },
  },
  'POST /backups/storage-configs': {
    operationId: 'createStorageConfig',
    tag: 'storage-configs',
    summary: 'Create a storage config',
    calls: 'sdk.storageConfigs.create',
    body: 'StorageConfigCreate',
    success: { 201: json('StorageConfig', 'Created (credentials redacted).') },
  },
  'POST /backups/storage-configs/test': {
    operationId: 'testUnsavedStorageConfig',
    tag: 'storage-configs',
    summary: 'Test a storage config before saving it',
    calls: 'sdk.storageConfigs.test',
    description: 'Writes, reads back and deletes a small probe object; nothing is saved. A failed step is `ok: false`.',
    body: 'StorageConfigCreate',
    success: { 200: json('ConnectionTestResult', 'The steps and their outcome.') },
  },
  'GET /backups/storage-configs/{storage_config_id}': {
    operationId: 'getStorageConfig',
    tag: 'storage-configs',
    summary: 'Read a storage config',
    calls: 'sdk.storageConfigs.get',
    success: { 200: json('StorageConfig', 'The config (credentials redacted).') },
  },
  'PATCH /backups/storage-configs/{storage_config_id}': {
    operationId: 'updateStorageConfig',
    tag: 'storage-configs',
    summary: 'Change a storage config',
    calls: 'sdk.storageConfigs.update',
    body: 'StorageConfigUpdate',
    success: { 200: json('StorageConfig', 'The config as changed (credentials redacted).') },
    errors: [409],
  },
  'DELETE /backups/storage-configs/{storage_config_id}': {
    operationId: 'deleteStorageConfig',
    tag: 'storage-configs',
    summary: 'Delete a storage config',
    calls: 'sdk.storageConfigs.delete',
    description: 'Refused (409 `E_STORAGE_CONFIG_IN_USE`) while an enabled policy names it or backups are stored on it.',
    success: { 204: noContent },
    errors: [409],
  },
  'POST /backups/storage-configs/{storage_config_id}/test': {
    operationId: 'testStorageConfig',
    tag: 'storage-configs',
    summary: 'Test a saved storage config',
    calls: 'sdk.storageConfigs.test',
    description: 'Writes, reads back and deletes a small probe object. A failed step is `ok: false`.',
    success: { 200: json('ConnectionTestResult', 'The steps and their outcome.') },
  },
  'GET /events/stream': {
    operationId: 'streamEvents',
    tag: 'events',
    summary: 'Stream live events',
    calls: 'the event bus given as `events`',
    description:
      'Server-sent events of the caller’s organisations (those the authorize hook lets it view): `task.status`, `backup.status`, `backup.progress`, `restore.status`, `restore.progress`, `warning`. 501 `E_UNSUPPORTED` when the handler has no event bus.',
    headers: ['Last-Event-ID'],
    success: {
      200: {
        description:
          'An endless `text/event-stream`: per event `id:`, `event:` (the type) and `data:` (its JSON, with `organization_id` and `project_id`); a `: ping` comment every 15 s; `event: stream.reset` first when `Last-Event-ID` is older than the buffer.',
        media: { 'text/event-stream': { schema: { type: 'string' } } },
      },
    },
    errors: [501],
  },
  'GET /openapi.json': {
    operationId: 'getOpenApiDocument',
    tag: 'meta',
    summary: 'This OpenAPI document',
    calls: 'openApiDocument(basePath)',
    success: {
      200: { description: 'The OpenAPI 3.1 document of this handler.', media: { 'application/json': { schema: { type: 'object' } } } },
    },
  },
};
