import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { StorageConfigRepository } from '../../ports/repositories.js';
import { race, rejectsWithCode } from './assertions.js';
import { registerChecks, type ContractCheck } from './contract-check.js';
import { makeStorageConfig, SAMPLE_RECORD_TIME } from './sample-records.js';

/** Returns the repository under test (a fresh store per call is best; a shared one works too). */
export type StorageConfigRepositoryFactory = () => StorageConfigRepository | Promise<StorageConfigRepository>;

/**
 * The {@link StorageConfigRepository} contract as named checks: round trip (credentials
 * included), the organisation's default, compare-and-set, and atomic usage counters (no lost
 * update among concurrent writers, never below zero).
 */
export function storageConfigRepositoryChecks(factory: StorageConfigRepositoryFactory): ContractCheck[] {
  const check = (name: string, fn: (repo: StorageConfigRepository) => Promise<void>): ContractCheck => ({
    name,
    run: async () => fn(await factory()),
  });
  return [
    check('create then get returns the same config, settings and credentials included', async (repo) => {
      const config = makeStorageConfig({
        settings: { bucket: 'b', endpoint: 'https://s3.example.com', force_path_style: true },
        storage_class: 'STANDARD_IA',
      });
      assert.deepEqual(await repo.create(config), config);
      assert.deepEqual(await repo.get(config.id), config);
      assert.equal(await repo.get(randomUUID()), null);
      await rejectsWithCode(() => repo.create({ ...config, name: 'dup' }), 'E_CONFLICT');
      assert.deepEqual(await repo.get(config.id), config);
    }),
    check('records are copies: mutating an input or a returned config does not change the store', async (repo) => {
      const config = makeStorageConfig();
      const created = await repo.create(config);
      config.settings.bucket = 'x';
      created.credentials!.secret_access_key = 'x';
      (await repo.get(config.id))!.settings.region = 'x';
      (await repo.adjustUsage(config.id, { bytes: 1, objects: 1 })).settings.bucket = 'y';
      const stored = (await repo.get(config.id))!;
      assert.deepEqual(stored.settings, { bucket: 'backups', region: 'eu-west-1' });
      assert.equal(stored.credentials!.secret_access_key, 'not-a-real-secret');
    }),
    check("getDefault returns the organisation's default config, or null", async (repo) => {
      const org = randomUUID();
      assert.equal(await repo.getDefault(org), null);
      await repo.create(makeStorageConfig({ organization_id: org, is_default: false }));
      await repo.create(makeStorageConfig({ is_default: true }));
      assert.equal(await repo.getDefault(org), null, "another organisation's default is not this one's");
      const def = await repo.create(makeStorageConfig({ organization_id: org, is_default: true, name: 'Default' }));
      assert.deepEqual(await repo.getDefault(org), def);
      await repo.update(def.id, { is_default: false });
      assert.equal(await repo.getDefault(org), null);
    }),
    check("list returns the organisation's configs oldest first, and only them", async (repo) => {
      const org = randomUUID();
      assert.deepEqual(await repo.list(org), []);
      const later = await repo.create(makeStorageConfig({ organization_id: org, name: 'Later', created_at: '2026-01-02T00:00:00.000Z' }));
      await repo.create(makeStorageConfig({ name: 'Elsewhere' }));
      const first = await repo.create(makeStorageConfig({ organization_id: org, name: 'First', created_at: '2026-01-01T00:00:00.000Z' }));
      assert.deepEqual(await repo.list(org), [first, later]);
      (await repo.list(org))[0]!.settings.bucket = 'x';
      assert.deepEqual(await repo.get(first.id), first, 'listed configs are copies');
    }),
    check('delete removes the config; deleting a missing one is not an error', async (repo) => {
      const org = randomUUID();
      const config = await repo.create(makeStorageConfig({ organization_id: org }));
      const other = await repo.create(makeStorageConfig({ organization_id: org }));
      await repo.delete(config.id);
      assert.equal(await repo.get(config.id), null);
      assert.deepEqual(await repo.list(org), [other]);
      await repo.delete(config.id);
      await repo.delete(randomUUID());
      assert.deepEqual(await repo.get(other.id), other);
    }),
    check('update applies a patch and moves updated_at; conflicts and unknown ids change nothing', async (repo) => {
      const config = await repo.create(makeStorageConfig());
      const updated = await repo.update(config.id, { name: 'Renamed', credentials: null });
      assert.equal(updated.name, 'Renamed');
      assert.equal(updated.credentials, null);
      assert.notEqual(updated.updated_at, SAMPLE_RECORD_TIME);
      await rejectsWithCode(() => repo.update(config.id, { name: 'Stale' }, { name: 'Primary S3' }), 'E_CONFLICT');
      assert.deepEqual(await repo.get(config.id), updated);
      await rejectsWithCode(() => repo.update(randomUUID(), { name: 'x' }), 'E_NOT_FOUND');
    }),
    check('adjustUsage adds and subtracts bytes and objects and sets last_used_at when given', async (repo) => {
      const config = await repo.create(makeStorageConfig());
      const a = await repo.adjustUsage(config.id, { bytes: 5_000_000_000, objects: 2, last_used_at: '2026-01-01T02:00:00.000Z' });
      assert.deepEqual([a.total_size_bytes, a.object_count, a.last_used_at], [5_000_000_000, 2, '2026-01-01T02:00:00.000Z']);
      const b = await repo.adjustUsage(config.id, { bytes: -1_000, objects: -1 });
      assert.deepEqual(
        [b.total_size_bytes, b.object_count, b.last_used_at],
        [4_999_999_000, 1, '2026-01-01T02:00:00.000Z'],
        'last_used_at stays when not given',
      );
      assert.deepEqual(await repo.get(config.id), b);
      assert.equal(b.name, config.name);
    }),
    check('adjustUsage never takes a counter below zero', async (repo) => {
      const config = await repo.create(makeStorageConfig({ total_size_bytes: 100, object_count: 1 }));
      const after = await repo.adjustUsage(config.id, { bytes: -1_000, objects: -5 });
      assert.equal(after.total_size_bytes, 0);
      assert.equal(after.object_count, 0);
      const again = await repo.adjustUsage(config.id, { bytes: 10, objects: 1 });
      assert.deepEqual([again.total_size_bytes, again.object_count], [10, 1]);
    }),
    check('adjustUsage of an unknown id fails with E_NOT_FOUND', async (repo) => {
      await rejectsWithCode(() => repo.adjustUsage(randomUUID(), { bytes: 1, objects: 1 }), 'E_NOT_FOUND');
    }),
    check('concurrent adjustUsage calls lose no update', async (repo) => {
      const config = await repo.create(makeStorageConfig());
      await race(25, () => repo.adjustUsage(config.id, { bytes: 1_000, objects: 1 }));
      let stored = (await repo.get(config.id))!;
      assert.deepEqual([stored.total_size_bytes, stored.object_count], [25_000, 25]);
      const mixed = await race(20, (i) =>
        repo.adjustUsage(config.id, i % 2 === 0 ? { bytes: 500, objects: 1 } : { bytes: -300, objects: -1 }),
      );
      assert.equal(mixed.rejected.length, 0);
      stored = (await repo.get(config.id))!;
      assert.deepEqual([stored.total_size_bytes, stored.object_count], [25_000 + 10 * 200, 25]);
    }),
  ];
}

/** Registers the {@link StorageConfigRepository} contract with vitest. */
export function runStorageConfigRepositoryContract(name: string, factory: StorageConfigRepositoryFactory): Promise<void> {
  return registerChecks(`StorageConfigRepository contract: ${name}`, storageConfigRepositoryChecks(factory));
}
