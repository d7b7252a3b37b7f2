import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { HTTP_STATUS_BY_CODE, openApiDocument } from '../../../src/integrations/http/index.js';
import { buildOpenApiDocument } from '../../../src/integrations/http/openapi-document.js';
import { OPERATIONS } from '../../../src/integrations/http/openapi-operations.js';
import { BACKUP_API_ROUTES } from '../../../src/integrations/http/routes.js';
import { createConformance } from './openapi-conformance.js';

// The document itself: valid OpenAPI 3.1, one operation per route of the handler and no other,
// and what a client generator reads from it (bodies, parameters, statuses, headers).

type Operation = {
  operationId: string;
  security?: unknown[];
  parameters: { name?: string; in?: string; required?: boolean; $ref?: string; schema?: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { $ref?: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
};
type Document = {
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, { description: string }> };
};

const document = openApiDocument('/api/v1') as Document;
const operation = (method: string, path: string) => document.paths[path]![method.toLowerCase()]!;

describe('openApiDocument', () => {
  it('is a valid OpenAPI 3.1 document (@readme/openapi-parser)', async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.specification).toBe('OpenAPI');
  });

  it('has one operation per route of the handler, and no other', () => {
    const documented = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(BACKUP_API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const ids = Object.values(document.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('does not build when a route has no operation, or an operation no route', () => {
    const extra = { method: 'GET', path: '/backups/{backup_id}/thumbnail', handler: {} };
    expect(() => buildOpenApiDocument([...BACKUP_API_ROUTES, extra], '/')).toThrow(
      /routes without an operation: GET \/backups\/\{backup_id\}\/thumbnail/,
    );
    const withoutTasks = BACKUP_API_ROUTES.filter((r) => r.path !== '/tasks/{task_id}');
    expect(() => buildOpenApiDocument(withoutTasks, '/')).toThrow(/operations without a route: GET \/tasks\/\{task_id\}/);
    expect(() => buildOpenApiDocument(BACKUP_API_ROUTES, '/', OPERATIONS)).not.toThrow();
  });

  it('names the base path as its server and is public only where the handler is', () => {
    expect(openApiDocument('/backup-api/').servers).toEqual([{ url: '/backup-api' }]);
    expect(document.servers).toEqual([{ url: '/api/v1' }]);
    const publicOps = Object.values(document.paths)
      .flatMap((ops) => Object.values(ops))
      .filter((op) => op.security?.length === 0)
      .map((op) => op.operationId);
    expect(publicOps.sort()).toEqual(['downloadBackupArchive', 'getOpenApiDocument']);
    expect(operation('GET', '/backups/{backup_id}').responses).toHaveProperty('401');
    expect(operation('GET', '/openapi.json').responses).not.toHaveProperty('401');
  });

  it('documents request bodies from the zod schemas (input side), path and query parameters from the routes', () => {
    const create = operation('POST', '/backups/environments/{environment_id}/backups');
    // Every field of BackupCreate has a default: an empty body is a manual backup.
    expect(create.requestBody).toMatchObject({
      required: false,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/BackupCreate' } } },
    });
    expect(document.components.schemas.BackupCreate).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: { backup_type: { enum: ['manual', 'scheduled', 'pre_restore', 'pre_upgrade', 'pre_destroy'], default: 'manual' } },
    });
    expect(document.components.schemas.BackupCreate).not.toHaveProperty('required');
    expect(operation('POST', '/backups/{backup_id}/restore').requestBody?.required).toBe(true);
    expect(document.components.schemas.RestoreRequest).toMatchObject({ required: ['mode'] });
    expect(create.parameters).toContainEqual(expect.objectContaining({ name: 'environment_id', in: 'path', required: true }));
    expect(create.parameters).toContainEqual({ $ref: '#/components/parameters/Idempotency-Key' });
    const list = operation('GET', '/backups/environments/{environment_id}/backups');
    expect(list.parameters).toContainEqual(
      expect.objectContaining({
        name: 'page_size',
        in: 'query',
        required: false,
        schema: expect.objectContaining({ type: 'integer', maximum: 100 }),
      }),
    );
    const storageList = operation('GET', '/backups/storage-configs');
    expect(storageList.parameters).toContainEqual(expect.objectContaining({ name: 'organization_id', in: 'query', required: true }));
    // A storage config body is one provider's strict settings and credentials.
    const storageBody = JSON.stringify(document.components.schemas.StorageConfigCreate);
    for (const key of ['organization_id', 'bucket', 'secret_access_key', 'host_key']) expect(storageBody).toContain(`"${key}"`);
  });

  it('gives each route its success and error statuses, errors sharing one ErrorResponse, with the rate-limit and Retry-After headers', () => {
    const create = operation('POST', '/backups/environments/{environment_id}/backups');
    expect(Object.keys(create.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '422',
      '429',
      '500',
      '503',
    ]);
    expect(Object.keys(create.responses['201']!.headers!)).toEqual(
      expect.arrayContaining(['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']),
    );
    expect(create.responses['429']).toEqual({ $ref: '#/components/responses/Error429' });
    const tooMany = document.components.responses.Error429 as unknown as { headers: Record<string, unknown>; content: unknown };
    expect(Object.keys(tooMany.headers)).toEqual(['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']);
    expect(tooMany.content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } });
    expect(document.components.responses.Error503).toHaveProperty('headers.Retry-After');
    expect(document.components.schemas.ErrorResponse).toMatchObject({ required: ['name', 'code', 'message', 'details', 'transient'] });
    // Each shared error response names the codes HTTP_STATUS_BY_CODE answers with its status.
    expect(document.components.responses.Error403!.description).toBe('`E_QUOTA_EXCEEDED`, `E_PERMISSION_DENIED`.');
    expect(document.components.responses.Error502!.description).toContain('`E_STORAGE_AUTH`');
    // Every status of the table is some operation's. Not 405, which belongs to a path (the info
    // says so), nor 507, whose codes (a full storage or restore target) arise in jobs, never in a request.
    const used = new Set(Object.keys(document.components.responses).map((name) => Number(name.slice('Error'.length))));
    const table = new Set(Object.values(HTTP_STATUS_BY_CODE).filter((status) => status !== 405 && status !== 507));
    expect([...table].filter((status) => !used.has(status))).toEqual([]);
  });

  it('describes the event stream as text/event-stream and the archive as a ZIP with ranges', () => {
    expect(operation('GET', '/events/stream').responses['200']!.content).toHaveProperty(['text/event-stream']);
    expect(operation('GET', '/events/stream').parameters).toContainEqual({ $ref: '#/components/parameters/Last-Event-ID' });
    const archive = operation('GET', '/backups/{backup_id}/archive');
    expect(Object.keys(archive.responses['206']!.content!)).toEqual(['application/zip', 'application/octet-stream']);
    expect(archive.responses['206']!.headers).toHaveProperty('Content-Range');
  });

  it("lets the tests' response check refuse what the document does not say", async () => {
    const { check } = createConformance('/api/v1');
    const answer = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const error = { name: 'NotFoundError', code: 'E_NOT_FOUND', message: 'No backup x', details: {}, transient: false };
    await expect(check('GET', '/api/v1/backups/x', answer(404, error))).resolves.toBeUndefined();
    await expect(check('GET', '/api/v1/backups/x', answer(404, { ...error, code: 'E_NOPE' }))).rejects.toThrow(/does not match/);
    await expect(check('GET', '/api/v1/backups/x', answer(200, { id: 'x' }))).rejects.toThrow(/does not match.*required/);
    await expect(check('GET', '/api/v1/backups/x', answer(409, error))).rejects.toThrow(/lists only 200, 401, 403, 404, 500, 503/);
    await expect(check('DELETE', '/api/v1/backups/x', new Response(null, { status: 204 }))).resolves.toBeUndefined();
    await expect(check('DELETE', '/api/v1/backups/x', answer(200, {}))).rejects.toThrow(/lists only 204,/);
    const html = new Response('<p>hi</p>', { status: 200, headers: { 'content-type': 'text/html' } });
    await expect(check('GET', '/api/v1/tasks/t', html)).rejects.toThrow(/text\/html is not among the documented application\/json/);
  });

  it('returns a fresh copy each call', () => {
    const a = openApiDocument() as Document;
    a.paths = {};
    expect(Object.keys((openApiDocument() as Document).paths).length).toBeGreaterThan(0);
  });
});
