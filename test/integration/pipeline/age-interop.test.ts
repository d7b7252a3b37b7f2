// Encrypted backups against Debian's `age` binary, on real storage servers: what we store opens
// with `age -d` (each recipient's identity, the break-glass one too), and what `age` encrypts
// opens with our range reader. One PostgreSQL, S3 (s3rver), SFTP (sshd) and FTP (vsftpd) server.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupRunner,
  createRestoreTarget,
  createStorageProvider,
  verifyBackupArchive,
  type LocalSource,
  type StorageConfig,
} from '../../../src/index.js';
import { restoreArchive } from '../../../src/pipeline/restore-runner.js';
import { openAgeObject } from '../../../src/pipeline/age-range-reader.js';
import {
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startS3, type S3Server } from '../../servers/s3.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import { startVsftpd } from '../../servers/vsftpd.js';
import type { FtpServer } from '../../servers/ftp.js';
import { miniOdoo } from './mini-odoo.js';
import { fileDigests, tableDigests } from './pipeline-helpers.js';

const DB = 'odoo_age';
let pgServer: PgServer;
let s3: S3Server;
let sshd: SshServer;
let ftp: FtpServer;
let work: string;
let source: LocalSource;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Identity A from our library, the break-glass one from `age-keygen`: keys travel both ways too.
const idA = await generateX25519Identity();
const recA = await identityToRecipient(idA);
let idBreakGlass: string;
let recBreakGlass: string;
const idFile = (identity: string) => {
  const path = join(work, `id-${sha(Buffer.from(identity)).slice(0, 8)}.txt`);
  writeFileSync(path, `${identity}\n`, { mode: 0o600 });
  return path;
};
const age = (args: string[], input: Buffer) => execFileSync('age', args, { input, maxBuffer: 256 * 1024 * 1024 });

