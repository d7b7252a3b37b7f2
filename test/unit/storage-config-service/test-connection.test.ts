import { describe, expect, it } from 'vitest';
import type { StorageConfig, StorageProvider } from '../../../src/index.js';
import { ORG, OTHER_ORG, S3_BODY, setup } from './setup.js';

describe('StorageConfigService.test', () => {
  it('probes a draft through the registry (memory provider) without saving it', async () => {
    const { service, storageConfigs } = setup();
    const result = await service.test(ORG, { name: 'Scratch', provider: 'memory', settings: { namespace: 'probe-draft' } });
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ['write', true],
      ['read', true],
      ['delete', true],
    ]);
    expect(await storageConfigs.list(ORG)).toEqual([]);
  });

  it('refuses a bad draft before building any provider', async () => {
    const built: StorageConfig[] = [];
    const { service } = setup({
      storageProviders: (c) => {
        built.push(c);
        throw new Error('must not be reached');
      },
    });
    await expect(service.test(ORG, { ...S3_BODY, settings: { bucket: 'b', regoin: 'x' } })).rejects.toMatchObject({
      code: 'E_VALIDATION',
      issues: [{ field: 'settings.regoin', message: 'is not a known field' }],
    });
    expect(built).toEqual([]);
  });

  it('tests a saved config with its real secrets, and closes the provider even when it throws', async () => {
    const seen: StorageConfig[] = [];
    let closed = 0;
    const { service } = setup({
      storageProviders: (c) => {
        seen.push(c);
        return {
          testConnection: async () => {
            throw new Error('getaddrinfo ENOTFOUND s3.nowhere.invalid');
          },
          close: async () => {
            closed++;
          },
        } as unknown as StorageProvider;
      },
    });
    await service.create(ORG, S3_BODY);
    const result = await service.test(ORG, 'sc-1');
    expect(result).toMatchObject({
      ok: false,
      steps: [{ step: 'connect', ok: false, message: 'getaddrinfo ENOTFOUND s3.nowhere.invalid' }],
    });
    expect(result.message).toContain('ENOTFOUND');
    expect(seen[0]!.credentials).toEqual(S3_BODY.credentials);
    expect(closed).toBe(1);
  });

  it("another organisation's saved config is reported missing", async () => {
    const { service } = setup();
    await service.create(OTHER_ORG, S3_BODY);
    await expect(service.test(ORG, 'sc-1')).rejects.toMatchObject({ code: 'E_NOT_FOUND', entity: 'storage_config' });
  });
});
