import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { openApiDocument } from '../../../src/integrations/http/index.js';
import { matchRoute } from '../../../src/integrations/http/router.js';
import { BACKUP_API_ROUTES } from '../../../src/integrations/http/routes.js';

// Checks what the handler answers against its own OpenAPI document: the status must be one the
// route's operation lists, the content type one that response lists, and a JSON body must
// validate (ajv, JSON Schema 2020-12, formats checked) against that response's schema. The
// tests' fetches go through it, so every body a test receives is checked.

type Json = Record<string, unknown>;
// ajv-formats is CommonJS; its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

/** Where the document's `#/components/schemas/X` live for ajv: one absolute id per schema. */
const SCHEMA_BASE = 'https://odoo-backup-sdk.test/components/schemas/';

/** A copy of `value` whose `$ref: '#/components/schemas/X'` point at ajv's ids. */
function absoluteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(absoluteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? SCHEMA_BASE + v.slice('#/components/schemas/'.length)
        : absoluteRefs(v),
    ]),
  );
}

/** One answer the checker saw: its operation (or `unrouted`) and status. */
export interface SeenAnswer {
  operationId: string;
  status: number;
}

/** A checker of responses against `openApiDocument(basePath)`, and what it has seen. */
export function createConformance(basePath = '/api/v1') {
  const document = openApiDocument(basePath) as {
    paths: Record<string, Record<string, { operationId: string; responses: Record<string, Json> }>>;
    components: { schemas: Record<string, Json>; responses: Record<string, Json> };
  };
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    ajv.addSchema({ ...(absoluteRefs(schema) as Json), $id: SCHEMA_BASE + name });
  }
  const compiled = new Map<Json, ValidateFunction>();
  const validatorOf = (schema: Json) => {
    let validate = compiled.get(schema);
    if (!validate) compiled.set(schema, (validate = ajv.compile(absoluteRefs(schema) as Json)));
    return validate;
  };
  const resolve = (response: Json) =>
    typeof response.$ref === 'string' ? document.components.responses[response.$ref.split('/').at(-1)!]! : response;
  const errorResponse = { $ref: '#/components/schemas/ErrorResponse' };
  const seen: SeenAnswer[] = [];

  const validateJson = async (response: Response, schema: Json, what: string) => {
    const text = await response.clone().text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${what}: the body is not JSON: ${text.slice(0, 200)}`);
    }
    const validate = validatorOf(schema);
    if (!validate(body)) {
      throw new Error(`${what}: the body does not match the document: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 2000)}`);
    }
  };

  /**
   * Throws unless `response` (to `method url`) is what the document says the route answers. Reads
   * a clone of a JSON body; leaves other bodies (an event stream, an archive) unread.
   */
  async function check(method: string, url: string, response: Response): Promise<void> {
    const pathname = new URL(url, 'http://localhost').pathname;
    const path = pathname.startsWith(basePath) ? pathname.slice(basePath.length) || '/' : pathname;
    let template: string;
    try {
      template = matchRoute(BACKUP_API_ROUTES, method, path).route.path;
    } catch {
      // No operation answers here: the document's info says 404 / 405 with an ErrorResponse.
      if (response.status !== 404 && response.status !== 405)
        throw new Error(`${method} ${path}: unrouted but answered ${response.status}`);
      seen.push({ operationId: 'unrouted', status: response.status });
      await validateJson(response, errorResponse, `${method} ${path} ${response.status}`);
      return;
    }
    const operation = document.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`The document has no operation for ${method} ${template}`);
    const what = `${operation.operationId} (${method} ${template}) ${response.status}`;
    const documented = operation.responses[String(response.status)];
    if (!documented) {
      throw new Error(`${what}: the document lists only ${Object.keys(operation.responses).join(', ')} for this operation`);
    }
    seen.push({ operationId: operation.operationId, status: response.status });
    const content = resolve(documented).content as Record<string, Json> | undefined;
    const contentType = response.headers.get('content-type')?.split(';')[0]!.trim() ?? null;
    if (!content) {
      if ((await response.clone().text()) !== '') throw new Error(`${what}: a body where the document has none`);
      return;
    }
    if (contentType === null || !(contentType in content)) {
      throw new Error(`${what}: content type ${contentType} is not among the documented ${Object.keys(content).join(', ')}`);
    }
    const schema = content[contentType]!.schema as Json | undefined;
    if (contentType === 'application/json' && schema) await validateJson(response, schema, what);
  }

  /** `fetch`, then {@link check} the answer. */
  async function checkedFetch(url: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(url, init);
    await check(init.method ?? 'GET', url, response);
    return response;
  }

  return { document, check, checkedFetch, seen };
}

/** A response checker. */
export type Conformance = ReturnType<typeof createConformance>;
