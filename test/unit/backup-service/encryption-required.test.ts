import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { createStorageProvider, type KeyProvider, type StorageProvider } from '../../../src/index.js';
import { harness as runnerHarness } from '../pipeline/harness.js';
import { alice, backupReaches, makeHarness, policy, snapshotState } from './harness.js';

const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);
const none: KeyProvider = { recipients: () => [], identities: () => [] };
const throwing: KeyProvider = { recipients: () => Promise.reject(new Error('vault sealed')), identities: () => [] };

/** Storage that records every upload it is asked for (the fail-closed proof: none). */
function recording(inner: StorageProvider): StorageProvider & { uploads: string[] } {
  const p = Object.create(inner) as StorageProvider & { uploads: string[] };
  p.uploads = [];
  p.upload = (key, body, o) => (p.uploads.push(key), inner.upload(key, body, o));
  return p;
}

const cases = [
  { where: 'storage config', keys: undefined, code: 'E_ENCRYPTION_REQUIRED' },
  { where: 'storage config', keys: none, code: 'E_ENCRYPTION_REQUIRED' },
  { where: 'policy', keys: none, code: 'E_ENCRYPTION_REQUIRED' },
  { where: 'policy', keys: throwing, code: 'E_ADAPTER' },
] as const;

describe('require_encryption: nothing stored unencrypted where encryption is required', () => {
  for (const { where, keys, code } of cases) {
    it(`${where} requires it, key provider ${keys === undefined ? 'absent' : keys === none ? 'returns []' : 'throws'}: manual, scheduled and pre-upgrade backups are refused before anything is created (${code})`, async () => {
      const h = await makeHarness({ service: keys ? { keys } : {} });
      if (where === 'storage config') await h.storageConfigs.update(h.config.id, { require_encryption: true });
      else await h.policies.create(policy({ environment_id: h.env.environment_id, require_encryption: true }));
      const before = await snapshotState(h);
      await expect(h.service.createBackup(h.env.environment_id, { backup_type: 'manual' }, alice)).rejects.toMatchObject({ code });
      await expect(h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null)).rejects.toMatchObject({ code });
      await expect(h.service.createPreOperationBackup(h.env.environment_id, 'pre_upgrade', null)).rejects.toMatchObject({ code });
      expect(await snapshotState(h)).toEqual(before);
      expect(h.source.started).toEqual({ dump: 0, filestore: 0 });
    });
  }

  it('the runner refuses too (every path, the pre-restore backup included): no tool started, no upload asked for', async () => {
    for (const keys of [undefined, none]) {
      const seen: { storage?: StorageProvider & { uploads: string[] } } = {};
      const h = await runnerHarness({
        deps: {
          ...(keys ? { keys } : {}),
          storageProviders: (config) => (seen.storage ??= recording(createStorageProvider(config))),
        },
      });
      await h.storageConfigs.update(h.storageConfig.id, { require_encryption: true });
      const pending = await h.pending({ backup_type: 'pre_restore' });
      await expect(h.runner.run(pending.id)).rejects.toMatchObject({ code: 'E_ENCRYPTION_REQUIRED' });
      expect(seen.storage?.uploads ?? []).toEqual([]);
      expect(h.source.started).toEqual({ dump: 0, filestore: 0 });
      expect(await h.backups.get(pending.id)).toMatchObject({ status: 'failed', error_details: { code: 'E_ENCRYPTION_REQUIRED' } });
    }
  });

  it('with a recipient, a required-encryption backup is admitted and stored encrypted', async () => {
    const h = await makeHarness({ service: { keys: { recipients: () => [recipient], identities: () => [] } } });
    await h.storageConfigs.update(h.config.id, { require_encryption: true });
    const created = await h.service.createBackup(h.env.environment_id, { backup_type: 'manual' }, alice);
    const worker = h.service.startWorker();
    await backupReaches(h, created.id, 'completed');
    await worker.close();
    const done = await h.backups.get(created.id);
    expect(done).toMatchObject({ encryption_recipients: [recipient], is_verified: true });
    expect(h.storage.keys()).toEqual([done!.database_key]);
    expect(done!.database_key!.endsWith('.zip.age')).toBe(true);
  });

  it('verifyBackup opens an encrypted backup with the key provider identities; without one it throws E_ENCRYPTION_KEY and records nothing; downloads are {id}.zip.age', async () => {
    let held: string[] = [];
    const h = await makeHarness({ service: { keys: { recipients: () => [recipient], identities: () => held } } });
    const created = await h.service.createBackup(h.env.environment_id, { backup_type: 'manual' }, alice);
    const worker = h.service.startWorker();
    await backupReaches(h, created.id, 'completed');
    await worker.close();
    const before = await h.backups.get(created.id);
    await expect(h.service.verifyBackup(created.id)).rejects.toMatchObject({ code: 'E_ENCRYPTION_KEY' });
    expect(await h.backups.get(created.id)).toEqual(before);
    held = [identity];
    expect(await h.service.verifyBackup(created.id)).toMatchObject({ ok: true });
    const download = await h.service.openDownload(created.id);
    download.stream.destroy();
    expect(download).toMatchObject({ filename: `${created.id}.zip.age`, size: before!.compressed_size });
  });
});