beforeAll(async () => {
  [pgServer, s3, sshd, ftp] = await Promise.all([startPostgres(), startS3(), startSshd(), startVsftpd()]);
  work = mkdtempSync(join(tmpdir(), 'obsdk-age-'));
  const { filestore } = await miniOdoo(pgServer, DB, join(work, 'filestore'), { attachments: 20 });
  source = {
    kind: 'local',
    connection: { host: pgServer.host, port: pgServer.port, user: pgServer.user, password: pgServer.password, database: DB },
    filestore_path: filestore,
    pg_bin_dir: pgServer.binDir,
  };
  const keyFile = join(work, 'break-glass.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  idBreakGlass = readFileSync(keyFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
  recBreakGlass = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
}, 120_000);

afterAll(async () => {
  await Promise.all([pgServer?.stop(), s3?.stop(), sshd?.stop(), ftp?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

function storageSettings(kind: string): Partial<StorageConfig> {
  if (kind === 'local') return { provider: 'local', settings: { root: mkdtempSync(join(work, 'storage-')) } };
  if (kind === 's3')
    return {
      provider: 'minio',
      settings: { bucket: s3.bucket, endpoint: s3.endpoint },
      credentials: { access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey },
    };
  if (kind === 'sftp') {
    const root = join(sshd.homeDir, 'age-backups');
    mkdirSync(root, { recursive: true });
    const { uid, gid } = statSync(sshd.homeDir);
    chownSync(root, uid, gid);
    return {
      provider: 'sftp',
      settings: { host: sshd.host, port: sshd.port, root, host_key: sshd.hostKeyFingerprint },
      credentials: { username: sshd.username, private_key: sshd.privateKey },
    };
  }
  return {
    provider: 'ftp',
    settings: { host: ftp.host, port: ftp.port, root: ftp.root },
    credentials: { username: ftp.username, password: ftp.password },
  };
}

/** `python3 -m zipfile`'s own check, then the SHA-256 of each part, by an independent ZIP reader. */
function pythonZipCheck(zipPath: string): Record<string, string> {
  const script = `import hashlib,json,sys,zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}))`;
  return JSON.parse(execFileSync('python3', ['-c', script, zipPath]).toString()) as Record<string, string>;
}

describe('age interop: encrypted backups on real storage', () => {
  it.each(['local', 's3', 'sftp', 'ftp'])(
    '%s: sha256sum is stored_checksum; age -d with each identity gives the ZIP we decrypt; it verifies (the local one is also restored)',
    async (kind) => {
      const env = makeResolvedEnvironment({ db_name: DB, source });
      const backups = new InMemoryBackupRepository();
      const storageConfigs = new InMemoryStorageConfigRepository();
      const config = await storageConfigs.create(makeStorageConfig(env.organization_id, storageSettings(kind)));
      const runner = new BackupRunner({
        backups,
        storageConfigs,
        environments: new StaticEnvironmentResolver([env]),
        keys: { recipients: () => [recA, recBreakGlass], identities: () => [] },
      });
      const done = await runner.run((await backups.create(makeBackup(env, config.id))).id);
      expect(done).toMatchObject({ status: 'completed', is_verified: true, encryption_recipients: [recA, recBreakGlass] });
      const storage = createStorageProvider(config);
      try {
        const key = done.database_key!;
        expect(key.endsWith('.zip.age')).toBe(true);
        const stored = await buffer(await storage.download(key));
        expect(stored.length).toBe(done.compressed_size);
        expect(execFileSync('sha256sum', { input: stored }).toString().split(' ')[0]).toBe(done.stored_checksum);

        const zipA = age(['-d', '-i', idFile(idA)], stored);
        const zipBreakGlass = age(['-d', '-i', idFile(idBreakGlass)], stored);
        expect(zipA.equals(zipBreakGlass)).toBe(true);
        const opened = await openAgeObject(storage, key, stored.length, { identities: [idA] }, new AbortController().signal);
        const ours = await buffer(opened.reader.createReadStream({ start: 0, end: opened.plaintextBytes }));
        expect(ours.equals(zipA)).toBe(true);
        const zipPath = join(work, `${kind}.zip`);
        writeFileSync(zipPath, zipA);
        expect(pythonZipCheck(zipPath)).toMatchObject({ 'dump.sql': done.database_checksum, 'filestore.tar.gz': done.filestore_checksum });

        const expected = {
          encryption_recipients: done.encryption_recipients,
          size: done.compressed_size,
          database_checksum: done.database_checksum,
          filestore_checksum: done.filestore_checksum,
        };
        await expect(verifyBackupArchive(storage, key, { expected, identities: [idBreakGlass] })).resolves.toMatchObject({
          database: { checksum: done.database_checksum },
        });
        if (kind === 'local') {
          const target = createRestoreTarget(source);
          const database = `odoo_age_${kind}`;
          const folder = join(work, 'filestore', `restored-${kind}`);
          try {
            await restoreArchive({ storage, key, target, database, filestoreFolder: folder, expected, identities: [idA] });
            expect(await tableDigests(pgServer, database)).toEqual(await tableDigests(pgServer, DB));
            expect(await fileDigests(folder)).toEqual(await fileDigests(source.filestore_path!));
          } finally {
            await target.dropDatabase(database).catch(() => undefined);
            await target.removePath(folder).catch(() => undefined);
            await target.close();
          }
        }

        // The other way: what the age binary encrypts (to A) opens with our range reader.
        const byAge = age(['-e', '-r', recA], zipA);
        await storage.upload(`${key}.by-age`, Readable.from([byAge]));
        await expect(
          verifyBackupArchive(storage, `${key}.by-age`, {
            expected: { ...expected, encryption_recipients: [recA], size: byAge.length },
            identities: [idA],
          }),
        ).resolves.toMatchObject({ archive_size: zipA.length });
        await storage.delete(`${key}.by-age`);
      } finally {
        await storage.close();
      }
    },
    120_000,
  );
});
