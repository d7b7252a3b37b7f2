// Takes a ZIP apart into its records and puts it back together, so tests can change one header
// field of a genuine backup archive (in place) or rebuild it with other names, extra fields or
// modes (lengths change, offsets are recomputed).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';

/** One fixed-size field of a record, by its byte offset in the archive. */
export interface FieldSpot {
  record: string;
  field: string;
  offset: number;
  bytes: 2 | 4;
}

interface FieldLayout {
  field: string;
  at: number;
  bytes: 2 | 4;
}

const LOCAL_FIELDS: FieldLayout[] = [
  { field: 'signature', at: 0, bytes: 4 },
  { field: 'version needed', at: 4, bytes: 2 },
  { field: 'flags', at: 6, bytes: 2 },
  { field: 'method', at: 8, bytes: 2 },
  { field: 'mod time', at: 10, bytes: 2 },
  { field: 'mod date', at: 12, bytes: 2 },
  { field: 'crc32', at: 14, bytes: 4 },
  { field: 'compressed size', at: 18, bytes: 4 },
  { field: 'uncompressed size', at: 22, bytes: 4 },
  { field: 'name length', at: 26, bytes: 2 },
  { field: 'extra length', at: 28, bytes: 2 },
];
const CENTRAL_FIELDS: FieldLayout[] = [
  { field: 'signature', at: 0, bytes: 4 },
  { field: 'version made by', at: 4, bytes: 2 },
  { field: 'version needed', at: 6, bytes: 2 },
  { field: 'flags', at: 8, bytes: 2 },
  { field: 'method', at: 10, bytes: 2 },
  { field: 'mod time', at: 12, bytes: 2 },
  { field: 'mod date', at: 14, bytes: 2 },
  { field: 'crc32', at: 16, bytes: 4 },
  { field: 'compressed size', at: 20, bytes: 4 },
  { field: 'uncompressed size', at: 24, bytes: 4 },
  { field: 'name length', at: 28, bytes: 2 },
  { field: 'extra length', at: 30, bytes: 2 },
  { field: 'comment length', at: 32, bytes: 2 },
  { field: 'disk number', at: 34, bytes: 2 },
  { field: 'internal attributes', at: 36, bytes: 2 },
  { field: 'external attributes', at: 38, bytes: 4 },
  { field: 'local header offset', at: 42, bytes: 4 },
];
const DESCRIPTOR_FIELDS: FieldLayout[] = [
  { field: 'signature', at: 0, bytes: 4 },
  { field: 'crc32', at: 4, bytes: 4 },
  { field: 'compressed size', at: 8, bytes: 4 },
  { field: 'uncompressed size', at: 12, bytes: 4 },
];
const EOCD_FIELDS: FieldLayout[] = [
  { field: 'signature', at: 0, bytes: 4 },
  { field: 'disk', at: 4, bytes: 2 },
  { field: 'directory disk', at: 6, bytes: 2 },
  { field: 'entries on disk', at: 8, bytes: 2 },
  { field: 'entries', at: 10, bytes: 2 },
  { field: 'directory size', at: 12, bytes: 4 },
  { field: 'directory offset', at: 16, bytes: 4 },
  { field: 'comment length', at: 20, bytes: 2 },
];

/** One entry as the central directory describes it, with its local record's pieces. */
export interface ZipPart {
  name: Buffer;
  /** The 46 fixed bytes of the central record (offset and lengths rewritten by {@link buildZip}). */
  central: Buffer;
  centralExtra: Buffer;
  /** The 30 fixed bytes of the local header. */
  local: Buffer;
  localName: Buffer;
  localExtra: Buffer;
  data: Buffer;
  descriptor: Buffer;
}

