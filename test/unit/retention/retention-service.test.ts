// RetentionService against the in-memory repositories, with the memory provider and the local
// provider on real files.
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createStorageProvider,
  QuotaExceededError,
  RetentionService,
  type Backup,
  type BackupRepository,
  type RetentionSettings,
  type StorageConfig,
  type StorageProvider,
} from '../../../src/index.js';
import { backupStorageKey } from '../../../src/domain/storage-keys.js';
import {
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  MemoryEventSink,
} from '../../../src/testing/index.js';
import { policy, storageConfig } from './fixtures.js';
import { scheduled } from './plan-helpers.js';

interface World {
  backups: InMemoryBackupRepository;
  policies: InMemoryBackupPolicyRepository;
  configs: InMemoryStorageConfigRepository;
  events: MemoryEventSink;
  clock: FakeClock;
  config: StorageConfig;
  /** A provider on the same storage, to look at what is stored. */
  store: StorageProvider;
  service: (backups?: BackupRepository) => RetentionService;
}

let n = 0;

async function world(kind: 'memory' | 'local', root?: string): Promise<World> {
  const clock = new FakeClock('2026-03-20T03:00:00Z');
  const backups = new InMemoryBackupRepository(clock);
  const policies = new InMemoryBackupPolicyRepository(clock);
  const configs = new InMemoryStorageConfigRepository(clock);
  const events = new MemoryEventSink();
  const config = await configs.create(
    storageConfig({
      id: `sc-${kind}-${++n}`,
      provider: kind,
      settings: kind === 'local' ? { root: root! } : { namespace: `retention-test-${n}` },
    }),
  );
  const store = createStorageProvider(config);
  return {
    backups,
    policies,
    configs,
    events,
    clock,
    config,
    store,
    service: (repo = backups) => new RetentionService({ backups: repo, policies, storageConfigs: configs, clock, events }),
  };
}

/** A completed backup whose ZIP is really stored and counted, as the pipeline leaves it. */
async function stored(
  w: World,
  at: string,
  environment_id: string,
  settings: RetentionSettings,
  overrides: Partial<Backup> = {},
): Promise<Backup> {
  const id = overrides.id ?? `${environment_id}-${at.slice(0, 10)}`;
  const key = backupStorageKey({ organization_id: 'org-1', project_id: 'proj-1', environment_id, backup_id: id });
  const body = Buffer.alloc(100 + (n++ % 50), 7);
  await w.store.upload(key, Readable.from([body]));
  await w.configs.adjustUsage(w.config.id, { bytes: body.length, objects: 1 });
  return w.backups.create(
    scheduled(at, settings, {
      id,
      environment_id,
      storage_config_id: w.config.id,
      database_key: key,
      compressed_size: body.length,
      ...overrides,
    }),
  );
}

async function exists(w: World, key: string): Promise<boolean> {
  return (await w.store.head(key)).exists;
}

const UTC: RetentionSettings = {
  daily_retention: 7,
  weekly_retention: 4,
  monthly_retention: 12,
  yearly_retention: 2,
  weekly_backup_day: 6,
  timezone: 'UTC',
};

/** Two environments: env-a has a Brussels policy with 3 dailies; env-b has none (default settings). */
async function season(w: World) {
  const brussels: RetentionSettings = { ...UTC, daily_retention: 3, timezone: 'Europe/Brussels' };
  await w.policies.create(policy({ environment_id: 'env-a', ...brussels }));
  const made: Backup[] = [];
  // env-a: Jan 1 and Mar 1 (context), then Mon 9 .. Thu 19 March, its Sunday the 15th failing.
  for (const at of ['2026-01-01T01:00:00Z', '2026-03-01T01:00:00Z']) made.push(await stored(w, at, 'env-a', brussels));
  for (let d = 9; d <= 19; d++)
    if (d !== 15) made.push(await stored(w, `2026-03-${String(d).padStart(2, '0')}T01:00:00Z`, 'env-a', brussels));
  // env-b: Mar 10 .. 19 every day, with its Jan 1, Mar 1 and Sunday Mar 8 (and Sunday 15 among the days).
  for (const at of ['2026-01-01T02:00:00Z', '2026-03-01T02:00:00Z', '2026-03-08T02:00:00Z']) made.push(await stored(w, at, 'env-b', UTC));
  for (let d = 10; d <= 19; d++) made.push(await stored(w, `2026-03-${String(d).padStart(2, '0')}T02:00:00Z`, 'env-b', UTC));
  return made;
}

