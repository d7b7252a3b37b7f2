import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildManifest, serializeManifest } from '../../../src/domain/manifest.js';
import { MemoryStorageProvider, type RestoreArchiveOptions } from '../../../src/index.js';
import { restoreArchive } from '../../../src/pipeline/restore-runner.js';
import { ArchiveWriter } from '../../../src/pipeline/archive-writer.js';
import { FakeRestoreTarget } from '../../../src/testing/index.js';

const KEY = 'organizations/o/projects/p/environments/e/b.zip';
const TEMP_DB = 'odoo_restore_tmp';
const TEMP_FOLDER = '/filestore/odoo.restore-tmp';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DUMP = Buffer.concat([Buffer.from('PGDMP'), Buffer.alloc(5000, 1)]);

type TarEntry = Partial<Header> & { name: string; body?: Buffer | string };

const FILES: TarEntry[] = [
  { name: 'odoo/', type: 'directory' },
  { name: 'odoo/ab/', type: 'directory' },
  { name: 'odoo/ab/abcdef', body: 'one' },
  { name: 'odoo/cd/cdef01', body: 'two two' },
];

async function tarGz(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...header } of entries) {
    if (body !== undefined) p.entry({ type: 'file', ...header }, body);
    else p.entry({ size: 0, ...header });
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

interface ArchiveSpec {
  dump?: Buffer;
  filestore?: Buffer | null;
  /** Bytes stored instead of the measured ones (a flipped byte after the manifest was written). */
  storedDump?: Buffer;
  storedFilestore?: Buffer;
  manifestVersion?: string;
  extra?: { name: string; data: Buffer };
}

async function store(spec: ArchiveSpec = {}): Promise<{ storage: MemoryStorageProvider; size: number }> {
  const dump = spec.dump ?? DUMP;
  const filestore = spec.filestore === undefined ? await tarGz(FILES) : spec.filestore;
  const manifest = buildManifest({
    backup_id: 'b1',
    environment_id: 'e',
    backup_type: 'manual',
    created_at: '2026-01-01T00:00:00.000Z',
    database: { name: 'odoo', key: KEY, size: dump.length, checksum: sha(dump) },
    filestore: filestore ? { size: filestore.length, checksum: sha(filestore) } : null,
    include_filestore: true,
    environment_snapshot: null,
    retention: { type: 'daily', expires_at: null },
  });
  if (spec.manifestVersion) manifest.version = spec.manifestVersion;
  const writer = new ArchiveWriter(new Date('2026-01-01T00:00:00Z'));
  writer.addStream('dump.sql', Readable.from([spec.storedDump ?? dump]));
  if (filestore) writer.addStream('filestore.tar.gz', Readable.from([spec.storedFilestore ?? filestore]));
  if (spec.extra) writer.addStream(spec.extra.name, Readable.from([spec.extra.data]));
  writer.addBuffer('manifest.json', serializeManifest(manifest));
  writer.end();
  const storage = new MemoryStorageProvider();
  const { size } = await storage.upload(KEY, writer.output);
  return { storage, size };
}

function target(): FakeRestoreTarget {
  return new FakeRestoreTarget({ database: 'odoo', databases: { odoo: 'LIVE' }, folders: { '/filestore/odoo': { 'ab/live': 'live' } } });
}

async function restore(storage: MemoryStorageProvider, t: FakeRestoreTarget, extra: Partial<RestoreArchiveOptions> = {}) {
  return restoreArchive({ storage, key: KEY, target: t, database: TEMP_DB, filestoreFolder: TEMP_FOLDER, ...extra });
}

/** Nothing of the restore is left, and the target's own database and folder are as they were. */
function untouched(t: FakeRestoreTarget): void {
  expect([...t.databases.keys()]).toEqual(['odoo']);
  expect(t.databases.get('odoo')!.content.toString()).toBe('LIVE');
  expect([...t.folders.keys()]).toEqual(['/filestore/odoo']);
  expect([...t.folders.get('/filestore/odoo')!.keys()]).toEqual(['ab/live']);
}

describe('restoreArchive', () => {
  it('restores a genuine archive into the temporary database and folder, reporting progress', async () => {
    const { storage, size } = await store();
    const t = target();
    const phases = new Set<string>();
    const result = await restore(storage, t, {
      expected: { size, database_checksum: sha(DUMP) },
      jobs: 2,
      onProgress: (p) => phases.add(p.phase),
    });
    expect(result).toMatchObject({ database_bytes: DUMP.length, filestore_bytes: 10, filestore_entries: 3 });
    expect(result.manifest.backup_id).toBe('b1');
    expect(t.databases.get(TEMP_DB)!.content.equals(DUMP)).toBe(true);
    expect(Object.fromEntries(t.folders.get(TEMP_FOLDER)!)).toEqual({
      'ab/abcdef': Buffer.from('one'),
      'cd/cdef01': Buffer.from('two two'),
    });
    expect(t.databases.get('odoo')!.content.toString()).toBe('LIVE');
    expect([...phases].sort()).toEqual(['database', 'filestore', 'verify']);
    expect(t.callsOf('restoreDump')[0]).toEqual([TEMP_DB, '<stream>', { jobs: 2 }]);
  });

  it('runs pg_restore before it fills the folder, and a refused filestore drops the restored database', async () => {
    for (const jobs of [1, 2]) {
      const { storage } = await store();
      const t = target();
      const seen: number[] = [];
      const extract = t.extractFilestore.bind(t);
      t.extractFilestore = async (...args) => {
        seen.push(t.databases.get(TEMP_DB)!.content.length);
        await extract(...args);
      };
      await restore(storage, t, { jobs });
      expect(seen).toEqual([DUMP.length]);
      expect(t.databases.get(TEMP_DB)!.content.equals(DUMP)).toBe(true);

      const bad = await store({ filestore: await tarGz([...FILES, { name: 'odoo/fifo', type: 'fifo' }]) });
      const t2 = target();
      const dropped: number[] = [];
      const drop = t2.dropDatabase.bind(t2);
      t2.dropDatabase = async (...args) => {
        dropped.push(t2.databases.get(args[0])!.content.length);
        return drop(...args);
      };
      await expect(restore(bad.storage, t2, { jobs })).rejects.toMatchObject({ code: 'E_ARCHIVE' });
      expect(dropped).toEqual([DUMP.length]);
      untouched(t2);
    }
  });

  it('skips the filestore when the folder is null, and an archive without one creates no folder', async () => {
    const { storage } = await store();
    const t = target();
    expect(await restore(storage, t, { filestoreFolder: null })).toMatchObject({ filestore_bytes: 0, filestore_entries: 0 });
    expect(t.folders.has(TEMP_FOLDER)).toBe(false);
    const bare = await store({ filestore: null });
    const t2 = target();
    await restore(bare.storage, t2);
    expect(t2.folders.has(TEMP_FOLDER)).toBe(false);
    expect(t2.databases.has(TEMP_DB)).toBe(true);
  });

  const hostile: [string, TarEntry[], RegExp][] = [
    ['a ../ name', [...FILES, { name: 'odoo/../../etc/passwd', body: 'x' }], /"\.\." segment/],
    ['an absolute name', [...FILES, { name: '/etc/passwd', body: 'x' }], /absolute entry name/],
    ['a name outside its folder', [...FILES, { name: 'other/x', body: 'x' }], /outside its folder/],
    [
      'a symlink',
      [...FILES, { name: 'odoo/link', type: 'symlink', linkname: '/etc' }, { name: 'odoo/link/passwd', body: 'x' }],
      /type symlink/,
    ],
    ['a hard link', [...FILES, { name: 'odoo/hard', type: 'link', linkname: 'odoo/ab/abcdef' }], /type link/],
    ['a character device', [...FILES, { name: 'odoo/null', type: 'character-device', devmajor: 1, devminor: 3 }], /type character-device/],
    ['a FIFO', [...FILES, { name: 'odoo/fifo', type: 'fifo' }], /type fifo/],
    ['a file as its folder', [{ name: 'odoo', body: 'x' }], /where its folder should be/],
  ];
  it.each(hostile)('refuses a filestore with %s, leaving nothing behind', async (_, entries, message) => {
    const { storage } = await store({ filestore: await tarGz(entries) });
    const t = target();
    await expect(restore(storage, t)).rejects.toMatchObject({ code: 'E_ARCHIVE', message: expect.stringMatching(message) });
    untouched(t);
  });

  it('a bad header stops the restore before its entry is written: the symlink never reaches tar', async () => {
    const { storage } = await store({ filestore: await tarGz([...FILES, { name: 'odoo/link', type: 'symlink', linkname: '/etc' }]) });
    const t = target();
    let seen = '';
    const extract = t.extractFilestore.bind(t);
    t.extractFilestore = async (folder, tar, options) => {
      tar.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
      return extract(folder, tar, options);
    };
    await expect(restore(storage, t)).rejects.toMatchObject({ code: 'E_ARCHIVE' });
    expect(seen).not.toContain('link');
    untouched(t);
  });

  it('refuses tar bombs: too many entries, a huge file, too many bytes, a gzip bomb', async () => {
    const many = await store({
      filestore: await tarGz([...FILES, ...Array.from({ length: 20 }, (_, i) => ({ name: `odoo/f${i}`, body: 'x' }))]),
    });
    let t = target();
    await expect(restore(many.storage, t, { limits: { maxEntries: 10 } })).rejects.toMatchObject({
      code: 'E_ARCHIVE',
      details: { reason: 'limit' },
    });
    untouched(t);
    const big = await store({ filestore: await tarGz([...FILES, { name: 'odoo/big', body: Buffer.alloc(100_000) }]) });
    t = target();
    await expect(restore(big.storage, t, { limits: { maxEntryBytes: 50_000 } })).rejects.toMatchObject({ message: /per file/ });
    untouched(t);
    t = target();
    await expect(restore(big.storage, t, { limits: { maxTotalBytes: 60_000 } })).rejects.toMatchObject({ message: /bytes of files/ });
    untouched(t);
    const zeros = await store({ filestore: await tarGz([...FILES, { name: 'odoo/zeros', body: Buffer.alloc(80 * 1024 * 1024) }]) });
    t = target();
    await expect(restore(zeros.storage, t, { limits: { maxCompressionRatio: 100 } })).rejects.toMatchObject({
      details: { reason: 'ratio' },
    });
    untouched(t);
  });

  it('refuses an unknown manifest major and an extra ZIP entry before creating anything', async () => {
    for (const [spec, code] of [
      [{ manifestVersion: '2.0' }, 'E_MANIFEST_VERSION'],
      [{ extra: { name: 'evil.sh', data: Buffer.from('rm -rf /') } }, 'E_ARCHIVE'],
    ] as const) {
      const { storage } = await store(spec);
      const t = target();
      await expect(restore(storage, t)).rejects.toMatchObject({ code });
      expect(t.callsOf('createDatabase')).toEqual([]);
      untouched(t);
    }
  });

  it('a flipped byte in the dump or the filestore is found at the end of the stream; both are cleaned up', async () => {
    const flipped = Buffer.from(DUMP);
    flipped[3000] = flipped[3000]! ^ 0xff;
    const dump = await store({ storedDump: flipped });
    let t = target();
    await expect(restore(dump.storage, t)).rejects.toMatchObject({ code: 'E_CHECKSUM_MISMATCH', details: { part: 'dump.sql' } });
    expect(t.callsOf('dropDatabase')).toEqual([[TEMP_DB]]);
    untouched(t);

    const gz = await tarGz(FILES);
    const badGz = Buffer.from(gz);
    badGz[badGz.length - 3] = badGz[badGz.length - 3]! ^ 0xff; // in gzip's trailer: the tar still parses, only the checksum can tell
    const fs = await store({ filestore: gz, storedFilestore: badGz });
    t = target();
    await expect(restore(fs.storage, t)).rejects.toMatchObject({ code: expect.stringMatching(/^E_(CHECKSUM_MISMATCH|ARCHIVE)$/) });
    expect(t.callsOf('removePath')).toEqual([[TEMP_FOLDER]]);
    untouched(t);
  });

  it('refuses a manifest that disagrees with the backup record before creating anything', async () => {
    const { storage, size } = await store();
    for (const expected of [{ database_checksum: 'f'.repeat(64) }, { filestore_checksum: 'f'.repeat(64) }, { size: size + 1 }]) {
      const t = target();
      await expect(restore(storage, t, { expected })).rejects.toMatchObject({
        code: expect.stringMatching(/^E_(CHECKSUM_MISMATCH|ARCHIVE)$/),
      });
      expect(t.callsOf('createDatabase')).toEqual([]);
    }
  });

  it("never drops a database or folder it did not create, nor touches the target's own", async () => {
    const { storage } = await store();
    const t = target();
    t.databases.set(TEMP_DB, { content: Buffer.from('OTHER'), allowConnections: true, connections: 0 });
    await expect(restore(storage, t)).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(t.databases.get(TEMP_DB)!.content.toString()).toBe('OTHER');
    expect(t.callsOf('dropDatabase')).toEqual([]);
    const t2 = target();
    t2.folders.set(TEMP_FOLDER, new Map());
    await expect(restore(storage, t2)).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(t2.folders.has(TEMP_FOLDER)).toBe(true);
    expect(t2.callsOf('removePath')).toEqual([]);
    await expect(restore(storage, target(), { database: 'odoo' })).rejects.toMatchObject({ code: 'E_VALIDATION' });
    await expect(restore(storage, target(), { filestoreFolder: '/filestore/odoo' })).rejects.toMatchObject({ code: 'E_VALIDATION' });
  });

  it('a failing tool or an abort cleans up and rejects with its typed error', async () => {
    const { storage } = await store();
    const t = target();
    t.failOn('extractFilestore');
    await expect(restore(storage, t)).rejects.toMatchObject({ code: 'E_SOURCE' });
    untouched(t);
    const t2 = target();
    t2.failOn('restoreDump', { mode: 'hang' });
    const controller = new AbortController();
    const pending = restore(storage, t2, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'E_ABORTED' });
    untouched(t2);
  });
});
