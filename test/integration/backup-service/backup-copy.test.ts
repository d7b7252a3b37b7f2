// The second copy on real servers: a backup of a real PostgreSQL database to local storage is
// copied to S3 (s3rver); both objects hash to stored_checksum; with the primary object gone the
// backup verifies and restores from the copy; retention then removes both.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupSdk, createStorageProvider, type BackupSdk, type LocalSource, type StorageConfig } from '../../../src/index.js';
import {
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { createOdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startS3, type S3Server } from '../../servers/s3.js';
import { snapshotOf } from '../restore-service/restore-helpers.js';

let pg: PgServer;
let s3: S3Server;
let work: string;
let sdk: BackupSdk;
let source: LocalSource;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const env = makeResolvedEnvironment({ db_name: 'cp_src', odoo_version: '17.0' });
const backups = new InMemoryBackupRepository();
const tasks = new InMemoryTaskRepository();
const storageConfigs = new InMemoryStorageConfigRepository();
const policies = new InMemoryBackupPolicyRepository();
const environments = new StaticEnvironmentResolver();
const queue = new InMemoryJobQueue();
let primary: StorageConfig;
let offsite: StorageConfig;

beforeAll(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
  work = await mkdtemp(join(tmpdir(), 'obsdk-copy-'));
  const root = join(work, 'filestore');
  mkdirSync(root);
  mkdirSync(join(work, 'storage'));
  const fixture = await createOdooFixture(pg, { dbName: 'cp_src', databaseMb: 0.3, filestoreMb: 0.05, files: 4, filestoreRoot: root });
  source = {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: 'cp_src' },
    filestore_path: fixture.filestorePath,
    pg_bin_dir: pg.binDir,
  };
  environments.set({ ...env, source });
  sdk = createBackupSdk({ backups, tasks, storageConfigs, policies, environments, queue });
  const org = env.organization_id;
  primary = (await sdk.storageConfigs.create(org, {
    name: 'local disk',
    provider: 'local',
    settings: { root: join(work, 'storage') },
    is_default: true,
  })) as StorageConfig;
  offsite = (await sdk.storageConfigs.create(org, {
    name: 'offsite',
    provider: 'minio',
    settings: { bucket: s3.bucket, endpoint: s3.endpoint },
    credentials: { access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
  })) as StorageConfig;
  await sdk.policies.createPolicy(env.environment_id, { secondary_storage_config_id: offsite.id });
}, 120_000);

afterAll(async () => {
  await Promise.all([s3?.stop(), pg?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a second copy from local storage to S3', () => {
  it('completes with equal checksums; restores from the copy when the primary object is gone; retention removes both', async () => {
    const worker = sdk.backups.startWorker({ concurrency: 2 });
    const restoreWorker = sdk.restores.startWorker();
    try {
      const created = await sdk.backups.createBackup(env.environment_id, {}, null);
      await queue.idle();
      const b = (await backups.get(created.id))!;
      expect(b, b.copy_error ?? b.error_message ?? '').toMatchObject({ status: 'completed', is_verified: true, copy_status: 'completed' });
      const local = join(work, 'storage', b.database_key!);
      const s3Provider = createStorageProvider((await storageConfigs.get(offsite.id))!);
      try {
        expect(sha(readFileSync(local))).toBe(b.stored_checksum);
        expect(sha(await buffer(await s3Provider.download(b.copy_key!)))).toBe(b.stored_checksum);

        // The primary object is lost: the copy verifies and restores.
        rmSync(local);
        expect(await sdk.backups.verifyBackup(b.id, null, { from: 'copy' })).toMatchObject({ ok: true });
        const beside = makeResolvedEnvironment({ organization_id: env.organization_id, db_name: 'cp_src', source });
        environments.set(beside);
        const asked = await sdk.restores.restoreBackup(
          b.id,
          {
            mode: 'new_database',
            database_name: 'cp_from_copy',
            target_environment_id: beside.environment_id,
            from: 'copy',
            as_copy: false,
          },
          { id: 'admin' },
        );
        await queue.idle();
        const task = (await tasks.get(asked.id))!;
        expect(task.status, task.error_message ?? '').toBe('completed');
        expect((await snapshotOf(pg, 'cp_from_copy', null)).tables).toEqual((await snapshotOf(pg, 'cp_src', null)).tables);

        // Retention: one expiry, both objects deleted, both configs' usage lowered.
        await sdk.backups.deleteBackup(b.id);
        expect(await sdk.retention.runCleanup()).toMatchObject({ deleted_storage: 1, errors: [] });
        expect((await s3Provider.head(b.copy_key!)).exists).toBe(false);
        expect(existsSync(local)).toBe(false);
        expect((await backups.get(b.id))!).toMatchObject({ database_key: null, copy_key: null });
        for (const id of [primary.id, offsite.id])
          expect(await storageConfigs.get(id)).toMatchObject({ object_count: 0, total_size_bytes: 0 });
      } finally {
        await s3Provider.close();
      }
    } finally {
      await worker.close();
      await restoreWorker.close();
    }
  }, 120_000);
});
