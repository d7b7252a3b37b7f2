import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSource } from '../../../src/domain/source-config.js';
import type { StorageConfig } from '../../../src/domain/entities.js';
import { BackupSdkError } from '../../../src/errors/backup-sdk-error.js';
import { isErrorCode } from '../../../src/errors/error-codes.js';
import { BackupRunner } from '../../../src/pipeline/backup-runner.js';
import type { BackupSourceFactory } from '../../../src/ports/backup-source.js';
import type { StorageProvider, UploadOptions } from '../../../src/ports/storage-provider.js';
import { MemoryStorageProvider } from '../../../src/storage/memory/memory-provider.js';
import { createStorageProvider } from '../../../src/storage/registry.js';
import {
  FakeBackupSource,
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { startFtp, type FtpServer } from '../../servers/ftp.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startS3, type S3Server } from '../../servers/s3.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import { startTcpProxy, type TcpProxy } from '../../servers/tcp-proxy.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { descendantTools } from '../pipeline/pipeline-helpers.js';

// "No process-level errors, ever": whatever fails in a job (the source before its first byte or
// midway, the storage at start or midway), the job ends `failed` with a typed error, nothing is
// left in storage, no temp file and no child process remains, and the process never sees an
// uncaught exception or an unhandled rejection.

const TEMP_MARK = '.obsdk-partial-';
const MiB = 1024 * 1024;

const processErrors: unknown[] = [];
const recordProcessError = (e: unknown) => processErrors.push(e);

let pg: PgServer;
let work: string;
/** ~8 MiB of incompressible files: a filestore tarball that spans several S3 parts. */
let filestore: string;

beforeAll(async () => {
  process.on('uncaughtException', recordProcessError);
  process.on('unhandledRejection', recordProcessError);
  pg = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'obsdk-nocrash-'));
  filestore = join(work, 'filestore');
  mkdirSync(join(filestore, 'ab'), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(filestore, 'ab', `file-${i}`), randomBytes(2 * MiB));
});

