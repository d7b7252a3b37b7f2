import { z } from 'zod';
import { MANIFEST_TOOL } from '../../pipeline/backup-runner.js';
import { HTTP_STATUS_BY_CODE } from './http-status.js';
import {
  OPERATIONS,
  PATH_PARAMETER_DESCRIPTIONS,
  REQUEST_SCHEMAS,
  TAGS,
  type OperationSpec,
  type ResponseHeaderName,
  type SuccessResponseSpec,
} from './openapi-operations.js';
import { RESPONSE_SCHEMAS } from './response-schemas.js';
import type { RouteDefinition } from './router.js';
import { BACKUP_API_ROUTES } from './routes.js';

/** What the document reads of a route's handler. */
interface DocumentedHandler {
  public?: boolean;
  idempotent?: boolean;
}

type Json = Record<string, unknown>;

const SCHEMAS = '#/components/schemas/';
const ref = (section: string, name: string) => ({ $ref: `#/components/${section}/${name}` });

let cached: Json | undefined;

/**
 * The OpenAPI 3.1 document of {@link createBackupApi}'s routes, served at `GET {basePath}/openapi.json`:
 * one operation per route (its `operationId`, parameters, request body, every success and error
 * status with its body and headers). Request schemas come from the zod schemas the routes parse
 * with (their input side), response schemas from zod schemas whose types are pinned to the
 * services' return types. `basePath` becomes the server URL. Each call returns a fresh copy.
 */
export function openApiDocument(basePath = '/api/v1'): Record<string, unknown> {
  cached ??= buildOpenApiDocument(BACKUP_API_ROUTES, '/');
  const url = `/${basePath.replace(/^\/+|\/+$/g, '')}`;
  return { ...structuredClone(cached), servers: [{ url }] };
}

/**
 * Builds the document of `routes` from `operations`. Throws when a route has no operation or an
 * operation no route: the route table is the truth, and the document follows it or does not build.
 */
export function buildOpenApiDocument(
  routes: readonly RouteDefinition<DocumentedHandler>[],
  serverUrl: string,
  operations: Readonly<Record<string, OperationSpec>> = OPERATIONS,
): Json {
  const keys = routes.map((r) => `${r.method} ${r.path}`);
  const undocumented = keys.filter((k) => !(k in operations));
  const stale = Object.keys(operations).filter((k) => !keys.includes(k));
  if (undocumented.length > 0 || stale.length > 0) {
    throw new Error(
      `openApiDocument: the operations and the routes differ (routes without an operation: ${undocumented.join(', ') || 'none'}; operations without a route: ${stale.join(', ') || 'none'})`,
    );
  }
  const paths: Record<string, Json> = {};
  const errorStatuses = new Set<number>();
  for (const route of routes) {
    const spec = operations[`${route.method} ${route.path}`]!;
    const errors = errorStatusesOf(route, spec);
    for (const status of errors) errorStatuses.add(status);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(route, spec, errors);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'odoo-backup-sdk REST API',
      // The package's version (the archive's tool name carries it).
      version: MANIFEST_TOOL.slice(MANIFEST_TOOL.indexOf('/') + 1),
      description: [
        'Backups and restores of Odoo environments, served by `createBackupApi` of `odoo-backup-sdk/http`.',
        'Every failure answers `ErrorResponse` (`BackupSdkError.toJSON()`) with the status of `HTTP_STATUS_BY_CODE`;',
        'a path no route has is 404 `E_ROUTE_NOT_FOUND`, a method the path does not have 405 `E_METHOD_NOT_ALLOWED` with `Allow`.',
        'Request bodies are JSON objects (`Content-Type: application/json`, at most `maxBodyBytes`, default 65536).',
      ].join(' '),
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerAuth: [] }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: { ...componentSchemas(REQUEST_SCHEMAS, 'input'), ...componentSchemas(RESPONSE_SCHEMAS, 'output') },
      responses: Object.fromEntries([...errorStatuses].sort((a, b) => a - b).map((status) => [`Error${status}`, errorResponseOf(status)])),
      parameters: REQUEST_HEADERS,
      headers: RESPONSE_HEADERS,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            "Who is calling is the host's `authenticate(request)`: a bearer token, a session cookie, anything. Bearer stands for it here; a host that reads something else describes its own scheme in the document it publishes.",
        },
      },
    },
  };
}

function operationOf(route: RouteDefinition<DocumentedHandler>, spec: OperationSpec, errors: readonly number[]): Json {
  const pathParameters = [...route.path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    description: PATH_PARAMETER_DESCRIPTIONS[name!] ?? name,
    schema: { type: 'string', minLength: 1 },
  }));
  const queryParameters = Object.entries(spec.query?.shape ?? {}).map(([name, schema]) => {
    const { description, ...jsonSchema } = jsonSchemaOf(schema as z.ZodType, 'output');
    return {
      name,
      in: 'query',
      // Required when the route refuses it absent (a default or `optional` makes it optional).
      required: !(schema as z.ZodType).safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: jsonSchema,
    };
  });
  const headers = [...(route.handler.idempotent ? ['Idempotency-Key'] : []), ...(spec.headers ?? [])].map((name) =>
    ref('parameters', name),
  );
  const responses: Json = {};
  for (const [status, success] of Object.entries(spec.success)) responses[status] = successResponseOf(success);
  for (const status of errors) responses[String(status)] = ref('responses', `Error${status}`);
  const body = spec.body;
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    description: [spec.description, `Calls \`${spec.calls}\`.`].filter(Boolean).join(' '),
    ...(route.handler.public ? { security: [] } : {}),
    parameters: [...pathParameters, ...queryParameters, ...headers],
    ...(body
      ? {
          requestBody: {
            // Optional when an empty body (read as `{}`) is valid: every field has a default.
            required: !REQUEST_SCHEMAS[body].safeParse({}).success,
            content: { 'application/json': { schema: { $ref: SCHEMAS + body } } },
          },
        }
      : {}),
    responses,
  };
}

