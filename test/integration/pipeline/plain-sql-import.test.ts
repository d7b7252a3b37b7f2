import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRestoreTarget, type RestoreTarget } from '../../../src/index.js';
import { restorePlainSql } from '../../../src/pipeline/plain-sql-restore.js';
import { createOdooFixture, tableDigests, type OdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';

let pg: PgServer;
let work: string;
let staging: string;
let fixture: OdooFixture;
const ROLE = 'importer';
const ROLE_PASSWORD = 'imp0rter-pw';

function target(user: string, password: string): RestoreTarget {
  return createRestoreTarget({
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user, password, database: 'postgres' },
    filestore_path: join(work, 'fs', 'main'),
    pg_bin_dir: pg.binDir,
  });
}

function plainDump(db: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      join(pg.binDir, 'pg_dump'),
      ['--no-owner', '-d', db],
      { env: { ...process.env, ...pg.env() }, encoding: 'buffer', maxBuffer: 1 << 28 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

async function databaseExists(name: string): Promise<boolean> {
  return (await pg.query('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;
}

beforeAll(async () => {
  pg = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'obsdk-sql-import-'));
  staging = join(work, 'staging');
  await mkdir(staging);
  await mkdir(join(work, 'fs'));
  await pg.query('postgres', `CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${ROLE_PASSWORD}'`);
  fixture = await createOdooFixture(pg, { dbName: 'sql_src', databaseMb: 1, filestoreMb: 0 });
}, 120_000);

afterAll(async () => {
  await fixture?.cleanup();
  await pg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('restorePlainSql', () => {
  it("restores pg_dump's plain SQL through the guard and psql, as a role without server-program rights", async () => {
    const t = target(ROLE, ROLE_PASSWORD);
    try {
      const result = await restorePlainSql({
        target: t,
        database: 'sql_copy',
        script: Readable.from([await plainDump('sql_src')]),
        stagingDir: staging,
      });
      expect(result.copyBlocks).toBeGreaterThan(3);
      expect(await tableDigests(pg, 'sql_copy')).toEqual(await tableDigests(pg, 'sql_src'));
      expect(readdirSync(staging)).toEqual([]);
    } finally {
      await t.close();
    }
  }, 60_000);

  const marker = (n: number) => join(work, `marker-${n}`);
  const hostile: [string, (m: string) => string][] = [
    ['\\! touch', (m) => `\\! touch ${m}\n`],
    ['select 1; \\! touch', (m) => `select 1; \\! touch ${m}\n`],
    ['\\unrestrict `touch`', (m) => `\\unrestrict \`touch ${m}\`\n`],
    ['\\copy ... from program', (m) => `CREATE TABLE t (a text);\n\\copy t from program 'touch ${m}'\n`],
    ['\\i', () => `\\i /etc/hostname\n`],
    ['a command after \\.', (m) => `CREATE TABLE t (a text);\nCOPY t (a) FROM stdin;\nx\n\\.\n\\! touch ${m}\n`],
    ['SJIS client encoding', (m) => `SET client_encoding = 'SJIS';\nSELECT E'\u0141\\'; \\! touch ${m} ';\n`],
  ];
  it.each(hostile.map(([name, make], i) => [name, make, i] as const))(
    'refuses %s before psql runs: E_IMPORT_UNSAFE, no database, no marker',
    async (_name, make, i) => {
      const t = target(ROLE, ROLE_PASSWORD);
      const database = `hostile_${i}`;
      try {
        const error = await restorePlainSql({
          target: t,
          database,
          script: Readable.from([Buffer.from(make(marker(i)))]),
          stagingDir: staging,
        }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'E_IMPORT_UNSAFE' });
        expect(await databaseExists(database)).toBe(false);
        expect(existsSync(marker(i))).toBe(false);
        expect(readdirSync(staging)).toEqual([]);
      } finally {
        await t.close();
      }
    },
  );

  it('refuses a superuser role unless asked, before anything exists', async () => {
    const t = target(pg.user, pg.password);
    try {
      const script = () => Readable.from([Buffer.from('CREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n\\.\n')]);
      const error = await restorePlainSql({ target: t, database: 'as_superuser', script: script(), stagingDir: staging }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'E_RESTORE_PRIVILEGES', details: { reason: 'privileged_role' } });
      expect(await databaseExists('as_superuser')).toBe(false);
      await restorePlainSql({ target: t, database: 'as_superuser', script: script(), stagingDir: staging, allowPrivilegedRole: true });
      expect(await pg.query('as_superuser', 'SELECT a FROM t')).toEqual([{ a: 1 }]);
    } finally {
      await t.close();
    }
  });

  it('drops the new database when psql fails half-way (COPY FROM PROGRAM without the right)', async () => {
    const t = target(ROLE, ROLE_PASSWORD);
    try {
      const script = `CREATE TABLE t (a text);\nCOPY t FROM PROGRAM 'touch ${marker(99)}';\n`;
      const error = await restorePlainSql({
        target: t,
        database: 'half_way',
        script: Readable.from([Buffer.from(script)]),
        stagingDir: staging,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_SOURCE_PSQL' });
      expect(await databaseExists('half_way')).toBe(false);
      expect(existsSync(marker(99))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
