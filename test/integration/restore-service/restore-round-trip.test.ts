// Restores through RestoreService on real PostgreSQL (pg_dump / pg_restore), from the real
// storage servers, into local, docker (stand-in) and SSH targets: a user's checks (row counts,
// data dump hash, file hashes) equal the source's; a flipped byte is refused with the target
// untouched; a replace completes with one worker slot busy restoring.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, chownSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupService,
  defaultDockerSource,
  RestoreService,
  type ResolvedEnvironment,
  type RestoreRequestInput,
  type LocalSource,
  type SourceConfig,
  type StorageConfig,
  type Task,
} from '../../../src/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
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
import { startS3, type S3Server } from '../../servers/s3.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import { leftovers, snapshotOf, storageConfigRecord } from './restore-helpers.js';

const run = promisify(execFile);
const fakeDockerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/fake-docker');
const saved = { PATH: process.env.PATH, FAKE_DOCKER_CONTAINERS: process.env.FAKE_DOCKER_CONTAINERS };

let pg: PgServer;
let s3: S3Server;
let ftp: FtpServer;
let sshd: SshServer;
let work: string;
let root: string;
const org = makeResolvedEnvironment().organization_id;
const backups = new InMemoryBackupRepository();
const tasks = new InMemoryTaskRepository();
const storageConfigs = new InMemoryStorageConfigRepository();
const policies = new InMemoryBackupPolicyRepository();
const resolver = new StaticEnvironmentResolver();
const events = new MemoryEventSink();
const configs = new Map<string, StorageConfig>();
/** Backup id of the source, per storage provider. */
const backupIds = new Map<string, string>();
let source: ResolvedEnvironment;
let sourceSnapshot: Awaited<ReturnType<typeof snapshotOf>>;

function localSource(db: string, filestore: string): LocalSource {
  return {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: db },
    filestore_path: filestore,
    pg_bin_dir: pg.binDir,
  };
}

function environment(db: string, config: SourceConfig): ResolvedEnvironment {
  const env = makeResolvedEnvironment({ organization_id: org, db_name: db, odoo_version: '17.0', source: config });
  resolver.set(env);
  return env;
}

const PROVIDERS = ['local', 's3', 'ftp', 'sftp'] as const;

