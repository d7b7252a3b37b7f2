import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { MemoryStorageProvider } from '../../../src/index.js';
import { restoreOdooZip } from '../../../src/pipeline/odoo-zip-import.js';
import { FakeRestoreTarget } from '../../../src/testing/index.js';

const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '-- Dumped from database version 15.8',
  '-- Dumped by pg_dump version 15.8',
  '',
  'CREATE TABLE public.t (a integer);',
  'COPY public.t (a) FROM stdin;',
  '1',
  '\\N',
  '\\.',
  '',
].join('\n');

interface Member {
  name: string;
  data: string | Buffer;
  mode?: number;
}

async function zipOf(members: Member[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const m of members) zip.addBuffer(Buffer.from(m.data), m.name, { compress: true, ...(m.mode ? { mode: m.mode } : {}) });
  zip.end();
  return buffer(zip.outputStream as Readable);
}

const manifest = (pg = '15.0') =>
  JSON.stringify({ odoo_dump: '1', db_name: 'src', version: '17.0', major_version: '17.0', pg_version: pg, modules: {} });

async function importZip(members: Member[], options: { force?: boolean; privileged?: boolean } = {}) {
  const storage = new MemoryStorageProvider();
  await storage.upload('in.zip', Readable.from([await zipOf(members)]));
  const target = new FakeRestoreTarget({
    database: 'odoo',
    filestorePath: '/fs/odoo',
    databases: { postgres: '' },
    facts: { serverVersionNum: 150008, privilegedRole: options.privileged ?? false },
  });
  const result = await restoreOdooZip({
    storage,
    key: 'in.zip',
    target,
    database: 'imported',
    filestoreFolder: '/fs/imported',
    ...(options.force ? { force: true } : {}),
  }).catch((e: unknown) => e);
  return { result, target };
}

describe('restoreOdooZip', () => {
  it('restores dump.sql through psql and filestore/ into the folder, in one pass; other members are left out', async () => {
    const { result, target } = await importZip([
      { name: 'dump.sql', data: DUMP },
      { name: 'filestore/ab/abcdef', data: 'first attachment' },
      { name: 'filestore/cd/cdef01', data: Buffer.alloc(100_000, 1) },
      { name: 'README.txt', data: 'not Odoo' },
      { name: 'manifest.json', data: manifest() },
    ]);
    expect(result).toMatchObject({
      odoo_version: '17.0',
      pg_version: '15.0',
      pg_dump_version: '15.8',
      database_bytes: DUMP.length,
      filestore_bytes: 'first attachment'.length + 100_000,
      filestore_entries: 2,
      skipped: ['README.txt'],
    });
    // The fake target keeps what psql was given: the script as the guard passed it.
    expect(target.databases.get('imported')!.content.toString()).toBe(DUMP);
    const files = target.folders.get('/fs/imported')!;
    expect([...files.keys()].sort()).toEqual(['ab/abcdef', 'cd/cdef01']);
    expect(files.get('ab/abcdef')!.toString()).toBe('first attachment');
    expect(files.get('cd/cdef01')!.equals(Buffer.alloc(100_000, 1))).toBe(true);
  });

  it.each([
    ['a symlink member', [{ name: 'filestore/ab/link', data: '/etc/passwd', mode: 0o120777 }]],
    ['a meta-command in dump.sql', [{ name: 'filestore/ab/abc', data: 'x' }]],
  ] as const)('refuses %s with E_IMPORT_UNSAFE and leaves nothing', async (name, extra) => {
    const dump = name.startsWith('a meta') ? `${DUMP}\\! touch /tmp/never\n` : DUMP;
    const { result, target } = await importZip([{ name: 'dump.sql', data: dump }, ...extra]);
    expect(result).toMatchObject({ code: 'E_IMPORT_UNSAFE' });
    expect(target.databases.has('imported')).toBe(false);
    expect(target.folders.has('/fs/imported')).toBe(false);
  });

  it('refuses a dump of a newer PostgreSQL major unless force, and a privileged role, before anything exists', async () => {
    const newer = [
      { name: 'dump.sql', data: DUMP },
      { name: 'manifest.json', data: manifest('16.0') },
    ];
    const refused = await importZip(newer);
    expect(refused.result).toMatchObject({ code: 'E_RESTORE_INCOMPATIBLE', details: { dump_pg_version: '16.0' } });
    expect(refused.target.databases.has('imported')).toBe(false);
    expect((await importZip(newer, { force: true })).result).toMatchObject({ pg_version: '16.0' });
    const header = await importZip([{ name: 'dump.sql', data: DUMP.replace('database version 15.8', 'database version 17.2') }]);
    expect(header.result).toMatchObject({ code: 'E_RESTORE_INCOMPATIBLE', details: { source: 'dump.sql header' } });
    const privileged = await importZip([{ name: 'dump.sql', data: DUMP }], { privileged: true });
    expect(privileged.result).toMatchObject({ code: 'E_RESTORE_PRIVILEGES' });
    expect(privileged.target.calls.map((c) => c.method)).toEqual(['inspect']);
  });
});
