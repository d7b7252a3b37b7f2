import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRestoreTarget, defaultDockerSource, type RestoreTarget, type SourceConfig } from '../../../src/index.js';
import { createOdooFixture, folderDigests, tableDigests, type OdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import { hostileName, noMarkers } from './helpers.js';

const run = promisify(execFile);
const fakeDockerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/fake-docker');
const marker = randomBytes(3).toString('hex');
const { name: sourceDb, markers } = hostileName(marker);

let pg: PgServer;
let sshd: SshServer;
let fixture: OdooFixture;
let work: string;
let dumpFile: string;
const saved = { PATH: process.env.PATH, FAKE_DOCKER_CONTAINERS: process.env.FAKE_DOCKER_CONTAINERS };

/** Staged dumps (`mktemp` files starting with PGDMP) in a temp folder. */
function stagedDumps(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('tmp.'))
    .filter((f) => {
      try {
        return readFileSync(join(dir, f)).subarray(0, 5).toString() === 'PGDMP';
      } catch {
        return false;
      }
    });
}

/** An uncompressed tar of `files` (names relative to the folder extracted into). */
function tarOf(files: Record<string, string>): Readable {
  const p = pack();
  for (const [name, content] of Object.entries(files)) p.entry({ name, mode: 0o640 }, content);
  p.finalize();
  return (p as unknown as Readable).pipe(new PassThrough());
}

interface Kind {
  name: string;
  /** Folder that holds the filestore folders this target may touch. */
  root: string;
  /** Temp area of the host where pg_restore runs (staging files). */
  tmp: string;
  config(): SourceConfig;
}

const kinds: Kind[] = [];

