/**
 * The REST API inside a Fastify 5 app: Fastify must leave the body unread (the handler reads
 * and limits its own), and the route hands the raw request and response over (`reply.hijack()`).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { toNodeHandler, type BackupApiHandler } from '../src/integrations/http/index.js';

/** A Fastify app whose `/api/v1/*` requests go to the backup API. */
export function createFastifyApp(api: BackupApiHandler, basePath = '/api/v1'): FastifyInstance {
  const app = Fastify();
  const handler = toNodeHandler(api);
  app.register(async (scope) => {
    // In this scope only: bodies stay unread for the handler.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.all(`${basePath}/*`, (request, reply) => {
      reply.hijack();
      return handler(request.raw, reply.raw);
    });
  });
  app.get('/health', async () => ({ ok: true }));
  return app;
}
