import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  createStorageProvider,
  NotFoundError,
  PermissionDeniedError,
  UnsupportedOperationError,
  ValidationError,
  type StorageProvider,
} from '../../../src/index.js';
import { FakeBackupSource } from '../../../src/testing/index.js';
import { alice, backupReaches, bob, makeHarness, policy, snapshotState, T0, type Harness } from './harness.js';

const LIST_FIELDS = [
  'backup_type',
  'completed_at',
  'compressed_size',
  'created_at',
  'database_size',
  'duration_seconds',
  'environment_id',
  'expires_at',
  'filestore_size',
  'id',
  'is_verified',
  'retention_type',
  'started_at',
  'status',
  'total_size',
].sort();

const DETAIL_FIELDS = [
  ...LIST_FIELDS,
  'storage_config_id',
  'task_id',
  'verified_at',
  'database_checksum',
  'filestore_checksum',
  'error_message',
].sort();

/** Creates and runs `n` backups one minute apart; returns their ids, oldest first. */
async function runBackups(h: Harness, n: number, type: 'manual' | 'scheduled' = 'scheduled'): Promise<string[]> {
  const worker = h.service.startWorker();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await h.service.createBackup(h.env.environment_id, { backup_type: type }, type === 'manual' ? alice : null)).id);
    await h.queue.idle();
    await h.clock.advance(60_000);
  }
  await worker.close();
  return ids;
}

async function failOne(h: Harness): Promise<string> {
  h.source.injectFault({ transient: false });
  const worker = h.service.startWorker();
  const id = (await h.service.createBackup(h.env.environment_id, { backup_type: 'manual' }, alice)).id;
  await h.queue.idle();
  await worker.close();
  await h.clock.advance(60_000);
  return id;
}