beforeAll(async () => {
  [pg, sshd] = await Promise.all([startPostgres(), startSshd()]);
  fixture = await createOdooFixture(pg, { dbName: sourceDb, scale: 2 });
  await pg.query(
    sourceDb,
    `INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', '17.0.1.3') ON CONFLICT (name) DO UPDATE SET latest_version = '17.0.1.3'`,
  );
  work = await mkdtemp(join(tmpdir(), 'obsdk-restore-target-'));
  chmodSync(work, 0o755);
  dumpFile = join(work, 'source.dump');
  await run(
    join(pg.binDir, 'pg_dump'),
    [
      '-Fc',
      `--host=${pg.host}`,
      `--port=${pg.port}`,
      `--username=${pg.user}`,
      `--dbname=dbname='${sourceDb.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`,
      '-f',
      dumpFile,
    ],
    { env: { ...process.env, PGPASSWORD: pg.password } },
  );
  chmodSync(dumpFile, 0o644);

  // local: this host, staging in a private TMPDIR.
  const localRoot = join(work, 'local-root');
  const localTmp = join(work, 'local-tmp');
  await mkdir(localRoot);
  await mkdir(localTmp);
  process.env.TMPDIR = localTmp;
  kinds.push({
    name: 'local',
    root: localRoot,
    tmp: localTmp,
    config: () => ({
      kind: 'local',
      connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: sourceDb },
      filestore_path: join(localRoot, sourceDb.replace(/\//g, '_')),
      pg_bin_dir: pg.binDir,
    }),
  });

  // docker: the fake docker runs the commands here with each "container's" environment.
  const containers = join(work, 'containers');
  const dockerRoot = join(work, 'docker-root');
  const dockerTmp = join(work, 'docker-tmp');
  await Promise.all([mkdir(containers), mkdir(dockerRoot), mkdir(dockerTmp)]);
  await writeFile(
    join(containers, 'env7_db.json'),
    JSON.stringify({ env: { PATH: `${pg.binDir}:/usr/bin:/bin`, PGHOST: pg.host, PGPORT: String(pg.port), TMPDIR: dockerTmp } }),
  );
  await writeFile(join(containers, 'env7_odoo.json'), JSON.stringify({ env: { PATH: '/usr/bin:/bin' } }));
  process.env.PATH = `${fakeDockerDir}:${process.env.PATH}`;
  process.env.FAKE_DOCKER_CONTAINERS = containers;
  kinds.push({
    name: 'docker',
    root: dockerRoot,
    tmp: dockerTmp,
    config: () => defaultDockerSource('env7', sourceDb, { db_user: pg.user, password: pg.password, filestore_root: dockerRoot }),
  });

  // ssh: the local commands on the far side, as the SSH test account; its filestore root is in its home.
  const sshRoot = join(sshd.homeDir, 'fs-root');
  await run('install', ['-d', '-m', '0755', ...(process.getuid?.() === 0 ? ['-o', sshd.username] : []), sshRoot]);
  kinds.push({
    name: 'ssh',
    root: sshRoot,
    tmp: sshd.tmpDir,
    config: () => ({
      kind: 'ssh',
      ssh: { host: sshd.host, port: sshd.port, username: sshd.username, private_key: sshd.privateKey, host_key: sshd.knownHostsLine },
      remote: {
        kind: 'local',
        connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: sourceDb },
        filestore_path: join(sshRoot, 'main'),
        pg_bin_dir: pg.binDir,
      },
    }),
  });
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  delete process.env.TMPDIR;
  await sshd?.stop();
  await pg?.stop();
  if (fixture) await rm(fixture.filestoreRoot, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

const names = ['local', 'docker', 'ssh'] as const;

describe.each(names)('%s restore target', (kindName) => {
  const kind = () => kinds.find((k) => k.name === kindName)!;
  const withTarget = async (fn: (t: RestoreTarget) => Promise<void>) => {
    const target = createRestoreTarget(kind().config());
    try {
      await fn(target);
    } finally {
      await target.close();
    }
  };
  // Quotes, spaces, unicode, `;` and a `$()` in one database name.
  const tempDb = (tag: string) => `r ${tag} "q" 'é' ü; $(x) ${kindName}`;

  it('inspect reports versions, privileges, the Odoo version and free space', async () => {
    await withTarget(async (target) => {
      const facts = await target.inspect();
      expect(facts.serverVersionNum).toBeGreaterThan(100000);
      expect(facts.pgRestoreVersion).toMatch(/^\d+(\.\d+)*$/);
      expect(facts.role).toBe(pg.user);
      expect(facts.canCreateDatabase).toBe(true);
      expect(facts.ownsDatabase).toBe(true);
      expect(facts.odooVersion).toBe('17.0.1.3');
      expect(facts.filestoreFreeBytes).toBeGreaterThan(0);
      expect(target.database).toBe(sourceDb);
    });
  });

  it('creates, renames, refuses and drops databases with hostile names; connections can be refused', async () => {
    await withTarget(async (target) => {
      const a = tempDb('a');
      const b = tempDb('b');
      expect(await target.databaseExists(a)).toBe(false);
      await target.createDatabase(a);
      expect(await target.databaseExists(a)).toBe(true);
      await expect(target.createDatabase(a)).rejects.toMatchObject({
        code: 'E_SOURCE_PSQL',
        message: expect.stringContaining('already exists'),
      });
      // Sessions (the test's own pool) end when connections are refused; then the database can be renamed.
      await pg.query(a, 'SELECT 1');
      await target.setAllowConnections(a, false);
      await target.renameDatabase(a, b);
      expect([await target.databaseExists(a), await target.databaseExists(b)]).toEqual([false, true]);
      await expect(pg.query(b, 'SELECT 1')).rejects.toThrow(/not currently accepting connections/);
      await target.setAllowConnections(b, true);
      expect(await pg.query(b, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await target.dropDatabase(b);
      await target.dropDatabase(b);
      expect(await target.databaseExists(b)).toBe(false);
      await expect(target.dropDatabase('postgres')).rejects.toMatchObject({ code: 'E_VALIDATION' });
      expect(noMarkers(markers)).toBe(true);
    });
  });

  it('lists a dump and refuses garbage', async () => {
    await withTarget(async (target) => {
      const toc = await target.listDump(createReadStream(dumpFile));
      expect(toc).toContain('TABLE DATA public mail_message');
      await expect(target.listDump(Readable.from([Buffer.from('not a dump at all\n'.repeat(100))]))).rejects.toMatchObject({
        code: 'E_SOURCE_PG_RESTORE',
      });
    });
  });

  it.each([1, 4])('restores a dump with jobs=%i; the staged file is gone', async (jobs) => {
    const before = stagedDumps(kind().tmp);
    await withTarget(async (target) => {
      const db = tempDb(`j${jobs}`);
      await target.createDatabase(db);
      try {
        await target.restoreDump(db, createReadStream(dumpFile), { jobs });
        expect(await tableDigests(pg, db)).toEqual(await fixture.databaseDigest());
      } finally {
        await target.dropDatabase(db);
      }
      expect(stagedDumps(kind().tmp)).toEqual(before);
      expect(noMarkers(markers)).toBe(true);
    });
  });

  it('a failed or aborted jobs=4 restore leaves no staged file', async () => {
    const before = stagedDumps(kind().tmp);
    await withTarget(async (target) => {
      const db = tempDb('bad');
      await target.createDatabase(db);
      try {
        // Half a dump: staged, then pg_restore fails on the truncated file.
        const half = (await readFile(dumpFile)).subarray(0, 4000);
        await expect(target.restoreDump(db, Readable.from([half]), { jobs: 4 })).rejects.toMatchObject({ code: 'E_SOURCE_PG_RESTORE' });
        // Aborted while staging.
        const slow = new PassThrough();
        slow.write((await readFile(dumpFile)).subarray(0, 1000));
        const controller = new AbortController();
        const pending = target.restoreDump(db, slow, { jobs: 4, signal: controller.signal });
        setTimeout(() => controller.abort(new Error('stop')), 300);
        await expect(pending).rejects.toMatchObject({ code: 'E_ABORTED' });
      } finally {
        await target.dropDatabase(db);
      }
    });
    expect(stagedDumps(kind().tmp)).toEqual(before);
  });

  it('extracts a filestore into a new folder inside the root, refuses an existing one and any path outside', async () => {
    await withTarget(async (target) => {
      const folder = join(kind().root, `new fs 'é' $(x) ${kindName}`);
      const files = { 'ab/abcdef': 'one', 'c d/ünï "q"': 'two', 'ab/ff/deep': 'three' };
      await target.extractFilestore(folder, tarOf(files));
      expect(await folderDigests(folder)).toEqual(await digestsOf(files));
      expect(await target.pathExists(folder)).toBe(true);
      await expect(target.extractFilestore(folder, tarOf(files))).rejects.toMatchObject({ code: 'E_SOURCE_FILES' });
      await expect(target.extractFilestore('/etc/obsdk-x', tarOf(files))).rejects.toMatchObject({ code: 'E_VALIDATION' });
      await expect(target.extractFilestore(`${kind().root}/../x`, tarOf(files))).rejects.toMatchObject({ code: 'E_VALIDATION' });
      const moved = `${folder} moved`;
      await target.renamePath(folder, moved);
      expect([await target.pathExists(folder), await target.pathExists(moved)]).toEqual([false, true]);
      const other = join(kind().root, `other ${kindName}`);
      await target.extractFilestore(other, tarOf({ x: 'x' }));
      await expect(target.renamePath(moved, other)).rejects.toMatchObject({ code: 'E_SOURCE_FILES' });
      expect(await folderDigests(other)).toEqual(await digestsOf({ x: 'x' }));
      await target.removePath(moved);
      await target.removePath(other);
      await target.removePath(other);
      expect(await target.pathExists(moved)).toBe(false);
      expect(noMarkers(markers)).toBe(true);
    });
  });

  it('a tar the tool cannot read is E_SOURCE_TAR', async () => {
    await withTarget(async (target) => {
      const folder = join(kind().root, `broken ${kindName}`);
      await expect(target.extractFilestore(folder, Readable.from([Buffer.alloc(3000, 7)]))).rejects.toMatchObject({ code: 'E_SOURCE_TAR' });
      await target.removePath(folder);
    });
  });
});

async function digestsOf(files: Record<string, string>): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  return Object.fromEntries(
    Object.entries(files)
      .map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}
