// `npm run demo` is the README's first command: run it as a user does (tsx, piped output) and check
// what it claims: backup, one verification, restore into odoo_demo_copy, a copy equal to the
// original (rows and their hash per table, every filestore file's SHA-1), a summary of figures,
// plain lines without escape codes, and nothing left behind. Then on a server named by DATABASE_URL.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgServer } from '../../servers/postgres.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

async function demo(env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), ['examples/demo.ts'], {
      cwd: root,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** What every successful run prints. */
function expectAProvenCopy(stdout: string) {
  // Piped: final lines only, no escape codes.
  expect(stdout.includes('\u001b') || stdout.includes('\r')).toBe(false);
  expect(stdout).toMatch(/^ {2}backup : \d+\.\d\d MiB ZIP in [\d.]+ s \(dump\.sql \d+\.\d\d MiB, filestore\.tar\.gz \d+\.\d\d MiB\)$/m);
  expect(stdout.match(/^ {2}verify : /gm)).toHaveLength(1);
  expect(stdout).toMatch(/^ {2}verify : ok in [\d.]+ s: .* pg_restore --list \(\d+ entries, 4 with table data\)$/m);
  // An Odoo-shaped database: the manifest has its odoo facts, no W_NOT_ODOO_DATABASE warning.
  expect(stdout).not.toMatch(/W_NOT_ODOO_DATABASE/);
  for (const [table, rows] of [
    ['ir_attachment', 200],
    ['ir_module_module', 3],
    ['res_partner', 20000],
    ['res_users', 100],
  ])
    expect(stdout).toMatch(new RegExp(`^ {2}${table} +${rows} rows {2}md5 [0-9a-f]{32} {2}equal$`, 'm'));
  expect(stdout).toMatch(/^ {2}filestore +200 files SHA-1 of each equal; 200 of 200 named by their SHA-1$/m);
  // The summary: each part's size and SHA-256, each step's time and rate.
  expect(stdout).toMatch(/^ {2}dump\.sql +\d+\.\d\d MiB +[0-9a-f]{64}$/m);
  expect(stdout).toMatch(/^ {2}filestore\.tar\.gz +\d+\.\d\d MiB +[0-9a-f]{64}$/m);
  for (const row of ['backup \\(ZIP\\)', 'verify', 'restore'])
    expect(stdout).toMatch(new RegExp(`^ {2}${row} +\\d+\\.\\d\\d MiB +[\\d.]+ s +\\d+\\.\\d\\d MiB/s$`, 'm'));
  expect(stdout).toContain('The copy equals the original.');
  expect(stdout).not.toContain('"manifest"'); // figures, not the record or manifest JSON
  const copy = /^ {2}restore: odoo_demo_copy and (\S+) in /m.exec(stdout);
  expect(copy, stdout).not.toBeNull();
  expect(copy![1]).toMatch(/filestore\/odoo_demo_copy$/);
  expect(existsSync(dirname(dirname(copy![1]!))), 'the demo removes its temp folder').toBe(false);
}

describe('examples/demo.ts (npm run demo)', () => {
  it('on a throwaway PostgreSQL: backs up, verifies, restores into odoo_demo_copy, proves the copy and cleans up', async () => {
    const run = await demo({ DATABASE_URL: '' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expectAProvenCopy(run.stdout);
    expect(run.stdout).toMatch(/^PostgreSQL: a throwaway server on 127\.0\.0\.1:\d+/m);
    expect(run.stdout).toContain('Cleaned up: PostgreSQL stopped');
  });

  describe('on the server of DATABASE_URL', () => {
    let pg: PgServer;
    beforeAll(async () => {
      pg = await startPostgres();
    });
    afterAll(async () => {
      await pg?.stop();
    });
    const databases = async () =>
      (await pg.query<{ datname: string }>('postgres', `SELECT datname FROM pg_database WHERE datname LIKE 'odoo_demo%' ORDER BY 1`)).map(
        (r) => r.datname,
      );

    it('does the same, then drops the two databases it made', async () => {
      const run = await demo({ DATABASE_URL: pg.connectionString('postgres') });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expectAProvenCopy(run.stdout);
      expect(run.stdout).toMatch(/^PostgreSQL: the server of DATABASE_URL \(127\.0\.0\.1:\d+/m);
      expect(run.stdout).not.toContain(pg.password);
      expect(await databases()).toEqual([]);
    });

    it('refuses to start when odoo_demo exists there, and leaves it alone', async () => {
      await pg.createDatabase('odoo_demo');
      await pg.query('odoo_demo', 'CREATE TABLE mine (id int); INSERT INTO mine VALUES (1)');
      const run = await demo({ DATABASE_URL: pg.connectionString('postgres') });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('already has odoo_demo: the demo will not touch it');
      expect(await databases()).toEqual(['odoo_demo']);
      expect(await pg.query('odoo_demo', 'SELECT id FROM mine')).toEqual([{ id: 1 }]);
      await pg.dropDatabase('odoo_demo');
    });
  });
});
