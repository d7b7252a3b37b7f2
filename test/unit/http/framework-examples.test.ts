import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpressApp } from '../../../examples/http-express.js';
import { createFastifyApp } from '../../../examples/http-fastify.js';
import { demoApi, serveWithNodeHttp } from '../../../examples/http-server.js';
import { createConformance } from './openapi-conformance.js';

// The three wiring examples, each served on loopback: the same API answers through each.

let demo: Awaited<ReturnType<typeof demoApi>>;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  demo = await demoApi();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await demo?.close();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const servers: Record<string, () => Promise<string>> = {
  'node:http (examples/http-server.ts)': () => listen(serveWithNodeHttp(demo.api)),
  'Express 5 (examples/http-express.ts)': () => listen(createExpressApp(demo.api).listen(0, '127.0.0.1')),
  'Fastify 5 (examples/http-fastify.ts)': async () => {
    const app = createFastifyApp(demo.api);
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  },
};

describe('the wiring examples', () => {
  for (const [name, start] of Object.entries(servers)) {
    it(`${name}: creates a backup, answers errors as JSON, leaves other routes to the app`, async () => {
      const base = await start();
      // The API's answers, checked against its OpenAPI document whatever server carries them.
      const { checkedFetch } = createConformance('/api/v1');
      const auth = { authorization: 'Bearer demo' };
      const backups = `${base}/api/v1/backups/environments/${demo.environmentId}/backups`;
      const created = await checkedFetch(backups, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ include_filestore: false }),
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ environment_id: demo.environmentId, status: 'pending', backup_type: 'manual' });
      const listed = (await (await checkedFetch(backups, { headers: auth })).json()) as { total: number };
      expect(listed.total).toBeGreaterThan(0);
      const bad = await checkedFetch(backups, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'E_MALFORMED_JSON' });
      expect((await checkedFetch(backups)).status).toBe(401);
      // The frameworks keep their own routes; plain node:http has only the API.
      const health = await fetch(`${base}/health`);
      if (name.startsWith('node:http')) expect(health.status).toBe(404);
      else expect(await health.json()).toEqual({ ok: true });
    });
  }
});
