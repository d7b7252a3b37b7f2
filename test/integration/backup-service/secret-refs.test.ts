// Storage credentials given by reference ({ ref }) and resolved by the host's SecretResolver:
// backup, verify, download, restore, retention and the connection test all work against a real
// FTP server and PostgreSQL, and the resolved password (a random sentinel) is found in no
// record, event, log line or error afterwards, on the failing paths (a wrong password) too.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBackupSdk,
  type BackupSdk,
  type LocalSource,
  type LogFields,
  type Logger,
  type SecretResolver,
  type StorageConfig,
} from '../../../src/index.js';
import {
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  MemoryEventSink,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { createOdooFixture } from '../../fixtures/odoo-fixture.js';
import { startFtp, type FtpServer } from '../../servers/ftp.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { snapshotOf } from '../restore-service/restore-helpers.js';

let pg: PgServer;
let ftp: FtpServer;
let work: string;
const org = makeResolvedEnvironment().organization_id;
const backups = new InMemoryBackupRepository();
const tasks = new InMemoryTaskRepository();
const storageConfigs = new InMemoryStorageConfigRepository();
const policies = new InMemoryBackupPolicyRepository();
const environments = new StaticEnvironmentResolver();
const events = new MemoryEventSink();
const lines: { level: string; fields: LogFields; message: string }[] = [];
const logger: Logger = Object.fromEntries(
  (['debug', 'info', 'warn', 'error'] as const).map((level) => [
    level,
    (fields: LogFields, message: string) => lines.push({ level, fields, message }),
  ]),
) as unknown as Logger;
/** Everything thrown at the test, or returned as a failure, by the SDK. */
const errors: unknown[] = [];
const WRONG = `wr0ng-${randomBytes(8).toString('hex')}`;
const queue = new InMemoryJobQueue();
let secrets: SecretResolver & { asked: string[] };
let sdk: BackupSdk;
let source: LocalSource;

async function capture<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    errors.push(error);
    return undefined;
  }
}