/** Splits a ZIP written by our writer (no comments, no ZIP64) into its parts. */
export function splitZip(zip: Buffer): ZipPart[] {
  const eocd = zip.length - 22;
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const parts: ZipPart[] = [];
  for (let i = 0; i < count; i++) {
    const central = Buffer.from(zip.subarray(at, at + 46));
    const nameLength = central.readUInt16LE(28);
    const extraLength = central.readUInt16LE(30);
    const name = Buffer.from(zip.subarray(at + 46, at + 46 + nameLength));
    const centralExtra = Buffer.from(zip.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
    at += 46 + nameLength + extraLength + central.readUInt16LE(32);
    const offset = central.readUInt32LE(42);
    const local = Buffer.from(zip.subarray(offset, offset + 30));
    const ln = local.readUInt16LE(26);
    const le = local.readUInt16LE(28);
    const dataStart = offset + 30 + ln + le;
    const size = central.readUInt32LE(20);
    const hasDescriptor = (local.readUInt16LE(6) & 8) !== 0;
    parts.push({
      name,
      central,
      centralExtra,
      local,
      localName: Buffer.from(zip.subarray(offset + 30, offset + 30 + ln)),
      localExtra: Buffer.from(zip.subarray(offset + 30 + ln, dataStart)),
      data: Buffer.from(zip.subarray(dataStart, dataStart + size)),
      descriptor: hasDescriptor ? Buffer.from(zip.subarray(dataStart + size, dataStart + size + 16)) : Buffer.alloc(0),
    });
  }
  return parts;
}

/** Serialises parts back into a ZIP, recomputing lengths and offsets. */
export function buildZip(parts: ZipPart[]): Buffer {
  const out: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const local = Buffer.from(p.local);
    local.writeUInt16LE(p.localName.length, 26);
    local.writeUInt16LE(p.localExtra.length, 28);
    out.push(local, p.localName, p.localExtra, p.data, p.descriptor);
    const central = Buffer.from(p.central);
    central.writeUInt16LE(p.name.length, 28);
    central.writeUInt16LE(p.centralExtra.length, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, p.name, p.centralExtra);
    offset += 30 + p.localName.length + p.localExtra.length + p.data.length + p.descriptor.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(parts.length, 8);
  eocd.writeUInt16LE(parts.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, cd, eocd]);
}

/** Every fixed-size header field of a ZIP written by our writer, with its position. */
export function headerFields(zip: Buffer): FieldSpot[] {
  const spots: FieldSpot[] = [];
  const eocd = zip.length - 22;
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const name = zip.subarray(at + 46, at + 46 + zip.readUInt16LE(at + 28)).toString();
    for (const f of CENTRAL_FIELDS) spots.push({ record: `central ${name}`, field: f.field, offset: at + f.at, bytes: f.bytes });
    const offset = zip.readUInt32LE(at + 42);
    for (const f of LOCAL_FIELDS) spots.push({ record: `local ${name}`, field: f.field, offset: offset + f.at, bytes: f.bytes });
    if (zip.readUInt16LE(offset + 6) & 8) {
      const descriptorAt = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28) + zip.readUInt32LE(at + 20);
      for (const f of DESCRIPTOR_FIELDS)
        spots.push({ record: `descriptor ${name}`, field: f.field, offset: descriptorAt + f.at, bytes: f.bytes });
    }
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  for (const f of EOCD_FIELDS) spots.push({ record: 'end of central directory', field: f.field, offset: eocd + f.at, bytes: f.bytes });
  return spots;
}

/** A copy of `zip` with one field set to `value`. */
export function withField(zip: Buffer, spot: FieldSpot, value: number): Buffer {
  const copy = Buffer.from(zip);
  if (spot.bytes === 2) copy.writeUInt16LE(value & 0xffff, spot.offset);
  else copy.writeUInt32LE(value >>> 0, spot.offset);
  return copy;
}

/** What a reader reports of an archive: sorted `name size type` lines, or its refusal. */
export type Listing = string[] | 'refused';

