import { describe, expect, it } from 'vitest';
import { createStorageProvider, S3StorageProvider, type StorageConfig } from '../../../src/index.js';
import { resolveS3Options } from '../../../src/storage/s3/s3-presets.js';

const config = (
  provider: StorageConfig['provider'],
  settings: Record<string, unknown>,
  over: Partial<StorageConfig> = {},
): StorageConfig => ({
  id: '00000000-0000-4000-8000-000000000001',
  organization_id: 'org',
  name: 'c',
  provider,
  is_default: true,
  settings,
  credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'SECRET-never-shown' },
  storage_class: null,
  total_size_bytes: 0,
  object_count: 0,
  last_used_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('S3 presets', () => {
  it('aws: region, no endpoint, virtual-hosted style, SDK default checksums', () => {
    const o = resolveS3Options(config('s3', { bucket: 'b', region: 'eu-west-1' }));
    expect(o).toMatchObject({ region: 'eu-west-1', forcePathStyle: false, checksums: 'WHEN_SUPPORTED' });
    expect(o.endpoint).toBeUndefined();
  });

  it('aws kind with a custom endpoint is treated as S3-compatible (WHEN_REQUIRED)', () => {
    expect(resolveS3Options(config('s3', { bucket: 'b', endpoint: 'https://s3.example.net' })).checksums).toBe('WHEN_REQUIRED');
  });

  it('r2: account endpoint, region auto, WHEN_REQUIRED, optional jurisdiction', () => {
    const account = 'a'.repeat(32);
    expect(resolveS3Options(config('r2', { bucket: 'b', account_id: account }))).toMatchObject({
      endpoint: `https://${account}.r2.cloudflarestorage.com`,
      region: 'auto',
      checksums: 'WHEN_REQUIRED',
    });
    expect(resolveS3Options(config('r2', { bucket: 'b', account_id: account, jurisdiction: 'eu' })).endpoint).toBe(
      `https://${account}.eu.r2.cloudflarestorage.com`,
    );
    expect(() => resolveS3Options(config('r2', { bucket: 'b' }))).toThrow(/settings\.account_id/);
    expect(() => resolveS3Options(config('r2', { bucket: 'b', account_id: 'short' }))).toThrow(/32-character/);
  });

  it('b2: s3.<region>.backblazeb2.com, WHEN_REQUIRED', () => {
    expect(resolveS3Options(config('b2', { bucket: 'b', region: 'us-west-004' }))).toMatchObject({
      endpoint: 'https://s3.us-west-004.backblazeb2.com',
      region: 'us-west-004',
      checksums: 'WHEN_REQUIRED',
    });
    expect(() => resolveS3Options(config('b2', { bucket: 'b' }))).toThrow(/settings\.region/);
  });

  it('minio: custom endpoint, path-style, WHEN_REQUIRED', () => {
    expect(resolveS3Options(config('minio', { bucket: 'b', endpoint: 'http://127.0.0.1:9000' }))).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      checksums: 'WHEN_REQUIRED',
      region: 'us-east-1',
    });
    expect(() => resolveS3Options(config('minio', { bucket: 'b' }))).toThrow(/settings\.endpoint/);
    expect(() => resolveS3Options(config('minio', { bucket: 'b', endpoint: 'ftp://x' }))).toThrow(/http\(s\) URL/);
  });

  it('part size and queue size come from settings, within S3 limits', () => {
    const o = resolveS3Options(config('s3', { bucket: 'b', part_size_mb: 64, queue_size: 2 }));
    expect(o.partSize).toBe(64 * 1024 * 1024);
    expect(o.queueSize).toBe(2);
    expect(resolveS3Options(config('s3', { bucket: 'b' })).partSize).toBe(8 * 1024 * 1024);
    expect(() => resolveS3Options(config('s3', { bucket: 'b', part_size_mb: 4 }))).toThrow(/part_size_mb/);
    expect(() => resolveS3Options(config('s3', { bucket: 'b', queue_size: 0 }))).toThrow(/queue_size/);
  });

  it('passes the product storage_class and server-side encryption through', () => {
    const o = resolveS3Options(
      config('s3', { bucket: 'b', server_side_encryption: 'aws:kms', sse_kms_key_id: 'k-1' }, { storage_class: 'GLACIER_IR' }),
    );
    expect(o).toMatchObject({ storageClass: 'GLACIER_IR', serverSideEncryption: 'aws:kms', sseKmsKeyId: 'k-1' });
    expect(() => resolveS3Options(config('s3', { bucket: 'b', server_side_encryption: 'rot13' }))).toThrow(/server_side_encryption/);
  });

  it('reports every missing field at once, naming no secret', () => {
    const error = (() => {
      try {
        resolveS3Options(config('s3', {}, { credentials: null }));
      } catch (e) {
        return e as { issues: { field: string }[] };
      }
    })();
    expect(error?.issues.map((i) => i.field).sort()).toEqual([
      'credentials.access_key_id',
      'credentials.secret_access_key',
      'settings.bucket',
    ]);
  });

  it('createStorageProvider maps s3, r2, b2 and minio to the S3 provider without exposing secrets', () => {
    const kinds = [
      config('s3', { bucket: 'b' }),
      config('r2', { bucket: 'b', account_id: 'f'.repeat(32) }),
      config('b2', { bucket: 'b', region: 'eu-central-003' }),
      config('minio', { bucket: 'b', endpoint: 'http://127.0.0.1:9000' }),
    ];
    for (const c of kinds) {
      const p = createStorageProvider(c);
      expect(p).toBeInstanceOf(S3StorageProvider);
      expect(p.name).toBe(c.provider);
      expect(p.canPresign).toBe(true);
      expect(JSON.stringify(p)).not.toContain('SECRET-never-shown');
      void p.close();
    }
  });

  it('refuses presigned URLs longer than SigV4 allows (7 days) and shorter than a second', async () => {
    const p = createStorageProvider(config('s3', { bucket: 'my-backups' }));
    await expect(p.presign('k', 604_801)).rejects.toMatchObject({ code: 'E_VALIDATION' });
    await expect(p.presign('k', 0)).rejects.toMatchObject({ code: 'E_VALIDATION' });
    const url = new URL(await p.presign('k', 3600));
    expect(url.hostname).toBe('my-backups.s3.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.toString()).not.toContain('SECRET-never-shown');
    await p.close();
  });
});
