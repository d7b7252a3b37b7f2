import type { Task } from '../../domain/entities.js';
import { RestoreRequestSchema } from '../../domain/restore-request.js';
import { BackupCreateSchema, DownloadQuerySchema, parseInput, UuidSchema } from '../../domain/validation.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { ValidationError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import type { RateLimitDecision } from '../../ports/rate-limiter.js';
import type { BackupSdk } from '../../sdk.js';
import { toBackupDetail, type BackupDownloadUrls } from '../../services/backup/backup-responses.js';
import type { BackupApiOptions, BackupVerificationResponse, OrganizationUsageResponse } from './backup-api-types.js';
import { signArchive, verifyArchiveSignature } from './download-signature.js';
import { jsonResponse } from './error-response.js';
import { openEventStream } from './event-stream.js';
import { webStreamOf } from './web-stream.js';
import type { RouteDefinition } from './router.js';

/** What a route handler is given. */
export interface RouteContext {
  sdk: BackupSdk;
  options: BackupApiOptions;
  request: Request;
  url: URL;
  basePath: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** The parsed JSON body (`{}` when none). */
  body: unknown;
  /** The authenticated caller (unset on public routes). */
  actor: Actor;
  onRateLimit: (decision: RateLimitDecision) => void;
  /**
   * The OpenAPI document of this handler. Handed in rather than imported: the document is built
   * from this module's route table, so importing it here would be a cycle.
   */
  openApiDocument: () => Record<string, unknown>;
}

/** A route's behaviour. */
export interface RouteHandler {
  run: (ctx: RouteContext) => Promise<Response>;
  /** Served without authentication (the OpenAPI document; signed archive URLs carry their own proof). */
  public?: boolean;
  /** Honours `Idempotency-Key`. */
  idempotent?: boolean;
}

const ok = (body: unknown, status = 200) => jsonResponse(status, body);
const noContent = () => new Response(null, { status: 204 });
const route = (
  method: string,
  path: string,
  run: RouteHandler['run'],
  extra: Omit<RouteHandler, 'run'> = {},
): RouteDefinition<RouteHandler> => ({
  method,
  path,
  handler: { run, ...extra },
});

/** The body as an object, or a validation error naming it. */
function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError([{ field: 'body', message: 'must be a JSON object' }]);
  }
  return body as Record<string, unknown>;
}

/** Splits `organization_id` off a body (the storage-config routes name the organisation in it). */
function organizationOf(body: unknown): { organizationId: string; rest: Record<string, unknown> } {
  const { organization_id, ...rest } = objectBody(body);
  const parsed = UuidSchema.safeParse(organization_id);
  if (!parsed.success)
    throw new ValidationError([{ field: 'organization_id', message: organization_id === undefined ? 'is required' : 'must be a UUID' }]);
  return { organizationId: parsed.data, rest };
}

/** Backups: create, list, show, delete, download, restore, verify. */
const backupRoutes = [
  route(
    'POST',
    '/backups/environments/{environment_id}/backups',
    async (c) => {
      const input = parseInput(BackupCreateSchema, c.body);
      return ok(await c.sdk.backups.createBackup(c.params.environment_id!, input, c.actor, { onRateLimit: c.onRateLimit }), 201);
    },
    { idempotent: true },
  ),
  route('GET', '/backups/environments/{environment_id}/backups', async (c) =>
    ok(await c.sdk.backups.listBackups(c.params.environment_id!, c.query, c.actor)),
  ),
  route('GET', '/backups/environments/{environment_id}/summary', async (c) =>
    ok(await c.sdk.backups.getSummary(c.params.environment_id!, c.actor)),
  ),
  route('GET', '/backups/{backup_id}', async (c) => ok(await c.sdk.backups.getBackup(c.params.backup_id!, c.actor))),
  route('DELETE', '/backups/{backup_id}', async (c) => {
    await c.sdk.backups.deleteBackup(c.params.backup_id!, { purge: c.query.purge === 'true' }, c.actor);
    return noContent();
  }),
  route('GET', '/backups/{backup_id}/download', download),
  route('GET', '/backups/{backup_id}/archive', archive, { public: true }),
  route(
    'POST',
    '/backups/{backup_id}/restore',
    async (c) => {
      const request = parseInput(RestoreRequestSchema, c.body);
      return ok(await c.sdk.restores.restoreBackup(c.params.backup_id!, request, c.actor), 202);
    },
    { idempotent: true },
  ),
  route('POST', '/backups/{backup_id}/verify', async (c) => {
    const from = c.query.from ?? 'primary';
    if (from !== 'primary' && from !== 'copy') throw new ValidationError([{ field: 'from', message: "must be 'primary' or 'copy'" }]);
    const result = await c.sdk.backups.verifyBackup(c.params.backup_id!, c.actor, { signal: c.request.signal, from });
    const body: BackupVerificationResponse = {
      backup_id: result.backup_id,
      ok: result.ok,
      backup: toBackupDetail(result.backup),
      verification: result.verification,
      error: result.error,
    };
    return ok(body);
  }),
];

