import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlScriptGuard } from '../../../src/pipeline/sql-script-guard.js';
import { createOdooFixture, tableDigests } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';

/**
 * The guard against psql itself: scripts carrying `\echo` markers in every place the lexer cares
 * about (strings of each kind, nested comments, dollar quotes, COPY data and what follows `\.`,
 * function bodies, bytes a client encoding would swallow) plus random soups of those pieces.
 * Every script the guard lets through runs in psql as an import runs it
 * (`-X -v ON_ERROR_STOP=1`): psql must print no marker. The marker prints a secret psql variable
 * (`:SIG`), so a SELECT echoing the script's text cannot fake one.
 */

const SCRIPTS = 300;
const SIG = randomBytes(8).toString('hex');
const M = '\\echo MARK :SIG';

let server: PgServer;
const DB = 'guard_diff';

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whole statements, each hiding or exposing a marker. */
const FRAGMENTS: readonly ((n: number) => string)[] = [
  () => `SELECT 'a ${M} b';`,
  () => `SELECT E'it\\'s ${M}';`,
  () => `SELECT E'\\\\' AS x; ${M}`,
  () => `SELECT 'C:\\' AS x; ${M} --';`,
  () => `SELECT $$ ${M} $$;`,
  () => `SELECT $a$ $$ ${M} $a$;`,
  () => `SELECT $a$ x $a$; ${M}`,
  () => `SELECT $a$ $b$ ${M} $a$;`,
  () => `/* ${M} */ SELECT 1;`,
  () => `/* /* */ ${M} */ SELECT 1;`,
  () => `/* */ ${M} */`,
  () => `-- ${M}`,
  () => `SELECT 1 AS "${M}";`,
  () => `SELECT 1 AS "a""${M}";`,
  () => `SELECT U&'!0041 ${M}' UESCAPE '!';`,
  () => `SELECT 'a\n${M}\nb';`,
  () => `SELECT $$\n${M}\n$$;`,
  () => `/*\n${M}\n*/ SELECT 1;`,
  () => `COPY t (a) FROM stdin;\n${M}\n\\.`,
  () => `COPY t (a) FROM stdin;\nx\n\\.\n${M}`,
  () => `COPY t (a) FROM stdin;\n\\N\n\\.x\n${M}\n\\.`,
  () => M,
  () => `SELECT 1; ${M}`,
  () => `SELECT (1\n${M}\n);`,
  () => `SELECT E'a\\'; ${M} ';`,
  () => `SET standard_conforming_strings = off;\nSELECT 'a\\'; ${M} ';\nSET standard_conforming_strings = on;`,
  () => `SET client_encoding = 'SJIS';`,
  (n) => `CREATE FUNCTION pg_temp.f${n}() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n${M}`,
  (n) => `CREATE FUNCTION pg_temp.g${n}() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\n${M}\nEND;`,
  () => `SELECT 1; -- c\r${M}`,
  () => `SELECT B'101' ${M}\n;`,
  () => `SELECT 'a'\n'${M}';`,
  () => `SELECT 1 AS y /* :x */;`,
  () => `SELECT E'\u0141\\'; ${M} ';`,
  () => `SELECT 'Soci\u00e9t\u00e9' AS n; -- ${M}`,
  () => `SELECT 1e'${M}';`,
  () => `SELECT x FROM (VALUES (1)) v(x) WHERE x = 1 \\; ${M}`,
  () => `\\unrestrict \`${M}\``,
  () => `SELECT :'x', :"y", a[1:2] FROM (SELECT ARRAY[1,2] a) s;`,
];

/** Pieces of lexer state for the random soups. */
const PIECES = ["'", '"', '$$', '$a$', '/*', '*/', '--', "E'", '\\\\', '\\', '\n', ';', ' ', 'x', '(', ')', "''", '\r', M, M, M];

function script(random: () => number, n: number): string {
  const lines = ['CREATE TEMP TABLE t (a text);'];
  if (random() < 0.6) {
    const count = 1 + Math.floor(random() * 4);
    for (let i = 0; i < count; i++) lines.push(FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]!(n * 10 + i));
  } else {
    let soup = 'SELECT ';
    const count = 4 + Math.floor(random() * 14);
    for (let i = 0; i < count; i++) soup += PIECES[Math.floor(random() * PIECES.length)]!;
    lines.push(soup);
  }
  return lines.join('\n') + '\n';
}

