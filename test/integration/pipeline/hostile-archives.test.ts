// Mutated backup archives against verifyBackupArchive and the readers a user may open them with:
// Info-ZIP's unzip, Python's zipfile, yauzl and a streaming walk of the local headers. Every
// archive we accept must look the same (names, sizes, regular files) to all of them; each named
// attack from the adversarial review must be refused.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorageProvider, verifyBackupArchive } from '../../../src/index.js';
import { harness } from '../../unit/pipeline/harness.js';
import {
  buildZip,
  headerFields,
  pythonListings,
  saveZip,
  splitZip,
  streamingListing,
  unzipListing,
  withField,
  yauzlListing,
  type Listing,
  type ZipPart,
} from './zip-surgery.js';

const KEY = 'organizations/o/projects/p/environments/e/hostile.zip';
let genuine: Buffer;
let genuineListing: string[];
let work: string;

async function verdict(zip: Buffer): Promise<'accepted' | string> {
  const storage = new MemoryStorageProvider();
  await storage.upload(KEY, Readable.from([zip]));
  try {
    await verifyBackupArchive(storage, KEY, { lister: null });
    return 'accepted';
  } catch (error) {
    // Only typed refusals: an untyped error would mean a reader crashed instead of judging.
    expect((error as { code?: string }).code, String(error)).toMatch(/^E_ARCHIVE|^E_CHECKSUM/);
    return (error as Error).message;
  }
}

/** The genuine archive with another dump (manifest, CRC and sizes kept consistent). */
function withDump(zip: Buffer, dump: Buffer): ZipPart[] {
  const parts = splitZip(zip);
  const dumpPart = parts.find((p) => p.name.toString() === 'dump.sql')!;
  dumpPart.data = dump;
  dumpPart.central.writeUInt32LE(crc32(dump), 16);
  dumpPart.central.writeUInt32LE(dump.length, 20);
  dumpPart.central.writeUInt32LE(dump.length, 24);
  dumpPart.descriptor.writeUInt32LE(crc32(dump), 4);
  dumpPart.descriptor.writeUInt32LE(dump.length, 8);
  dumpPart.descriptor.writeUInt32LE(dump.length, 12);
  const manifestPart = parts.find((p) => p.name.toString() === 'manifest.json')!;
  const manifest = JSON.parse(inflateRawSync(manifestPart.data).toString()) as { database: { size: number; checksum: string } };
  manifest.database.size = dump.length;
  manifest.database.checksum = createHash('sha256').update(dump).digest('hex');
  const json = Buffer.from(JSON.stringify(manifest));
  manifestPart.data = deflateRawSync(json);
  for (const [header, at] of [
    [manifestPart.local, 14],
    [manifestPart.central, 16],
  ] as const) {
    header.writeUInt32LE(crc32(json), at);
    header.writeUInt32LE(manifestPart.data.length, at + 4);
    header.writeUInt32LE(json.length, at + 8);
  }
  return parts;
}

/** A local header for `name` (stored, sizes known), as a hostile writer would hide one. */
function hiddenLocalHeader(name: string, body: Buffer): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt32LE(crc32(body), 14);
  h.writeUInt32LE(body.length, 18);
  h.writeUInt32LE(body.length, 22);
  h.writeUInt16LE(Buffer.byteLength(name), 26);
  return Buffer.concat([h, Buffer.from(name), body]);
}

async function readersOf(zip: Buffer, name: string): Promise<Record<string, Listing>> {
  const path = saveZip(work, name, zip);
  return {
    yauzl: await yauzlListing(zip),
    unzip: unzipListing(path),
    python: pythonListings([path])[path]!,
    streaming: streamingListing(zip),
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'obsdk-hostile-zip-'));
  const h = await harness({ source: { dumpSize: 3000, filestoreSize: 2000 } });
  const done = await h.runner.run((await h.pending()).id);
  const chunks: Buffer[] = [];
  for await (const c of await h.storage.download(done.database_key!)) chunks.push(c as Buffer);
  genuine = Buffer.concat(chunks);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a genuine archive', () => {
  it('is accepted, and every reader lists the same three regular files', async () => {
    expect(await verdict(genuine)).toBe('accepted');
    const views = await readersOf(genuine, 'genuine');
    genuineListing = views.yauzl as string[];
    expect(genuineListing.map((l) => l.split(' ')[0])).toEqual(['dump.sql', 'filestore.tar.gz', 'manifest.json']);
    expect(views).toEqual({ yauzl: genuineListing, unzip: genuineListing, python: genuineListing, streaming: genuineListing });
  });
});

