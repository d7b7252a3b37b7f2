/** The OpenAPI 3.1 document of the handler's routes (filled in by openapi.ts). */
export function openApiDocument(basePath = '/api/v1'): Record<string, unknown> {
  return { openapi: '3.1.0', info: { title: 'odoo-backup-sdk', version: '0' }, servers: [{ url: basePath }], paths: {} };
}