/** `GET /backups/{id}/download`: the provider's presigned URL, else the handler's own signed one. */
async function download(c: RouteContext): Promise<Response> {
  try {
    return ok(await c.sdk.backups.getDownloadUrls(c.params.backup_id!, c.query.expires_in, c.actor));
  } catch (error) {
    if (!(error instanceof BackupSdkError && error.code === 'E_UNSUPPORTED') || !c.options.downloadSecret) throw error;
    const { expires_in } = parseInput(DownloadQuerySchema, c.query.expires_in === undefined ? {} : { expires_in: c.query.expires_in });
    const expiresAtMs = c.sdk.ports.clock.now().getTime() + expires_in * 1000;
    const expires = Math.floor(expiresAtMs / 1000);
    const id = c.params.backup_id!;
    const url = new URL(`${c.basePath}/backups/${encodeURIComponent(id)}/archive`, c.url.origin);
    url.searchParams.set('expires', String(expires));
    url.searchParams.set('signature', signArchive(c.options.downloadSecret, id, expires));
    const body: BackupDownloadUrls = {
      backup_id: id,
      database_url: url.toString(),
      filestore_url: null,
      manifest_url: null,
      expires_in,
      expires_at: new Date(expires * 1000).toISOString(),
    };
    return ok(body);
  }
}

/** `GET /backups/{id}/archive?expires=&signature=`: streams the ZIP (Range supported) to whoever holds a valid signed URL. */
async function archive(c: RouteContext): Promise<Response> {
  const id = c.params.backup_id!;
  const secret = c.options.downloadSecret;
  if (
    !secret ||
    !verifyArchiveSignature(secret, id, c.query.expires ?? null, c.query.signature ?? null, c.sdk.ports.clock.now().getTime())
  ) {
    // The same answer for a bad, expired or absent signature: nothing to learn by probing.
    throw new BackupSdkError('E_PERMISSION_DENIED', 'The download link is invalid or has expired', { details: { backup_id: id } });
  }
  const range = parseRange(c.request.headers.get('range'));
  // The signature is the permission (checked by getDownloadUrls' authorize call when it was issued): the SDK itself reads.
  const download = await c.sdk.backups.openDownload(id, { ...(range ? { range } : {}), signal: c.request.signal }, null);
  const headers: Record<string, string> = {
    'content-type': download.content_type,
    'content-disposition': `attachment; filename="${download.filename}"`,
    'accept-ranges': 'bytes',
  };
  const body = webStreamOf(download.stream, (s) => s.destroy());
  if (!range) return new Response(body, { status: 200, headers: { ...headers, 'content-length': String(download.size) } });
  const end = Math.min(range.end ?? download.size - 1, download.size - 1);
  headers['content-range'] = `bytes ${range.start}-${end}/${download.size}`;
  headers['content-length'] = String(end - range.start + 1);
  return new Response(body, { status: 206, headers });
}

/** `bytes=a-b` or `bytes=a-` (one range); anything else is served whole. */
function parseRange(header: string | null): { start: number; end?: number } | null {
  const m = header ? /^bytes=(\d+)-(\d*)$/.exec(header.trim()) : null;
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  return end !== undefined && end < start ? null : { start, ...(end !== undefined ? { end } : {}) };
}

