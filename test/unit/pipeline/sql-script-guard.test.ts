import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { SqlScriptGuard } from '../../../src/pipeline/sql-script-guard.js';

async function guard(script: string | Buffer, options: ConstructorParameters<typeof SqlScriptGuard>[0] = {}, chunk = 7): Promise<string> {
  const bytes = typeof script === 'string' ? Buffer.from(script) : script;
  // Small chunks: every rule must hold when a line arrives in pieces.
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const out = await buffer(Readable.from(pieces).pipe(new SqlScriptGuard(options)));
  return out.toString('latin1');
}

async function refusal(script: string | Buffer): Promise<{ code: string; reason: string; line: number }> {
  const error = (await guard(script).then(
    () => null,
    (e: unknown) => e,
  )) as { code: string; details: { reason: string; line: number } } | null;
  expect(error, `expected a refusal of ${JSON.stringify(script.toString())}`).not.toBeNull();
  return { code: error!.code, reason: error!.details.reason, line: error!.details.line };
}

const PG_DUMP_HEAD = `--
-- PostgreSQL database dump
--

\\restrict 8cHxKo3cCfeuHbvkVqi1Lf2EXVtNWj1ozC3N8tEqBz2RHb6oshhvnShfu6d3c2u

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
`;

describe('SqlScriptGuard: what pg_dump writes passes', () => {
  it('keeps the script byte for byte, without pg_dump\u2019s \\restrict and \\unrestrict lines', async () => {
    const body = `CREATE TABLE public.res_partner (id integer NOT NULL, name character varying, note text DEFAULT 'C:\\\\temp'::text);
COMMENT ON COLUMN public.res_partner.name IS 'Soci\u00e9t\u00e9 \\! not a command';
CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'x \\! y'; -- \\! in a comment
  RETURN NEW;
END $$;
CREATE FUNCTION public.g() RETURNS integer LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT 2;
END;
/* a /* nested */ comment \\! */
SELECT E'it\\'s \\\\ fine', U&'\\0041', B'101', X'1F', $tag$ $$ \\q $tag$, 1.5e-3, 2e10, x::text, a[1:2];
COPY public.res_partner (id, name, note) FROM stdin;
1\tAcme \\! inc\t\\N
2\t\\\\.\t\\.
\\.
SELECT 1;
`;
    const script = `${PG_DUMP_HEAD}${body}\n\\unrestrict 8cHxKo3cCfeuHbvkVqi1Lf2EXVtNWj1ozC3N8tEqBz2RHb6oshhvnShfu6d3c2u\n`;
    const out = await guard(script);
    expect(out).toBe(Buffer.from(script.replace(/^\\(un)?restrict .*\n/gm, '')).toString('latin1'));
  });

  it('writes our own \\restrict line first when asked', async () => {
    expect(await guard('SELECT 1;\n', { restrictKey: 'abc123' })).toBe('\\restrict abc123\nSELECT 1;\n');
    expect(await guard('', { restrictKey: 'abc123' })).toBe('\\restrict abc123\n');
  });

  it('accepts CRLF line ends and a COPY block ended by \\. CR', async () => {
    const script = 'SELECT 1;\r\nCOPY t (a) FROM stdin;\r\n\\! data\r\n\\.\r\nSELECT 2;\r\n';
    expect(await guard(script)).toBe(script);
  });
});

