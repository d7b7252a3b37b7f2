import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { AbortedError, SourceError } from '../../../src/index.js';
import { FakeRestoreTarget, fakeRestoreTargetFactory } from '../../../src/testing/index.js';

function tarOf(files: Record<string, string>): Readable {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name }, body);
  p.finalize();
  return p as unknown as Readable;
}

describe('FakeRestoreTarget', () => {
  it('creates, fills, renames and drops databases like PostgreSQL, recording every call', async () => {
    const t = new FakeRestoreTarget({ database: 'prod', databases: { prod: 'old' } });
    expect(await t.databaseExists('prod')).toBe(true);
    await expect(t.createDatabase('prod')).rejects.toThrow(/already exists/);
    await t.createDatabase('tmp');
    await t.restoreDump('tmp', Readable.from([Buffer.from('PGDMP'), Buffer.from('-new')]), { jobs: 2 });
    expect(t.databases.get('tmp')!.content.toString()).toBe('PGDMP-new');

    t.connect('prod');
    await expect(t.renameDatabase('prod', 'aside')).rejects.toThrow(/being accessed/);
    await t.setAllowConnections('prod', false);
    expect(() => t.connect('prod')).toThrow(/not currently accepting/);
    await t.renameDatabase('prod', 'aside');
    await expect(t.renameDatabase('tmp', 'aside')).rejects.toThrow(/already exists/);
    await t.renameDatabase('tmp', 'prod');
    await t.dropDatabase('aside');
    await t.dropDatabase('aside'); // idempotent
    expect([...t.databases.keys()]).toEqual(['prod']);
    expect(t.databaseHash('prod')).not.toBeNull();
    expect(t.databaseHash('aside')).toBeNull();
    expect(t.callsOf('restoreDump')).toEqual([['tmp', '<stream>', { jobs: 2 }]]);
    expect(t.calls.map((c) => c.method)).toContain('setAllowConnections');
  });

  it('extracts a real tar stream into a new folder, and refuses an existing one', async () => {
    const t = new FakeRestoreTarget({ folders: { '/fs/prod': { 'ab/1': 'x' } } });
    await t.extractFilestore('/fs/tmp', tarOf({ 'ab/abc': 'hello', 'cd/def': 'world' }));
    expect(Object.fromEntries([...t.folders.get('/fs/tmp')!].map(([k, v]) => [k, v.toString()]))).toEqual({
      'ab/abc': 'hello',
      'cd/def': 'world',
    });
    await expect(t.extractFilestore('/fs/prod', tarOf({ a: 'b' }))).rejects.toBeInstanceOf(SourceError);
    expect(await t.pathExists('/fs')).toBe(true);
    expect(await t.pathExists('/fs/none')).toBe(false);
    const before = t.folderHash('/fs/prod');
    await t.renamePath('/fs/prod', '/fs/aside');
    await expect(t.renamePath('/fs/tmp', '/fs/aside')).rejects.toThrow(/not empty/);
    await t.renamePath('/fs/tmp', '/fs/prod');
    expect(t.folderHash('/fs/aside')).toBe(before);
    await t.removePath('/fs/aside');
    await t.removePath('/fs/aside');
    expect([...t.folders.keys()]).toEqual(['/fs/prod']);
  });

  it('fails armed calls before any effect, only when the arguments match, the given number of times', async () => {
    const t = new FakeRestoreTarget({ databases: { a: '1', b: '2' } });
    t.failOn('renameDatabase', { when: (args) => args[1] === 'b2', times: 2 });
    await t.renameDatabase('a', 'a2');
    await expect(t.renameDatabase('b', 'b2')).rejects.toMatchObject({ code: 'E_SOURCE', details: { method: 'renameDatabase' } });
    await expect(t.renameDatabase('b', 'b2')).rejects.toBeInstanceOf(SourceError);
    await t.renameDatabase('b', 'b2');
    expect([...t.databases.keys()].sort()).toEqual(['a2', 'b2']);
    const custom = new Error('disk full');
    t.failOn('extractFilestore', { error: custom });
    await expect(t.extractFilestore('/x', tarOf({ a: 'b' }))).rejects.toBe(custom);
    expect(t.folders.has('/x')).toBe(false);
  });

  it('hangs until the signal aborts, and refuses calls with an aborted signal', async () => {
    const t = new FakeRestoreTarget();
    t.failOn('restoreDump', { mode: 'hang' });
    await t.createDatabase('d');
    const ac = new AbortController();
    const p = t.restoreDump('d', Readable.from([Buffer.from('x')]), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
    await expect(t.inspect({ signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('reports facts: ownership follows whether the own database exists unless set', async () => {
    const t = new FakeRestoreTarget({ database: 'prod', facts: { odooVersion: '16.0' } });
    expect(await t.inspect()).toMatchObject({ odooVersion: '16.0', ownsDatabase: null, canCreateDatabase: true });
    await t.createDatabase('prod');
    expect((await t.inspect()).ownsDatabase).toBe(true);
    t.facts.ownsDatabase = false;
    expect((await t.inspect()).ownsDatabase).toBe(false);
    await expect(t.listDump(Readable.from([]))).rejects.toMatchObject({ code: 'E_SOURCE_PG_RESTORE' });
    expect(await t.listDump(Readable.from([Buffer.from('PGDMP')]))).toMatch(/Archive of 5 bytes/);
  });

  it('factory hands out the target and remembers configs', () => {
    const t = new FakeRestoreTarget();
    const f = fakeRestoreTargetFactory(t);
    expect(f({ type: 'local', database: 'x' } as never)).toBe(t);
    expect(f.configs).toHaveLength(1);
    expect(t.filestorePath).toBe('/filestore/odoo');
  });
});
