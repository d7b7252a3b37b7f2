import { execFile } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { ArchiveWriter } from '../../../src/pipeline/archive-writer.js';
import { requireBinary } from '../../servers/binaries.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
// Past 4 GiB, so the entry's sizes, the manifest's offset and the central directory's offset
// all need ZIP64 fields.
const DUMP_BYTES = 4 * 1024 * MiB + 3 * MiB + 5;

let work: string;
let zipPath: string;
let zipBytes = 0;

/** `bytes` zero bytes, as 1 MiB chunks that are all the same Buffer (so the sink can spot them). */
function zeros(bytes: number, chunk: Buffer): Readable {
  let left = bytes;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'obsdk-zip64-'));
  zipPath = join(work, 'big.zip');
  const chunk = Buffer.alloc(MiB);
  const archive = new ArchiveWriter(new Date('2026-11-28T02:00:00Z'));
  // The file is written sparse: the zero chunks are holes, everything else is written where it belongs.
  const fd = openSync(zipPath, 'w');
  const sink = new Writable({
    highWaterMark: 4 * MiB,
    write(data: Buffer, _encoding, callback) {
      if (data !== chunk) writeSync(fd, data, 0, data.length, zipBytes);
      zipBytes += data.length;
      callback();
    },
  });
  const written = pipeline(archive.output, sink);
  const dump = archive.addStream('dump.sql', zeros(DUMP_BYTES, chunk));
  archive.addBuffer('manifest.json', Buffer.from(JSON.stringify({ version: '1.0', note: 'after 4 GiB' })));
  archive.end();
  expect((await dump.measured).size).toBe(DUMP_BYTES);
  await written;
  ftruncateSync(fd, zipBytes);
  closeSync(fd);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ArchiveWriter past 4 GiB (ZIP64)', () => {
  it('is read whole by Python zipfile: sizes, every CRC, and the manifest after the 4 GiB mark', async () => {
    const python = requireBinary('python3');
    const script = [
      'import json, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'bad = z.testzip()',
      'info = {i.filename: [i.file_size, i.compress_size, i.header_offset] for i in z.infolist()}',
      'print(json.dumps({"bad": bad, "info": info, "manifest": z.read("manifest.json").decode()}))',
    ].join('\n');
    const { stdout } = await run(python, ['-c', script, zipPath], { maxBuffer: MiB });
    const out = JSON.parse(stdout) as { bad: string | null; info: Record<string, number[]>; manifest: string };
    expect(out.bad).toBeNull();
    expect(out.info['dump.sql']).toEqual([DUMP_BYTES, DUMP_BYTES, 0]);
    expect(out.info['manifest.json']![2]).toBeGreaterThan(2 ** 32);
    expect(JSON.parse(out.manifest)).toEqual({ version: '1.0', note: 'after 4 GiB' });
  });

  it('is listed by Info-ZIP unzip with the right sizes', async () => {
    const unzip = requireBinary('unzip');
    const { stdout } = await run(unzip, ['-l', zipPath], { maxBuffer: MiB });
    expect(stdout).toMatch(new RegExp(`^\\s*${DUMP_BYTES}\\s.*dump\\.sql$`, 'm'));
    expect(stdout).toMatch(/\bmanifest\.json$/m);
    const { stdout: manifest } = await run(unzip, ['-p', zipPath, 'manifest.json']);
    expect(JSON.parse(manifest)).toEqual({ version: '1.0', note: 'after 4 GiB' });
  });

  it('is read by yauzl, the reader verifyBackupArchive uses', async () => {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(zipPath, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (e, z) => (e ? reject(e) : resolve(z))),
    );
    const entries: yauzl.Entry[] = [];
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.push(entry);
        zip.readEntry();
      });
      zip.once('end', resolve);
      zip.once('error', reject);
      zip.readEntry();
    });
    expect(entries.map((e) => [e.fileName, e.uncompressedSize, e.compressionMethod])).toEqual([
      ['dump.sql', DUMP_BYTES, 0],
      ['manifest.json', expect.any(Number), 8],
    ]);
    const manifest = entries[1]!;
    expect(manifest.relativeOffsetOfLocalHeader).toBeGreaterThan(2 ** 32);
    const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(manifest, (e, s) => (e ? reject(e) : resolve(s))));
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    zip.close();
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ version: '1.0', note: 'after 4 GiB' });
  });
});
