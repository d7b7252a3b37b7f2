import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/index.js';
import { ORG, S3_BODY, setup } from './setup.js';

async function issuesOf(promise: Promise<unknown>): Promise<{ field: string; message: string }[]> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).code).toBe('E_VALIDATION');
  return (error as ValidationError).issues;
}

describe('StorageConfigService.create', () => {
  it('fills the bookkeeping fields from the clock and ids, stores the secrets and returns them redacted', async () => {
    const { service, storageConfigs } = setup();
    const created = await service.create(ORG, S3_BODY);
    expect(created).toEqual({
      id: 'sc-1',
      organization_id: ORG,
      name: 'Primary S3',
      provider: 's3',
      is_default: false,
      settings: { bucket: 'odoo-backups', region: 'eu-west-1', part_size_mb: 16 },
      credentials: { access_key_id: '[redacted]', secret_access_key: '[redacted]' },
      storage_class: null,
      require_encryption: false,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: '2026-03-01T09:00:00.000Z',
      updated_at: '2026-03-01T09:00:00.000Z',
    });
    expect((await storageConfigs.get('sc-1'))!.credentials).toEqual(S3_BODY.credentials);
    expect(JSON.stringify(created)).not.toContain('super-secret-value');
  });

  it('a new default takes the flag from the organisation previous default', async () => {
    const { service, storageConfigs } = setup();
    await service.create(ORG, { ...S3_BODY, is_default: true });
    await service.create(ORG, { ...S3_BODY, name: 'Second', is_default: true });
    expect((await storageConfigs.list(ORG)).map((c) => [c.id, c.is_default])).toEqual([
      ['sc-1', false],
      ['sc-2', true],
    ]);
    expect((await storageConfigs.getDefault(ORG))!.id).toBe('sc-2');
  });

  it('refuses unknown and misspelt keys, naming each, and stores nothing', async () => {
    const { service, storageConfigs } = setup();
    const issues = await issuesOf(
      service.create(ORG, {
        ...S3_BODY,
        colour: 'red',
        settings: { bucket: 'b', regoin: 'eu-west-1' },
        credentials: { access_key_id: 'a', secret_access_key: 's', pasword: 'x' },
      }),
    );
    expect(issues.map((i) => i.field).sort()).toEqual(['colour', 'credentials.pasword', 'settings.regoin']);
    expect(issues.every((i) => i.message === 'is not a known field')).toBe(true);
    expect(await storageConfigs.list(ORG)).toEqual([]);
  });

  it('a local root must be absolute and free of ".." segments', async () => {
    const { service } = setup();
    const relative = await issuesOf(service.create(ORG, { name: 'Disk', provider: 'local', settings: { root: 'backups/odoo' } }));
    expect(relative).toEqual([{ field: 'settings.root', message: 'must be an absolute path' }]);
    const escaping = await issuesOf(service.create(ORG, { name: 'Disk', provider: 'local', settings: { root: '/srv/../etc' } }));
    expect(escaping).toEqual([{ field: 'settings.root', message: 'the path must not contain ".." segments' }]);
    const ok = await service.create(ORG, { name: 'Disk', provider: 'local', settings: { root: '/srv/backups' } });
    expect(ok).toMatchObject({ provider: 'local', settings: { root: '/srv/backups' }, credentials: null });
  });

  it('ports, sizes and counts must be in range and of the right type', async () => {
    const { service } = setup();
    const ftp = await issuesOf(
      service.create(ORG, {
        name: 'FTP',
        provider: 'ftp',
        settings: { host: 'ftp.example.com', port: 70000, root: '/b', max_connections: 0, secure: 'yes' },
        credentials: { username: 'u', password: 'p' },
      }),
    );
    expect(ftp.map((i) => i.field).sort()).toEqual(['settings.max_connections', 'settings.port', 'settings.secure']);
    const s3 = await issuesOf(service.create(ORG, { ...S3_BODY, settings: { bucket: 'b', part_size_mb: 2, queue_size: 2.5 } }));
    expect(s3.map((i) => i.field).sort()).toEqual(['settings.part_size_mb', 'settings.queue_size']);
  });

  it('each provider requires its own fields and secrets', async () => {
    const { service } = setup();
    expect(await issuesOf(service.create(ORG, { name: 'S3', provider: 's3', settings: {} }))).toEqual([
      { field: 'settings.bucket', message: 'is required' },
      { field: 'credentials', message: 'is required' },
    ]);
    const minio = await issuesOf(service.create(ORG, { ...S3_BODY, provider: 'minio', settings: { bucket: 'b' } }));
    expect(minio).toEqual([{ field: 'settings.endpoint', message: 'is required' }]);
    const r2 = await issuesOf(service.create(ORG, { ...S3_BODY, provider: 'r2', settings: { bucket: 'b' } }));
    expect(r2.map((i) => i.field)).toEqual(['settings.account_id']);
    const sftp = await issuesOf(
      service.create(ORG, {
        name: 'SFTP',
        provider: 'sftp',
        settings: { host: 'h', root: 'relative', host_key: 'not-a-key' },
        credentials: { username: 'u' },
      }),
    );
    expect(sftp.map((i) => i.field).sort()).toEqual(['credentials.password', 'settings.host_key', 'settings.root']);
  });

  it('an unknown provider and a missing name are reported together', async () => {
    const { service } = setup();
    const issues = await issuesOf(service.create(ORG, { provider: 'dropbox', settings: {} }));
    expect(issues.map((i) => i.field).sort()).toEqual(['name', 'provider']);
  });

  it('an organisation id is required', async () => {
    const { service } = setup();
    await expect(service.create('', S3_BODY)).rejects.toMatchObject({ code: 'E_VALIDATION', issues: [{ field: 'organization_id' }] });
  });
});
