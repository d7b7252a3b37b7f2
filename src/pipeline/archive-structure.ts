import type { Readable } from 'node:stream';
import type yauzl from 'yauzl';
import { ArchiveError } from '../errors/errors.js';

/**
 * The byte-level checks that make every ZIP reader see the same archive we verified. yauzl reads
 * the central directory; `unzip` and Python's `zipfile` read it too but trust its raw name and
 * its external attributes; streaming readers (Java's `ZipInputStream`, many Node ones) walk the
 * local headers and data descriptors instead. A hostile archive can make these views differ (a
 * Unicode-path extra field renaming `../../evil.sql`, a local header announcing a shorter entry
 * so a hidden one appears inside the dump's bytes, a symlink entry). So an archive passes only
 * when it has exactly the layout our writer produces:
 *
 * - each central record: a known, plain ASCII name (raw bytes, no Unicode-path extra field),
 *   only the extra fields we write (extended timestamp, ZIP64), only the flags we write, made by
 *   Unix with a regular-file mode, version needed at most 4.5, no internal attributes, no comment;
 * - each local header: the same name bytes, method, flags, CRC and sizes as its central record
 *   (zeros when bit 3 defers them to a data descriptor, which must then be there and agree);
 * - entries back to back from offset 0 up to the central directory, which runs exactly to the
 *   end records (no gap where a hidden entry could sit, no entry the directory does not count).
 *
 * Shared by everything that reads our archives (verification, restore).
 */

/** Flags a backup archive may carry: deflate options (bits 1-2), data descriptor (3), UTF-8 (11). */
const ALLOWED_FLAGS = 0x0006 | 0x0008 | 0x0800;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const EXTENDED_TIMESTAMP_ID = 0x5455;
const ZIP64_EXTRA_ID = 0x0001;
const ALLOWED_EXTRAS = new Set([EXTENDED_TIMESTAMP_ID, ZIP64_EXTRA_ID]);
const U32_MAX = 0xffff_ffff;
const U16_MAX = 0xffff;
const MADE_BY_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
/** The MS-DOS attribute bits of the low byte: directory (0x10) and volume label (0x08). */
const DOS_DIRECTORY_OR_LABEL = 0x18;
const LOCAL_SIGNATURE = 0x04034b50;
const VERSION_ZIP64 = 45;
const DESCRIPTOR_SIGNATURE = 0x08074b50;

/** Reads `length` bytes at `start` of the archive (rejects when fewer are there). */
export type ArchiveByteReader = (start: number, length: number) => Promise<Buffer>;

/** What {@link checkArchiveStructure} needs besides the central directory yauzl parsed. */
export interface ArchiveLayout {
  /** Bytes of the archive. */
  size: number;
  /** Where the central directory starts (yauzl's cursor before the first entry is read). */
  centralDirectoryOffset: number;
  /** Where it ends (yauzl's cursor once every entry is read). */
  centralDirectoryEnd: number;
  /** Names an entry may have. */
  allowedNames: ReadonlySet<string>;
  read: ArchiveByteReader;
}

function refuse(message: string, entry?: string): ArchiveError {
  return new ArchiveError(message, { details: entry === undefined ? {} : { entry } });
}

interface ExtraField {
  id: number;
  data: Buffer;
}

/** Splits an extra-field block, refusing one whose records do not exactly fill it. */
function parseExtras(raw: Buffer, where: string, entry: string): ExtraField[] {
  const out: ExtraField[] = [];
  let at = 0;
  while (at < raw.length) {
    if (at + 4 > raw.length) throw refuse(`${where} of ${entry} has a truncated extra field`, entry);
    const id = raw.readUInt16LE(at);
    const size = raw.readUInt16LE(at + 2);
    if (at + 4 + size > raw.length) throw refuse(`${where} of ${entry} has an extra field longer than its block`, entry);
    out.push({ id, data: raw.subarray(at + 4, at + 4 + size) });
    at += 4 + size;
  }
  const ids = out.map((e) => e.id);
  const odd = ids.find((id) => !ALLOWED_EXTRAS.has(id));
  if (odd !== undefined)
    throw refuse(
      `${where} of ${entry} carries extra field 0x${odd.toString(16).padStart(4, '0')}, which backup archives never hold`,
      entry,
    );
  if (new Set(ids).size !== ids.length) throw refuse(`${where} of ${entry} repeats an extra field`, entry);
  return out;
}

/** Reads the ZIP64 values that replace 0xFFFFFFFF fields, in APPNOTE order. */
function zip64Values(extras: ExtraField[], wanted: number, where: string, entry: string): bigint[] {
  if (wanted === 0) return [];
  const field = extras.find((e) => e.id === ZIP64_EXTRA_ID);
  if (!field || field.data.length < wanted * 8) throw refuse(`${where} of ${entry} lacks its ZIP64 sizes`, entry);
  return Array.from({ length: wanted }, (_, i) => field.data.readBigUInt64LE(i * 8));
}