function psql(input: Buffer, db = DB): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(server.binDir, 'psql'),
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `SIG=${SIG}`, '-d', db, '-f', '-'],
      { env: { ...process.env, ...server.env(), PGCLIENTENCODING: 'UTF8' }, timeout: 60_000, maxBuffer: 1 << 26 },
      (error, stdout) => (db !== DB && error ? reject(error) : resolve(String(stdout))),
    );
    child.stdin!.end(input);
  });
}

function pgDumpPlain(db: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      join(server.binDir, 'pg_dump'),
      ['--no-owner', '-d', db],
      { env: { ...process.env, ...server.env() }, encoding: 'buffer', maxBuffer: 1 << 28 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

/** Runs `work` over `items`, four at a time (psql mostly waits on its connection). */
async function eachAtOnce<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
}

async function guarded(text: string): Promise<Buffer | null> {
  try {
    return await buffer(Readable.from([Buffer.from(text)]).pipe(new SqlScriptGuard()));
  } catch {
    return null;
  }
}

beforeAll(async () => {
  server = await startPostgres();
  await server.createDatabase(DB);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('SqlScriptGuard against psql', () => {
  it(`psql prints no marker from any of ${SCRIPTS} generated scripts the guard lets through`, async () => {
    const random = prng(22);
    const passed: { text: string; out: Buffer }[] = [];
    const refused: string[] = [];
    for (let n = 0; n < SCRIPTS; n++) {
      const text = script(random, n);
      const out = await guarded(text);
      if (out) passed.push({ text, out });
      else refused.push(text);
    }
    const leaks: string[] = [];
    await eachAtOnce(passed, async ({ text, out }) => {
      if ((await psql(out)).includes(SIG)) leaks.push(text);
    });
    expect(leaks).toEqual([]);
    // The test has teeth: both outcomes occur, and unguarded psql prints markers from the refused scripts.
    expect(passed.length).toBeGreaterThan(SCRIPTS / 5);
    expect(refused.length).toBeGreaterThan(SCRIPTS / 5);
    let printed = 0;
    await eachAtOnce(refused.slice(0, 24), async (text) => {
      if ((await psql(Buffer.from(text))).includes(SIG)) printed++;
    });
    expect(printed).toBeGreaterThan(8);
  }, 180_000);

  it('lets a real pg_dump of an Odoo-shaped database through unchanged, and psql restores it equal', async () => {
    const fixture = await createOdooFixture(server, { dbName: 'guard_src', databaseMb: 1, filestoreMb: 0 });
    // What else Odoo databases and their modules hold: functions, views with regular expressions,
    // non-ASCII comments, data with tabs, backslashes and lines that look like commands.
    await server.query(
      'guard_src',
      String.raw`CREATE FUNCTION touch_write_date() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.write_date := now(); RETURN NEW; END $$;
        CREATE TRIGGER res_partner_touch BEFORE UPDATE ON res_partner FOR EACH ROW EXECUTE FUNCTION touch_write_date();
        CREATE VIEW partner_digits AS SELECT id, regexp_replace(coalesce(phone, ''), '\D', '', 'g') AS digits FROM res_partner WHERE name ~ '^\w';
        COMMENT ON TABLE res_partner IS 'Partenaires (sociétés, 人)';
        CREATE TABLE odd_rows (id int, body text);
        INSERT INTO odd_rows VALUES (1, E'tab	here\\! not a command
\\.
end'), (2, NULL), (3, '\.');`,
    );
    try {
      const dump = await pgDumpPlain('guard_src');
      const out = await buffer(Readable.from([dump]).pipe(new SqlScriptGuard()));
      // pg_dump 15.14 and later write \restrict KEY first and \unrestrict KEY last: the guard leaves both out.
      const restrictLines = /^\\(un)?restrict [A-Za-z0-9]+\n/gm;
      expect(dump.toString('latin1').match(restrictLines)?.length ?? 0).toBeLessThanOrEqual(2);
      expect(out.toString('latin1')).toBe(dump.toString('latin1').replace(restrictLines, ''));
      await server.createDatabase('guard_copy');
      await psql(out, 'guard_copy');
      expect(await tableDigests(server, 'guard_copy')).toEqual(await tableDigests(server, 'guard_src'));
      expect(await server.query('guard_copy', 'SELECT body FROM odd_rows ORDER BY id')).toEqual(
        await server.query('guard_src', 'SELECT body FROM odd_rows ORDER BY id'),
      );
    } finally {
      await fixture.cleanup();
    }
  }, 120_000);
});
