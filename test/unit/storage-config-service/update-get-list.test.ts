import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../../src/index.js';
import { ORG, OTHER_ORG, S3_BODY, setup } from './setup.js';

describe('StorageConfigService.update', () => {
  it('replaces settings whole, keeps credentials and counters unless given, and moves updated_at', async () => {
    const { service, storageConfigs, clock } = setup();
    await service.create(ORG, S3_BODY);
    await storageConfigs.adjustUsage('sc-1', { bytes: 500, objects: 1 });
    await clock.advance(60_000);
    const updated = await service.update('sc-1', { name: 'Renamed', settings: { bucket: 'other-bucket' } });
    expect(updated).toMatchObject({
      name: 'Renamed',
      settings: { bucket: 'other-bucket' },
      credentials: { access_key_id: '[redacted]', secret_access_key: '[redacted]' },
      total_size_bytes: 500,
      object_count: 1,
      created_at: '2026-03-01T09:00:00.000Z',
      updated_at: '2026-03-01T09:01:00.000Z',
    });
    expect((await storageConfigs.get('sc-1'))!.credentials).toEqual(S3_BODY.credentials);
    const rotated = await service.update('sc-1', { credentials: { access_key_id: 'AKIANEW', secret_access_key: 'new-secret' } });
    expect(rotated.credentials).toEqual({ access_key_id: '[redacted]', secret_access_key: '[redacted]' });
    expect((await storageConfigs.get('sc-1'))!.credentials).toEqual({ access_key_id: 'AKIANEW', secret_access_key: 'new-secret' });
  });

  it('validates the merged config before changing anything', async () => {
    const { service, storageConfigs } = setup();
    await service.create(ORG, S3_BODY);
    const before = await storageConfigs.get('sc-1');
    await expect(service.update('sc-1', { provider: 'local' })).rejects.toMatchObject({
      code: 'E_VALIDATION',
      issues: expect.arrayContaining([{ field: 'settings.root', message: 'is required' }]),
    });
    await expect(service.update('sc-1', { settings: { bucket: 'b', port: 21 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(service.update('sc-1', { organization_id: OTHER_ORG })).rejects.toMatchObject({
      issues: [{ field: 'organization_id', message: 'is not a known field' }],
    });
    expect(await storageConfigs.get('sc-1')).toEqual(before);
  });

  it('can move to another provider with matching settings, dropping the old credentials', async () => {
    const { service, storageConfigs } = setup();
    await service.create(ORG, S3_BODY);
    const moved = await service.update('sc-1', { provider: 'local', settings: { root: '/srv/backups' }, credentials: null });
    expect(moved).toMatchObject({ provider: 'local', settings: { root: '/srv/backups' }, credentials: null });
    expect((await storageConfigs.get('sc-1'))!.credentials).toBeNull();
  });

  it('an unknown id is a NotFoundError naming storage_config', async () => {
    const { service } = setup();
    const error = await service.update('missing', { name: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ entity: 'storage_config', details: { id: 'missing' } });
  });
});

describe('StorageConfigService.get and list', () => {
  it('return redacted copies; list holds only the organisation configs, oldest first', async () => {
    const { service, clock } = setup();
    await service.create(ORG, S3_BODY);
    await clock.advance(1000);
    await service.create(OTHER_ORG, { ...S3_BODY, name: 'Theirs' });
    await clock.advance(1000);
    await service.create(ORG, { name: 'Disk', provider: 'local', settings: { root: '/srv/b' } });
    expect((await service.get('sc-1')).credentials).toEqual({ access_key_id: '[redacted]', secret_access_key: '[redacted]' });
    const listed = await service.list(ORG);
    expect(listed.map((c) => c.name)).toEqual(['Primary S3', 'Disk']);
    expect(JSON.stringify(listed)).not.toContain('super-secret-value');
    expect(await service.list('33333333-3333-4333-8333-333333333333')).toEqual([]);
    await expect(service.get('nope')).rejects.toMatchObject({ code: 'E_NOT_FOUND', entity: 'storage_config' });
  });
});
