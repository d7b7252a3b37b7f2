import { createHash } from 'node:crypto';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { checkGeneratedKeys } from '../../fixtures/hostile-keys.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageProvider, type StorageConfig, type StorageProvider } from '../../../src/index.js';
import type { S3StorageProvider } from '../../../src/storage/index.js';
import { digestStream, generatedStream, runStorageProviderContract } from '../../../src/testing/index.js';
import { startS3, type S3Server } from '../../servers/s3.js';

// One s3rver for the file. Top-level await: the contract registers its tests at collection time.
const server: S3Server = await startS3();
afterAll(() => server.stop());

const config = (settings: Record<string, unknown> = {}, credentials?: Record<string, string>): StorageConfig => ({
  id: '00000000-0000-4000-8000-0000000000s3',
  organization_id: 'org',
  name: 's3rver',
  provider: 'minio',
  is_default: true,
  settings: {
    bucket: server.bucket,
    endpoint: server.endpoint,
    part_size_mb: 5,
    queue_size: 4,
    retries: 2,
    retry_min_delay_ms: 20,
    ...settings,
  },
  credentials: credentials ?? { access_key_id: server.accessKeyId, secret_access_key: server.secretAccessKey },
  storage_class: null,
  total_size_bytes: 0,
  object_count: 0,
  last_used_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});

const provider = (settings: Record<string, unknown> = {}, credentials?: Record<string, string>): StorageProvider =>
  createStorageProvider(config(settings, credentials));

await runStorageProviderContract('s3 (minio preset) on s3rver', () => provider(), {
  largeObjectBytes: 64 * 1024 * 1024,
  // S3 pages at 1,000 keys: 1,100 cross a page boundary (2,500 spent 28 s of npm test on s3rver).
  listKeyCount: 1100,
  // Past two 5 MiB parts, so the abort and source-failure checks cover a started multipart upload.
  midUploadBytes: 12 * 1024 * 1024,
  leftovers: async () => server.pendingUploads(),
  serverCrash: {
    kill: () => server.kill(),
    restart: () => server.restart(),
    afterBytes: 12 * 1024 * 1024,
    provider: () => provider({ retries: 1, retry_min_delay_ms: 50 }),
  },
  wrongCredentials: {
    provider: () => provider({}, { access_key_id: 'NOT-A-KEY', secret_access_key: 'wrong-secret-value' }),
    secret: 'wrong-secret-value',
  },
  missingContainer: () => provider({ bucket: 'no-such-bucket' }),
});

describe('S3 provider details against s3rver', () => {
  it('50 generated hostile keys are refused with E_VALIDATION by every method, or round-trip and list', () =>
    checkGeneratedKeys(provider()));

  let p: S3StorageProvider;
  beforeAll(() => {
    p = provider() as S3StorageProvider;
  });
  afterAll(() => p.close());

  it('streams a multipart upload (several 5 MiB parts plus a short last one) and reads back the same SHA-256', async () => {
    // The crash check may leave an upload the dead server could not abort: compare, not assume empty.
    const pendingBefore = server.pendingUploads();
    const size = 3 * 5 * 1024 * 1024 + 12345;
    const src = generatedStream(size, 42);
    const progress: number[] = [];
    const res = await p.upload('multi/x.bin', src.stream, { onProgress: (n) => progress.push(n) });
    expect(res.size).toBe(size);
    // Progress is reported per completed part: four parts, the last one short.
    expect(progress).toHaveLength(4);
    expect(progress.at(-1)).toBe(size);
    const back = await digestStream(await p.download('multi/x.bin'));
    expect(back).toEqual({ size, sha256: src.digest() });
    expect(server.pendingUploads()).toEqual(pendingBefore);
  });

  it('keeps keys under the configured prefix and lists them without it', async () => {
    const scoped = provider({ prefix: 'tenant-a/backups' });
    const plain = provider();
    try {
      await scoped.upload('k/one.txt', Readable.from([Buffer.from('1')]));
      expect((await plain.head('tenant-a/backups/k/one.txt')).exists).toBe(true);
      const keys: string[] = [];
      for await (const o of scoped.list('k/')) keys.push(o.key);
      expect(keys).toEqual(['k/one.txt']);
    } finally {
      await scoped.close();
      await plain.close();
    }
  });

  it('deleteMany removes objects with DeleteObjects (Content-MD5) and ignores missing keys', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `bulk/${i}.txt`);
    for (const k of keys) await p.upload(k, Readable.from([Buffer.from(k)]));
    await p.deleteMany([...keys, 'bulk/missing.txt']);
    for (const k of keys) expect((await p.head(k)).exists).toBe(false);
  });

  it('refuses presigned URLs beyond 7 days before signing', async () => {
    await expect(p.presign('x', 604_801)).rejects.toMatchObject({ code: 'E_VALIDATION' });
    const url = await p.presign('x', 604_800);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('604800');
  });

  it('sends no aws-chunked body or flexible checksum header on a streamed PutObject (stored bytes equal sent bytes)', async () => {
    // With the SDK defaults, s3rver stores the aws-chunked framing (6,292,356 bytes for 6,291,456).
    const data = generatedStream(4 * 1024 * 1024 + 1, 9);
    await p.upload('chk/one.bin', data.stream);
    const head = await p.head('chk/one.bin');
    expect(head.exists && head.size).toBe(4 * 1024 * 1024 + 1);
    const back = await digestStream(await p.download('chk/one.bin'));
    expect(back.sha256).toBe(data.digest());
    expect(createHash('sha256').update('').digest('hex')).not.toBe(back.sha256);
  });

  it('passes storage_class through on single and multipart uploads (s3rver stores and validates it)', async () => {
    const raw = new S3Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const ia = createStorageProvider({ ...config(), storage_class: 'STANDARD_IA' });
    try {
      await ia.upload('class/small.bin', generatedStream(1000, 1).stream);
      await ia.upload('class/multi.bin', generatedStream(11 * 1024 * 1024, 2).stream);
      for (const Key of ['class/small.bin', 'class/multi.bin']) {
        const head = await raw.send(new HeadObjectCommand({ Bucket: server.bucket, Key }));
        expect(head.StorageClass).toBe('STANDARD_IA');
      }
      // A class the server does not know is a permanent, typed failure.
      const bad = createStorageProvider({ ...config(), storage_class: 'NOT_A_CLASS' });
      await expect(bad.upload('class/bad.bin', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
        code: 'E_STORAGE',
        transient: false,
      });
      await bad.close();
    } finally {
      raw.destroy();
      await ia.close();
    }
  });

  it('never shows the secret in toJSON or inspection', () => {
    const q = provider({}, { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'super-secret-key-value' });
    expect(JSON.stringify(q)).not.toContain('super-secret-key-value');
    expect(JSON.stringify(q)).toContain(server.bucket);
  });
});