/** The checks of one central directory record alone. */
function checkCentralRecord(entry: yauzl.Entry, allowedNames: ReadonlySet<string>): void {
  const raw = entry.fileNameRaw;
  const rawName = raw.toString('latin1');
  // The raw bytes are what unzip and Python show: they must be the known name itself, in ASCII,
  // whatever a Unicode-path extra field (refused below anyway) would make yauzl show.
  if (!allowedNames.has(rawName) || rawName !== entry.fileName || !/^[\x20-\x7e]+$/.test(rawName))
    throw refuse(
      `The archive holds an unexpected entry ${JSON.stringify(rawName)}${rawName !== entry.fileName ? ` (shown as ${JSON.stringify(entry.fileName)})` : ''}; a backup archive holds only ${[...allowedNames].join(', ')}`,
      rawName,
    );
  parseExtras(entry.extraFieldRaw, 'The central record', rawName);
  if ((entry.generalPurposeBitFlag & ~ALLOWED_FLAGS) !== 0)
    throw refuse(
      `${rawName} has general purpose flags 0x${entry.generalPurposeBitFlag.toString(16)}, which backup archives never set`,
      rawName,
    );
  if (entry.versionMadeBy >> 8 !== MADE_BY_UNIX)
    throw refuse(`${rawName} was not made by a Unix writer (made-by host ${entry.versionMadeBy >> 8})`, rawName);
  const mode = entry.externalFileAttributes >>> 16;
  if ((mode & S_IFMT) !== S_IFREG || (entry.externalFileAttributes & DOS_DIRECTORY_OR_LABEL) !== 0)
    throw refuse(
      `${rawName} is not a regular file (mode 0${mode.toString(8)}): a backup archive holds no links, folders or devices`,
      rawName,
    );
  // A reader refuses an entry "needing" a newer version than it knows; ZIP64 (4.5) is the most we write.
  if (entry.versionNeededToExtract > VERSION_ZIP64)
    throw refuse(
      `${rawName} asks for ZIP version ${entry.versionNeededToExtract / 10} to extract; backup archives need at most 4.5`,
      rawName,
    );
  // Bit 0 would mark a text file, which unzip may convert; the other bits are undefined.
  if (entry.internalFileAttributes !== 0) throw refuse(`${rawName} has internal attributes, which backup archives never set`, rawName);
  if (entry.fileCommentLength !== 0) throw refuse(`${rawName} carries a comment, which backup archives never hold`, rawName);
}

/** The local header of `entry` agrees with its central record; returns where the entry's bytes end. */
async function checkLocalHeader(entry: yauzl.Entry, read: ArchiveByteReader, size: number): Promise<number> {
  const name = entry.fileName;
  const start = entry.relativeOffsetOfLocalHeader;
  if (start + 30 > size) throw refuse(`The local header of ${name} lies past the end of the archive`, name);
  const fixed = await read(start, 30);
  if (fixed.readUInt32LE(0) !== LOCAL_SIGNATURE) throw refuse(`${name} has no local header where its central record points`, name);
  const flags = fixed.readUInt16LE(6);
  const method = fixed.readUInt16LE(8);
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const differs = (what: string) => refuse(`The local header of ${name} disagrees with its central record on ${what}`, name);
  if (flags !== entry.generalPurposeBitFlag) throw differs('the flags');
  if (fixed.readUInt16LE(4) > VERSION_ZIP64) throw differs('the version needed to extract');
  if (method !== entry.compressionMethod) throw differs('the compression method');
  if (start + 30 + nameLength + extraLength > size) throw refuse(`The local header of ${name} runs past the end of the archive`, name);
  const variable = await read(start + 30, nameLength + extraLength);
  if (!variable.subarray(0, nameLength).equals(entry.fileNameRaw)) throw differs('the name');
  const extras = parseExtras(variable.subarray(nameLength), 'The local header', name);
  const dataStart = start + 30 + nameLength + extraLength;
  const dataEnd = dataStart + entry.compressedSize;

  let crc = fixed.readUInt32LE(14);
  let compressed: number | bigint = fixed.readUInt32LE(18);
  let uncompressed: number | bigint = fixed.readUInt32LE(22);
  if (flags & FLAG_DATA_DESCRIPTOR) {
    // Bit 3: the local fields are zero and the truth follows the data, where a streaming reader looks.
    if (crc !== 0 || compressed !== 0 || uncompressed !== 0) throw differs('the CRC and sizes (bit 3 wants zeros)');
    const wide = entry.compressedSize >= U32_MAX || entry.uncompressedSize >= U32_MAX;
    const length = wide ? 24 : 16;
    if (dataEnd + length > size) throw refuse(`The data descriptor of ${name} lies past the end of the archive`, name);
    const descriptor = await read(dataEnd, length);
    if (descriptor.readUInt32LE(0) !== DESCRIPTOR_SIGNATURE) throw refuse(`${name} has no data descriptor after its data`, name);
    crc = descriptor.readUInt32LE(4);
    compressed = wide ? descriptor.readBigUInt64LE(8) : descriptor.readUInt32LE(8);
    uncompressed = wide ? descriptor.readBigUInt64LE(16) : descriptor.readUInt32LE(12);
    if (
      crc !== entry.crc32 ||
      BigInt(compressed) !== BigInt(entry.compressedSize) ||
      BigInt(uncompressed) !== BigInt(entry.uncompressedSize)
    )
      throw refuse(`The data descriptor of ${name} disagrees with its central record on the CRC or sizes`, name);
    return dataEnd + length;
  }
  const wanted = Number(uncompressed === U32_MAX) + Number(compressed === U32_MAX);
  const values = zip64Values(extras, wanted, 'The local header', name);
  let next = 0;
  if (uncompressed === U32_MAX) uncompressed = values[next++]!;
  if (compressed === U32_MAX) compressed = values[next++]!;
  if (crc !== entry.crc32) throw differs('the CRC');
  if (BigInt(compressed) !== BigInt(entry.compressedSize) || BigInt(uncompressed) !== BigInt(entry.uncompressedSize))
    throw differs('the sizes');
  return dataEnd;
}

