// sdk.restores.importOdooArchive against real PostgreSQL 15, python3 and psql: Odoo's own backup
// ZIP (made by a Python stand-in for Odoo's dump_db / zip_dir), a bare pg_dump -Fc file and an
// archive of this SDK, into a new database and over an environment, equal to the source; hostile
// files refused with nothing created. And as_copy on restores: a copy gets a new database.uuid,
// database.secret and database.create_date (web.base.url when asked); a move keeps them.
import { execFile } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupService,
  RestoreService,
  type ImportRequestInput,
  type ImportSource,
  type RestoreRequestInput,
  type LocalSource,
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
import { createOdooFixture, folderDigests, tableDigests } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { leftovers, storageConfigRecord } from './restore-helpers.js';

const run = promisify(execFile);
const helper = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/odoo_zip.py');
const ROLE = 'importer';
const ROLE_PASSWORD = 'imp0rter-pw';

let pg: PgServer;
let work: string;
let root: string;
let storageRoot: string;
let config: StorageConfig;
let sourceFolder: string;
let backupId: string;
const files: Record<string, string> = {};
const backups = new InMemoryBackupRepository();
const tasks = new InMemoryTaskRepository();
const storageConfigs = new InMemoryStorageConfigRepository();
const policies = new InMemoryBackupPolicyRepository();
const resolver = new StaticEnvironmentResolver();
const events = new MemoryEventSink();
const org = makeResolvedEnvironment().organization_id;
let source: { tables: Awaited<ReturnType<typeof tableDigests>>; files: Record<string, string> };

function localSource(db: string, user = ROLE, password = ROLE_PASSWORD): LocalSource {
  return {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user, password, database: db },
    filestore_path: join(root, db),
    pg_bin_dir: pg.binDir,
  };
}

const environment = (db: string, user?: string, password?: string) => {
  const env = makeResolvedEnvironment({ organization_id: org, db_name: db, odoo_version: '17.0', source: localSource(db, user, password) });
  resolver.set(env);
  return env;
};

/** A file in the test's storage, by its key (what `{ storage_config_id, key }` names). */
function stored(name: string): ImportSource {
  return { storage_config_id: config.id, key: `uploads/${name}` };
}

/** Runs Python over a script: the hostile ZIPs are made with zipfile, as Odoo's would be. */
async function python(script: string, ...args: string[]): Promise<void> {
  await run('python3', ['-c', script, ...args]);
}

async function importFile(src: ImportSource, request: ImportRequestInput): Promise<Task> {
  const queue = new InMemoryJobQueue();
  const restores = new RestoreService({ backups, tasks, storageConfigs, policies, environments: resolver, queue, events });
  const worker = restores.startWorker();
  try {
    const task = await restores.importOdooArchive(src, request, { id: 'admin' });
    await queue.idle();
    return (await tasks.get(task.id))!;
  } finally {
    await worker.close();
  }
}

