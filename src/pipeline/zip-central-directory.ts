import { buffer } from 'node:stream/consumers';
import { ArchiveError } from '../errors/errors.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { downloadRange } from './storage-range-reader.js';

/**
 * Reads the central directory of a ZIP in storage in one ranged read (yauzl reads it one record
 * per request: two million requests for an Odoo filestore of a million files). It parses the
 * records and nothing else: what they may say is the caller's business.
 */

/** One central directory record, as stored. */
export interface CentralEntry {
  /** The name's bytes as stored. */
  nameRaw: Buffer;
  flags: number;
  method: number;
  /** MS-DOS time and date fields. */
  dosTime: number;
  dosDate: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's local header is. */
  localOffset: number;
  versionMadeBy: number;
  externalAttributes: number;
  /** Extra field ids the record carries. */
  extraIds: number[];
}

/** The central directory of an archive. */
export interface CentralDirectory {
  entries: CentralEntry[];
  /** Where the directory starts: the entries' bytes lie before it. */
  offset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const U32_MAX = 0xffff_ffff;
const ZIP64_EXTRA_ID = 0x0001;
/** End record (22) + the longest comment (65535). */
const MAX_TAIL = 22 + 0xffff;

function unreadable(key: string, why: string): ArchiveError {
  return new ArchiveError(`${key} is not a readable ZIP (${why})`, { details: { key, reason: why } }, 'E_IMPORT_FORMAT');
}

function u64(buf: Buffer, at: number, key: string): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable(key, 'a ZIP64 value beyond 2^53');
  return Number(value);
}

/** Reads and parses the central directory of the `size`-byte object `key`. */
export async function readCentralDirectory(
  provider: StorageProvider,
  key: string,
  size: number,
  signal?: AbortSignal,
): Promise<CentralDirectory> {
  const read = async (start: number, length: number) => {
    const bytes = await buffer(downloadRange(provider, key, start, start + length, signal));
    if (bytes.length !== length) throw unreadable(key, `it ended ${length - bytes.length} bytes early at offset ${start}`);
    return bytes;
  };
  if (size < 22) throw unreadable(key, 'too short for an end of central directory record');
  const tailStart = Math.max(0, size - MAX_TAIL);
  const tail = await read(tailStart, size - tailStart);
  // The last end record whose comment runs exactly to the end of the file.
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw unreadable(key, 'no end of central directory record');
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) throw unreadable(key, 'a multi-disk archive');
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  const eocdAt = tailStart + at;
  // A ZIP64 locator right before the end record overrides its (possibly saturated) fields.
  if (eocdAt >= 20) {
    const locator = await read(eocdAt - 20, 20);
    if (locator.readUInt32LE(0) === ZIP64_LOCATOR_SIGNATURE) {
      const zip64At = u64(locator, 8, key);
      if (zip64At + 56 > eocdAt) throw unreadable(key, 'a ZIP64 end record past the end record');
      const zip64 = await read(zip64At, 56);
      if (zip64.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw unreadable(key, 'no ZIP64 end record where its locator points');
      count = u64(zip64, 32, key);
      cdSize = u64(zip64, 40, key);
      cdOffset = u64(zip64, 48, key);
    }
  }
  if (cdOffset + cdSize > eocdAt) throw unreadable(key, 'a central directory past its end record');
  const cd = await read(cdOffset, cdSize);
  const entries: CentralEntry[] = [];
  let pos = 0;
  while (pos < cd.length) {
    if (pos + 46 > cd.length || cd.readUInt32LE(pos) !== CENTRAL_SIGNATURE) throw unreadable(key, 'a damaged central directory');
    const nameLength = cd.readUInt16LE(pos + 28);
    const extraLength = cd.readUInt16LE(pos + 30);
    const commentLength = cd.readUInt16LE(pos + 32);
    const end = pos + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw unreadable(key, 'a central record past the directory');
    const extra = cd.subarray(pos + 46 + nameLength, pos + 46 + nameLength + extraLength);
    let uncompressedSize = cd.readUInt32LE(pos + 24);
    let compressedSize = cd.readUInt32LE(pos + 20);
    let localOffset = cd.readUInt32LE(pos + 42);
    const extraIds: number[] = [];
    let zip64: Buffer | null = null;
    for (let e = 0; e + 4 <= extra.length;) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (e + 4 + length > extra.length) throw unreadable(key, 'an extra field longer than its block');
      extraIds.push(id);
      if (id === ZIP64_EXTRA_ID) zip64 = extra.subarray(e + 4, e + 4 + length);
      e += 4 + length;
    }
    // APPNOTE 4.5.3: the ZIP64 field holds, in this order, exactly the values that are 0xFFFFFFFF.
    let z = 0;
    const next = () => {
      if (!zip64 || z + 8 > zip64.length) throw unreadable(key, 'a record without its ZIP64 sizes');
      const value = u64(zip64, z, key);
      z += 8;
      return value;
    };
    if (uncompressedSize === U32_MAX) uncompressedSize = next();
    if (compressedSize === U32_MAX) compressedSize = next();
    if (localOffset === U32_MAX) localOffset = next();
    entries.push({
      nameRaw: Buffer.from(cd.subarray(pos + 46, pos + 46 + nameLength)),
      flags: cd.readUInt16LE(pos + 8),
      method: cd.readUInt16LE(pos + 10),
      dosTime: cd.readUInt16LE(pos + 12),
      dosDate: cd.readUInt16LE(pos + 14),
      crc32: cd.readUInt32LE(pos + 16),
      compressedSize,
      uncompressedSize,
      localOffset,
      versionMadeBy: cd.readUInt16LE(pos + 4),
      externalAttributes: cd.readUInt32LE(pos + 38),
      extraIds,
    });
    pos = end;
  }
  if (entries.length !== count) throw unreadable(key, `${entries.length} central records where the end record counts ${count}`);
  return { entries, offset: cdOffset };
}