describe('RetentionService.runCleanup', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'obsdk-retention-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const kind of ['memory', 'local'] as const) {
    it(`runs the three steps for every environment (${kind} storage)`, async () => {
      const w = await world(kind, root);
      const made = await season(w);
      const before = (await w.configs.get(w.config.id))!;
      expect(before.object_count).toBe(made.length);

      const result = await w.service().runCleanup(new Date('2026-03-20T03:00:00Z'));

      // env-a (3 days of dailies, Brussels): dailies older than 3 days expire. The week Sun 8..Sat 14
      // has no weekly but nothing unexpired left to promote; the week Sun 15..Sat 21 (its Sunday
      // failed) promotes its earliest unexpired daily: Wed 18 (Mon 16 and Tue 17 expired already).
      const a = await w.backups.find({ environment_id: 'env-a' });
      const byDay = (list: Backup[]) => Object.fromEntries(list.map((b) => [b.created_at.slice(5, 10), `${b.status}/${b.retention_type}`]));
      expect(byDay(a)).toEqual({
        '03-19': 'completed/daily',
        '03-18': 'completed/weekly',
        '03-17': 'expired/daily',
        '03-16': 'expired/daily',
        '03-14': 'expired/daily',
        '03-13': 'expired/daily',
        '03-12': 'expired/daily',
        '03-11': 'expired/daily',
        '03-10': 'expired/daily',
        '03-09': 'expired/daily',
        '03-01': 'completed/monthly',
        '01-01': 'completed/yearly',
      });
      expect(a.find((b) => b.created_at.startsWith('2026-03-18'))!.expires_at).toBe('2026-04-15T01:00:00.000Z');
      // env-b (default settings): dailies created more than 7 days before now expired: 10 .. 13 (Sun 15 is weekly).
      const b = await w.backups.find({ environment_id: 'env-b' });
      expect(b.filter((x) => x.status === 'expired').map((x) => x.created_at.slice(5, 10))).toEqual(['03-13', '03-12', '03-11', '03-10']);

      const expired = [...a, ...b].filter((x) => x.status === 'expired');
      expect(result).toEqual({ expired: 12, deleted_storage: 12, promoted: 1, errors: [] });
      // Objects gone, keys cleared, counters down by exactly their bytes.
      for (const x of expired) {
        expect(x.database_key).toBeNull();
        const original = made.find((m) => m.id === x.id)!;
        expect(await exists(w, original.database_key!)).toBe(false);
      }
      for (const x of [...a, ...b].filter((y) => y.status === 'completed')) expect(await exists(w, x.database_key!)).toBe(true);
      const after = (await w.configs.get(w.config.id))!;
      expect(after.object_count).toBe(made.length - 12);
      expect(after.total_size_bytes).toBe(before.total_size_bytes - expired.reduce((s, x) => s + x.compressed_size, 0));
      if (kind === 'local') {
        const original = made.find((m) => m.id === expired[0]!.id)!;
        expect(existsSync(join(root, ...original.database_key!.split('/')))).toBe(false);
      }

      // Events: one backup.status and one retention.expired per expiry, one promotion, a summary.
      expect(w.events.ofType('backup.status').map((e) => e.data.status)).toEqual(new Array(12).fill('expired'));
      const types = w.events.events.map((e) => e.type);
      expect(types.filter((t) => t === 'retention.expired')).toHaveLength(12);
      expect(types.filter((t) => t === 'retention.storage_deleted')).toHaveLength(12);
      expect(w.events.events.find((e) => e.type === 'retention.promoted')!.data).toMatchObject({
        environment_id: 'env-a',
        from: 'daily',
        to: 'weekly',
      });
      expect(w.events.events.at(-1)).toMatchObject({
        type: 'retention.cleanup_completed',
        data: { expired: 12, deleted_storage: 12, promoted: 1, errors: 0 },
      });

      // Running again changes nothing.
      expect(await w.service().runCleanup(new Date('2026-03-20T03:00:00Z'))).toEqual({
        expired: 0,
        deleted_storage: 0,
        promoted: 0,
        errors: [],
      });
      expect((await w.configs.get(w.config.id))!.object_count).toBe(made.length - 12);
    });
  }

  it('with environment_id, cleans up that environment only', async () => {
    const w = await world('memory');
    await season(w);
    const result = await w.service().runCleanup(new Date('2026-03-20T03:00:00Z'), { environment_id: 'env-b' });
    expect(result).toEqual({ expired: 4, deleted_storage: 4, promoted: 0, errors: [] });
    expect((await w.backups.find({ environment_id: 'env-a' })).every((b) => b.status === 'completed' && b.database_key !== null)).toBe(
      true,
    );
    expect(await w.service().runCleanup(new Date('2026-03-20T03:00:00Z'), { environment_id: 'env-a' })).toMatchObject({
      expired: 8,
      deleted_storage: 8,
      promoted: 1,
    });
  });

  it('removes the objects of deleted backups; one that never completed was never counted', async () => {
    const w = await world('memory');
    const done = await stored(w, '2026-03-19T02:00:00Z', 'env-a', UTC, { retention_type: 'permanent', expires_at: null });
    const deleted = await stored(w, '2026-03-18T02:00:00Z', 'env-a', UTC, { status: 'deleted' });
    // A backup deleted while pending: its key was set but its object never counted in the usage.
    const neverDone = await stored(w, '2026-03-17T02:00:00Z', 'env-a', UTC, { status: 'deleted', completed_at: null });
    await w.configs.adjustUsage(w.config.id, { bytes: -neverDone.compressed_size, objects: -1 });
    const before = (await w.configs.get(w.config.id))!;

    const result = await w.service().runCleanup();
    expect(result).toEqual({ expired: 0, deleted_storage: 2, promoted: 0, errors: [] });
    expect(await exists(w, deleted.database_key!)).toBe(false);
    expect(await exists(w, neverDone.database_key!)).toBe(false);
    expect(await exists(w, done.database_key!)).toBe(true);
    expect(await w.backups.get(deleted.id)).toMatchObject({ status: 'deleted', database_key: null });
    const after = (await w.configs.get(w.config.id))!;
    expect(after).toMatchObject({
      object_count: before.object_count - 1,
      total_size_bytes: before.total_size_bytes - deleted.compressed_size,
    });
  });

  it('counts an object that is already missing as deleted', async () => {
    const w = await world('local', root);
    const gone = await stored(w, '2026-03-01T02:00:00Z', 'env-a', UTC, { status: 'expired' });
    await w.store.delete(gone.database_key!);
    const result = await w.service().runCleanup();
    expect(result).toEqual({ expired: 0, deleted_storage: 1, promoted: 0, errors: [] });
    expect((await w.backups.get(gone.id))!.database_key).toBeNull();
    expect((await w.configs.get(w.config.id))!.object_count).toBe(0);
  });

  it('leaves the record as it was when the provider fails, reports it, and the next run retries', async () => {
    const w = await world('local', root);
    const b = await stored(w, '2026-03-01T02:00:00Z', 'env-a', UTC, { status: 'expired' });
    // A real failure of the local provider: the object's folder is now a symbolic link (to the
    // same files), which the provider refuses to follow out of its root.
    const folder = dirname(join(root, ...b.database_key!.split('/')));
    await rename(folder, `${folder}.moved`);
    await symlink(`${folder}.moved`, folder);
    const before = (await w.configs.get(w.config.id))!;

    const result = await w.service().runCleanup();
    expect(result.deleted_storage).toBe(0);
    expect(result.errors).toEqual([
      {
        step: 'delete_storage',
        environment_id: 'env-a',
        backup_id: b.id,
        code: expect.stringMatching(/^E_STORAGE/),
        message: expect.stringContaining(b.database_key!),
        transient: false,
      },
    ]);
    expect((await w.backups.get(b.id))!.database_key).toBe(b.database_key);
    expect(await w.configs.get(w.config.id)).toEqual(before);
    expect(w.events.ofType('retention.error' as never)).toHaveLength(1);

    await rm(folder);
    await rename(`${folder}.moved`, folder);
    expect(await w.service().runCleanup()).toEqual({ expired: 0, deleted_storage: 1, promoted: 0, errors: [] });
    expect((await w.configs.get(w.config.id))!.object_count).toBe(before.object_count - 1);
  });

  it('reports a backup whose storage config is gone, and goes on with the others', async () => {
    const w = await world('memory');
    const orphan = await w.backups.create(
      scheduled('2026-03-01T02:00:00Z', UTC, {
        id: 'orphan',
        status: 'expired',
        storage_config_id: 'sc-gone',
        database_key: 'k/orphan.zip',
      }),
    );
    const fine = await stored(w, '2026-03-02T02:00:00Z', 'env-a', UTC, { status: 'deleted' });
    const result = await w.service().runCleanup();
    expect(result.deleted_storage).toBe(1);
    expect(result.errors).toEqual([expect.objectContaining({ step: 'delete_storage', backup_id: orphan.id, code: 'E_NOT_FOUND' })]);
    expect((await w.backups.get(fine.id))!.database_key).toBeNull();
    expect((await w.backups.get(orphan.id))!.database_key).toBe('k/orphan.zip');
  });

  it('never expires the newest completed backup, nor a permanent one', async () => {
    const w = await world('memory');
    const old = await stored(w, '2026-01-05T02:00:00Z', 'env-a', UTC, { retention_type: 'permanent', expires_at: null });
    const last = await stored(w, '2026-02-03T02:00:00Z', 'env-a', UTC); // a daily, expired on Feb 10
    const result = await w.service().runCleanup();
    expect(result.expired).toBe(0);
    expect((await w.backups.get(old.id))!.status).toBe('completed');
    expect((await w.backups.get(last.id))!.status).toBe('completed');
  });

  it('uses the clock when no time is given', async () => {
    const w = await world('memory');
    const noPromotion = { weekly_retention: 0, monthly_retention: 0, yearly_retention: 0 };
    await w.policies.create(policy({ environment_id: 'env-a', ...noPromotion }));
    const b = await stored(w, '2026-03-21T02:00:00Z', 'env-a', { ...UTC, ...noPromotion });
    await stored(w, '2026-03-29T02:00:00Z', 'env-a', { ...UTC, ...noPromotion });
    await w.clock.set('2026-03-28T02:00:00Z');
    expect((await w.service().runCleanup()).expired).toBe(0);
    await w.clock.set('2026-03-28T02:00:00.001Z');
    expect((await w.service().runCleanup()).expired).toBe(1);
    expect((await w.backups.get(b.id))!.status).toBe('expired');
  });
});

