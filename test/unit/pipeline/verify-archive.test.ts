import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ArchiveError,
  ChecksumMismatchError,
  MemoryStorageProvider,
  readBackupManifest,
  verifyBackupArchive,
  type BackupManifest,
} from '../../../src/index.js';
import { buildManifest, serializeManifest } from '../../../src/domain/manifest.js';
import { harness } from './harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = 'organizations/o/projects/p/environments/e/b.zip';
const noList = null;

interface RawEntry {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** Uncompressed size written in the headers (default: the real one). */
  declaredSize?: number;
}

/** A hand-built ZIP, so tests can write what yazl refuses to (hostile names, lying sizes, overlaps). */
function rawZip(entries: RawEntry[], options: { centralDuplicateOf?: number } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const records: { name: Buffer; method: number; csize: number; usize: number; offset: number; crc: number }[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const method = e.deflate ? 8 : 0;
    const usize = e.declaredSize ?? e.data.length;
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x800, 6);
    h.writeUInt16LE(method, 8);
    h.writeUInt32LE(crc32(e.data), 14);
    h.writeUInt32LE(body.length, 18);
    h.writeUInt32LE(usize, 22);
    h.writeUInt16LE(name.length, 26);
    locals.push(h, name, body);
    records.push({ name, method, csize: body.length, usize, offset, crc: crc32(e.data) });
    offset += 30 + name.length + body.length;
  }
  if (options.centralDuplicateOf !== undefined) {
    const r = records[options.centralDuplicateOf]!;
    records.push({ ...r, name: Buffer.from('filestore.tar.gz') });
  }
  for (const r of records) {
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x033f, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(r.method, 10);
    c.writeUInt32LE(r.crc, 16);
    c.writeUInt32LE(r.csize, 20);
    c.writeUInt32LE(r.usize, 24);
    c.writeUInt16LE(r.name.length, 28);
    c.writeUInt32LE(0o100644 * 0x1_0000, 38); // a regular file, as our writer marks every entry
    c.writeUInt32LE(r.offset, 42);
    centrals.push(c, r.name);
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(records.length, 8);
  eocd.writeUInt16LE(records.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

function manifestFor(dump: Buffer, filestore: Buffer | null, overrides: Partial<BackupManifest> = {}): Buffer {
  const m = buildManifest({
    backup_id: 'b',
    environment_id: 'e',
    backup_type: 'manual',
    created_at: '2026-03-10T02:00:00.000Z',
    database: { name: 'db', key: KEY, size: dump.length, checksum: sha(dump) },
    filestore: filestore ? { size: filestore.length, checksum: sha(filestore) } : null,
    include_filestore: filestore !== null,
    environment_snapshot: null,
    retention: { type: 'daily', expires_at: null },
  });
  return serializeManifest({ ...m, ...overrides });
}

async function store(zip: Buffer): Promise<MemoryStorageProvider> {
  const storage = new MemoryStorageProvider();
  await storage.upload(KEY, Readable.from([zip]));
  return storage;
}

const dump = Buffer.from('PGDMP fake dump bytes '.repeat(100));
const tarball = Buffer.from('fake tar.gz bytes '.repeat(50));

describe('verifyBackupArchive', () => {
  it('accepts a well-formed archive and reports what it checked', async () => {
    const zip = rawZip([
      { name: 'dump.sql', data: dump },
      { name: 'filestore.tar.gz', data: tarball },
      { name: 'manifest.json', data: manifestFor(dump, tarball), deflate: true },
    ]);
    const storage = await store(zip);
    const seen: number[] = [];
    const result = await verifyBackupArchive(storage, KEY, {
      lister: async (s) => {
        let n = 0;
        for await (const c of s) n += (c as Buffer).length;
        seen.push(n);
        return { entries: 3, table_data: 1 };
      },
    });
    expect(result.database).toEqual({ size: dump.length, checksum: sha(dump) });
    expect(result.filestore).toEqual({ size: tarball.length, checksum: sha(tarball) });
    expect(result.dump_listing).toEqual({ entries: 3, table_data: 1 });
    expect(result.archive_size).toBe(zip.length);
    expect(seen).toEqual([dump.length]); // the lister saw the whole dump
  });

  it('reads archives written by the runner, and catches a flipped byte', async () => {
    const h = await harness();
    const done = await h.runner.run((await h.pending()).id);
    await expect(verifyBackupArchive(h.storage, done.database_key!, { lister: noList })).resolves.toMatchObject({
      database: { checksum: done.database_checksum },
    });
    // Corrupt one byte inside the first entry, filestore.tar.gz (after its 30 + 16 byte local header).
    const chunks: Buffer[] = [];
    for await (const c of await h.storage.download(done.database_key!)) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    bytes[100] = bytes[100]! ^ 0xff;
    await h.storage.upload(done.database_key!, Readable.from([bytes]));
    const error = await verifyBackupArchive(h.storage, done.database_key!, { lister: noList }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as ChecksumMismatchError).details.part).toBe('filestore.tar.gz');
  });

  it('checks against the record when asked', async () => {
    const zip = rawZip([
      { name: 'dump.sql', data: dump },
      { name: 'manifest.json', data: manifestFor(dump, null), deflate: true },
    ]);
    await expect(
      verifyBackupArchive(await store(zip), KEY, { lister: noList, expected: { database_checksum: 'f'.repeat(64) } }),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  const hostile: [string, () => Buffer, RegExp][] = [
    [
      'a path traversal name',
      () =>
        rawZip([
          { name: '../../etc/cron.d/evil', data: dump },
          { name: 'manifest.json', data: manifestFor(dump, null) },
        ]),
      /relative path|unexpected entry/,
    ],
    [
      'an absolute path',
      () =>
        rawZip([
          { name: '/etc/passwd', data: dump },
          { name: 'manifest.json', data: manifestFor(dump, null) },
        ]),
      /absolute path|unexpected entry/,
    ],
    [
      'an unexpected entry',
      () =>
        rawZip([
          { name: 'dump.sql', data: dump },
          { name: 'run.sh', data: dump },
          { name: 'manifest.json', data: manifestFor(dump, null) },
        ]),
      /unexpected entry "run.sh"/,
    ],
    [
      'a duplicate entry',
      () =>
        rawZip([
          { name: 'dump.sql', data: dump },
          { name: 'dump.sql', data: dump },
          { name: 'manifest.json', data: manifestFor(dump, null) },
        ]),
      /dump.sql twice/,
    ],
    [
      'an entry bigger than it declares',
      () =>
        rawZip([
          { name: 'dump.sql', data: dump, declaredSize: 10 },
          { name: 'manifest.json', data: manifestFor(dump, null) },
        ]),
      /declares 10 bytes|size mismatch/,
    ],
    [
      'a deflate bomb as manifest',
      () =>
        rawZip([
          { name: 'dump.sql', data: dump },
          { name: 'manifest.json', data: Buffer.alloc(50 * 1024 * 1024, 0x20), deflate: true },
        ]),
      /zip bomb|at most/,
    ],
    [
      'overlapping entries',
      () =>
        rawZip(
          [
            { name: 'dump.sql', data: dump },
            { name: 'manifest.json', data: manifestFor(dump, tarball) },
          ],
          { centralDuplicateOf: 0 },
        ),
      /overlaps|names|disagrees with its central record on the name/,
    ],
    [
      'a deflated dump',
      () =>
        rawZip([
          { name: 'dump.sql', data: dump, deflate: true },
          { name: 'manifest.json', data: manifestFor(dump, null) },
        ]),
      /deflated/,
    ],
    ['no manifest', () => rawZip([{ name: 'dump.sql', data: dump }]), /no manifest/],
    [
      'a manifest that lies about the filestore',
      () =>
        rawZip([
          { name: 'dump.sql', data: dump },
          { name: 'manifest.json', data: manifestFor(dump, tarball) },
        ]),
      /no filestore.tar.gz/,
    ],
    ['not a zip at all', () => Buffer.from('hello, I am not a zip file'.repeat(10)), /not a readable ZIP/],
  ];
  for (const [what, build, message] of hostile) {
    it(`refuses ${what} with an ArchiveError`, async () => {
      const error = await verifyBackupArchive(await store(build()), KEY, { lister: noList }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArchiveError);
      expect((error as Error).message, (error as Error).message).toMatch(message);
    });
  }

  it('refuses a manifest of an unknown major version with a clear error', async () => {
    const zip = rawZip([
      { name: 'dump.sql', data: dump },
      { name: 'manifest.json', data: manifestFor(dump, null, { version: '2.0' }) },
    ]);
    const error = await verifyBackupArchive(await store(zip), KEY, { lister: noList }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as ArchiveError).code).toBe('E_MANIFEST_VERSION');
    expect((error as Error).message).toMatch(/version "2.0".*upgrade odoo-backup-sdk/);
  });
});

describe('readBackupManifest', () => {
  it("reads the runner's manifest by range, far fewer bytes than the archive", async () => {
    const h = await harness();
    const done = await h.runner.run((await h.pending()).id);
    const key = done.database_key!;
    let read = 0;
    const download = h.storage.download.bind(h.storage);
    h.storage.download = async (k, options) => {
      const stream = await download(k, options);
      stream.on('data', (c: Buffer) => (read += c.length));
      return stream;
    };
    const manifest = await readBackupManifest(h.storage, key);
    expect(manifest).toMatchObject({ backup_id: done.id, database: { key, checksum: done.database_checksum } });
    expect(read).toBeLessThan(done.compressed_size / 2);
  });

  it('rejects a missing object and a foreign one with E_ARCHIVE', async () => {
    const storage = await store(Buffer.from('not a zip at all'));
    await expect(readBackupManifest(storage, KEY)).rejects.toMatchObject({ code: 'E_ARCHIVE' });
    await expect(readBackupManifest(storage, 'nope.zip')).rejects.toMatchObject({ code: 'E_ARCHIVE' });
  });
});