afterAll(async () => {
  process.off('uncaughtException', recordProcessError);
  process.off('unhandledRejection', recordProcessError);
  await pg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(async () => {
  await new Promise((r) => setImmediate(r));
  expect(processErrors.splice(0)).toEqual([]);
  expect(descendantTools()).toEqual([]);
  expect(readdirSync(tmpdir()).filter((n) => n.startsWith(TEMP_MARK))).toEqual([]);
});

function localSource(overrides: Partial<LocalSource> = {}): LocalSource {
  return {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: 'postgres' },
    filestore_path: filestore,
    pg_bin_dir: pg.binDir,
    ...overrides,
  };
}

/** Calls `action` once `bytes` of the upload body have passed (to break storage midway). */
function whenBodyPasses(bytes: number, action: () => void) {
  return (p: StorageProvider): StorageProvider =>
    Object.assign(Object.create(p) as StorageProvider, {
      upload: (key: string, body: Readable, options?: UploadOptions) => {
        let seen = 0;
        const tap = new Transform({
          transform(chunk: Buffer, _e, cb) {
            if (seen < bytes && (seen += chunk.length) >= bytes) action();
            cb(null, chunk);
          },
        });
        body.on('error', (e) => tap.destroy(e));
        return p.upload(key, body.pipe(tap), options);
      },
    });
}

/** How one provider is set up and broken. */
interface Target {
  config(): Partial<StorageConfig>;
  /** Storage fails at the first request; returns a wrapper of the provider, if one is needed. */
  breakAtStart(): ((p: StorageProvider) => StorageProvider) | void;
  /** Storage fails after some MiB of the archive went out. */
  breakMidway(): ((p: StorageProvider) => StorageProvider) | void;
  /** Makes storage reachable again. */
  restore(): void;
  /** Unfinished uploads as the server sees them (temp files, multipart uploads). */
  leftovers(): string[];
  /** The same provider for every run, when the storage lives in it (memory). */
  shared?: () => StorageProvider;
}

type Case = 'source fails before its first byte' | 'source fails midway' | 'storage fails at start' | 'storage fails midway';

/** Runs one backup that must fail; returns the typed error and checks the record and storage. */
async function runFailing(target: Target, kase: Case): Promise<BackupSdkError> {
  const fake = new FakeBackupSource({ dumpSize: 12 * MiB, filestoreSize: MiB });
  let sources: BackupSourceFactory | undefined; // the SDK's own: a real local source
  let source = localSource();
  let wrap: ((p: StorageProvider) => StorageProvider) | void = undefined;
  if (kase === 'source fails before its first byte') source = localSource({ pg_bin_dir: join(work, 'no-such-bin') });
  if (kase === 'source fails midway') {
    fake.injectFault({ afterBytes: 7 * MiB });
    sources = () => fake;
  }
  if (kase === 'storage fails at start') wrap = target.breakAtStart();
  if (kase === 'storage fails midway') wrap = target.breakMidway();

  const env = makeResolvedEnvironment({ db_name: 'postgres', source });
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const config = await storageConfigs.create(makeStorageConfig(env.organization_id, target.config()));
  const make = (c: StorageConfig) => target.shared?.() ?? createStorageProvider(c);
  const runner = new BackupRunner({
    backups,
    storageConfigs,
    environments: new StaticEnvironmentResolver([env]),
    ...(sources ? { sources } : {}),
    storageProviders: (c) => (wrap ? wrap(make(c)) : make(c)),
  });
  const backup = await backups.create(makeBackup(env, config.id));
  const error = await runner.run(backup.id).then(
    () => new Error('the backup completed'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupSdkError);
  const typed = error as BackupSdkError;
  expect(isErrorCode(typed.code), typed.code).toBe(true);
  const record = (await backups.get(backup.id))!;
  expect(record.status).toBe('failed');
  expect(record.error_details).toMatchObject({ code: typed.code });
  expect(fake.running).toBe(0);

  target.restore();
  const reader = make(config);
  const keys: string[] = [];
  for await (const o of reader.list('')) keys.push(o.key);
  await reader.close();
  expect(keys).toEqual([]);
  expect(target.leftovers()).toEqual([]);
  return typed;
}

const EXPECTED: Record<Case, RegExp> = {
  'source fails before its first byte': /^E_SOURCE_PG_DUMP: /,
  'source fails midway': /^E_SOURCE_PG_DUMP: /,
  'storage fails at start': /^E_STORAGE/,
  'storage fails midway': /^E_STORAGE/,
};

function providerCases(name: string, target: () => Target): void {
  describe(name, () => {
    for (const kase of Object.keys(EXPECTED) as Case[]) {
      it(`${kase}: the job ends failed with a typed error, leaving nothing`, async () => {
        const error = await runFailing(target(), kase);
        // The message rides along so a wrong code says what happened.
        expect(`${error.code}: ${error.message}`).toMatch(EXPECTED[kase]);
      });
    }
  });
}

const tempFilesUnder = (root: string) =>
  readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.split('/').some((s) => s.startsWith(TEMP_MARK)));

// Memory: the provider's own fault injection.
{
  const memory = new MemoryStorageProvider();
  providerCases('memory', () => ({
    config: () => ({ provider: 'memory' }),
    shared: () => memory,
    breakAtStart: () => void memory.injectUploadFault({ afterBytes: 0 }),
    breakMidway: () => void memory.injectUploadFault({ afterBytes: 2 * MiB }),
    restore: () => undefined, // a fault fails one upload, then the provider works again
    leftovers: () => (memory.activeUploads ? ['an upload still running'] : []),
  }));
}

// Local: a root that cannot be created (a file is in the way), or that vanishes midway.
{
  let root = '';
  providerCases('local', () => {
    root = mkdtempSync(join(work, 'local-'));
    let storageRoot = join(root, 'store');
    mkdirSync(storageRoot); // the local provider never creates its root
    return {
      config: () => ({ provider: 'local', settings: { root: storageRoot } }),
      breakAtStart: () => {
        writeFileSync(join(root, 'blocker'), '');
        storageRoot = join(root, 'blocker', 'store');
      },
      breakMidway: () => whenBodyPasses(2 * MiB, () => rmSync(storageRoot, { recursive: true, force: true })),
      // The blocker gone, the configured root is made, so that the check lists it (empty).
      restore: () => {
        rmSync(join(root, 'blocker'), { force: true });
        mkdirSync(storageRoot, { recursive: true });
      },
      leftovers: () => tempFilesUnder(root),
    };
  });
}

// The network providers sit behind a proxy that refuses or cuts their connections.

/** Starts a real server and a proxy in front of it for the cases that follow. */
function behindProxy<S extends { host?: string; port: number; stop(): Promise<void> }>(start: () => Promise<S>) {
  const ctx = {} as { server: S; proxy: TcpProxy };
  beforeAll(async () => {
    ctx.server = await start();
    ctx.proxy = await startTcpProxy({ host: ctx.server.host ?? '127.0.0.1', port: ctx.server.port });
  });
  afterAll(async () => {
    await ctx.proxy?.close();
    await ctx.server?.stop();
  });
  return ctx;
}

{
  const net = behindProxy<S3Server>(() => startS3());
  providerCases('s3 (s3rver)', () => ({
    config: () => ({
      provider: 'minio',
      settings: {
        bucket: net.server.bucket,
        endpoint: `http://${net.proxy.host}:${net.proxy.port}`,
        part_size_mb: 5,
        queue_size: 2,
        retries: 0,
        connect_timeout_ms: 2000,
      },
      credentials: { access_key_id: net.server.accessKeyId, secret_access_key: net.server.secretAccessKey },
    }),
    breakAtStart: () => net.proxy.refuse(),
    breakMidway: () => net.proxy.cutAfter(2 * MiB),
    restore: () => net.proxy.restore(),
    leftovers: () => net.server.pendingUploads(),
  }));
}

{
  const net = behindProxy<FtpServer>(() => startFtp());
  providerCases('ftp (ftp-srv)', () => ({
    config: () => ({
      provider: 'ftp',
      settings: { host: net.proxy.host, port: net.proxy.port, root: net.server.root, retries: 0, timeout_ms: 5000 },
      credentials: { username: net.server.username, password: net.server.password },
    }),
    breakAtStart: () => net.proxy.refuse(),
    // Passive data connections go straight to the server's data port, past the proxy: the cut is
    // triggered from the body instead, and drops the control connection mid-transfer.
    breakMidway: () => whenBodyPasses(2 * MiB, () => net.proxy.cutNow()),
    restore: () => net.proxy.restore(),
    leftovers: () => net.server.tempFiles(),
  }));
}

{
  const net = behindProxy<SshServer>(() => startSshd());
  let root: string;
  beforeAll(() => {
    // The SFTP account (not root) must own the folder it writes to.
    root = join(net.server.homeDir, 'backups');
    mkdirSync(root);
    const { uid, gid } = statSync(net.server.homeDir);
    chownSync(root, uid, gid);
  });
  providerCases('sftp (OpenSSH)', () => ({
    config: () => ({
      provider: 'sftp',
      settings: {
        host: net.proxy.host,
        port: net.proxy.port,
        root,
        host_key: net.server.hostKeyFingerprint,
        retries: 0,
        timeout_ms: 5000,
      },
      credentials: { username: net.server.username, private_key: net.server.privateKey },
    }),
    breakAtStart: () => net.proxy.refuse(),
    breakMidway: () => net.proxy.cutAfter(2 * MiB),
    restore: () => net.proxy.restore(),
    leftovers: () => tempFilesUnder(root),
  }));
}
