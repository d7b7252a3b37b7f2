import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Backup } from '../../domain/entities.js';
import type { BackupRepository } from '../../ports/repositories.js';
import { allHaveCode, race, rejectsWithCode } from './assertions.js';
import { registerChecks, type ContractCheck } from './contract-check.js';
import { makeBackup, SAMPLE_RECORD_TIME } from './sample-records.js';

/** Returns the repository under test; a fresh (empty) store per call is best, a shared one works too. */
export type BackupRepositoryFactory = () => BackupRepository | Promise<BackupRepository>;

/** `2026-01-01T00:0i:00.000Z`: distinct, increasing creation times. */
const minute = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();

/**
 * The {@link BackupRepository} contract as named checks: round trips, copies in and out,
 * compare-and-set (one winner among concurrent writers, a conflict changes nothing), paging
 * newest first with a total, every filter, and the quota sum.
 */
export function backupRepositoryChecks(factory: BackupRepositoryFactory): ContractCheck[] {
  const check = (name: string, fn: (repo: BackupRepository) => Promise<void>): ContractCheck => ({
    name,
    run: async () => fn(await factory()),
  });
  /** Backups of one fresh environment, created in shuffled order with increasing `created_at`. */
  const seed = async (repo: BackupRepository, count: number, each: (i: number) => Partial<Backup> = () => ({})) => {
    const environment_id = randomUUID();
    const organization_id = randomUUID();
    const backups = Array.from({ length: count }, (_, i) =>
      makeBackup({ environment_id, organization_id, created_at: minute(i), updated_at: minute(i), ...each(i) }),
    );
    const order = backups.map((_, i) => i).sort((a, b) => ((a * 7 + 3) % count) - ((b * 7 + 3) % count));
    for (const i of order) await repo.create(backups[i]!);
    return { environment_id, organization_id, backups };
  };
  const ids = (list: Backup[]) => list.map((b) => b.id);

  return [
    check('create then get returns the same record, every field included', async (repo) => {
      const backup = makeBackup({ error_details: { exit_code: 1, stderr_tail: ['a', 'b'] }, expires_at: '2026-03-01T00:00:00.000Z' });
      const created = await repo.create(backup);
      assert.deepEqual(created, backup);
      assert.deepEqual(await repo.get(backup.id), backup);
    }),
    check('get of an unknown id is null', async (repo) => {
      assert.equal(await repo.get(randomUUID()), null);
    }),
    check('create with an existing id fails with E_CONFLICT and keeps the first record', async (repo) => {
      const first = makeBackup();
      await repo.create(first);
      await rejectsWithCode(() => repo.create({ ...first, status: 'failed' }), 'E_CONFLICT');
      assert.deepEqual(await repo.get(first.id), first);
    }),
    check('records are copies: mutating an input or a returned record does not change the store', async (repo) => {
      const backup = makeBackup();
      const created = await repo.create(backup);
      backup.status = 'deleted';
      created.status = 'deleted';
      const got = (await repo.get(backup.id))!;
      got.environment_snapshot!.environment.name = 'mutated';
      const listed = (await repo.list({ environment_id: backup.environment_id }, { offset: 0, limit: 10 })).items[0]!;
      listed.compressed_size = -1;
      const found = (await repo.find({ environment_id: backup.environment_id }))[0]!;
      found.database_key = 'mutated';
      const updated = await repo.update(backup.id, { is_verified: false });
      updated.status = 'deleted';
      const stored = (await repo.get(backup.id))!;
      assert.equal(stored.status, 'completed');
      assert.equal(stored.environment_snapshot!.environment.name, 'Production');
      assert.equal(stored.compressed_size, 700);
      assert.notEqual(stored.database_key, 'mutated');
    }),
    check('update applies the patch, keeps other fields, moves updated_at and returns the new record', async (repo) => {
      const backup = await repo.create(makeBackup({ status: 'pending', completed_at: null }));
      const updated = await repo.update(backup.id, { status: 'in_progress', started_at: '2026-01-02T03:04:05.000Z' });
      assert.equal(updated.status, 'in_progress');
      assert.equal(updated.started_at, '2026-01-02T03:04:05.000Z');
      assert.equal(updated.compressed_size, backup.compressed_size);
      assert.deepEqual(updated.environment_snapshot, backup.environment_snapshot);
      assert.notEqual(updated.updated_at, SAMPLE_RECORD_TIME, 'updated_at must move when the patch does not set it');
      assert.deepEqual(await repo.get(backup.id), updated);
      const explicit = await repo.update(backup.id, { updated_at: '2026-05-05T05:05:05.000Z' });
      assert.equal(explicit.updated_at, '2026-05-05T05:05:05.000Z');
    }),
    check('update can set a field to null and store nested JSON', async (repo) => {
      const backup = await repo.create(makeBackup());
      await repo.update(backup.id, { expires_at: null, error_details: { phase: 'dump', lines: ['x'] }, error_message: 'pg_dump failed' });
      const got = (await repo.get(backup.id))!;
      assert.equal(got.expires_at, null);
      assert.deepEqual(got.error_details, { phase: 'dump', lines: ['x'] });
      assert.equal(got.error_message, 'pg_dump failed');
    }),
    check('update of an unknown id fails with E_NOT_FOUND', async (repo) => {
      await rejectsWithCode(() => repo.update(randomUUID(), { status: 'failed' }), 'E_NOT_FOUND');
      await rejectsWithCode(() => repo.update(randomUUID(), { status: 'failed' }, { status: 'pending' }), 'E_NOT_FOUND');
    }),
    check('compare-and-set applies when every where field matches (null included)', async (repo) => {
      const backup = await repo.create(makeBackup({ status: 'pending', completed_at: null, started_at: null }));
      const moved = await repo.update(backup.id, { status: 'in_progress', started_at: minute(1) }, { status: 'pending', started_at: null });
      assert.equal(moved.status, 'in_progress');
      const done = await repo.update(
        backup.id,
        { status: 'uploading' },
        { status: 'in_progress', started_at: minute(1), completed_at: null },
      );
      assert.equal(done.status, 'uploading');
    }),
    check('a compare-and-set whose where does not match fails with E_CONFLICT and changes nothing', async (repo) => {
      const backup = await repo.create(makeBackup({ status: 'completed' }));
      await rejectsWithCode(
        () => repo.update(backup.id, { status: 'in_progress', error_message: 'x' }, { status: 'pending' }),
        'E_CONFLICT',
      );
      await rejectsWithCode(
        () => repo.update(backup.id, { status: 'expired' }, { status: 'completed', expires_at: minute(5) }),
        'E_CONFLICT',
      );
      await rejectsWithCode(() => repo.update(backup.id, { status: 'expired' }, { completed_at: null }), 'E_CONFLICT');
      assert.deepEqual(await repo.get(backup.id), backup);
    }),
    check('compare-and-set compares whole values: an object in where must equal the stored one, not be part of it', async (repo) => {
      const backup = await repo.create(makeBackup({ error_details: { phase: 'dump', exit_code: 1 } }));
      await rejectsWithCode(() => repo.update(backup.id, { status: 'deleted' }, { error_details: { phase: 'dump' } }), 'E_CONFLICT');
      const moved = await repo.update(backup.id, { status: 'deleted' }, { error_details: { exit_code: 1, phase: 'dump' } });
      assert.equal(moved.status, 'deleted');
    }),
    check('a patch field that is undefined leaves the stored value alone', async (repo) => {
      const backup = await repo.create(makeBackup({ error_message: 'kept' }));
      const updated = await repo.update(backup.id, { error_message: undefined, is_verified: false });
      assert.equal(updated.error_message, 'kept');
      assert.equal((await repo.get(backup.id))!.error_message, 'kept');
    }),
    check('of concurrent compare-and-set status moves exactly one wins', async (repo) => {
      for (let round = 0; round < 5; round++) {
        const backup = await repo.create(makeBackup({ status: 'pending', started_at: null }));
        const outcome = await race(6, (i) =>
          repo.update(backup.id, { status: 'in_progress', started_at: minute(i + 1) }, { status: 'pending' }),
        );
        assert.equal(outcome.fulfilled.length, 1, `round ${round}: ${outcome.fulfilled.length} writers won`);
        allHaveCode(
          outcome.rejected.map((r) => r.reason),
          'E_CONFLICT',
        );
        const stored = (await repo.get(backup.id))!;
        assert.equal(stored.started_at, minute(outcome.fulfilled[0]!.i + 1));
      }
    }),
    check('list pages newest first (created_at, then id, descending) with the total count', async (repo) => {
      const { environment_id, backups } = await seed(repo, 7);
      const newest = [...backups].reverse();
      const page1 = await repo.list({ environment_id }, { offset: 0, limit: 3 });
      const page2 = await repo.list({ environment_id }, { offset: 3, limit: 3 });
      const page3 = await repo.list({ environment_id }, { offset: 6, limit: 3 });
      assert.deepEqual(ids(page1.items), ids(newest.slice(0, 3)));
      assert.deepEqual(ids(page2.items), ids(newest.slice(3, 6)));
      assert.deepEqual(ids(page3.items), ids(newest.slice(6)));
      assert.deepEqual([page1.total, page2.total, page3.total], [7, 7, 7]);
      assert.deepEqual(await repo.list({ environment_id }, { offset: 20, limit: 5 }), { items: [], total: 7 });
      assert.deepEqual(await repo.list({ environment_id: randomUUID() }, { offset: 0, limit: 5 }), { items: [], total: 0 });
      const tie = makeBackup({ environment_id, created_at: minute(10), id: 'ffffffff-0000-4000-8000-000000000001' });
      const tie2 = makeBackup({ environment_id, created_at: minute(10), id: 'ffffffff-0000-4000-8000-000000000002' });
      await repo.create(tie);
      await repo.create(tie2);
      assert.deepEqual(ids((await repo.list({ environment_id }, { offset: 0, limit: 2 })).items), [tie2.id, tie.id]);
    }),
    check('filters by environment, organisation, storage config, type and status (one or several)', async (repo) => {
      const storage = randomUUID();
      const { environment_id, organization_id, backups } = await seed(repo, 6, (i) => ({
        status: (['completed', 'failed', 'expired', 'completed', 'deleted', 'pending'] as const)[i],
        backup_type: i % 2 === 0 ? 'scheduled' : 'manual',
        storage_config_id: i < 3 ? storage : null,
      }));
      const other = await repo.create(makeBackup({ organization_id, status: 'completed' }));
      const sorted = (list: Backup[]) => ids(list).sort();
      const pick = (...is: number[]) => is.map((i) => backups[i]!.id).sort();
      assert.deepEqual(sorted(await repo.find({ environment_id })), pick(0, 1, 2, 3, 4, 5));
      assert.deepEqual(sorted(await repo.find({ organization_id })), [...pick(0, 1, 2, 3, 4, 5), other.id].sort());
      assert.deepEqual(sorted(await repo.find({ environment_id, status: 'completed' })), pick(0, 3));
      assert.deepEqual(sorted(await repo.find({ environment_id, status: ['failed', 'expired', 'deleted'] })), pick(1, 2, 4));
      assert.deepEqual(sorted(await repo.find({ environment_id, status: [] })), []);
      assert.deepEqual(sorted(await repo.find({ environment_id, backup_type: 'scheduled' })), pick(0, 2, 4));
      assert.deepEqual(sorted(await repo.find({ storage_config_id: storage })), pick(0, 1, 2));
      assert.deepEqual(sorted(await repo.find({ environment_id, backup_type: 'manual', status: ['completed', 'pending'] })), pick(3, 5));
      const listed = await repo.list({ organization_id, status: 'completed' }, { offset: 0, limit: 1 });
      assert.equal(listed.total, 3);
      assert.equal(listed.items.length, 1);
    }),
    check('expires_before keeps only backups with an expires_at strictly before it', async (repo) => {
      const { environment_id, backups } = await seed(repo, 4, (i) => ({
        expires_at: [null, '2026-02-01T00:00:00.000Z', '2026-02-02T00:00:00.000Z', '2026-03-01T00:00:00.000Z'][i] ?? null,
      }));
      const found = await repo.find({ environment_id, expires_before: '2026-02-02T00:00:00.000Z' });
      assert.deepEqual(ids(found), [backups[1]!.id]);
      const later = await repo.find({ environment_id, expires_before: '2026-02-02T00:00:00.001Z' });
      assert.deepEqual(ids(later), [backups[2]!.id, backups[1]!.id]);
    }),
    check('filters by the second copy: copy_storage_config_id and copy_status (records without them never match)', async (repo) => {
      const secondary = randomUUID();
      const { environment_id, backups } = await seed(repo, 3, (i) =>
        i === 0 ? {} : { copy_storage_config_id: secondary, copy_status: i === 1 ? 'completed' : 'failed' },
      );
      assert.deepEqual(ids(await repo.find({ environment_id, copy_storage_config_id: secondary })), [backups[2]!.id, backups[1]!.id]);
      assert.deepEqual(ids(await repo.find({ environment_id, copy_status: 'completed' })), [backups[1]!.id]);
      assert.equal(await repo.sumCompressedSize({ environment_id, copy_status: 'completed' }), backups[1]!.compressed_size);
    }),
    check('find returns every match newest first', async (repo) => {
      const { environment_id, backups } = await seed(repo, 5);
      assert.deepEqual(ids(await repo.find({ environment_id })), ids([...backups].reverse()));
    }),
    check('sumCompressedSize adds compressed_size over matches (0 when none)', async (repo) => {
      const { organization_id } = await seed(repo, 5, (i) => ({
        compressed_size: [100, 2_000, 30_000, 400_000, 5_000_000_000][i],
        status: (['completed', 'expired', 'failed', 'deleted', 'completed'] as const)[i],
      }));
      assert.equal(await repo.sumCompressedSize({ organization_id }), 5_000_432_100);
      assert.equal(
        await repo.sumCompressedSize({ organization_id, status: ['pending', 'in_progress', 'uploading', 'completed', 'failed'] }),
        5_000_030_100,
      );
      assert.equal(await repo.sumCompressedSize({ organization_id: randomUUID() }), 0);
    }),
    check('listEnvironmentIds returns each environment with a matching backup once', async (repo) => {
      const organization_id = randomUUID();
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      for (const [env, status] of [
        [a, 'completed'],
        [a, 'completed'],
        [b, 'failed'],
        [c, 'completed'],
      ] as const) {
        await repo.create(makeBackup({ organization_id, environment_id: env, status }));
      }
      assert.deepEqual((await repo.listEnvironmentIds({ organization_id })).sort(), [a, b, c].sort());
      assert.deepEqual((await repo.listEnvironmentIds({ organization_id, status: 'completed' })).sort(), [a, c].sort());
      assert.ok((await repo.listEnvironmentIds()).includes(b));
    }),
  ];
}

/** Registers the {@link BackupRepository} contract with vitest: `runBackupRepositoryContract('mine', () => repo)`. */
export function runBackupRepositoryContract(name: string, factory: BackupRepositoryFactory): Promise<void> {
  return registerChecks(`BackupRepository contract: ${name}`, backupRepositoryChecks(factory));
}