/** yauzl (random access, central directory), with its default options as most users call it. */
export async function yauzlListing(zip: Buffer): Promise<Listing> {
  try {
    const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.fromBuffer(zip, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))),
    );
    const lines = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      file.on('entry', (entry: yauzl.Entry) => {
        const mode = entry.externalFileAttributes >>> 16;
        out.push(`${entry.fileName} ${entry.uncompressedSize} ${(mode & 0o170000) === 0o100000 ? 'file' : `mode${mode.toString(8)}`}`);
        file.readEntry();
      });
      file.on('end', () => resolve(out));
      file.on('error', reject);
      file.readEntry();
    });
    return lines.sort();
  } catch {
    return 'refused';
  }
}

/** Info-ZIP's `zipinfo` view (`unzip -Z`): type and permissions, size, raw name; plus `unzip -t`. */
export function unzipListing(path: string): Listing {
  try {
    execFileSync('unzip', ['-tqq', path], { stdio: 'pipe' });
    const text = execFileSync('unzip', ['-Z', path], { encoding: 'utf8', stdio: 'pipe' });
    const lines = text
      .split('\n')
      .filter((l) => /^[-dlbcps?][-rwxsStT?]{9} /.test(l))
      .map((l) => {
        const f = l.trim().split(/\s+/);
        return `${f.slice(8).join(' ')} ${f[3]} ${f[0]!.startsWith('-') ? 'file' : `type${f[0]![0]}`}`;
      });
    return lines.sort();
  } catch {
    return 'refused';
  }
}

const PYTHON = `
import json, sys, zipfile, stat
out = {}
for path in sys.argv[1:]:
    try:
        with zipfile.ZipFile(path) as z:
            if z.testzip() is not None:
                raise ValueError('bad crc')
            out[path] = sorted(f"{i.filename} {i.file_size} {'file' if stat.S_ISREG(i.external_attr >> 16) else 'mode' + oct(i.external_attr >> 16)[2:]}" for i in z.infolist())
    except Exception:
        out[path] = 'refused'
print(json.dumps(out))
`;

/** Python's `zipfile` view of several archives at once (one interpreter start). */
export function pythonListings(paths: string[]): Record<string, Listing> {
  return JSON.parse(execFileSync('python3', ['-c', PYTHON, ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Record<
    string,
    Listing
  >;
}

/**
 * A streaming reader's view (as Java's `ZipInputStream` and many Node readers walk a ZIP): local
 * headers one after the other from offset 0, each entry's length taken from its local header
 * (or, with bit 3, found by scanning for a data descriptor that matches the bytes before it).
 */
export function streamingListing(zip: Buffer): Listing {
  const out: string[] = [];
  let at = 0;
  while (at + 30 <= zip.length && zip.readUInt32LE(at) === 0x04034b50) {
    const flags = zip.readUInt16LE(at + 6);
    const nameLength = zip.readUInt16LE(at + 26);
    const dataStart = at + 30 + nameLength + zip.readUInt16LE(at + 28);
    const name = zip.subarray(at + 30, at + 30 + nameLength).toString();
    if (flags & 8) {
      let end = dataStart;
      for (; end + 16 <= zip.length; end++) {
        if (zip.readUInt32LE(end) === 0x08074b50 && zip.readUInt32LE(end + 8) === end - dataStart) break;
      }
      if (end + 16 > zip.length) return 'refused';
      out.push(`${name} ${zip.readUInt32LE(end + 12)} file`);
      at = end + 16;
    } else {
      const size = zip.readUInt32LE(at + 18);
      out.push(`${name} ${zip.readUInt32LE(at + 22)} file`);
      at = dataStart + size;
    }
  }
  return out.sort();
}

/** Writes `zip` under `dir` as `<name>.zip` and returns the path. */
export function saveZip(dir: string, name: string, zip: Buffer): string {
  const path = join(dir, `${name}.zip`);
  writeFileSync(path, zip);
  return path;
}