describe('listBackups', () => {
  it('returns the product envelope, newest first, with exactly the list fields', async () => {
    const h = await makeHarness();
    const ids = await runBackups(h, 5);
    const page = await h.service.listBackups(h.env.environment_id, { page: 1, page_size: 2 });
    expect(page.total).toBe(5);
    expect(page.page).toBe(1);
    expect(page.page_size).toBe(2);
    expect(page.pages).toBe(3);
    expect(page.items.map((i) => i.id)).toEqual([ids[4], ids[3]]);
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(LIST_FIELDS);
    const record = (await h.backups.get(ids[4]!))!;
    expect(page.items[0]).toEqual({
      id: record.id,
      environment_id: h.env.environment_id,
      status: 'completed',
      backup_type: 'scheduled',
      database_size: 40_000,
      filestore_size: 20_000,
      total_size: 60_000,
      compressed_size: record.compressed_size,
      started_at: record.created_at,
      completed_at: record.created_at,
      duration_seconds: 0,
      retention_type: 'daily',
      expires_at: new Date(Date.parse(record.created_at) + 7 * 86_400_000).toISOString(),
      is_verified: true,
      created_at: record.created_at,
    });
    const last = await h.service.listBackups(h.env.environment_id, { page: '3', page_size: '2' });
    expect(last.items.map((i) => i.id)).toEqual([ids[0]]);
    expect(last.page).toBe(3);
    const beyond = await h.service.listBackups(h.env.environment_id, { page: 9 });
    expect(beyond).toEqual({ items: [], total: 5, page: 9, page_size: 20, pages: 1 });
  });

  it('filters by status and backup_type', async () => {
    const h = await makeHarness();
    await runBackups(h, 2);
    const failed = await failOne(h);
    await runBackups(h, 1, 'manual');
    expect((await h.service.listBackups(h.env.environment_id, { status: 'failed' })).items.map((i) => i.id)).toEqual([failed]);
    expect((await h.service.listBackups(h.env.environment_id, { status: 'completed' })).total).toBe(3);
    expect((await h.service.listBackups(h.env.environment_id, { backup_type: 'manual' })).total).toBe(2);
    expect((await h.service.listBackups(h.env.environment_id, { backup_type: 'manual', status: 'completed' })).total).toBe(1);
  });

  it('answers an empty page for an environment without backups', async () => {
    const h = await makeHarness();
    expect(await h.service.listBackups(randomUUID())).toEqual({ items: [], total: 0, page: 1, page_size: 20, pages: 0 });
  });

  it.each([
    [{ page_size: 101 }, 'page_size'],
    [{ page_size: 0 }, 'page_size'],
    [{ page: 0 }, 'page'],
    [{ page: '2.5' }, 'page'],
    [{ status: 'done' }, 'status'],
    [{ backup_type: 'hourly' }, 'backup_type'],
  ])('refuses %o with a ValidationError', async (query, field) => {
    const h = await makeHarness();
    const error = await h.service.listBackups(h.env.environment_id, query as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.field)).toEqual([field]);
  });

  it('goes through the authorize hook with the list permission', async () => {
    const h = await makeHarness({ authorize: (req) => req.permission === 'project.backups.list' && req.actor?.id === alice.id });
    await expect(h.service.listBackups(h.env.environment_id, {}, alice)).resolves.toMatchObject({ total: 0 });
    await expect(h.service.listBackups(h.env.environment_id, {}, bob)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(h.service.getSummary(h.env.environment_id, bob)).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('getBackup', () => {
  it('returns exactly the detail fields, checksums of the source bytes included', async () => {
    const h = await makeHarness();
    const [id] = await runBackups(h, 1);
    const detail = await h.service.getBackup(id!);
    expect(Object.keys(detail).sort()).toEqual(DETAIL_FIELDS);
    const record = (await h.backups.get(id!))!;
    const sums = await h.source.expectedChecksums();
    expect(detail).toEqual({
      id: id,
      environment_id: h.env.environment_id,
      storage_config_id: h.config.id,
      task_id: record.task_id,
      status: 'completed',
      backup_type: 'scheduled',
      database_size: 40_000,
      filestore_size: 20_000,
      total_size: 60_000,
      compressed_size: record.compressed_size,
      started_at: T0,
      completed_at: T0,
      duration_seconds: 0,
      retention_type: 'daily',
      expires_at: '2026-03-17T10:00:00.000Z',
      is_verified: true,
      verified_at: T0,
      database_checksum: sums.dump,
      filestore_checksum: sums.filestore,
      error_message: null,
      created_at: T0,
    });
  });

  it('shows why a backup failed', async () => {
    const h = await makeHarness();
    const id = await failOne(h);
    const detail = await h.service.getBackup(id);
    expect(detail.status).toBe('failed');
    expect(detail.error_message).toMatch(/pg_dump/);
  });

  it('unknown id -> NotFoundError; empty id -> ValidationError; denied -> PermissionDeniedError', async () => {
    const h = await makeHarness({ authorize: (req) => req.actor?.id !== bob.id });
    const [id] = await runBackups(h, 1);
    await expect(h.service.getBackup(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.service.getBackup('')).rejects.toBeInstanceOf(ValidationError);
    const error = await h.service.getBackup(id!, bob).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).details).toMatchObject({
      permission: 'project.backups.view',
      backup_id: id,
      environment_id: h.env.environment_id,
    });
  });

  it('getTask returns the task record', async () => {
    const h = await makeHarness();
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    await expect(h.service.getTask(res.task_id)).resolves.toMatchObject({ id: res.task_id, status: 'queued', backup_id: res.id });
    await expect(h.service.getTask(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('deleteBackup', () => {
  it('marks the backup deleted and keeps the record and, without purge, the object (cleanup removes it)', async () => {
    const h = await makeHarness();
    const [id] = await runBackups(h, 1);
    const before = (await h.backups.get(id!))!;
    await h.service.deleteBackup(id!, {}, alice);
    const after = (await h.backups.get(id!))!;
    expect(after).toMatchObject({ status: 'deleted', database_key: before.database_key, write_by: alice.id });
    expect(h.storage.keys()).toEqual([before.database_key]);
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({ object_count: 1, total_size_bytes: before.compressed_size });
    expect(h.events.ofType('backup.status').at(-1)!.data).toMatchObject({ backup_id: id, status: 'deleted', previous_status: 'completed' });
    // Again: nothing changes.
    await h.service.deleteBackup(id!, {}, alice);
    expect((await h.backups.get(id!))!.status).toBe('deleted');
  });

  it('with purge removes the object at once, clears the key and lowers the usage counters', async () => {
    const h = await makeHarness();
    const [keep, purge] = await runBackups(h, 2);
    const keepRecord = (await h.backups.get(keep!))!;
    await h.service.deleteBackup(purge!, { purge: true });
    expect(await h.backups.get(purge!)).toMatchObject({ status: 'deleted', database_key: null });
    expect(h.storage.keys()).toEqual([keepRecord.database_key]);
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({ object_count: 1, total_size_bytes: keepRecord.compressed_size });
    // Purging later a backup deleted without purge works too, and only once.
    await h.service.deleteBackup(keep!);
    await h.service.deleteBackup(keep!, { purge: true });
    await h.service.deleteBackup(keep!, { purge: true });
    expect(h.storage.keys()).toEqual([]);
    expect(await h.storageConfigs.get(h.config.id)).toMatchObject({ object_count: 0, total_size_bytes: 0 });
  });

  it('deletes a failed backup without touching the usage counters', async () => {
    const h = await makeHarness();
    await runBackups(h, 1);
    const failed = await failOne(h);
    const usage = await h.storageConfigs.get(h.config.id);
    expect((await h.backups.get(failed))!.database_key).not.toBeNull();
    await h.service.deleteBackup(failed, { purge: true });
    // Nothing was stored for it: the key is cleared so cleanup has nothing to subtract either.
    expect(await h.backups.get(failed)).toMatchObject({ status: 'deleted', database_key: null });
    expect(await h.storageConfigs.get(h.config.id)).toEqual(usage);
  });

  it('refuses to delete a running backup, an unknown one, or without the delete permission, changing nothing', async () => {
    const source = new FakeBackupSource();
    source.injectFault({ mode: 'hang', afterBytes: 100 });
    const h = await makeHarness({ source, authorize: (req) => !(req.permission === 'project.backups.delete' && req.actor?.id === bob.id) });
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await backupReaches(h, res.id, 'in_progress');
    const before = await snapshotState(h);
    const running = await h.service.deleteBackup(res.id, {}, alice).catch((e: unknown) => e);
    expect(running).toBeInstanceOf(ConflictError);
    expect((running as ConflictError).code).toBe('E_INVALID_TRANSITION');
    await expect(h.service.deleteBackup(randomUUID(), {}, alice)).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.service.deleteBackup(res.id, {}, bob)).rejects.toMatchObject({
      code: 'E_PERMISSION_DENIED',
      details: { permission: 'project.backups.delete' },
    });
    expect(await snapshotState(h)).toEqual(before);
    h.queue.cancel(res.task_id);
    await h.queue.idle();
  });
});

describe('downloads', () => {
  /** A factory whose providers can sign URLs (like S3), over the memory provider. */
  const signing = (config: Parameters<typeof createStorageProvider>[0]): StorageProvider => {
    const inner = createStorageProvider(config);
    return Object.assign(Object.create(inner) as StorageProvider, {
      canPresign: true,
      presign: async (key: string, seconds: number) => `https://storage.example.com/${key}?X-Amz-Expires=${seconds}&X-Amz-Signature=abc`,
    });
  };

  it('getDownloadUrls returns the product shape with expires_in 3600 by default', async () => {
    const h = await makeHarness({ storageProviders: signing });
    const [id] = await runBackups(h, 1);
    const record = (await h.backups.get(id!))!;
    const urls = await h.service.getDownloadUrls(id!);
    expect(Object.keys(urls).sort()).toEqual(['backup_id', 'database_url', 'expires_at', 'expires_in', 'filestore_url', 'manifest_url']);
    expect(urls).toEqual({
      backup_id: id,
      database_url: `https://storage.example.com/${record.database_key}?X-Amz-Expires=3600&X-Amz-Signature=abc`,
      filestore_url: null,
      manifest_url: null,
      expires_in: 3600,
      expires_at: new Date(h.clock.now().getTime() + 3600_000).toISOString(),
    });
    const short = await h.service.getDownloadUrls(id!, '300');
    expect(short.expires_in).toBe(300);
    expect(short.database_url).toMatch(/X-Amz-Expires=300&/);
  });

  it.each([299, 86_401, 'soon', 1.5])('refuses expires_in=%s with a ValidationError', async (value) => {
    const h = await makeHarness({ storageProviders: signing });
    const [id] = await runBackups(h, 1);
    const error = await h.service.getDownloadUrls(id!, value as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]!.field).toBe('expires_in');
  });

  it('providers that cannot sign answer E_UNSUPPORTED; openDownload streams the ZIP instead', async () => {
    const h = await makeHarness();
    const [id] = await runBackups(h, 1);
    const record = (await h.backups.get(id!))!;
    const error = await h.service.getDownloadUrls(id!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedOperationError);
    expect((error as UnsupportedOperationError).code).toBe('E_UNSUPPORTED');

    const download = await h.service.openDownload(id!);
    expect(download).toMatchObject({ backup_id: id, filename: `${id}.zip`, content_type: 'application/zip', size: record.compressed_size });
    const chunks: Buffer[] = [];
    for await (const chunk of download.stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const stored: Buffer[] = [];
    for await (const chunk of await h.storage.download(record.database_key!)) stored.push(chunk as Buffer);
    expect(bytes.equals(Buffer.concat(stored))).toBe(true);
    expect(bytes.length).toBe(record.compressed_size);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');

    const range = await h.service.openDownload(id!, { range: { start: 0, end: 3 } });
    const head: Buffer[] = [];
    for await (const chunk of range.stream) head.push(chunk as Buffer);
    expect(Buffer.concat(head)).toEqual(bytes.subarray(0, 4));
  });

  it('only completed backups can be downloaded', async () => {
    const h = await makeHarness({ storageProviders: signing });
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    for (const call of [() => h.service.getDownloadUrls(res.id), () => h.service.openDownload(res.id)]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).code).toBe('E_BACKUP_NOT_DOWNLOADABLE');
    }
    await expect(h.service.openDownload(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('getSummary', () => {
  it('returns every field of the product summary', async () => {
    const h = await makeHarness();
    const first = T0;
    const [a, b] = await runBackups(h, 2);
    const failed = await failOne(h);
    const deleted = (await runBackups(h, 1))[0]!;
    await h.service.deleteBackup(deleted);
    const pending = await h.service.createBackup(h.env.environment_id, {}, alice);
    await h.policies.create(policy({ environment_id: h.env.environment_id, next_backup_at: '2026-03-11T02:00:00.000Z' }));

    const records = await Promise.all([a, b].map(async (id) => (await h.backups.get(id!))!));
    const summary = await h.service.getSummary(h.env.environment_id);
    expect(Object.keys(summary).sort()).toEqual(
      [
        'environment_id',
        'total_backups',
        'completed_backups',
        'failed_backups',
        'total_size_bytes',
        'oldest_backup_at',
        'newest_backup_at',
        'last_successful_backup_at',
        'policy_enabled',
        'next_scheduled_backup',
      ].sort(),
    );
    expect(summary).toEqual({
      environment_id: h.env.environment_id,
      total_backups: 4, // a, b, failed, pending (the deleted one no longer counts)
      completed_backups: 2,
      failed_backups: 1,
      total_size_bytes: records[0]!.compressed_size + records[1]!.compressed_size,
      oldest_backup_at: first,
      newest_backup_at: (await h.backups.get(pending.id))!.created_at,
      last_successful_backup_at: records[1]!.created_at,
      policy_enabled: true,
      next_scheduled_backup: '2026-03-11T02:00:00.000Z',
    });
    expect(failed).toBeDefined();
  });

  it('answers zeros and nulls for an environment without backups or policy; a disabled policy schedules nothing', async () => {
    const h = await makeHarness();
    expect(await h.service.getSummary(h.env.environment_id)).toEqual({
      environment_id: h.env.environment_id,
      total_backups: 0,
      completed_backups: 0,
      failed_backups: 0,
      total_size_bytes: 0,
      oldest_backup_at: null,
      newest_backup_at: null,
      last_successful_backup_at: null,
      policy_enabled: false,
      next_scheduled_backup: null,
    });
    await h.policies.create(policy({ environment_id: h.env.environment_id, is_enabled: false }));
    expect(await h.service.getSummary(h.env.environment_id)).toMatchObject({ policy_enabled: false, next_scheduled_backup: null });
  });
});
