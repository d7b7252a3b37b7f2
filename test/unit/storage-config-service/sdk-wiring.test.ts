// createBackupSdk builds a StorageConfigService over the same ports: its configs are the ones the
// backup service backs up to, and the delete guard sees the backups the sdk made (pending ones included).
import { describe, expect, it } from 'vitest';
import { createBackupSdk, StorageConfigService, type AuthorizationRequest } from '../../../src/index.js';
import {
  FakeBackupSource,
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';

describe('createBackupSdk storageConfigs', () => {
  it('shares the repositories, clock and authorize hook with the other services', async () => {
    const clock = new FakeClock('2026-03-01T09:00:00.000Z');
    const env = makeResolvedEnvironment();
    const asked: string[] = [];
    const sdk = createBackupSdk({
      backups: new InMemoryBackupRepository(clock),
      tasks: new InMemoryTaskRepository(clock),
      storageConfigs: new InMemoryStorageConfigRepository(clock),
      policies: new InMemoryBackupPolicyRepository(clock),
      environments: new StaticEnvironmentResolver([env]),
      queue: new InMemoryJobQueue({ clock }),
      clock,
      sources: () => new FakeBackupSource({ dumpSize: 2_000, filestoreSize: 1_000 }),
      authorize: (r: AuthorizationRequest) => {
        asked.push(r.permission);
        return true;
      },
    });
    expect(sdk.storageConfigs).toBeInstanceOf(StorageConfigService);
    const config = await sdk.storageConfigs.create(env.organization_id, {
      name: 'Scratch',
      provider: 'memory',
      settings: { namespace: `sdk-wiring-${env.organization_id}` },
      is_default: true,
    });
    expect(config.created_at).toBe('2026-03-01T09:00:00.000Z');
    expect((await sdk.storageConfigs.test(env.organization_id, config.id)).ok).toBe(true);

    // A backup created through the sdk goes to the default config, which then cannot be deleted.
    await sdk.backups.createBackup(env.environment_id, {});
    expect((await sdk.ports.backups.find({ environment_id: env.environment_id })).map((b) => b.storage_config_id)).toEqual([config.id]);
    await expect(sdk.storageConfigs.delete(config.id)).rejects.toMatchObject({
      code: 'E_STORAGE_CONFIG_IN_USE',
      details: { backup_count: 1 },
    });
    expect(asked).toContain('org.storage.manage');
  });
});
