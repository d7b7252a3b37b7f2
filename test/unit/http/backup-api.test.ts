import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupSdk } from '../../../src/index.js';
import { createBackupApi, openApiDocument } from '../../../src/integrations/http/index.js';
import { InMemoryBackupRepository, InMemoryJobQueue } from '../../../src/testing/index.js';
import { openEvents, startApi, type ApiHarness } from './http-harness.js';

// The handler served by toNodeHandler on loopback and called with fetch: what a client of the
// REST API sees. One server for the file.

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => {
  await h?.close();
});

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

describe('createBackupApi over node:http', () => {
  it('creates a backup (201, rate-limit headers), streams its task and progress to its organisation only, and serves it', async () => {
    const streamA = await openEvents(h, h.ownerA);
    const streamB = await openEvents(h, h.ownerB);
    expect(streamA.response.headers.get('content-type')).toBe('text/event-stream');

    const created = await h.call(h.ownerA, `/backups/environments/${h.envA.environment_id}/backups`, {
      method: 'POST',
      json: { backup_type: 'manual', include_filestore: true },
      rateKey: 'flow',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-ratelimit-limit')).toBe('10');
    expect(created.headers.get('x-ratelimit-remaining')).toBe('9');
    expect(created.headers.get('x-ratelimit-reset')).toBe('3600');
    const backup = await json(created);
    expect(backup).toMatchObject({ environment_id: h.envA.environment_id, status: 'pending', backup_type: 'manual', database_size: 0 });
    const other = await json(
      await h.call(h.ownerB, `/backups/environments/${h.envB.environment_id}/backups`, { method: 'POST', json: {}, rateKey: 'flow-b' }),
    );

    const worker = h.sdk.backups.startWorker();
    await h.queue.idle();
    await worker.close();
    const taskEvents = (s: typeof streamA, taskId: unknown) =>
      s.messages.filter((m) => m.event === 'task.status' && (JSON.parse(m.data) as { task_id: string }).task_id === taskId);
    await streamA.until(() => taskEvents(streamA, backup.task_id).length === 4);
    expect(taskEvents(streamA, backup.task_id).map((m) => (JSON.parse(m.data) as { status: string }).status)).toEqual([
      'pending',
      'queued',
      'running',
      'completed',
    ]);
    const progressA = streamA.messages
      .filter((m) => m.event === 'backup.progress')
      .map((m) => JSON.parse(m.data) as Record<string, unknown>);
    expect(progressA.length).toBeGreaterThan(0);
    expect(progressA.every((p) => p.backup_id === backup.id && p.organization_id === h.envA.organization_id)).toBe(true);
    await streamB.until(() => taskEvents(streamB, other.task_id).length === 4);
    // Nothing of the other organisation's backup crossed over, either way.
    expect(streamA.messages.some((m) => m.data.includes(String(other.id)))).toBe(false);
    expect(streamB.messages.some((m) => m.data.includes(String(backup.id)))).toBe(false);
    expect(streamA.messages.every((m) => m.id !== undefined)).toBe(true);
    await streamA.close();
    await streamB.close();

    const env = `/backups/environments/${h.envA.environment_id}`;
    const detail = await json(await h.call(h.ownerA, `/backups/${String(backup.id)}`));
    expect(detail).toMatchObject({ id: backup.id, status: 'completed', is_verified: true, task_id: backup.task_id });
    const list = await json(await h.call(h.ownerA, `${env}/backups?status=completed&page=1&page_size=20`));
    expect(list).toMatchObject({ total: 1, page: 1, page_size: 20, pages: 1, items: [{ id: backup.id }] });
    expect(await json(await h.call(h.ownerA, `${env}/summary`))).toMatchObject({ completed_backups: 1, policy_enabled: false });
    expect(await json(await h.call(h.ownerA, `/tasks/${String(backup.task_id)}`))).toMatchObject({
      status: 'completed',
      organization_id: h.envA.organization_id,
    });
    const usage = await json(await h.call(h.ownerA, `/organizations/${h.envA.organization_id}/usage`));
    expect(usage).toEqual({
      organization_id: h.envA.organization_id,
      total_backup_storage: detail.compressed_size,
      used_bytes: detail.compressed_size,
      limit_bytes: null,
      exceeded: false,
      copy_bytes: 0,
    });

    // Memory storage cannot presign: the handler signs its own archive URL; Range works through openDownload.
    const urls = await json(await h.call(h.ownerA, `/backups/${String(backup.id)}/download?expires_in=600`));
    expect(urls).toMatchObject({ backup_id: backup.id, filestore_url: null, manifest_url: null, expires_in: 600 });
    const zip = await h.fetchChecked(String(urls.database_url));
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-disposition')).toBe(`attachment; filename="${String(backup.id)}.zip"`);
    const whole = Buffer.from(await zip.arrayBuffer());
    expect(whole.length).toBe(detail.compressed_size);
    expect(whole.subarray(0, 2).toString()).toBe('PK');
    const part = await h.fetchChecked(String(urls.database_url), { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(10, 20));
    // Flip the signature's first character to a different one (replacing it with a fixed
    // character would leave it unchanged whenever the signature already began with it).
    const forged = String(urls.database_url).replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    expect((await h.fetchChecked(forged)).status).toBe(403);

    expect((await h.call(h.ownerA, `/backups/${String(backup.id)}/verify`, { method: 'POST' })).status).toBe(200);
    const restore = await h.call(h.ownerA, `/backups/${String(backup.id)}/restore`, { method: 'POST', json: { mode: 'replace' } });
    expect(restore.status).toBe(202);
    const restoreTask = await json(restore);
    expect(restoreTask).toMatchObject({ task_type: 'restore', status: 'queued' });
    const cancelled = await h.call(h.ownerA, `/tasks/${String(restoreTask.id)}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(202);
    expect(await json(cancelled)).toMatchObject({ id: restoreTask.id, status: 'failed' });

    expect((await h.call(h.ownerA, `/backups/${String(backup.id)}?purge=true`, { method: 'DELETE' })).status).toBe(204);
    expect(await json(await h.call(h.ownerA, `/backups/${String(backup.id)}`))).toMatchObject({ status: 'deleted' });
  });

  it('policies: POST 201, GET, PATCH, DELETE 204, then 404', async () => {
    const path = `/backups/environments/${h.envA.environment_id}/policy`;
    const created = await h.call(h.ownerA, path, { method: 'POST', json: { schedule_cron: '0 2 * * *', daily_retention: 7 } });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({
      environment_id: h.envA.environment_id,
      is_enabled: true,
      next_backup_at: '2026-03-11T02:00:00.000Z',
    });
    expect(await json(await h.call(h.ownerA, path))).toMatchObject({ schedule_cron: '0 2 * * *' });
    const patched = await h.call(h.ownerA, path, { method: 'PATCH', json: { is_enabled: false, daily_retention: 14 } });
    expect(await json(patched)).toMatchObject({ is_enabled: false, daily_retention: 14, next_backup_at: null });
    expect((await h.call(h.ownerA, path, { method: 'DELETE' })).status).toBe(204);
    expect(await json(await h.call(h.ownerA, path))).toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('storage configs: list, create, get (credentials redacted), patch, test a saved and an unsaved one, delete', async () => {
    const org = h.envA.organization_id;
    const created = await h.call(h.ownerA, '/backups/storage-configs', {
      method: 'POST',
      json: { organization_id: org, name: 'Second', provider: 'memory', settings: {} },
    });
    expect(created.status).toBe(201);
    const config = await json(created);
    expect(config).toMatchObject({ organization_id: org, name: 'Second', is_default: false });
    const listed = (await (await h.call(h.ownerA, `/backups/storage-configs?organization_id=${org}`)).json()) as { id: string }[];
    expect(listed.map((c) => c.id)).toContain(config.id);
    expect(await json(await h.call(h.ownerA, `/backups/storage-configs/${String(config.id)}`))).toMatchObject({ id: config.id });
    const renamed = await h.call(h.ownerA, `/backups/storage-configs/${String(config.id)}`, { method: 'PATCH', json: { name: 'Renamed' } });
    expect(await json(renamed)).toMatchObject({ name: 'Renamed' });
    expect(await json(await h.call(h.ownerA, `/backups/storage-configs/${String(config.id)}/test`, { method: 'POST' }))).toMatchObject({
      ok: true,
    });
    const draft = await h.call(h.ownerA, '/backups/storage-configs/test', {
      method: 'POST',
      json: { organization_id: org, name: 'Draft', provider: 'memory', settings: {} },
    });
    expect(await json(draft)).toMatchObject({ ok: true });
    expect((await h.call(h.ownerA, `/backups/storage-configs/${String(config.id)}`, { method: 'DELETE' })).status).toBe(204);
    // Another organisation's owner sees nothing of it.
    expect((await h.call(h.ownerB, `/backups/storage-configs?organization_id=${org}`)).status).toBe(403);
  });

  it('answers the protocol errors with the catalogue codes', async () => {
    const path = `/backups/environments/${h.envA.environment_id}/backups`;
    const expectError = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      expect(await json(response)).toMatchObject({ code });
      return response;
    };
    await expectError(
      await h.call(h.ownerA, path, { method: 'POST', body: '{"backup_type":', headers: { 'content-type': 'application/json' } }),
      400,
      'E_MALFORMED_JSON',
    );
    await expectError(
      await h.call(h.ownerA, path, { method: 'POST', body: 'backup please', headers: { 'content-type': 'text/plain' } }),
      415,
      'E_UNSUPPORTED_MEDIA_TYPE',
    );
    await expectError(await h.call(h.ownerA, path, { method: 'POST', json: { padding: 'x'.repeat(70_000) } }), 413, 'E_PAYLOAD_TOO_LARGE');
    await expectError(await h.call(null, path), 401, 'E_UNAUTHENTICATED');
    await expectError(await h.call(h.memberA, path, { method: 'POST', json: {}, rateKey: 'member' }), 403, 'E_PERMISSION_DENIED');
    await expectError(await h.call(h.ownerB, path), 403, 'E_PERMISSION_DENIED');
    await expectError(await h.call(h.ownerA, '/no/such/route'), 404, 'E_ROUTE_NOT_FOUND');
    const wrong = await expectError(await h.call(h.ownerA, path, { method: 'PUT', json: {} }), 405, 'E_METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('POST, GET');
    await expectError(await h.call(h.ownerA, path, { method: 'POST', json: { backup_type: 'hourly' } }), 422, 'E_VALIDATION');
    await expectError(await h.call(h.ownerA, '/backups/00000000-0000-4000-8000-000000000000'), 404, 'E_NOT_FOUND');
    // Literal segments win: this is the storage-config list, not a backup id.
    await expectError(await h.call(h.ownerA, '/backups/storage-configs'), 422, 'E_VALIDATION');
    // A failure that is not an SDK error: 500 without its message.
    const hidden = await h.call(null, path, { headers: { authorization: 'Bearer explode' } });
    expect(hidden.status).toBe(500);
    const text = await hidden.text();
    expect(JSON.parse(text)).toMatchObject({ code: 'E_UNEXPECTED', message: 'Internal error' });
    expect(text).not.toContain('hunter2');
  });

  it('Idempotency-Key: the repeat is replayed and leaves one backup; another body is 422', async () => {
    const path = `/backups/environments/${h.envA.environment_id}/backups`;
    const before = (await h.sdk.ports.backups.find({ environment_id: h.envA.environment_id })).length;
    const post = (json: unknown) =>
      h.call(h.ownerA, path, { method: 'POST', json, rateKey: 'idem', headers: { 'idempotency-key': 'key-1' } });
    const first = await post({ include_filestore: false });
    const again = await post({ include_filestore: false });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect((await h.sdk.ports.backups.find({ environment_id: h.envA.environment_id })).length).toBe(before + 1);
    const other = await post({ include_filestore: true });
    expect(other.status).toBe(422);
    expect(await json(other)).toMatchObject({ code: 'E_IDEMPOTENCY_KEY_REUSED' });
    // The same key in flight: 409 (the first claim is held until it answers).
    const inFlight = JSON.stringify({ include_filestore: false });
    await h.idempotency.claim(`${h.ownerA.id}\nPOST ${path}\nkey-2`, createHash('sha256').update(inFlight).digest('hex'), 60);
    const busy = await h.call(h.ownerA, path, {
      method: 'POST',
      body: inFlight,
      headers: { 'idempotency-key': 'key-2', 'content-type': 'application/json' },
    });
    expect(busy.status).toBe(409);
    expect(await json(busy)).toMatchObject({ code: 'E_IDEMPOTENCY_IN_PROGRESS' });
  });

  it('the 11th backup of a client address in an hour is 429 with the headers, also when sent as backup_type "scheduled"', async () => {
    // No X-Rate-Key: the key is the client's address (the spec's per-IP limit).
    const path = `/backups/environments/${h.envA.environment_id}/backups`;
    for (let i = 0; i < 10; i++) expect((await h.call(h.ownerA, path, { method: 'POST', json: {} })).status).toBe(201);
    for (const body of [{}, { backup_type: 'scheduled' }]) {
      const refused = await h.call(h.ownerA, path, { method: 'POST', json: body });
      expect(refused.status).toBe(429);
      expect(await json(refused)).toMatchObject({ code: 'E_RATE_LIMITED' });
      expect(refused.headers.get('x-ratelimit-limit')).toBe('10');
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(refused.headers.get('x-ratelimit-reset')).toBe('3600');
      expect(refused.headers.get('retry-after')).toBe('3600');
    }
  });

  it('SSE: a client resuming with Last-Event-ID gets exactly what it missed, and leaves no subscriber behind', async () => {
    const first = await openEvents(h, h.ownerA);
    const path = `/backups/environments/${h.envA.environment_id}/backups`;
    const a = await json(await h.call(h.ownerA, path, { method: 'POST', json: {}, rateKey: 'sse' }));
    await first.until((m) => m.some((x) => x.data.includes(String(a.id)) && x.data.includes('"queued"')));
    const lastSeen = first.messages.at(-1)!.id!;
    await first.close();
    await h.sdk.backups.cancelBackup(String(a.id), null);
    const missed = h.bus['buffer' as never] as unknown as { id: string; event: { data: { organization_id?: string } } }[];
    const expected = missed
      .slice(missed.findIndex((d) => d.id === lastSeen) + 1)
      .filter((d) => d.event.data.organization_id === h.envA.organization_id);
    expect(expected.length).toBeGreaterThan(0);
    const second = await openEvents(h, h.ownerA, lastSeen);
    await second.until((m) => m.length >= expected.length);
    expect(second.messages.map((m) => m.id)).toEqual(expected.map((d) => d.id));
    await second.close();
    const stale = await openEvents(h, h.ownerA, 'not-an-id');
    await stale.until((m) => m.length >= 1);
    expect(stale.messages[0]!.event).toBe('stream.reset');
    await stale.close();
    await expect.poll(() => h.bus.subscriberCount).toBe(0);
  });

  it('refuses to build without an authorize hook unless allowEveryone', () => {
    const sdk = createBackupSdk({
      backups: new InMemoryBackupRepository(),
      tasks: h.sdk.ports.tasks,
      storageConfigs: h.sdk.ports.storageConfigs,
      policies: h.sdk.ports.policies,
      environments: h.sdk.ports.environments,
      queue: new InMemoryJobQueue(),
    });
    expect(() => createBackupApi({ sdk, authenticate: () => null })).toThrow(/authorize/);
    expect(typeof createBackupApi({ sdk, authenticate: () => null, allowEveryone: true })).toBe('function');
  });

  it('serves its OpenAPI document without authentication', async () => {
    const response = await h.call(null, '/openapi.json');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(openApiDocument('/api/v1'));
  });

  // Last: the tests above went through the document check (http-harness.ts); this makes sure they
  // reached every operation's success answers, so no response shape went unchecked.
  it("answered every operation's success statuses, each checked against the document", () => {
    const expected = Object.values(h.conformance.document.paths).flatMap((operations) =>
      Object.values(operations).flatMap((op) =>
        Object.keys(op.responses)
          .filter((status) => status.startsWith('2'))
          .map((status) => `${op.operationId} ${status}`),
      ),
    );
    const seen = new Set(h.conformance.seen.map((a) => `${a.operationId} ${a.status}`));
    expect(expected.filter((answer) => !seen.has(answer))).toEqual([]);
  });
});
