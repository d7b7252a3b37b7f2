import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackupHttpServer, SseHub } from '../../../examples/express-wiring.js';
import { alice, makeHarness, type Harness } from './harness.js';

// The wiring example, driven over loopback HTTP: what its README promises must work.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function serve(h: Harness) {
  const sse = new SseHub();
  h.events.subscribe((e) => sse.emit(e));
  const server = createBackupHttpServer(h.service, sse);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return base;
}

describe('examples/express-wiring.ts', () => {
  it('serves the product routes and forwards task.status over SSE', async () => {
    const h = await makeHarness();
    const base = await serve(h);
    const envPath = `${base}/api/v1/backups/environments/${h.env.environment_id}`;

    // Listen to the SSE stream first.
    const controller = new AbortController();
    closers.push(async () => controller.abort());
    const stream = await fetch(`${base}/api/v1/events/stream`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const reader = stream.body!.getReader();
    let received = '';
    const readUntil = async (needle: string) => {
      while (!received.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) break;
        received += new TextDecoder().decode(value);
      }
    };
    await readUntil(': connected');

    const created = await fetch(`${envPath}/backups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': alice.id! },
      body: JSON.stringify({ backup_type: 'manual' }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; task_id: string; status: string };
    expect(body).toMatchObject({ status: 'pending', environment_id: h.env.environment_id });

    h.service.startWorker();
    await h.queue.idle();
    await readUntil('"status":"completed"');
    const frames = received.split('\n\n').filter((f) => f.startsWith('event: task.status'));
    const statuses = frames.map((f) => (JSON.parse(f.split('\ndata: ')[1]!) as { status: string; task_id: string }).status);
    expect(statuses).toEqual(['pending', 'queued', 'running', 'completed']);
    expect(received).toContain('event: backup.progress');

    const detail = (await (await fetch(`${base}/api/v1/backups/${body.id}`)).json()) as { status: string };
    expect(detail.status).toBe('completed');
    const list = (await (await fetch(`${envPath}/backups?page=1&page_size=5`)).json()) as { total: number; pages: number };
    expect(list).toMatchObject({ total: 1, page: 1, page_size: 5, pages: 1 });
    const summary = (await (await fetch(`${envPath}/summary`)).json()) as { completed_backups: number };
    expect(summary.completed_backups).toBe(1);
    const task = (await (await fetch(`${base}/api/v1/tasks/${body.task_id}`)).json()) as { status: string };
    expect(task.status).toBe('completed');

    // The memory provider cannot sign: the route streams the ZIP instead.
    const download = await fetch(`${base}/api/v1/backups/${body.id}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${body.id}.zip"`);
    const zip = Buffer.from(await download.arrayBuffer());
    expect(zip.length).toBe((await h.backups.get(body.id))!.compressed_size);

    expect((await fetch(`${base}/api/v1/backups/${body.id}?purge=true`, { method: 'DELETE' })).status).toBe(204);
    expect((await h.backups.get(body.id))!.status).toBe('deleted');
  });

  it('maps SDK errors to HTTP statuses with the error JSON', async () => {
    const h = await makeHarness({ service: { manualRateLimit: { limit: 1, windowSeconds: 3600 } } });
    const base = await serve(h);
    const envPath = `${base}/api/v1/backups/environments/${h.env.environment_id}`;
    const post = (body: unknown) =>
      fetch(`${envPath}/backups`, { method: 'POST', headers: { 'x-user-id': 'u1' }, body: JSON.stringify(body) });

    const invalid = await post({ backup_type: 'hourly' });
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ code: 'E_VALIDATION', details: { issues: [{ field: 'backup_type' }] } });
    expect((await post({})).status).toBe(201);
    const limited = await post({});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3600');
    expect((await fetch(`${base}/api/v1/backups/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await fetch(`${envPath}/backups?page_size=500`)).status).toBe(422);
    expect((await fetch(`${envPath}/backups`, { method: 'POST', body: '{not json' })).status).toBe(400);
  });
});
