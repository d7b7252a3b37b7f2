// The second copy (BackupPolicy.secondary_storage_config_id) over in-memory ports and memory
// storage: what is scheduled, what the copy checks, what a failed copy leaves, retention of both
// objects, reads from the copy, refusals, and recovery of a copy whose job is gone.
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import {
  createStorageProvider,
  MemoryStorageProvider,
  PolicyService,
  RetentionService,
  StorageConfigService,
  type Backup,
  type StorageConfig,
  type StorageProviderFactory,
} from '../../../src/index.js';
import { makeHarness, policy, storageConfig, type HarnessOptions } from './harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function copyHarness(options: HarnessOptions & { secondary?: Partial<StorageConfig> } = {}) {
  const h = await makeHarness(options);
  const secondaryNamespace = randomUUID();
  const secondary = await h.storageConfigs.create(
    storageConfig({
      organization_id: h.env.organization_id,
      name: 'Offsite',
      settings: { namespace: secondaryNamespace },
      ...options.secondary,
    }),
  );
  await h.policies.create(policy({ environment_id: h.env.environment_id, secondary_storage_config_id: secondary.id }));
  const offsite = new MemoryStorageProvider({ namespace: secondaryNamespace });
  /** Runs one manual backup and every job it leads to (the copy's too). */
  const backup = async (): Promise<Backup> => {
    const worker = h.service.startWorker({ concurrency: 1 });
    const created = await h.service.createBackup(h.env.environment_id, {}, null);
    await h.queue.idle();
    await worker.close();
    return (await h.backups.get(created.id))!;
  };
  return { ...h, secondary, offsite, backup };
}