/** The end records must follow the central directory exactly and count what it holds. */
async function checkEndRecords(entries: readonly yauzl.Entry[], layout: ArchiveLayout): Promise<void> {
  const { centralDirectoryOffset: cdStart, centralDirectoryEnd: cdEnd, size, read } = layout;
  const tail = size - cdEnd;
  const cdSize = cdEnd - cdStart;
  const bad = (what: string) => refuse(`The end of the archive ${what}: a reader could see other entries than the ones verified`);
  if (tail !== 22 && tail !== 22 + 76) throw bad(`has ${tail} bytes after the central directory (a comment or unlisted records)`);
  const eocd = await read(size - 22, 22);
  if (eocd.readUInt32LE(0) !== 0x06054b50) throw bad('is not an end of central directory record');
  const count16 = eocd.readUInt16LE(10);
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0 || eocd.readUInt16LE(8) !== count16) throw bad('names several disks');
  if (tail === 22) {
    if (count16 !== entries.length || eocd.readUInt32LE(12) !== cdSize || eocd.readUInt32LE(16) !== cdStart)
      throw bad('disagrees with the central directory');
    return;
  }
  const zip64 = await read(cdEnd, 76);
  const ok =
    zip64.readUInt32LE(0) === 0x06064b50 &&
    zip64.readBigUInt64LE(24) === BigInt(entries.length) &&
    zip64.readBigUInt64LE(32) === BigInt(entries.length) &&
    zip64.readBigUInt64LE(40) === BigInt(cdSize) &&
    zip64.readBigUInt64LE(48) === BigInt(cdStart) &&
    zip64.readUInt32LE(56) === 0x07064b50 &&
    zip64.readBigUInt64LE(64) === BigInt(cdEnd) &&
    (count16 === U16_MAX || count16 === entries.length);
  if (!ok) throw bad('has ZIP64 records that disagree with the central directory');
}

/**
 * Throws an `ArchiveError` unless the archive is laid out exactly as our writer lays it out (see
 * the module): what yauzl verified is then what `unzip`, Python's `zipfile` and streaming readers see.
 */
export async function checkArchiveStructure(entries: readonly yauzl.Entry[], layout: ArchiveLayout): Promise<void> {
  for (const entry of entries) checkCentralRecord(entry, layout.allowedNames);
  const spans: { name: string; start: number; end: number }[] = [];
  for (const entry of entries) {
    const end = await checkLocalHeader(entry, layout.read, layout.size);
    spans.push({ name: entry.fileName, start: entry.relativeOffsetOfLocalHeader, end });
  }
  spans.sort((a, b) => a.start - b.start);
  let expected = 0;
  for (const span of spans) {
    // Back to back from offset 0: no shared bytes (the overlapping-entry bomb) and no gap (a hidden entry).
    if (span.start !== expected)
      throw refuse(
        span.start < expected
          ? `Entry ${span.name} overlaps another entry`
          : `The archive has ${span.start - expected} unlisted bytes before ${span.name}`,
        span.name,
      );
    expected = span.end;
  }
  if (expected !== layout.centralDirectoryOffset)
    throw refuse(
      expected > layout.centralDirectoryOffset
        ? 'An entry overlaps the central directory'
        : `The archive has ${layout.centralDirectoryOffset - expected} unlisted bytes before its central directory`,
    );
  await checkEndRecords(entries, layout);
}

/** An {@link ArchiveByteReader} over a yauzl reader (the one a `ZipFile` was opened with). */
export function byteReaderOf(reader: yauzl.RandomAccessReader): ArchiveByteReader {
  return async (start, length) => {
    if (length === 0) return Buffer.alloc(0);
    const stream: Readable = reader.createReadStream({ start, end: start + length });
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== length) throw refuse(`The archive ended ${length - bytes.length} bytes early at offset ${start}`);
    return bytes;
  };
}
