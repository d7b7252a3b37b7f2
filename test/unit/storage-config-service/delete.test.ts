import { describe, expect, it } from 'vitest';
import { ConflictError, StorageConfigService } from '../../../src/index.js';
import { InMemoryStorageConfigRepository, makeBackup, makeBackupPolicy } from '../../../src/testing/index.js';
import { ORG, S3_BODY, setup } from './setup.js';

describe('StorageConfigService.delete', () => {
  it('removes an unused config', async () => {
    const { service, storageConfigs } = setup();
    await service.create(ORG, S3_BODY);
    await service.delete('sc-1');
    expect(await storageConfigs.get('sc-1')).toBeNull();
    await expect(service.delete('sc-1')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('refuses while an enabled policy names it; a disabled one does not hold it', async () => {
    const { service, storageConfigs, policies } = setup();
    await service.create(ORG, S3_BODY);
    const policy = await policies.create(makeBackupPolicy({ storage_config_id: 'sc-1' }));
    const error = await service.delete('sc-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'E_STORAGE_CONFIG_IN_USE', details: { policy_ids: [policy.id], backup_count: 0 } });
    expect(await storageConfigs.get('sc-1')).not.toBeNull();
    await policies.update(policy.id, { is_enabled: false, next_backup_at: null });
    await service.delete('sc-1');
    expect(await storageConfigs.get('sc-1')).toBeNull();
  });

  it('refuses while backups stored on it exist; failed and deleted ones do not count', async () => {
    const { service, storageConfigs, backups } = setup();
    await service.create(ORG, S3_BODY);
    const kept = await backups.create(makeBackup({ storage_config_id: 'sc-1', status: 'completed' }));
    await backups.create(makeBackup({ storage_config_id: 'sc-1', status: 'failed' }));
    await backups.create(makeBackup({ storage_config_id: 'sc-1', status: 'deleted' }));
    await backups.create(makeBackup({ storage_config_id: 'elsewhere', status: 'completed' }));
    await expect(service.delete('sc-1')).rejects.toMatchObject({
      code: 'E_STORAGE_CONFIG_IN_USE',
      details: { backup_ids: [kept.id], backup_count: 1, policy_ids: [] },
    });
    await backups.update(kept.id, { status: 'deleted' });
    await service.delete('sc-1');
    expect(await storageConfigs.get('sc-1')).toBeNull();
  });

  it('without the policy and backup repositories it cannot tell, and deletes', async () => {
    const storageConfigs = new InMemoryStorageConfigRepository();
    const service = new StorageConfigService({ storageConfigs, ids: () => 'only' });
    await service.create(ORG, S3_BODY);
    await service.delete('only');
    expect(await storageConfigs.get('only')).toBeNull();
  });
});
