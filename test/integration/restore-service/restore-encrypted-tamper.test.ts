// An encrypted backup whose object was altered, or opened with the wrong key, through the
// services a user calls: BackupService.verifyBackup and a RestoreService replace on real
// PostgreSQL. Each fault gives its own code from both (never E_ARCHIVE), and the restore leaves
// the target as it was, with no temporaries. (The same faults at the archive reader's level are
// in test/unit/pipeline/encrypted-backup.test.ts.)
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupService,
  RestoreService,
  type Backup,
  type KeyProvider,
  type LocalSource,
  type ResolvedEnvironment,
} from '../../../src/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
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
import { leftovers, snapshotOf, storageConfigRecord } from './restore-helpers.js';

const idA = await generateX25519Identity();
const idB = await generateX25519Identity();
const recA = await identityToRecipient(idA);
const CHUNK = 65536;
const SEALED = CHUNK + 16;

let pg: PgServer;
let work: string;
let root: string;
let storageRoot: string;
const org = makeResolvedEnvironment().organization_id;
const backups = new InMemoryBackupRepository();
const tasks = new InMemoryTaskRepository();
const storageConfigs = new InMemoryStorageConfigRepository();
const policies = new InMemoryBackupPolicyRepository();
const resolver = new StaticEnvironmentResolver();
const keys = (identities: string[]): KeyProvider => ({ recipients: () => [recA], identities: () => identities });
let original: Backup;
let stored: Buffer;
let target: ResolvedEnvironment;
let targetFolder: string;
let before: Awaited<ReturnType<typeof snapshotOf>>;
/** Where the parts of the age file start: the header's MAC line, the payload, and the dump's first plaintext byte. */
let layout: { mac: number; payload: number; dumpStart: number; dumpEnd: number };

function localSource(db: string, filestore: string): LocalSource {
  return {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: db },
    filestore_path: filestore,
    pg_bin_dir: pg.binDir,
  };
}

/** Where dump.sql's bytes lie in the ZIP: from its local header, read by yauzl's entry offsets. */
async function dumpRange(zip: Buffer): Promise<{ start: number; end: number }> {
  const file = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (e, z) => (e ? rej(e) : res(z))),
  );
  for await (const entry of file.eachEntry()) {
    if (entry.fileName !== 'dump.sql') continue;
    const at = entry.relativeOffsetOfLocalHeader;
    const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
    return { start, end: start + entry.compressedSize };
  }
  throw new Error('no dump.sql');
}

beforeAll(async () => {
  pg = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'obsdk-restore-tamper-'));
  chmodSync(work, 0o755);
  root = join(work, 'filestore');
  storageRoot = join(work, 'storage');
  await mkdir(storageRoot); // the local provider never creates its root
  mkdirSync(root);
  const src = await createOdooFixture(pg, { dbName: 'et_src', databaseMb: 1, filestoreMb: 0.1, files: 5, filestoreRoot: root });
  const source = makeResolvedEnvironment({
    organization_id: org,
    db_name: 'et_src',
    odoo_version: '17.0',
    source: localSource('et_src', src.filestorePath),
  });
  resolver.set(source);
  const tgt = await createOdooFixture(pg, { dbName: 'et_tgt', databaseMb: 0.2, filestoreMb: 0.05, files: 3, filestoreRoot: root, seed: 7 });
  target = makeResolvedEnvironment({
    organization_id: org,
    db_name: 'et_tgt',
    odoo_version: '17.0',
    source: localSource('et_tgt', tgt.filestorePath),
  });
  resolver.set(target);
  targetFolder = tgt.filestorePath;
  before = await snapshotOf(pg, 'et_tgt', targetFolder);

  const config = await storageConfigs.create({
    ...storageConfigRecord(org, { provider: 'local', settings: { root: storageRoot }, credentials: null }),
    is_default: true,
  });
  const queue = new InMemoryJobQueue();
  const service = new BackupService({ backups, tasks, storageConfigs, policies, environments: resolver, queue, keys: keys([idA]) });
  const worker = service.startWorker();
  const created = await service.createBackup(source.environment_id, { storage_config_id: config.id }, null);
  await queue.idle();
  await worker.close();
  original = (await backups.get(created.id))!;
  expect(original, original.error_message ?? '').toMatchObject({ status: 'completed', is_verified: true, encryption_recipients: [recA] });
  stored = readFileSync(join(storageRoot, original.database_key!));
  const mac = stored.indexOf('\n--- ') + 1;
  const payload = stored.indexOf(0x0a, mac) + 1 + 16;
  const decrypter = new Decrypter();
  decrypter.addIdentity(idA);
  const { start, end } = await dumpRange(Buffer.from(await decrypter.decrypt(stored)));
  layout = { mac, payload, dumpStart: start, dumpEnd: end };
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The stored object with the byte at `at` flipped. */
const flipped = (at: number) => {
  const copy = Buffer.from(stored);
  copy[at]! ^= 0x01;
  return copy;
};