describe('RetentionService under concurrency', () => {
  /** Makes every reading call wait until the other instance has made the same call. */
  function lockstep(repo: BackupRepository): [BackupRepository, BackupRepository] {
    const waiting = new Map<string, (() => void)[]>();
    const meet = (name: string) =>
      new Promise<void>((resolve) => {
        const list = waiting.get(name) ?? [];
        list.push(resolve);
        waiting.set(name, list);
        if (list.length === 2) {
          waiting.delete(name);
          for (const r of list) r();
        }
        // A guard only: never hang the suite if the two sequences diverged.
        setTimeout(resolve, 2000).unref();
      });
    const wrap = (): BackupRepository => ({
      create: (b) => repo.create(b),
      get: (id) => repo.get(id),
      update: (id, patch, where) => repo.update(id, patch, where),
      list: (f, p) => repo.list(f, p),
      sumCompressedSize: (f) => repo.sumCompressedSize(f),
      find: async (f) => {
        await meet(`find ${JSON.stringify(f)}`);
        return repo.find(f);
      },
      listEnvironmentIds: async (f) => {
        await meet('listEnvironmentIds');
        return repo.listEnvironmentIds(f);
      },
    });
    return [wrap(), wrap()];
  }

  it('two cleanups at once: each change happens once, counters drop once, nothing is lost', async () => {
    const w = await world('memory');
    const made = await season(w);
    const before = (await w.configs.get(w.config.id))!;
    const [repo1, repo2] = lockstep(w.backups);
    const now = new Date('2026-03-20T03:00:00Z');

    const [r1, r2] = await Promise.all([w.service(repo1).runCleanup(now), w.service(repo2).runCleanup(now)]);

    // Both read the same state, both tried everything: together they did each thing exactly once.
    expect(r1.errors).toEqual([]);
    expect(r2.errors).toEqual([]);
    expect(r1.expired + r2.expired).toBe(12);
    expect(r1.deleted_storage + r2.deleted_storage).toBe(12);
    expect(r1.promoted + r2.promoted).toBe(1);
    const all = await w.backups.find({});
    const expired = all.filter((b) => b.status === 'expired');
    expect(expired).toHaveLength(12);
    const after = (await w.configs.get(w.config.id))!;
    expect(after.object_count).toBe(made.length - 12);
    expect(after.total_size_bytes).toBe(before.total_size_bytes - expired.reduce((s, b) => s + b.compressed_size, 0));
    expect(w.events.events.filter((e) => e.type === 'retention.storage_deleted')).toHaveLength(12);
  });

  it("does not overwrite a user's change made between planning and writing", async () => {
    const w = await world('memory');
    await season(w);
    // While cleanup plans, a user deletes one backup about to expire and makes the one about to
    // be promoted permanent.
    const victim = 'env-b-2026-03-10';
    const keeper = 'env-a-2026-03-18';
    const racing: BackupRepository = Object.assign(Object.create(w.backups) as BackupRepository, {
      find: async (f: Parameters<BackupRepository['find']>[0]) => {
        const result = await w.backups.find(f);
        if (f.environment_id === 'env-a') await w.backups.update(keeper, { retention_type: 'permanent', expires_at: null });
        if (f.environment_id === 'env-b') await w.backups.update(victim, { status: 'deleted' });
        return result;
      },
    });
    const result = await w.service(racing).runCleanup(new Date('2026-03-20T03:00:00Z'));
    expect(result.errors).toEqual([]);
    expect(result.expired).toBe(11);
    expect(result.promoted).toBe(0);
    expect(await w.backups.get(keeper)).toMatchObject({ status: 'completed', retention_type: 'permanent', expires_at: null });
    // Still deleted (not turned into expired), and its object removed as a deleted backup's.
    expect(await w.backups.get(victim)).toMatchObject({ status: 'deleted', database_key: null });
    expect(result.deleted_storage).toBe(12);
  });
});