/** Policies, summary, tasks, usage. */
const policyAndTaskRoutes = [
  route('POST', '/backups/environments/{environment_id}/policy', async (c) =>
    ok(await c.sdk.policies.createPolicy(c.params.environment_id!, c.body, c.actor), 201),
  ),
  route('GET', '/backups/environments/{environment_id}/policy', async (c) =>
    ok(await c.sdk.policies.getPolicy(c.params.environment_id!, c.actor)),
  ),
  route('PATCH', '/backups/environments/{environment_id}/policy', async (c) =>
    ok(await c.sdk.policies.updatePolicy(c.params.environment_id!, c.body, c.actor)),
  ),
  route('DELETE', '/backups/environments/{environment_id}/policy', async (c) => {
    await c.sdk.policies.deletePolicy(c.params.environment_id!, c.actor);
    return noContent();
  }),
  route('GET', '/tasks/{task_id}', async (c) => ok(await c.sdk.backups.getTask(c.params.task_id!, c.actor))),
  route('POST', '/tasks/{task_id}/cancel', async (c) => ok(await cancelTask(c), 202)),
  route('GET', '/organizations/{organization_id}/usage', async (c) => {
    const usage = await c.sdk.retention.usage(c.params.organization_id!, c.actor);
    const body: OrganizationUsageResponse = {
      organization_id: usage.organization_id,
      total_backup_storage: usage.used_bytes,
      used_bytes: usage.used_bytes,
      limit_bytes: usage.limit_bytes,
      exceeded: usage.exceeded,
      copy_bytes: usage.copy_bytes ?? 0,
    };
    return ok(body);
  }),
];

/** `POST /tasks/{id}/cancel`: `cancelBackup` or `cancelRestore` by the task's type; answers the task as it now is. */
async function cancelTask(c: RouteContext): Promise<Task> {
  const task = await c.sdk.backups.getTask(c.params.task_id!, c.actor);
  if (task.task_type === 'restore') return c.sdk.restores.cancelRestore(task.id, c.actor);
  if (!task.backup_id) throw new BackupSdkError('E_UNSUPPORTED', `Task ${task.id} (${task.task_type}) cannot be cancelled`);
  await c.sdk.backups.cancelBackup(task.backup_id, c.actor);
  return c.sdk.backups.getTask(task.id, c.actor);
}

/** Storage configs of an organisation. */
const storageConfigRoutes = [
  route('GET', '/backups/storage-configs', async (c) => {
    const { organizationId } = organizationOf({ organization_id: c.query.organization_id });
    return ok(await c.sdk.storageConfigs.list(organizationId, c.actor));
  }),
  route('POST', '/backups/storage-configs', async (c) => {
    const { organizationId, rest } = organizationOf(c.body);
    return ok(await c.sdk.storageConfigs.create(organizationId, rest, c.actor), 201);
  }),
  route('POST', '/backups/storage-configs/test', async (c) => {
    const { organizationId, rest } = organizationOf(c.body);
    return ok(await c.sdk.storageConfigs.test(organizationId, rest, c.actor));
  }),
  route('GET', '/backups/storage-configs/{storage_config_id}', async (c) =>
    ok(await c.sdk.storageConfigs.get(c.params.storage_config_id!, c.actor)),
  ),
  route('PATCH', '/backups/storage-configs/{storage_config_id}', async (c) =>
    ok(await c.sdk.storageConfigs.update(c.params.storage_config_id!, c.body, c.actor)),
  ),
  route('DELETE', '/backups/storage-configs/{storage_config_id}', async (c) => {
    await c.sdk.storageConfigs.delete(c.params.storage_config_id!, c.actor);
    return noContent();
  }),
  route('POST', '/backups/storage-configs/{storage_config_id}/test', async (c) => {
    const config = await c.sdk.storageConfigs.get(c.params.storage_config_id!, c.actor);
    return ok(await c.sdk.storageConfigs.test(config.organization_id, config.id, c.actor));
  }),
];

/** Live events and the API's own description. */
const streamRoutes = [
  route('GET', '/events/stream', async (c) => {
    if (!c.options.events)
      throw new BackupSdkError('E_UNSUPPORTED', 'This server streams no events (createBackupApi was given no event bus)');
    return openEventStream({
      bus: c.options.events,
      actor: c.actor,
      authorize: c.sdk.ports.authorize,
      lastEventId: c.request.headers.get('last-event-id'),
      signal: c.request.signal,
    });
  }),
  route('GET', '/openapi.json', async (c) => ok(c.openApiDocument()), { public: true }),
];

/** Every route of the handler, below its base path. */
export const BACKUP_API_ROUTES: readonly RouteDefinition<RouteHandler>[] = [
  ...backupRoutes,
  ...policyAndTaskRoutes,
  ...storageConfigRoutes,
  ...streamRoutes,
];