describe('SqlScriptGuard: the hostile cases are refused', () => {
  const cases: [string, string | Buffer, string][] = [
    ['a shell escape', '\\! touch /tmp/x\n', 'meta_command'],
    ['a shell escape after a statement', 'select 1; \\! touch /tmp/x\n', 'meta_command'],
    ['backticks in \\unrestrict', '\\unrestrict `touch /tmp/x`\n', 'meta_command'],
    ['\\copy from program', "\\copy t from program 'touch /tmp/x'\n", 'meta_command'],
    ['\\i', '\\i /etc/passwd\n', 'meta_command'],
    ['\\o to a pipe', '\\o |touch /tmp/x\n', 'meta_command'],
    ['\\; joining statements', 'select 1\\; select 2;\n', 'meta_command'],
    ['a command after \\.', 'COPY t (a) FROM stdin;\n1\n\\.\n\\! touch /tmp/x\n', 'meta_command'],
    ['\\. outside COPY data', 'select 1;\n\\.\n', 'meta_command'],
    ['a command after a closing comment', '/* a */ \\! touch /tmp/x */\n', 'meta_command'],
    ['a command after a nested comment closed once', '/* /* */ */ \\! touch /tmp/x\n', 'meta_command'],
    ['a command after a dollar quote with a wrong tag inside', 'select $a$ $b$ $a$; \\! touch /tmp/x\n', 'meta_command'],
    ['SJIS client encoding', "SET client_encoding = 'SJIS';\nselect 1;\n", 'encoding'],
    ['SJIS through SET NAMES', "SET NAMES 'SJIS';\n", 'encoding'],
    ['client encoding through set_config', "SELECT pg_catalog.set_config('client_encoding', 'SJIS', false);\n", 'encoding'],
    [
      'a backslash a BIG5 reading would swallow',
      Buffer.from([...Buffer.from("select E'"), 0xc5, 0x81, ...Buffer.from("\\'; \\! touch /tmp/x ';\n")]),
      'encoding',
    ],
    [
      'a quote a SJIS reading would swallow',
      Buffer.from([...Buffer.from("select '"), 0xc5, 0x81, ...Buffer.from("'; select 1;\n")]),
      'encoding',
    ],
    ['a backslash before a quote in a standard string', "select 'C:\\'; \\! touch /tmp/x ';\n", 'ambiguous_string'],
    ['a psql variable', 'select :LAST_ERROR_MESSAGE;\n', 'psql_variable'],
    ['a carriage return ending a comment', 'select 1; -- c\r\\! touch /tmp/x\n', 'control_character'],
    ['a NUL byte', 'select 1;\0\n', 'control_character'],
    ['non-ASCII outside quotes', 'select \u00e9;\n', 'non_ascii'],
    ['a number with trailing letters', "select 1e'\\''; \\! x ';\n", 'numeric_literal'],
    [
      'a COPY inside a function-body block',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; COPY t FROM stdin;\nEND;\n\\! touch /tmp/x\n\\.\n',
      'copy_in_block',
    ],
    ['text after COPY ... FROM stdin on its line', 'COPY t FROM stdin; select 1;\n1\n\\.\n', 'copy_line'],
  ];
  it.each(cases)('%s', async (_name, script, reason) => {
    const refused = await refusal(script);
    expect(refused.code).toBe('E_IMPORT_UNSAFE');
    expect(refused.reason).toBe(reason);
  });

  it('names the line', async () => {
    expect((await refusal('select 1;\nselect 2;\n\\! x\n')).line).toBe(3);
  });

  it('refuses an SQL line above the limit, without holding more of it', async () => {
    const error = await guard(`select '${'x'.repeat(5000)}';\n`, { maxSqlLineBytes: 1000 }, 512).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_IMPORT_UNSAFE', details: { reason: 'line_length' } });
  });
});

describe('SqlScriptGuard: legitimate look-alikes pass', () => {
  it.each([
    ['\\N rows in COPY data', 'COPY t (a, b) FROM stdin;\n\\N\t\\N\n\\.\n'],
    ['\\! inside a standard string', "select 'a \\! b';\n"],
    ['\\! inside an escape string', "select E'a \\\\! b';\n"],
    ['\\! inside a quoted name', 'select 1 as "\\! x";\n'],
    ['\\! inside a line comment', 'select 1; -- \\! x\n'],
    ['\\! inside a nested comment', '/* a /* b */ \\! c */ select 1;\n'],
    ['\\! inside a dollar quote', 'select $q$ \\! x $q$;\n'],
    ['a string over two lines', "select 'a\n\\! b';\n"],
    ['a COPY data line that looks like \\.x', 'COPY t (a) FROM stdin;\n\\.x\n\\! data\n\\.\n'],
    ['lower-case colon words (array slices, undefined variables)', 'select a[1:2], :x;\n'],
    ['a COPY at the end without data', 'COPY t (a) FROM stdin;'],
    [
      'a COPY after a function whose body ended the unit',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1; BEGIN; COPY t FROM stdin;\nEND;\n\\! data\n\\.\n',
    ],
    [
      'SET client_encoding in the forms pg_dump and people write',
      "SET client_encoding = 'UTF8';\nSET client_encoding TO utf8;\nRESET client_encoding;\nSET NAMES 'UTF-8';\n",
    ],
  ])('%s', async (_name, script) => {
    expect(await guard(script)).toBe(script);
  });
});
