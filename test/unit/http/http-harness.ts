import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { createBackupSdk, ROLE_PERMISSIONS, type Actor, type AuthorizationRequest, type Role } from '../../../src/index.js';
import {
  createBackupApi,
  InProcessEventBus,
  InProcessIdempotencyStore,
  toNodeHandler,
  type BackupApiOptions,
} from '../../../src/integrations/http/index.js';
import {
  FakeBackupSource,
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  makeStorageConfig,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { createConformance } from './openapi-conformance.js';

/** A person of the test: a role in one organisation. */
export interface TestUser {
  id: string;
  organization_id: string;
  role: Role;
}

const T0 = '2026-03-10T10:00:00.000Z';

/**
 * One SDK over in-memory ports (memory storage, fake Odoo source, fake clock), served by
 * createBackupApi through toNodeHandler on a loopback port. Users authenticate with
 * `Authorization: Bearer <user id>`; `X-Rate-Key` sets the rate-limit key (else the client IP).
 * Authorization: the default role matrix, within the user's own organisation. Every answer `call`
 * and `fetchChecked` receive is checked against the handler's OpenAPI document (`conformance`).
 */
export async function startApi(options: Partial<BackupApiOptions> = {}) {
  const clock = new FakeClock(T0);
  const envA = makeResolvedEnvironment();
  const envB = makeResolvedEnvironment();
  const orgOfEnv = new Map([envA, envB].map((e) => [e.environment_id, e.organization_id]));
  const storageConfigs = new InMemoryStorageConfigRepository(clock);
  const configOf = async (organization_id: string) =>
    storageConfigs.create(
      makeStorageConfig({
        organization_id,
        provider: 'memory',
        is_default: true,
        settings: { namespace: randomUUID() },
        credentials: null,
      }),
    );
  const configA = await configOf(envA.organization_id);
  await configOf(envB.organization_id);
  const users = new Map<string, TestUser>();
  const user = (organization_id: string, role: Role): TestUser => {
    const u = { id: randomUUID(), organization_id, role };
    users.set(u.id, u);
    return u;
  };
  const ownerA = user(envA.organization_id, 'org_owner');
  const memberA = user(envA.organization_id, 'project_member');
  const ownerB = user(envB.organization_id, 'org_owner');
  const authorizeCalls: AuthorizationRequest[] = [];
  const bus = new InProcessEventBus();
  const queue = new InMemoryJobQueue({ clock });
  const sdk = createBackupSdk(
    {
      backups: new InMemoryBackupRepository(clock),
      tasks: new InMemoryTaskRepository(clock),
      storageConfigs,
      policies: new InMemoryBackupPolicyRepository(clock),
      environments: new StaticEnvironmentResolver([envA, envB]),
      queue,
      clock,
      events: bus,
      sources: () => new FakeBackupSource({ dumpSize: 30_000, filestoreSize: 10_000 }),
      authorize: (request) => {
        authorizeCalls.push(request);
        const u = request.actor?.id ? users.get(request.actor.id) : undefined;
        if (!u) return request.actor === null; // the SDK itself (signed downloads)
        const org = request.organization_id ?? (request.environment_id ? orgOfEnv.get(request.environment_id) : undefined);
        return org === u.organization_id && ROLE_PERMISSIONS[u.role].includes(request.permission);
      },
    },
    { backup: { runnerOptions: { dumpLister: null } } },
  );
  const idempotency = new InProcessIdempotencyStore(clock);
  const api = createBackupApi({
    sdk,
    events: bus,
    idempotency,
    downloadSecret: 'test-download-secret',
    authenticate: (request) => {
      const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
      if (token === 'explode') throw new Error('database password is hunter2');
      if (!token || !users.has(token)) return null;
      const rateKey = request.headers.get('x-rate-key');
      const actor: Actor = { id: token, ...(rateKey ? { rate_limit_key: rateKey } : {}) };
      return actor;
    },
    ...options,
  });
  const server: Server = createServer(toNodeHandler(api));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await queue.close();
  };

  const conformance = createConformance('/api/v1');
  /** fetch below the base path as `who` (a user, or null for no Authorization header). */
  const call = (who: TestUser | null, path: string, init: RequestInit & { json?: unknown; rateKey?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (who) headers.set('authorization', `Bearer ${who.id}`);
    if (init.rateKey) headers.set('x-rate-key', init.rateKey);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return conformance.checkedFetch(`${base}/api/v1${path}`, { ...init, headers, body: body ?? null });
  };

  return {
    sdk,
    bus,
    queue,
    clock,
    api,
    base,
    call,
    fetchChecked: conformance.checkedFetch,
    conformance,
    close,
    envA,
    envB,
    configA,
    ownerA,
    memberA,
    ownerB,
    authorizeCalls,
    idempotency,
  };
}

export type ApiHarness = Awaited<ReturnType<typeof startApi>>;

/** An SSE client on `GET /events/stream`: parsed messages as they arrive, and a way to wait for one. */
export async function openEvents(h: ApiHarness, who: TestUser, lastEventId?: string) {
  const controller = new AbortController();
  const response = await h.call(who, '/events/stream', {
    signal: controller.signal,
    headers: lastEventId ? { 'last-event-id': lastEventId } : {},
  });
  const messages: EventSourceMessage[] = [];
  const waiters: (() => void)[] = [];
  const parser = createParser({
    onEvent: (message) => {
      messages.push(message);
      for (const w of waiters.splice(0)) w();
    },
  });
  const reading = (async () => {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // Aborted by the test.
    }
  })();
  const until = async (found: (all: EventSourceMessage[]) => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!found(messages)) {
      if (Date.now() > deadline) throw new Error(`SSE: not seen; got ${messages.map((m) => m.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const close = async () => {
    controller.abort();
    await reading;
  };
  return { response, messages, until, close };
}