async function databaseExists(name: string): Promise<boolean> {
  return (await pg.query('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;
}

/** Whether an import's uploaded copy is still in storage (it is removed when the import ends). */
const uploadLeft = (task: Task) => {
  const source = journalOf(task)!.source!;
  return source.uploaded && existsSync(join(storageRoot, source.key));
};

beforeAll(async () => {
  pg = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'obsdk-import-'));
  chmodSync(work, 0o755);
  root = join(work, 'filestore');
  storageRoot = join(work, 'storage');
  mkdirSync(root);
  mkdirSync(join(storageRoot, 'uploads'), { recursive: true });
  await pg.query('postgres', `CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${ROLE_PASSWORD}'`);
  const fixture = await createOdooFixture(pg, { dbName: 'im_src', databaseMb: 0.3, filestoreMb: 0.1, files: 8, filestoreRoot: root });
  sourceFolder = fixture.filestorePath;
  source = { tables: await tableDigests(pg, 'im_src'), files: await folderDigests(sourceFolder) };
  config = await storageConfigs.create(storageConfigRecord(org, { provider: 'local', settings: { root: storageRoot }, credentials: null }));
  await storageConfigs.update(config.id, { is_default: true });

  const env = { ...process.env, ...pg.env() };
  files.odoo = join(work, 'odoo.zip');
  await run('python3', [helper, '--pg-bin', pg.binDir, 'dump', 'im_src', files.odoo, '--filestore', sourceFolder], { env });
  await run(join(pg.binDir, 'pg_dump'), ['-Fc', '--no-owner', `--file=${join(storageRoot, 'uploads', 'im_src.dump')}`, 'im_src'], { env });
  // An archive of this SDK, made by a backup of the source (superuser source, as the host's would be).
  const src = environment('im_src', pg.user, pg.password);
  const queue = new InMemoryJobQueue();
  const service = new BackupService({ backups, tasks, storageConfigs, policies, environments: resolver, queue });
  const worker = service.startWorker();
  const created = await service.createBackup(src.environment_id, { storage_config_id: config.id }, null);
  await queue.idle();
  await worker.close();
  files.obsdk = (await backups.get(created.id))!.database_key!;
  backupId = created.id;
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** An environment over `name`, a database the import role owns (as replace needs). */
async function targetEnvironment(name: string) {
  await createOdooFixture(pg, { dbName: name, databaseMb: 0.05, filestoreMb: 0.02, files: 2, filestoreRoot: root, seed: 3 });
  await pg.query('postgres', `ALTER DATABASE ${name} OWNER TO ${ROLE}`);
  // The test's own superuser sessions: the import role may end its own sessions only (as Odoo's would be).
  await pg.query('postgres', 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
    name,
  ]);
  return environment(name);
}

const FORMATS = {
  // Uploaded as a stream: stored under imports/ first, removed afterwards.
  odoo_zip: () => createReadStream(files.odoo!),
  pg_custom: () => stored('im_src.dump'),
  obsdk: () => ({ storage_config_id: config.id, key: files.obsdk! }),
} as const;

// Each test has its own environment and names: they run at once (most of their time is waiting on tools).
describe.concurrent.each(Object.keys(FORMATS) as (keyof typeof FORMATS)[])('import of %s', (format) => {
  const withFiles = format !== 'pg_custom';

  it('into a new database: every table and file equal the source', async () => {
    const name = `im_new_${format}`;
    const beside = environment(name);
    const task = await importFile(FORMATS[format](), {
      mode: 'new_database',
      database_name: name,
      target_environment_id: beside.environment_id,
      as_copy: false,
    });
    expect(task.status, task.error_message ?? '').toBe('completed');
    expect(task.backup_id).toBeNull();
    expect(journalOf(task)!.source).toMatchObject({ format, uploaded: format === 'odoo_zip' });
    expect(await tableDigests(pg, name)).toEqual(source.tables);
    if (withFiles) expect(await folderDigests(join(root, name))).toEqual(source.files);
    else expect(existsSync(join(root, name))).toBe(false);
    expect(await leftovers(pg, name, [root])).toEqual({ databases: [], folders: [] });
    expect(uploadLeft(task)).toBe(false);
  });

  it('over an environment (replace): it becomes the source', async () => {
    const name = `im_tgt_${format}`;
    const target = await targetEnvironment(name);
    const before = await folderDigests(join(root, name));
    const task = await importFile(FORMATS[format](), {
      mode: 'replace',
      target_environment_id: target.environment_id,
      as_copy: false,
      pre_restore_backup: false,
    });
    expect(task.status, task.error_message ?? '').toBe('completed');
    expect(await tableDigests(pg, name)).toEqual(source.tables);
    // A bare dump has no filestore: the environment keeps its folder.
    expect(await folderDigests(join(root, name))).toEqual(withFiles ? source.files : before);
    expect(await leftovers(pg, name, [root])).toEqual({ databases: [], folders: [] });
    expect(uploadLeft(task)).toBe(false);
  });
});

describe.concurrent('import refusals: nothing is created', () => {
  const marker = join(tmpdir(), `obsdk-import-marker-${process.pid}`);

  /** Builds a ZIP with Python's zipfile: `members` as (name, text, unix mode or null). */
  async function zipOf(name: string, members: [string, string, number | null][]): Promise<string> {
    const path = join(storageRoot, 'uploads', name);
    await python(
      `import json, sys, zipfile
members = json.loads(sys.argv[2])
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    for name, text, mode in members:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        if mode is not None:
            info.external_attr = mode << 16
            info.create_system = 3
        # '@zeros:N' and '@x:N': N bytes of one kind, without passing them through argv.
        if text.startswith('@zeros:'): text = b'\\0' * int(text[7:])
        elif text.startswith('@x:'): text = b'x' * int(text[3:])
        z.writestr(info, text)`,
      path,
      JSON.stringify(members),
    );
    return name;
  }

  const DUMP = 'CREATE TABLE t (a int);\nCOPY public.t (a) FROM stdin;\n1\n\\.\n';
  const hostile: [string, () => Promise<string>, string][] = [
    [
      'a meta-command in dump.sql (\\! touch)',
      () => zipOf('bang.zip', [['dump.sql', `${DUMP}\\! touch ${marker}\n`, null]]),
      'E_IMPORT_UNSAFE',
    ],
    [
      'a member ../x',
      () =>
        zipOf('dotdot.zip', [
          ['dump.sql', DUMP, null],
          ['filestore/../../x', 'evil', null],
        ]),
      'E_IMPORT_UNSAFE',
    ],
    [
      'a symlink member',
      () =>
        zipOf('link.zip', [
          ['dump.sql', DUMP, null],
          ['filestore/ab/link', '/etc/passwd', 0o120777],
        ]),
      'E_IMPORT_UNSAFE',
    ],
    [
      'a zip bomb (100 MiB of zeros, past 1000 times the archive)',
      () =>
        zipOf('bomb.zip', [
          ['dump.sql', DUMP, null],
          ['filestore/00/zeros', `@zeros:${100 * 1024 * 1024}`, null],
        ]),
      'E_IMPORT_UNSAFE',
    ],
    [
      "an overlapping zip bomb (200 central records sharing one member's bytes)",
      async () => {
        const name = await zipOf('overlap.zip', [
          ['dump.sql', DUMP, null],
          ['filestore/00/aaa', 'x'.repeat(1 << 16), null],
        ]);
        await python(
          `import struct, sys
p = sys.argv[1]; b = open(p, 'rb').read()
e = b.rfind(b'PK\\x05\\x06'); count, size, offset = struct.unpack_from('<HII', b, e + 10)
cd = b[offset:offset + size]; last = cd.rfind(b'PK\\x01\\x02'); record = cd[last:]
extra = b''.join(record.replace(b'filestore/00/aaa', b'filestore/00/%03d' % i) for i in range(200))
eocd = bytearray(b[e:]); struct.pack_into('<HHI', eocd, 8, count + 200, count + 200, size + len(extra))
open(p, 'wb').write(b[:offset] + cd + extra + bytes(eocd))`,
          join(storageRoot, 'uploads', name),
        );
        return name;
      },
      'E_IMPORT_UNSAFE',
    ],
    [
      'a member that inflates past the size it declares',
      async () => {
        const name = await zipOf('liar.zip', [
          ['dump.sql', DUMP, null],
          ['filestore/00/big', `@x:${1 << 20}`, null],
        ]);
        // Say 1000 bytes in both headers: the bytes inflate to a MiB.
        await python(
          `import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
for sig, off in ((b'PK\\x03\\x04', 22), (b'PK\\x01\\x02', 24)):
    i = b.rfind(sig)
    struct.pack_into('<I', b, i + off, 1000)
open(p, 'wb').write(b)`,
          join(storageRoot, 'uploads', name),
        );
        return name;
      },
      'E_IMPORT_UNSAFE',
    ],
  ];

  it.each(hostile)('%s: the task fails with its code, no database, no folder, no marker', async (label, make, code) => {
    const name = `im_bad_${hostile.findIndex(([l]) => l === label)}`;
    const env = environment(name);
    const task = await importFile(stored(await make()), {
      mode: 'new_database',
      database_name: name,
      target_environment_id: env.environment_id,
      as_copy: true,
    });
    expect(task.status).toBe('failed');
    expect(journalOf(task)!.error!.code).toBe(code);
    expect(await databaseExists(name)).toBe(false);
    expect(existsSync(join(root, name))).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(await leftovers(pg, name, [root])).toEqual({ databases: [], folders: [] });
  });

  it('a file of no known format is E_IMPORT_FORMAT before any task exists; its upload is removed', async () => {
    const env = environment('im_bad_format');
    const written = (await tasks.find({ environment_id: env.environment_id })).length;
    const error = await importFile(Readable.from([Buffer.from('just some text, not an archive\n')]), {
      mode: 'new_database',
      database_name: 'im_bad_format',
      target_environment_id: env.environment_id,
      as_copy: true,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_IMPORT_FORMAT' });
    expect((await tasks.find({ environment_id: env.environment_id })).length).toBe(written);
    // Its upload went under imports/ and was removed: no file of that content is left there.
    const dir = join(storageRoot, 'organizations', org, 'imports');
    const contentOf = (f: string) => {
      try {
        return readFileSync(join(dir, f), 'utf8');
      } catch {
        return null; // another test's upload, gone meanwhile
      }
    };
    const left = existsSync(dir) ? readdirSync(dir).map(contentOf) : [];
    expect(left).not.toContain('just some text, not an archive\n');
  });

  it('a superuser role is refused without allow_privileged_role; with it the import runs', async () => {
    const env = environment('im_super', pg.user, pg.password);
    const request = { mode: 'new_database', database_name: 'im_super', target_environment_id: env.environment_id, as_copy: true } as const;
    const refused = await importFile(FORMATS.odoo_zip(), request);
    expect(journalOf(refused)!.error).toMatchObject({ code: 'E_RESTORE_PRIVILEGES', details: { reason: 'privileged_role' } });
    expect(await databaseExists('im_super')).toBe(false);
    const allowed = await importFile(FORMATS.odoo_zip(), { ...request, allow_privileged_role: true });
    expect(allowed.status, allowed.error_message ?? '').toBe('completed');
  });

  it('members Odoo does not read are left out with W_IMPORT_SKIPPED; an import without as_copy is E_VALIDATION', async () => {
    const env = environment('im_skip');
    const key = await zipOf('extra.zip', [
      ['dump.sql', DUMP, null],
      ['README.txt', 'hello', null],
      ['filestore/ab/abc', 'file', null],
    ]);
    await expect(
      importFile(stored(key), { mode: 'new_database', database_name: 'im_skip', target_environment_id: env.environment_id } as never),
    ).rejects.toMatchObject({ code: 'E_VALIDATION', issues: [{ field: 'as_copy' }] });
    const task = await importFile(stored(key), {
      mode: 'new_database',
      database_name: 'im_skip',
      target_environment_id: env.environment_id,
      as_copy: false,
    });
    expect(task.status, task.error_message ?? '').toBe('completed');
    const warning = events.ofType('warning').find((e) => e.data.task_id === task.id);
    expect(warning?.data).toMatchObject({ code: 'W_IMPORT_SKIPPED' });
    expect(warning?.data.message).toContain('README.txt');
    expect(await pg.query('im_skip', 'SELECT a FROM t')).toEqual([{ a: 1 }]);
    expect(await folderDigests(join(root, 'im_skip'))).toEqual({ 'ab/abc': expect.any(String) });
  });
});

describe('as_copy on restores', () => {
  /** The identity parameters of a database. */
  async function identity(db: string): Promise<Record<string, string>> {
    const rows = await pg.query<{ key: string; value: string }>(db, `SELECT key, value FROM ir_config_parameter ORDER BY key`);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async function restore(request: RestoreRequestInput): Promise<Task> {
    const queue = new InMemoryJobQueue();
    const restores = new RestoreService({ backups, tasks, storageConfigs, policies, environments: resolver, queue });
    const worker = restores.startWorker();
    try {
      const task = await restores.restoreBackup(backupId, request, { id: 'admin' });
      await queue.idle();
      return (await tasks.get(task.id))!;
    } finally {
      await worker.close();
    }
  }

  it('a copy changes uuid, secret and create_date (web.base.url as asked, cooldowns at their defaults); other tables are equal', async () => {
    const before = await identity('im_src');
    const beside = environment('cm_copy');
    const task = await restore({
      mode: 'new_database',
      database_name: 'cm_copy',
      target_environment_id: beside.environment_id,
      as_copy: true,
      base_url: 'https://copy.example.com',
    });
    expect(task.status, task.error_message ?? '').toBe('completed');
    const after = await identity('cm_copy');
    for (const key of ['database.uuid', 'database.secret', 'database.create_date']) expect(after[key], key).not.toBe(before[key]);
    expect(after['database.uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(after['database.create_date']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(after['web.base.url']).toBe('https://copy.example.com');
    expect(after['base.login_cooldown_after']).toBe('10');
    expect(after['base.login_cooldown_duration']).toBe('60');
    const { ir_config_parameter: _copy, ...copyTables } = await tableDigests(pg, 'cm_copy');
    const { ir_config_parameter: _source, ...sourceTables } = source.tables;
    expect(copyTables).toEqual(sourceTables);
  });

  it('a move (replace onto another environment, as_copy false) keeps every parameter', async () => {
    const before = await identity('im_src');
    const target = await targetEnvironment('cm_move');
    const task = await restore({
      mode: 'replace',
      target_environment_id: target.environment_id,
      as_copy: false,
      pre_restore_backup: false,
    });
    expect(task.status, task.error_message ?? '').toBe('completed');
    expect(await identity('cm_move')).toEqual(before);
    expect(await tableDigests(pg, 'cm_move')).toEqual(source.tables);
  });
});