/** verifyBackup's code: a recorded verdict (`error.code`), or what it threw. */
async function verifyCode(service: BackupService, id: string): Promise<string> {
  try {
    const result = await service.verifyBackup(id);
    return result.ok ? 'ok' : String(result.error?.['code']);
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe('an encrypted backup altered in storage, or opened with the wrong key: verifyBackup and a restore', () => {
  const cases: { name: string; bytes: () => Buffer; identities: string[]; code: string }[] = [
    { name: 'wrong identity', bytes: () => stored, identities: [idB], code: 'E_ENCRYPTION_KEY' },
    {
      name: 'truncated at a chunk boundary',
      bytes: () => stored.subarray(0, layout.payload + 3 * SEALED),
      identities: [idA],
      code: 'E_ENCRYPTION_TRUNCATED',
    },
    {
      name: 'truncated mid-chunk',
      bytes: () => stored.subarray(0, layout.payload + 3 * SEALED + 999),
      identities: [idA],
      code: 'E_ENCRYPTION_TRUNCATED',
    },
    {
      name: 'a byte flipped in a chunk of the dump',
      bytes: () => {
        // A plaintext byte well inside dump.sql, then the sealed chunk that holds it.
        const plain = layout.dumpStart + Math.floor((layout.dumpEnd - layout.dumpStart) / 2);
        return flipped(layout.payload + Math.floor(plain / CHUNK) * SEALED + (plain % CHUNK));
      },
      identities: [idA],
      code: 'E_ENCRYPTION_TAMPERED',
    },
    {
      name: 'a byte flipped in the last chunk',
      bytes: () => flipped(stored.length - 20),
      identities: [idA],
      code: 'E_ENCRYPTION_TAMPERED',
    },
    { name: 'a byte flipped in the header MAC', bytes: () => flipped(layout.mac + 6), identities: [idA], code: 'E_ENCRYPTION_TAMPERED' },
  ];

  it('the dump spans several chunks (so the flipped one is inside it, not at an edge)', () => {
    expect(layout.dumpEnd - layout.dumpStart).toBeGreaterThan(3 * CHUNK);
  });

  it.each(cases)(
    '$name: $code from verifyBackup and from a restore; the target is untouched',
    async ({ bytes, identities, code }) => {
      // Each case stores its altered object under a record of its own (a copy of the original's).
      const id = crypto.randomUUID();
      const key = original.database_key!.replace(`${original.id}.zip.age`, `${id}.zip.age`);
      writeFileSync(join(storageRoot, key), bytes());
      await backups.create({ ...original, id, database_key: key });
      const queue = new InMemoryJobQueue();
      const service = new BackupService({
        backups,
        tasks,
        storageConfigs,
        policies,
        environments: resolver,
        queue,
        keys: keys(identities),
      });
      expect(await verifyCode(service, id)).toBe(code);
      const after = (await backups.get(id))!;
      if (code === 'E_ENCRYPTION_KEY')
        expect(after.is_verified).toBe(true); // could not check: nothing recorded
      else expect(after).toMatchObject({ is_verified: false, verified_at: null });

      const restores = new RestoreService({
        backups,
        tasks,
        storageConfigs,
        policies,
        environments: resolver,
        queue,
        keys: keys(identities),
      });
      const worker = restores.startWorker();
      const asked = await restores.restoreBackup(
        id,
        { mode: 'replace', target_environment_id: target.environment_id, as_copy: false },
        { id: 'admin' },
      );
      await queue.idle();
      await worker.close();
      const task = (await tasks.get(asked.id))!;
      expect(task.status).toBe('failed');
      expect(journalOf(task)!.error!.code).toBe(code);
      expect(journalOf(task)!.begun).not.toContain('pre_restore_backup');
      expect(await snapshotOf(pg, 'et_tgt', targetFolder)).toEqual(before);
      expect(await leftovers(pg, 'et_tgt', [root])).toEqual({ databases: [], folders: [] });
    },
    60_000,
  );
});