beforeAll(async () => {
  [pg, ftp] = await Promise.all([startPostgres(), startFtp()]);
  work = await mkdtemp(join(tmpdir(), 'obsdk-secret-refs-'));
  const root = join(work, 'filestore');
  mkdirSync(root);
  const fixture = await createOdooFixture(pg, { dbName: 'sr_src', databaseMb: 0.3, filestoreMb: 0.05, files: 4, filestoreRoot: root });
  source = {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: 'sr_src' },
    filestore_path: fixture.filestorePath,
    pg_bin_dir: pg.binDir,
  };
  environments.set(
    makeResolvedEnvironment({ environment_id: 'env-secret-refs', organization_id: org, db_name: 'sr_src', odoo_version: '17.0', source }),
  );
  const values: Record<string, string> = {
    'vault://ftp/user': ftp.username,
    'vault://ftp/password': ftp.password,
    'vault://ftp/old': WRONG,
  };
  const asked: string[] = [];
  secrets = {
    asked,
    resolve: (ref) => {
      asked.push(ref);
      const value = values[ref];
      if (value === undefined) throw new Error(`no secret at ${ref}`);
      return value;
    },
  };
  sdk = createBackupSdk(
    { backups, tasks, storageConfigs, policies, environments, queue, events, logger, secrets },
    { backup: { retry: { attempts: 1, backoffMs: [] } } },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([ftp?.stop(), pg?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

const ftpConfig = (password: string) => ({
  name: `ftp ${password}`,
  provider: 'ftp',
  settings: { host: ftp.host, port: ftp.port, root: ftp.root },
  credentials: { username: { ref: 'vault://ftp/user' }, password: { ref: password } },
});

describe('secrets by reference', () => {
  it('backup, verify, download, restore, retention and test work through refs; the resolved password is in no record, event, log line or error', async () => {
    const good = await sdk.storageConfigs.create(org, { ...ftpConfig('vault://ftp/password'), is_default: true });
    // What is stored and returned is the reference, as given.
    expect(good.credentials).toEqual({ username: { ref: 'vault://ftp/user' }, password: { ref: 'vault://ftp/password' } });
    expect((await storageConfigs.get(good.id))!.credentials).toEqual(good.credentials);
    const wrong = await sdk.storageConfigs.create(org, ftpConfig('vault://ftp/old'));

    expect(await sdk.storageConfigs.test(org, good.id)).toMatchObject({ ok: true });
    expect(await sdk.storageConfigs.test(org, ftpConfig('vault://ftp/password'))).toMatchObject({ ok: true });
    const refused = await sdk.storageConfigs.test(org, wrong.id);
    expect(refused.ok).toBe(false);
    errors.push(refused);

    const worker = sdk.backups.startWorker({ concurrency: 1 });
    const restoreWorker = sdk.restores.startWorker({ concurrency: 1 });
    try {
      const created = await sdk.backups.createBackup('env-secret-refs', {}, { id: 'user-1' });
      const failing = await sdk.backups.createBackup('env-secret-refs', { storage_config_id: wrong.id }, { id: 'user-1' });
      await queue.idle();
      const done = (await backups.get(created.id))!;
      expect(done, done.error_message ?? '').toMatchObject({ status: 'completed', is_verified: true, storage_config_id: good.id });
      expect((await backups.get(failing.id))!).toMatchObject({ status: 'failed', error_details: { code: 'E_STORAGE_AUTH' } });

      expect(await sdk.backups.verifyBackup(done.id)).toMatchObject({ ok: true });
      const download = await sdk.backups.openDownload(done.id);
      expect((await buffer(download.stream)).length).toBe(done.compressed_size);
      await capture(sdk.backups.getDownloadUrls(done.id)); // FTP cannot sign: an error, without the secret

      const target = makeResolvedEnvironment({ organization_id: org, db_name: 'sr_src', source });
      environments.set(target);
      const restore = await sdk.restores.restoreBackup(
        done.id,
        { mode: 'new_database', database_name: 'sr_restored', target_environment_id: target.environment_id, as_copy: false },
        { id: 'user-1' },
      );
      await queue.idle();
      const restored = (await tasks.get(restore.id))!;
      expect(restored.status, restored.error_message ?? '').toBe('completed');
      expect((await snapshotOf(pg, 'sr_restored', null)).tables).toEqual((await snapshotOf(pg, 'sr_src', null)).tables);

      await sdk.backups.deleteBackup(done.id, {}, { id: 'user-1' });
      const cleanup = await sdk.retention.runCleanup();
      expect(cleanup).toMatchObject({ deleted_storage: 1, errors: [] });
      await capture(sdk.backups.verifyBackup(done.id)); // deleted: refused
    } finally {
      await worker.close();
      await restoreWorker.close();
    }
    expect(new Set(secrets.asked)).toEqual(new Set(['vault://ftp/user', 'vault://ftp/password', 'vault://ftp/old']));

    const records = {
      backups: await backups.find({}),
      tasks: await tasks.find({}),
      configs: await storageConfigs.list(org),
      listed: await sdk.storageConfigs.list(org),
    };
    const thrown = errors.map((e) =>
      e instanceof Error
        ? { message: e.message, stack: e.stack, details: (e as { details?: unknown }).details, cause: String(e.cause) }
        : e,
    );
    const haystack = JSON.stringify({ records, events: events.events, lines, thrown });
    expect(events.events.length).toBeGreaterThan(10);
    expect(lines.length).toBeGreaterThan(3);
    for (const secret of [ftp.password, WRONG]) expect(haystack.includes(secret), 'a resolved secret leaked').toBe(false);
  }, 120_000);

  it('a { ref } without a SecretResolver fails typed (E_SECRET_REF), before any connection', async () => {
    const bare = createBackupSdk({ backups, tasks, storageConfigs, policies, environments, queue: new InMemoryJobQueue() });
    const config: StorageConfig = (await storageConfigs.list(org)).find((c) => c.is_default)!;
    const result = await bare.storageConfigs.test(org, config.id);
    expect(result).toMatchObject({ ok: false });
    expect(result.message).toContain('no SecretResolver');
    const q = bare.ports.queue as InMemoryJobQueue;
    const worker = bare.backups.startWorker();
    const created = await bare.backups.createBackup('env-secret-refs', {}, null);
    await q.idle();
    await worker.close();
    expect((await backups.get(created.id))!).toMatchObject({
      status: 'failed',
      error_details: { code: 'E_SECRET_REF', field: 'username', storage_config_id: config.id },
    });
  }, 60_000);
});