describe('the attacks of the adversarial review', () => {
  it('a local header that announces a shorter dump, so a streaming reader finds a hidden ../../x inside it, is refused', async () => {
    const prefix = Buffer.from('PGDMP'.padEnd(64, '.'));
    const dump = Buffer.concat([prefix, hiddenLocalHeader('../../x', Buffer.from('owned\n')), Buffer.alloc(200, 0x2e)]);
    const consistent = buildZip(withDump(genuine, dump));
    expect(await verdict(consistent)).toBe('accepted'); // odd bytes inside a dump are not an attack by themselves
    const parts = splitZip(consistent);
    const local = parts.find((p) => p.name.toString() === 'dump.sql')!.local;
    local.writeUInt16LE(0x0800, 6); // no data descriptor: the local sizes are taken at their word
    local.writeUInt32LE(crc32(prefix), 14);
    local.writeUInt32LE(prefix.length, 18);
    local.writeUInt32LE(prefix.length, 22);
    const hostile = buildZip(parts);
    const views = await readersOf(hostile, 'hidden-entry');
    expect(views.streaming).toContain('../../x 6 file'); // the attack is real for a streaming reader
    expect(await verdict(hostile)).toMatch(/local header of dump.sql disagrees with its central record on the flags/);
  });

  it('a raw name ../../evil.sql behind a Unicode-path extra field saying dump.sql is refused', async () => {
    const parts = splitZip(genuine);
    const dumpPart = parts.find((p) => p.name.toString() === 'dump.sql')!;
    const raw = Buffer.from('../../evil.sql');
    const unicode = Buffer.alloc(5);
    unicode.writeUInt8(1, 0);
    unicode.writeUInt32LE(crc32(raw), 1);
    const field = Buffer.concat([Buffer.from([0x75, 0x70]), Buffer.alloc(2), unicode, Buffer.from('dump.sql')]);
    field.writeUInt16LE(field.length - 4, 2);
    dumpPart.name = raw;
    dumpPart.localName = raw;
    dumpPart.centralExtra = Buffer.concat([dumpPart.centralExtra, field]);
    dumpPart.localExtra = Buffer.concat([dumpPart.localExtra, field]);
    const hostile = buildZip(parts);
    const views = await readersOf(hostile, 'unicode-path');
    expect(views.yauzl).toEqual(genuineListing); // yauzl shows the extra field's name...
    expect(views.python).toContain(`../../evil.sql ${dumpPart.data.length} file`); // ...Python the raw one
    expect(await verdict(hostile)).toMatch(/unexpected entry "..\/..\/evil.sql" \(shown as "dump.sql"\)/);
  });

  it('a dump.sql marked as a symbolic link (to /etc/passwd) is refused', async () => {
    const target = Buffer.from('/etc/passwd');
    const parts = withDump(genuine, target);
    parts.find((p) => p.name.toString() === 'dump.sql')!.central.writeUInt32LE(0o120777 * 0x1_0000, 38);
    const hostile = buildZip(parts);
    const views = await readersOf(hostile, 'symlink');
    expect(views.unzip).toContain('dump.sql 11 typel');
    expect(await verdict(hostile)).toMatch(/dump.sql is not a regular file \(mode 0120777\)/);
    // A folder, a FIFO and a DOS directory bit are refused the same way.
    for (const attributes of [0o040755 * 0x1_0000, 0o010644 * 0x1_0000, 0o100644 * 0x1_0000 + 0x10]) {
      const again = withDump(genuine, target);
      again.find((p) => p.name.toString() === 'dump.sql')!.central.writeUInt32LE(attributes, 38);
      expect(await verdict(buildZip(again))).toMatch(/not a regular file/);
    }
  });

  it('an entry hidden between the entries, or records the directory does not count, are refused', async () => {
    const parts = splitZip(genuine);
    parts[0]!.descriptor = Buffer.concat([parts[0]!.descriptor, hiddenLocalHeader('../../y', Buffer.from('x'))]);
    const gap = buildZip(parts);
    expect((await readersOf(gap, 'gap')).streaming).toContain('../../y 1 file');
    expect(await verdict(gap)).toMatch(/unlisted bytes/);
    const trailing = Buffer.concat([genuine, Buffer.from('trailing comment bytes')]);
    expect(await verdict(trailing)).not.toBe('accepted');
  });
});

describe('every header field of a genuine archive, changed in turn', () => {
  it('is either refused, or read identically by yauzl, unzip, Python and a streaming reader', async () => {
    const spots = headerFields(genuine);
    const cases: { label: string; zip: Buffer; path: string }[] = [];
    for (const spot of spots) {
      const current = spot.bytes === 2 ? genuine.readUInt16LE(spot.offset) : genuine.readUInt32LE(spot.offset);
      const max = spot.bytes === 2 ? 0xffff : 0xffff_ffff;
      const values = new Set([current + 1, current - 1, current ^ 0x8, current ^ 0x800, 0, max, current + 0x10000].map((v) => v & max));
      values.delete(current);
      for (const value of values) {
        const label = `${spot.record}: ${spot.field} ${current} -> ${value}`;
        const zip = withField(genuine, spot, value);
        cases.push({ label, zip, path: saveZip(work, `m${cases.length}`, zip) });
      }
    }
    const python = pythonListings(cases.map((c) => c.path));
    let accepted = 0;
    const disagreements: string[] = [];
    for (const c of cases) {
      if ((await verdict(c.zip)) !== 'accepted') continue;
      accepted++;
      const views = {
        yauzl: await yauzlListing(c.zip),
        unzip: unzipListing(c.path),
        python: python[c.path],
        streaming: streamingListing(c.zip),
      };
      for (const [reader, listing] of Object.entries(views))
        if (JSON.stringify(listing) !== JSON.stringify(genuineListing))
          disagreements.push(`${c.label}: ${reader} sees ${JSON.stringify(listing)}`);
    }
    expect(disagreements).toEqual([]);
    // Harmless fields (times, version needed, internal attributes) may change; most changes are refused.
    expect(cases.length).toBeGreaterThan(400);
    expect(accepted).toBeLessThan(cases.length / 4);
    console.info(`hostile archives: ${cases.length} mutated archives, ${accepted} accepted and read identically by every reader`);
  });
});
