import { inflateRawSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { ArchiveWriter } from '../../../src/pipeline/archive-writer.js';
import { crc32 } from '../../../src/pipeline/crc32.js';

const MTIME = new Date('2026-03-10T02:00:00.000Z');

/** SQL-like text of about `bytes` bytes, in chunks of uneven sizes. */
function sqlText(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `${i}\tPartner ${i}\tpartner${i}@example.com\t${(i * 7919) % 100000}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join(''));
}

function chunked(data: Buffer, sizes = [1, 7000, 65536, 123457]): Readable {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(parts);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function entriesOf(zip: Buffer): Promise<Map<string, { entry: yauzl.Entry; data: Buffer }>> {
  const file = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true }, (e, z) => (e ? rej(e) : res(z))),
  );
  const out = new Map<string, { entry: yauzl.Entry; data: Buffer }>();
  for await (const entry of file.eachEntry())
    out.set(entry.fileName, { entry, data: await collect(await file.openReadStreamPromise(entry)) });
  return out;
}

/** The bytes right after an entry's data: its data descriptor. */
function descriptorAfter(zip: Buffer, entry: yauzl.Entry): Buffer {
  const at = entry.relativeOffsetOfLocalHeader;
  const dataStart = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  return zip.subarray(dataStart + entry.compressedSize, dataStart + entry.compressedSize + 24);
}

describe('ArchiveWriter: the streaming-deflate entry', () => {
  it('deflates a stream of unknown size, with sizes and CRC in a data descriptor after the data', async () => {
    const sql = sqlText(3 * 1024 * 1024);
    const writer = new ArchiveWriter(MTIME);
    const zipping = collect(writer.output);
    const seen: number[] = [];
    const { measured } = writer.addDeflatedStream('dump.sql', chunked(sql), { level: 1, onBytes: (n) => seen.push(n) });
    writer.addBuffer('manifest.json', Buffer.from('{"odoo_dump":"1"}'));
    writer.end();
    const [zip, size] = await Promise.all([zipping, measured]);
    expect(size).toMatchObject({ size: sql.length, crc32: crc32(sql) });
    expect(size.compressedSize).toBeLessThan(sql.length / 3);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(sql.length);

    const entries = await entriesOf(zip);
    const dump = entries.get('dump.sql')!;
    expect(dump.entry.compressionMethod).toBe(8);
    expect(dump.entry.generalPurposeBitFlag & 0x0008).toBe(0x0008); // sizes follow the data
    expect(dump.entry.uncompressedSize).toBe(sql.length);
    expect(dump.entry.compressedSize).toBe(size.compressedSize);
    expect(dump.data.equals(sql)).toBe(true);
    // The local header says 0 (unknown when it was written); the descriptor has the truth, 32-bit below 4 GiB.
    const at = dump.entry.relativeOffsetOfLocalHeader;
    expect([zip.readUInt32LE(at + 14), zip.readUInt32LE(at + 18), zip.readUInt32LE(at + 22)]).toEqual([0, 0, 0]);
    const descriptor = descriptorAfter(zip, dump.entry);
    expect(descriptor.readUInt32LE(0)).toBe(0x08074b50);
    expect([descriptor.readUInt32LE(4), descriptor.readUInt32LE(8), descriptor.readUInt32LE(12)]).toEqual([
      crc32(sql),
      size.compressedSize,
      sql.length,
    ]);
    expect(descriptor.readUInt32LE(16)).toBe(0x04034b50); // the next local header follows at once
    expect(
      inflateRawSync(zip.subarray(at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28)).subarray(0, size.compressedSize)).equals(
        sql,
      ),
    ).toBe(true);
  });

  it('an empty stream is a valid empty entry', async () => {
    const writer = new ArchiveWriter(MTIME);
    const zipping = collect(writer.output);
    const { measured } = writer.addDeflatedStream('empty.sql', Readable.from([]));
    writer.end();
    const [zip, size] = await Promise.all([zipping, measured]);
    expect(size).toMatchObject({ size: 0, crc32: 0 });
    const entry = (await entriesOf(zip)).get('empty.sql')!;
    expect(entry.data.length).toBe(0);
  });

  it('with forced ZIP64: 64-bit data descriptors, ZIP64 extra fields and end records, read back whole', async () => {
    const sql = sqlText(200_000);
    const small = Buffer.from('x'.repeat(1000));
    const writer = new ArchiveWriter(MTIME, { forceZip64: true });
    const zipping = collect(writer.output);
    const { measured } = writer.addDeflatedStream('dump.sql', chunked(sql), { level: 6 });
    const stored = writer.addStream('big.bin', Readable.from([small]), { hash: false });
    await writer.addDeflatedBuffer('filestore/ab/abc', small, null);
    writer.end();
    const [zip, size] = await Promise.all([zipping, measured, stored.measured]);

    const entries = await entriesOf(zip);
    expect(entries.get('dump.sql')!.data.equals(sql)).toBe(true);
    expect(entries.get('big.bin')!.data.equals(small)).toBe(true);
    expect(entries.get('filestore/ab/abc')!.data.equals(small)).toBe(true);
    const dump = entries.get('dump.sql')!.entry;
    const descriptor = descriptorAfter(zip, dump);
    expect(descriptor.readUInt32LE(0)).toBe(0x08074b50);
    expect(descriptor.readUInt32LE(4)).toBe(crc32(sql));
    expect(Number(descriptor.readBigUInt64LE(8))).toBe(size.compressedSize);
    expect(Number(descriptor.readBigUInt64LE(16))).toBe(sql.length);
    // Central records: 0xFFFFFFFF in the 32-bit fields, the truth in the ZIP64 extra (id 1).
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    expect(zip.readUInt32LE(central + 20)).toBe(0xffffffff);
    expect(zip.readUInt32LE(central + 24)).toBe(0xffffffff);
    expect(zip.readUInt32LE(central + 42)).toBe(0xffffffff);
    expect(zip.includes(Buffer.from([0x01, 0x00, 0x18, 0x00]), central)).toBe(true);
    // The ZIP64 end record and its locator precede the classic end record.
    const end64 = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    const locator = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
    expect(end64).toBeGreaterThan(central);
    expect(locator).toBe(end64 + 56);
    expect(Number(zip.readBigUInt64LE(end64 + 32))).toBe(3); // entries
    expect(zip.readUInt32LE(zip.length - 22)).toBe(0x06054b50);
  });

  it('a source that fails midway fails the entry and the output; nothing after it is written', async () => {
    const writer = new ArchiveWriter(MTIME);
    const failing = new Readable({
      read() {
        this.push(sqlText(100_000));
        this.destroy(new Error('pg_restore died'));
      },
    });
    const output = collect(writer.output);
    const { measured } = writer.addDeflatedStream('dump.sql', failing);
    writer.addBuffer('manifest.json', Buffer.from('{}'));
    writer.end();
    await expect(measured).rejects.toThrow(/pg_restore died|closed/);
    await expect(output).rejects.toThrow();
  });
});
