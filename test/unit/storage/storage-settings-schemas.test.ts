// The strict per-provider schemas and the provider builders must agree: whatever the schema
// accepts builds a provider, and each schema refuses unknown keys.
import { describe, expect, it } from 'vitest';
import { createStorageProvider, STORAGE_PROVIDER_TYPES, StorageConfigService, type StorageConfigSettings } from '../../../src/index.js';

const StorageConfigSettingsSchema = StorageConfigService.settingsSchema;
import { makeStorageConfig } from '../../../src/testing/index.js';

const S3_CREDENTIALS = { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'not-a-real-secret' };
const HOST_KEY = 'SHA256:' + 'A'.repeat(43);

const VALID: StorageConfigSettings[] = [
  { provider: 'memory', settings: {}, credentials: null },
  { provider: 'local', settings: { root: '/srv/backups' } },
  {
    provider: 's3',
    settings: { bucket: 'b', region: 'eu-west-1', prefix: 'odoo', part_size_mb: 64, queue_size: 8, server_side_encryption: 'AES256' },
    credentials: S3_CREDENTIALS,
  },
  { provider: 'r2', settings: { bucket: 'b', account_id: 'a'.repeat(32), jurisdiction: 'eu' }, credentials: S3_CREDENTIALS },
  { provider: 'b2', settings: { bucket: 'b', region: 'us-west-004' }, credentials: S3_CREDENTIALS },
  { provider: 'minio', settings: { bucket: 'b', endpoint: 'http://127.0.0.1:9000' }, credentials: S3_CREDENTIALS },
  {
    provider: 'ftp',
    settings: { host: 'ftp.example.com', port: 2121, root: '/backups', secure: true },
    credentials: { username: 'u', password: 'p' },
  },
  {
    provider: 'sftp',
    settings: { host: 'sftp.example.com', port: 22, root: '/home/u/backups', host_key: HOST_KEY },
    credentials: { username: 'u', private_key: '-----BEGIN OPENSSH PRIVATE KEY-----' },
  },
];

describe('storage settings schemas', () => {
  it.each(VALID.map((v) => [v.provider, v] as const))('%s: a valid config parses and builds a provider', async (_, valid) => {
    const parsed = StorageConfigSettingsSchema.parse(valid);
    expect(parsed.provider).toBe(valid.provider);
    const provider = createStorageProvider(
      makeStorageConfig({
        provider: parsed.provider,
        settings: parsed.settings,
        credentials: (parsed.credentials ?? null) as Record<string, string> | null,
      }),
    );
    expect(typeof provider.testConnection).toBe('function');
    await provider.close();
  });

  it.each(VALID.map((v) => [v.provider, v] as const))('%s: an unknown settings key is refused', (_, valid) => {
    const result = StorageConfigSettingsSchema.safeParse({ ...valid, settings: { ...valid.settings, bukcet: 'typo' } });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => [i.code, i.path.join('.')])).toContainEqual(['unrecognized_keys', 'settings']);
  });

  it('every provider has a settings schema, and the settings schema alone also refuses unknown keys', () => {
    expect(Object.keys(StorageConfigService.providerSettingsSchemas).sort()).toEqual([...STORAGE_PROVIDER_TYPES].sort());
    expect(StorageConfigService.providerSettingsSchemas.local.safeParse({ root: '/srv', rot: '/x' }).success).toBe(false);
    expect(StorageConfigService.providerSettingsSchemas.local.safeParse({ root: '/srv' }).success).toBe(true);
  });

  it('the provider decides which settings shape applies', () => {
    expect(StorageConfigSettingsSchema.safeParse({ provider: 'local', settings: { bucket: 'b' } }).success).toBe(false);
    expect(StorageConfigSettingsSchema.safeParse({ provider: 'gdrive', settings: {} }).success).toBe(false);
  });
});
