/**
 * The REST API and its live events on node:http: `createBackupApi` + `toNodeHandler`.
 *
 *   npx tsx examples/http-server.ts        # then, in another shell:
 *   curl -N -H 'authorization: Bearer demo' localhost:3000/api/v1/events/stream &
 *   curl -X POST -H 'authorization: Bearer demo' -H 'content-type: application/json' \
 *        -d '{"backup_type":"manual"}' localhost:3000/api/v1/backups/environments/<env-id>/backups
 *
 * A real host imports from 'odoo-backup-sdk' and 'odoo-backup-sdk/http', passes its own
 * repositories, queue, environment resolver, authorize hook, and authenticates its own way.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createBackupSdk, type Actor } from '../src/index.js';
import {
  createBackupApi,
  InProcessEventBus,
  InProcessIdempotencyStore,
  toNodeHandler,
  type BackupApiHandler,
} from '../src/integrations/http/index.js';
import {
  FakeBackupSource,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  makeStorageConfig,
  StaticEnvironmentResolver,
} from '../src/testing/index.js';

/** Serves the handler on node:http. Behind a reverse proxy, pass `{ trustProxy: true }` to toNodeHandler. */
export function serveWithNodeHttp(api: BackupApiHandler): Server {
  return createServer(toNodeHandler(api));
}

/** A self-contained demo: in-memory records and queue, memory storage, a fake Odoo source, one user "demo". */
export async function demoApi(): Promise<{ api: BackupApiHandler; environmentId: string; close: () => Promise<void> }> {
  const env = makeResolvedEnvironment();
  const storageConfigs = new InMemoryStorageConfigRepository();
  await storageConfigs.create(
    makeStorageConfig({
      organization_id: env.organization_id,
      name: 'memory',
      provider: 'memory',
      is_default: true,
      settings: {},
      credentials: null,
    }),
  );
  const bus = new InProcessEventBus(); // the SDK emits into it, the SSE route reads from it
  const queue = new InMemoryJobQueue();
  const sdk = createBackupSdk(
    {
      backups: new InMemoryBackupRepository(),
      tasks: new InMemoryTaskRepository(),
      storageConfigs,
      policies: new InMemoryBackupPolicyRepository(),
      environments: new StaticEnvironmentResolver([env]),
      queue,
      events: bus,
      sources: () => new FakeBackupSource(),
      // Your permission check: here the one demo user may do everything in its organisation.
      authorize: ({ actor, organization_id }) => actor?.id === 'demo' && (organization_id ?? env.organization_id) === env.organization_id,
    },
    { backup: { runnerOptions: { dumpLister: null } } },
  );
  const worker = sdk.backups.startWorker();
  const api = createBackupApi({
    sdk,
    events: bus,
    idempotency: new InProcessIdempotencyStore(),
    downloadSecret: randomUUID(), // signs download links of storage that cannot presign
    // Your session or token check: here `Authorization: Bearer demo`.
    authenticate: (request): Actor | null => (request.headers.get('authorization') === 'Bearer demo' ? { id: 'demo' } : null),
  });
  return { api, environmentId: env.environment_id, close: async () => (await worker.close(), await queue.close()) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { api, environmentId, close } = await demoApi();
  const server = serveWithNodeHttp(api).listen(3000, () => console.log(`Listening on :3000; environment ${environmentId}`));
  process.once('SIGINT', () => {
    server.close();
    server.closeAllConnections(); // SSE streams stay open otherwise
    void close();
  });
}