beforeAll(async () => {
  [pg, s3, ftp, sshd] = await Promise.all([startPostgres(), startS3(), startFtp(), startSshd()]);
  work = await mkdtemp(join(tmpdir(), 'obsdk-restore-svc-'));
  mkdirSync(join(work, 'storage')); // the local provider never creates its root
  chmodSync(work, 0o755);
  root = join(work, 'filestore');
  mkdirSync(root);
  const fixture = await createOdooFixture(pg, { dbName: 'rs_src', databaseMb: 1, filestoreMb: 0.3, files: 12, filestoreRoot: root });
  source = environment('rs_src', localSource('rs_src', fixture.filestorePath));
  sourceSnapshot = await snapshotOf(pg, 'rs_src', fixture.filestorePath);

  const sftpRoot = join(sshd.homeDir, 'backups');
  mkdirSync(sftpRoot);
  const { uid, gid } = statSync(sshd.homeDir);
  chownSync(sftpRoot, uid, gid);
  const settings: Record<(typeof PROVIDERS)[number], Pick<StorageConfig, 'provider' | 'settings' | 'credentials'>> = {
    local: { provider: 'local', settings: { root: join(work, 'storage') }, credentials: null },
    s3: {
      provider: 'minio',
      settings: { bucket: s3.bucket, endpoint: s3.endpoint },
      credentials: { access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
    },
    ftp: {
      provider: 'ftp',
      settings: { host: ftp.host, port: ftp.port, root: ftp.root },
      credentials: { username: ftp.username, password: ftp.password },
    },
    sftp: {
      provider: 'sftp',
      settings: { host: sshd.host, port: sshd.port, root: sftpRoot, host_key: sshd.hostKeyFingerprint },
      credentials: { username: sshd.username, private_key: sshd.privateKey },
    },
  };
  // One backup of the source into each storage, through the BackupService.
  const queue = new InMemoryJobQueue();
  const service = new BackupService({ backups, tasks, storageConfigs, policies, environments: resolver, queue });
  const worker = service.startWorker({ concurrency: 2 });
  for (const p of PROVIDERS) {
    const config = await storageConfigs.create(storageConfigRecord(org, settings[p]));
    configs.set(p, config);
    const created = await service.createBackup(source.environment_id, { storage_config_id: config.id }, null);
    backupIds.set(p, created.id);
  }
  await queue.idle();
  await worker.close();
  for (const [p, id] of backupIds) expect((await backups.get(id))!.status, p).toBe('completed');
  // The pre-restore backups of replace mode go to the organisation's default storage.
  await storageConfigs.update(configs.get('local')!.id, { is_default: true });
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await Promise.all([sshd?.stop(), ftp?.stop(), s3?.stop()]);
  await pg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A RestoreService on its own queue with one worker slot; runs one restore to its end. */
async function restore(backupId: string, request: RestoreRequestInput): Promise<Task> {
  const queue = new InMemoryJobQueue();
  const restores = new RestoreService({ backups, tasks, storageConfigs, policies, environments: resolver, queue, events });
  const worker = restores.startWorker({ concurrency: 1 });
  try {
    const task = await restores.restoreBackup(backupId, request, { id: 'admin' });
    await queue.idle();
    return (await tasks.get(task.id))!;
  } finally {
    await worker.close();
  }
}

describe.concurrent.each(PROVIDERS)('restore from %s storage', (provider) => {
  it('into a new database: tables, data dump and files equal the source', async () => {
    const name = `rs_new_${provider}`;
    // Its own environment on the source's server (one restore at a time runs per environment).
    const beside = environment('rs_src', source.source);
    const task = await restore(backupIds.get(provider)!, {
      mode: 'new_database',
      as_copy: false,
      database_name: name,
      target_environment_id: beside.environment_id,
      jobs: provider === 's3' ? 2 : 1,
    });
    expect(task.status, task.error_message ?? '').toBe('completed');
    expect(await snapshotOf(pg, name, join(root, name))).toEqual(sourceSnapshot);
    expect(await leftovers(pg, name, [root])).toEqual({ databases: [], folders: [] });
  });

  it('over an environment (replace): it becomes the source, after a verified pre-restore backup of it', async () => {
    const name = `rs_tgt_${provider}`;
    const fixture = await createOdooFixture(pg, {
      dbName: name,
      databaseMb: 0.3,
      filestoreMb: 0.1,
      files: 5,
      filestoreRoot: root,
      seed: 7,
    });
    const target = environment(name, localSource(name, fixture.filestorePath));
    const task = await restore(backupIds.get(provider)!, { mode: 'replace', target_environment_id: target.environment_id, as_copy: false });
    expect(task.status, task.error_message ?? '').toBe('completed');
    expect(await snapshotOf(pg, name, fixture.filestorePath)).toEqual(sourceSnapshot);
    const pre = (await backups.get(journalOf(task)!.pre_restore_backup_id!))!;
    expect(pre).toMatchObject({
      backup_type: 'pre_restore',
      status: 'completed',
      is_verified: true,
      environment_id: target.environment_id,
    });
    expect(await leftovers(pg, name, [root])).toEqual({ databases: [], folders: [] });
  });
});

describe('refusals and targets', () => {
  it('a byte flipped in the stored object is refused before the target is touched; nothing temporary is left', async () => {
    const name = 'rs_flip';
    const fixture = await createOdooFixture(pg, {
      dbName: name,
      databaseMb: 0.3,
      filestoreMb: 0.1,
      files: 5,
      filestoreRoot: root,
      seed: 9,
    });
    const target = environment(name, localSource(name, fixture.filestorePath));
    const before = await snapshotOf(pg, name, fixture.filestorePath);
    const original = (await backups.get(backupIds.get('local')!))!;
    // A copy of the local backup whose object has one byte flipped in the middle of the dump.
    const path = join(work, 'storage', original.database_key!);
    const bytes = readFileSync(path);
    const copyKey = original.database_key!.replace(/\.zip$/, '-flipped.zip');
    bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
    writeFileSync(join(work, 'storage', copyKey), bytes);
    const copy = await backups.create({ ...original, id: crypto.randomUUID(), database_key: copyKey });
    const task = await restore(copy.id, { mode: 'replace', target_environment_id: target.environment_id, as_copy: false });
    expect(task.status).toBe('failed');
    expect(journalOf(task)!.error!.code).toMatch(/^E_(ARCHIVE|CHECKSUM_MISMATCH|SOURCE_PG_RESTORE)/);
    expect(journalOf(task)!.begun).not.toContain('pre_restore_backup');
    expect(await snapshotOf(pg, name, fixture.filestorePath)).toEqual(before);
    expect(await leftovers(pg, name, [root])).toEqual({ databases: [], folders: [] });
  });

  it('through the docker stand-in and over SSH, into new databases', async () => {
    // docker: the fake docker runs each "container's" commands here with its environment.
    const containers = join(work, 'containers');
    const dockerRoot = join(work, 'docker-root');
    mkdirSync(containers);
    mkdirSync(dockerRoot);
    writeFileSync(
      join(containers, 'rs7_db.json'),
      JSON.stringify({ env: { PATH: `${pg.binDir}:/usr/bin:/bin`, PGHOST: pg.host, PGPORT: String(pg.port) } }),
    );
    writeFileSync(join(containers, 'rs7_odoo.json'), JSON.stringify({ env: { PATH: '/usr/bin:/bin' } }));
    process.env.PATH = `${fakeDockerDir}:${process.env.PATH}`;
    process.env.FAKE_DOCKER_CONTAINERS = containers;
    const docker = environment(
      'rs_src',
      defaultDockerSource('rs7', 'rs_src', { db_user: pg.user, password: pg.password, filestore_root: dockerRoot }),
    );

    const sshRoot = join(sshd.homeDir, 'fs-root');
    await run('install', ['-d', '-m', '0755', ...(process.getuid?.() === 0 ? ['-o', sshd.username] : []), sshRoot]);
    const ssh = environment('rs_src', {
      kind: 'ssh',
      ssh: { host: sshd.host, port: sshd.port, username: sshd.username, private_key: sshd.privateKey, host_key: sshd.knownHostsLine },
      remote: localSource('rs_src', join(sshRoot, 'rs_src')),
    });

    for (const [env, name, folderRoot] of [
      [docker, 'rs_docker', dockerRoot],
      [ssh, 'rs_ssh', sshRoot],
    ] as const) {
      const task = await restore(backupIds.get('local')!, {
        mode: 'new_database',
        as_copy: false,
        database_name: name,
        target_environment_id: env.environment_id,
      });
      expect(task.status, `${name}: ${task.error_message}`).toBe('completed');
      expect(await snapshotOf(pg, name, join(folderRoot, name))).toEqual(sourceSnapshot);
      expect(await leftovers(pg, name, [folderRoot])).toEqual({ databases: [], folders: [] });
    }
  });
});
