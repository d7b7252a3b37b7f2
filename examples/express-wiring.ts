/**
 * Wiring the SDK into an HTTP host: the product's backup endpoints and its SSE stream, on node:http
 * (an Express app maps one to one: each route below is one `app.get/post/delete`).
 *
 *   npx tsx examples/express-wiring.ts        # then, in another shell:
 *   curl -N localhost:3000/api/v1/events/stream &
 *   curl -X POST -H 'content-type: application/json' -H 'x-user-id: 11111111-1111-4111-8111-111111111111' \
 *        -d '{"backup_type":"manual"}' localhost:3000/api/v1/backups/environments/<env-id>/backups
 *
 * A real host imports from 'odoo-backup-sdk' and passes its own repositories (e.g.
 * 'odoo-backup-sdk/postgres'), queue ('odoo-backup-sdk/bullmq'), environment resolver and auth.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { BackupCreateSchema, BackupSdkError, BackupService, parseInput, type Actor, type EventSink, type SdkEvent } from '../src/index.js';
import {
  FakeBackupSource,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  StaticEnvironmentResolver,
} from '../src/testing/index.js';

/** Forwards every SDK event to the connected SSE clients as `event: <type>` / `data: <json>`. */
export class SseHub implements EventSink {
  private readonly clients = new Set<ServerResponse>();
  emit(event: SdkEvent): void {
    const frame = `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
    for (const res of this.clients) res.write(frame);
  }
  attach(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': connected\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }
}

/** HTTP status of each SDK error code (anything else: 500). */
const STATUS: Record<string, number> = {
  E_VALIDATION: 422,
  E_STORAGE_CONFIG_MISSING: 422,
  E_NOT_FOUND: 404,
  E_PERMISSION_DENIED: 403,
  E_QUOTA_EXCEEDED: 403,
  E_RATE_LIMITED: 429,
  E_CONFLICT: 409,
  E_INVALID_TRANSITION: 409,
  E_BACKUP_NOT_DOWNLOADABLE: 409,
  E_UNSUPPORTED: 501,
};

function send(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

/** Who is calling: replace with your session or token check. The rate limit is per client IP. */
function actorOf(req: IncomingMessage): Actor | null {
  const id = req.headers['x-user-id'];
  return typeof id === 'string' ? { id, rate_limit_key: req.socket.remoteAddress ?? id } : null;
}

/** The product's routes over a {@link BackupService}. */
export function createBackupHttpServer(service: BackupService, sse: SseHub): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const actor = actorOf(req);
    const q = Object.fromEntries(url.searchParams);
    const route = async (): Promise<void> => {
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && url.pathname === '/api/v1/events/stream') return sse.attach(res);
      if ((m = /^\/api\/v1\/backups\/environments\/([^/]+)\/backups$/.exec(url.pathname))) {
        // The body is unparsed JSON: parseInput checks it (ValidationError naming each bad field), then the typed call.
        if (req.method === 'POST')
          return send(res, 201, await service.createBackup(m[1]!, parseInput(BackupCreateSchema, await readJson(req)), actor));
        if (req.method === 'GET') return send(res, 200, await service.listBackups(m[1]!, q, actor));
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/backups\/environments\/([^/]+)\/summary$/.exec(url.pathname)))
        return send(res, 200, await service.getSummary(m[1]!, actor));
      if ((m = /^\/api\/v1\/backups\/([^/]+)\/download$/.exec(url.pathname)) && req.method === 'GET') {
        try {
          return send(res, 200, await service.getDownloadUrls(m[1]!, q.expires_in, actor));
        } catch (error) {
          if (!(error instanceof BackupSdkError && error.code === 'E_UNSUPPORTED')) throw error;
          // Providers that cannot sign (local, FTP, SFTP): stream the ZIP through the host.
          const download = await service.openDownload(m[1]!, {}, actor);
          res.writeHead(200, {
            'content-type': download.content_type,
            'content-length': download.size,
            'content-disposition': `attachment; filename="${download.filename}"`,
          });
          download.stream.pipe(res);
          return;
        }
      }
      if ((m = /^\/api\/v1\/backups\/([^/]+)$/.exec(url.pathname))) {
        if (req.method === 'GET') return send(res, 200, await service.getBackup(m[1]!, actor));
        if (req.method === 'DELETE') return send(res, 204, void (await service.deleteBackup(m[1]!, { purge: q.purge === 'true' }, actor)));
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/tasks\/([^/]+)$/.exec(url.pathname)))
        return send(res, 200, await service.getTask(m[1]!, actor));
      send(res, 404, { code: 'E_NOT_FOUND', message: `No route for ${req.method} ${url.pathname}` });
    };
    route().catch((error: unknown) => {
      if (error instanceof SyntaxError) return send(res, 400, { code: 'E_BAD_JSON', message: error.message });
      if (!(error instanceof BackupSdkError)) return send(res, 500, { code: 'E_INTERNAL', message: 'Internal error' });
      if (error.code === 'E_RATE_LIMITED') res.setHeader('retry-after', String(error.details.retry_after_seconds));
      send(res, STATUS[error.code] ?? 500, error.toJSON());
    });
  });
}

/** A self-contained demo: in-memory records and queue, memory storage, a fake Odoo source. */
async function main(): Promise<void> {
  const env = makeResolvedEnvironment();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const now = new Date().toISOString();
  await storageConfigs.create({
    id: randomUUID(),
    organization_id: env.organization_id,
    name: 'memory',
    provider: 'memory',
    is_default: true,
    settings: {},
    credentials: null,
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: now,
    updated_at: now,
  });
  const sse = new SseHub();
  const queue = new InMemoryJobQueue();
  const service = new BackupService({
    backups: new InMemoryBackupRepository(),
    tasks: new InMemoryTaskRepository(),
    storageConfigs,
    policies: new InMemoryBackupPolicyRepository(),
    environments: new StaticEnvironmentResolver([env]),
    queue,
    events: sse,
    sources: () => new FakeBackupSource(),
    runnerOptions: { dumpLister: null },
  });
  const worker = service.startWorker({ concurrency: 10 });
  // Repair backups a previous process left running, now and every 5 minutes.
  await service.recoverStale();
  const sweeper = setInterval(() => void service.recoverStale(), 5 * 60_000);
  const server = createBackupHttpServer(service, sse).listen(3000, () =>
    console.log(`Listening on :3000; environment ${env.environment_id}`),
  );
  process.once('SIGINT', () => {
    clearInterval(sweeper);
    server.close();
    server.closeAllConnections(); // SSE streams stay open otherwise
    void worker.close().then(() => queue.close());
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