describe('RetentionService quota', () => {
  it('usage() is the quota query against the host limit; assertWithinQuota refuses when over', async () => {
    const backups = new InMemoryBackupRepository();
    const configs = new InMemoryStorageConfigRepository();
    await backups.create(scheduled('2026-03-01T02:00:00Z', UTC, { id: 'a', compressed_size: 700 }));
    await backups.create(scheduled('2026-03-02T02:00:00Z', UTC, { id: 'b', compressed_size: 300, status: 'expired' }));
    await backups.create(scheduled('2026-03-03T02:00:00Z', UTC, { id: 'c', compressed_size: 200, status: 'in_progress' }));
    const service = (limit: number | null) => new RetentionService({ backups, storageConfigs: configs, quota: () => limit });
    expect(await service(1000).usage('org-1')).toEqual({
      organization_id: 'org-1',
      used_bytes: 900,
      limit_bytes: 1000,
      exceeded: false,
      copy_bytes: 0,
    });
    await expect(service(1000).assertWithinQuota('org-1')).resolves.toMatchObject({ used_bytes: 900 });
    await expect(service(900).assertWithinQuota('org-1')).rejects.toThrow(QuotaExceededError);
    await expect(service(null).assertWithinQuota('org-1')).resolves.toMatchObject({ limit_bytes: null, exceeded: false });
    expect(await new RetentionService({ backups, storageConfigs: configs }).usage('org-1')).toMatchObject({
      used_bytes: 900,
      limit_bytes: null,
    });
  });

  it('usage() asks project.backups.list on the organisation and refuses when the hook says no', async () => {
    const asked: unknown[] = [];
    const service = new RetentionService({
      backups: new InMemoryBackupRepository(),
      storageConfigs: new InMemoryStorageConfigRepository(),
      authorize: (request) => (asked.push(request), request.actor?.id === 'u1'),
    });
    await expect(service.usage('org-1', { id: 'u1' })).resolves.toMatchObject({ organization_id: 'org-1', used_bytes: 0 });
    await expect(service.usage('org-1', { id: 'u2' })).rejects.toMatchObject({ code: 'E_PERMISSION_DENIED' });
    expect(asked[0]).toEqual({ actor: { id: 'u1' }, permission: 'project.backups.list', organization_id: 'org-1' });
  });
});