describe('a second copy on the policy’s secondary storage', () => {
  it('is made after a completed, verified backup: same key, both objects hash to stored_checksum; usage reports it', async () => {
    const h = await copyHarness();
    const b = await h.backup();
    expect(b).toMatchObject({ status: 'completed', is_verified: true, copy_status: 'completed', copy_storage_config_id: h.secondary.id });
    expect(b.copy_key).toBe(b.database_key);
    const primary = await buffer(await h.storage.download(b.database_key!));
    const copy = await buffer(await h.offsite.download(b.copy_key!));
    expect(sha(primary)).toBe(b.stored_checksum);
    expect(sha(copy)).toBe(b.stored_checksum);
    const task = (await h.tasks.get(b.copy_task_id!))!;
    expect(task).toMatchObject({ task_type: 'backup_copy', status: 'completed', backup_id: b.id });
    expect(await h.storageConfigs.get(h.secondary.id)).toMatchObject({ object_count: 1, total_size_bytes: b.compressed_size });
    const retention = new RetentionService({ backups: h.backups, storageConfigs: h.storageConfigs });
    expect(await retention.usage(h.env.organization_id)).toMatchObject({ used_bytes: b.compressed_size, copy_bytes: b.compressed_size });
  });

  it('a failed copy leaves the backup completed and verified: a secondary requiring encryption refuses a plaintext object', async () => {
    const h = await copyHarness({ secondary: { require_encryption: true } });
    const b = await h.backup();
    expect(b).toMatchObject({ status: 'completed', is_verified: true, copy_status: 'failed', copy_key: null });
    expect(b.copy_error).toMatch(/requires encryption/);
    expect(h.offsite.keys()).toEqual([]);
    expect((await h.tasks.get(b.copy_task_id!))!).toMatchObject({ status: 'failed' });
    expect(h.events.events.filter((e) => e.type === 'warning').map((e) => e.data.code)).toContain('W_BACKUP_COPY_FAILED');
    // The backup job itself completed.
    expect((await h.tasks.get(b.task_id!))!.status).toBe('completed');
  });

  it('a copy whose read-back differs is refused (E_CHECKSUM_MISMATCH), retried, and removed', async () => {
    // A secondary that corrupts what it stores: every try fails the same way.
    const secondaryNs = randomUUID();
    const corrupting: StorageProviderFactory = (config) => {
      const provider = createStorageProvider(config);
      if ((config.settings as { namespace?: string }).namespace !== secondaryNs) return provider;
      const download = provider.download.bind(provider);
      provider.download = async (key, o) => {
        const bytes = await buffer(await download(key, o));
        bytes[10] = bytes[10]! ^ 1;
        return Readable.from([bytes]);
      };
      return provider;
    };
    const h = await copyHarness({
      storageProviders: corrupting,
      service: { retry: { attempts: 2, backoffMs: [0] } },
      secondary: { settings: { namespace: secondaryNs } },
    });
    const b = await h.backup();
    expect(b).toMatchObject({ status: 'completed', is_verified: true, copy_status: 'failed' });
    expect(b.copy_error).toMatch(/Checksum mismatch/);
    expect((await h.tasks.get(b.copy_task_id!))!.attempts).toBe(2);
    expect(new MemoryStorageProvider({ namespace: secondaryNs }).keys()).toEqual([]);
  });

  it('verifyBackup and openDownload read the copy with from: "copy", also once the primary object is gone', async () => {
    const h = await copyHarness();
    const b = await h.backup();
    await h.storage.delete(b.database_key!);
    expect(await h.service.verifyBackup(b.id, null, { from: 'copy' })).toMatchObject({ ok: true });
    expect(await h.service.verifyBackup(b.id)).toMatchObject({ ok: false });
    // A failed check of the primary does not touch the copy, nor the reverse.
    expect((await h.backups.get(b.id))!).toMatchObject({ is_verified: false, copy_status: 'completed' });
  });

  it('retention deletes both objects, each key cleared by its own compare-and-set, each config’s usage lowered', async () => {
    const h = await copyHarness();
    const b = await h.backup();
    await h.service.deleteBackup(b.id);
    const retention = new RetentionService({ backups: h.backups, storageConfigs: h.storageConfigs, clock: h.clock });
    expect(await retention.runCleanup()).toMatchObject({ deleted_storage: 1, errors: [] });
    expect(h.storage.keys()).toEqual([]);
    expect(h.offsite.keys()).toEqual([]);
    expect((await h.backups.get(b.id))!).toMatchObject({ database_key: null, copy_key: null });
    for (const id of [h.config.id, h.secondary.id])
      expect(await h.storageConfigs.get(id)).toMatchObject({ object_count: 0, total_size_bytes: 0 });
    expect(await retention.runCleanup()).toMatchObject({ deleted_storage: 0, errors: [] });
  });

  it('a backup deleted while its copy runs gets its copy removed', async () => {
    // The copy's compare-and-set on status 'completed' fails, and the copy removes its object.
    const again = await copyHarness();
    const worker = again.service.startWorker({ concurrency: 1 });
    const origUpdate = again.backups.update.bind(again.backups);
    let deletedDuringCopy = false;
    again.backups.update = async (id, patch, where) => {
      if (patch.copy_status === 'running' && !deletedDuringCopy) {
        const result = await origUpdate(id, patch, where);
        deletedDuringCopy = true;
        await again.service.deleteBackup(id);
        return result;
      }
      return origUpdate(id, patch, where);
    };
    const c = await again.service.createBackup(again.env.environment_id, {}, null);
    await again.queue.idle();
    await worker.close();
    const gone = (await again.backups.get(c.id))!;
    expect(gone.status).toBe('deleted');
    expect(gone.copy_key ?? null).toBe(null);
    expect(again.offsite.keys()).toEqual([]);
    expect((await again.tasks.get(gone.copy_task_id!))!).toMatchObject({ status: 'completed', result: { skipped: 'backup_gone' } });
  });

  it('recoverStale fails a copy whose job is gone, leaving the backup as it was', async () => {
    const h = await copyHarness();
    const b = await h.backup();
    // As a worker killed mid-copy leaves it, on a queue that lost the job.
    await h.backups.update(b.id, { copy_status: 'running', copy_key: null });
    const lost = (await h.tasks.get(b.copy_task_id!))!;
    await h.tasks.update(lost.id, { status: 'running' });
    // The queue has the job as completed (its worker died after the queue heard of it): no worker runs it.
    const recovered = await h.service.recoverStale();
    expect(recovered.copies).toEqual([{ backup_id: b.id, task_id: lost.id, job_state: 'completed' }]);
    expect((await h.backups.get(b.id))!).toMatchObject({ status: 'completed', is_verified: true, copy_status: 'failed' });
    expect((await h.tasks.get(lost.id))!.status).toBe('failed');
    expect(h.offsite.keys()).toEqual([]);
  });

  it('policies refuse a secondary that is the primary or of another organisation; a config named as a secondary or holding copies cannot be deleted', async () => {
    const h = await copyHarness();
    const policies = new PolicyService({ policies: h.policies, storageConfigs: h.storageConfigs, environments: h.environments });
    await expect(
      policies.updatePolicy(h.env.environment_id, { storage_config_id: h.secondary.id, secondary_storage_config_id: h.secondary.id }),
    ).rejects.toMatchObject({ code: 'E_VALIDATION', details: { issues: [{ field: 'secondary_storage_config_id' }] } });
    const foreign = await h.storageConfigs.create(storageConfig({ organization_id: 'another-org' }));
    await expect(policies.updatePolicy(h.env.environment_id, { secondary_storage_config_id: foreign.id })).rejects.toMatchObject({
      code: 'E_VALIDATION',
    });
    // The organisation's default is where this policy's backups go: not a second copy.
    await expect(policies.updatePolicy(h.env.environment_id, { secondary_storage_config_id: h.config.id })).rejects.toMatchObject({
      code: 'E_VALIDATION',
    });
    const configs = new StorageConfigService({ storageConfigs: h.storageConfigs, policies: h.policies, backups: h.backups });
    await expect(configs.delete(h.secondary.id)).rejects.toMatchObject({ code: 'E_STORAGE_CONFIG_IN_USE' });
    await h.backup();
    await policies.updatePolicy(h.env.environment_id, { secondary_storage_config_id: null });
    // No policy names it now, but a copy is stored there.
    await expect(configs.delete(h.secondary.id)).rejects.toMatchObject({ code: 'E_STORAGE_CONFIG_IN_USE' });
  });
});