/**
 * The error statuses of a route: those every route of its kind can answer (500 and 503 always;
 * 401 and 403 behind authentication; 400, 413 and 415 where a body is read; 422 where a body or
 * query is parsed or `Idempotency-Key` honoured, with 409 for a key in flight; 404 where an id is
 * looked up), and the route's own.
 */
function errorStatusesOf(route: RouteDefinition<DocumentedHandler>, spec: OperationSpec): number[] {
  const statuses = new Set([500, 503, ...(spec.errors ?? [])]);
  const add = (...s: number[]) => s.forEach((x) => statuses.add(x));
  if (!route.handler.public) add(401, 403);
  if (route.method === 'POST' || route.method === 'PATCH') add(400, 413, 415);
  if (spec.body || spec.query) add(422);
  if (route.handler.idempotent) add(409, 422);
  if (route.path.includes('{')) add(404);
  return [...statuses].sort((a, b) => a - b);
}

function successResponseOf(spec: SuccessResponseSpec): Json {
  const schema =
    spec.json === undefined
      ? undefined
      : typeof spec.json === 'string'
        ? { $ref: SCHEMAS + spec.json }
        : { type: 'array', items: { $ref: SCHEMAS + spec.json.arrayOf } };
  const content = schema ? { 'application/json': { schema } } : spec.media;
  return {
    description: spec.description,
    ...(spec.headers ? { headers: headerRefs(spec.headers) } : {}),
    ...(content ? { content } : {}),
  };
}

const headerRefs = (names: readonly ResponseHeaderName[]) => Object.fromEntries(names.map((n) => [n, ref('headers', n)]));

/** The shared error response of a status, naming the codes that answer it (from {@link HTTP_STATUS_BY_CODE}). */
function errorResponseOf(status: number): Json {
  const codes = Object.entries(HTTP_STATUS_BY_CODE)
    .filter(([, s]) => s === status)
    .map(([code]) => `\`${code}\``);
  const description =
    status === 503
      ? `A transient failure, whatever its code: try again after \`Retry-After\` seconds${codes.length ? ` (${codes.join(', ')} among others)` : ''}.`
      : `${codes.join(', ')}.`;
  const headers: ResponseHeaderName[] =
    status === 429
      ? ['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']
      : status === 503
        ? ['Retry-After']
        : [];
  return {
    description,
    ...(headers.length > 0 ? { headers: headerRefs(headers) } : {}),
    content: { 'application/json': { schema: { $ref: `${SCHEMAS}ErrorResponse` } } },
  };
}

/** Zod schemas as `components.schemas`: registered ones become `$ref`s to each other. */
function componentSchemas(entries: Readonly<Record<string, z.ZodType>>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(entries)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => SCHEMAS + id });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, withoutDialect(schema as Json)]));
}

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  return withoutDialect(z.toJSONSchema(schema, { io }) as Json);
}

/** The document's dialect is OpenAPI 3.1's (JSON Schema 2020-12): `$schema` and `$id` per schema would only restate or mislead. */
function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

const header = (description: string, schema: Json, required = false) => ({ description, required, schema });

/** Request headers, `components.parameters`. */
const REQUEST_HEADERS: Json = {
  'Idempotency-Key': {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Replays the first 2xx answer of this key (per caller and route, 24 h) with `Idempotent-Replayed: true` instead of doing it again; another body with the same key is 422 `E_IDEMPOTENCY_KEY_REUSED`, the same key while the first runs 409 `E_IDEMPOTENCY_IN_PROGRESS`. Ignored when the handler has no idempotency store.',
    schema: { type: 'string', minLength: 1, maxLength: 255 },
  },
  Range: {
    name: 'Range',
    in: 'header',
    required: false,
    description: 'One byte range, `bytes=a-b` or `bytes=a-`; anything else is served whole.',
    schema: { type: 'string' },
  },
  'Last-Event-ID': {
    name: 'Last-Event-ID',
    in: 'header',
    required: false,
    description: 'The `id:` of the last event seen: the stream resumes after it (an EventSource sends it when it reconnects).',
    schema: { type: 'string' },
  },
};

/** Response headers, `components.headers`. */
const RESPONSE_HEADERS: Record<ResponseHeaderName, Json> = {
  'X-RateLimit-Limit': header('Manual backups allowed per window for this rate-limit key.', { type: 'integer', minimum: 0 }),
  'X-RateLimit-Remaining': header('Manual backups left in the window.', { type: 'integer', minimum: 0 }),
  'X-RateLimit-Reset': header('Seconds until the window frees a slot.', { type: 'integer', minimum: 0 }),
  'Retry-After': header('Seconds to wait before trying again.', { type: 'integer', minimum: 0 }),
  'Idempotent-Replayed': header('`true` on an answer replayed for a repeated `Idempotency-Key`.', { type: 'string', enum: ['true'] }),
  'Content-Disposition': header('`attachment; filename="{backup_id}.zip"` (`.zip.age` when encrypted).', { type: 'string' }),
  'Content-Range': header('`bytes a-b/size` of the range served.', { type: 'string' }),
};
