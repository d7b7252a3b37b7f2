/**
 * The byte layout of the ZIP records a backup archive needs (PKWARE APPNOTE 6.3), for a writer
 * that streams entries of unknown size: local headers, data descriptors, central directory
 * records and the end of central directory, switching to ZIP64 fields exactly where a size, an
 * offset or a count passes its 16- or 32-bit limit. The layout follows Go's archive/zip writer,
 * which readers in every language have been reading for years.
 */

/** Compression methods used here. */
export const ZIP_STORED = 0;
export const ZIP_DEFLATED = 8;

const U16_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;
/** General purpose flags: bit 3 (sizes and CRC in a data descriptor) and bit 11 (UTF-8 names). */
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const VERSION_20 = 20;
const VERSION_45 = 45; // ZIP64
/** "Made by" Unix (3), so readers apply the file mode in the external attributes. */
const MADE_BY_UNIX = 3 << 8;
const EXTENDED_TIMESTAMP_ID = 0x5455;
const ZIP64_EXTRA_ID = 0x0001;

/** What the central directory must say about one entry. */
export interface ZipEntryRecord {
  /** UTF-8 name. */
  name: Buffer;
  method: typeof ZIP_STORED | typeof ZIP_DEFLATED;
  /** Sizes and CRC follow the data in a descriptor (entries streamed with unknown size). */
  streamed: boolean;
  mtime: Date;
  /** Unix mode, e.g. 0o100640. */
  mode: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the entry's local header in the archive. */
  offset: number;
  /** Write ZIP64 records for this entry whatever its sizes (tests of the layout on small data). */
  zip64?: boolean;
}

class Writer {
  readonly buf: Buffer;
  private at = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u16(v: number): this {
    this.at = this.buf.writeUInt16LE(v, this.at);
    return this;
  }
  u32(v: number): this {
    this.at = this.buf.writeUInt32LE(v >>> 0, this.at);
    return this;
  }
  u64(v: number): this {
    this.at = this.buf.writeBigUInt64LE(BigInt(v), this.at);
    return this;
  }
  bytes(b: Buffer): this {
    this.at += b.copy(this.buf, this.at);
    return this;
  }
}

/** MS-DOS time and date fields of `date`, in local time as zip tools expect (1980 at the earliest). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** The "UT" extra field: the exact modification time in UTC seconds (DOS times are local, 2 s steps). */
function extendedTimestamp(mtime: Date): Buffer {
  return new Writer(9)
    .u16(EXTENDED_TIMESTAMP_ID)
    .u16(5)
    .bytes(Buffer.from([1]))
    .u32(Math.floor(mtime.getTime() / 1000)).buf;
}

const flagsOf = (e: Pick<ZipEntryRecord, 'streamed'>) => FLAG_UTF8 | (e.streamed ? FLAG_DATA_DESCRIPTOR : 0);

/**
 * The local file header. A streamed entry has CRC and sizes 0 here (bit 3: they follow the data);
 * an entry known up front carries them (and must be under 4 GiB: it is held in memory).
 */
export function localFileHeader(e: Omit<ZipEntryRecord, 'offset'>): Buffer {
  const { time, date } = dosDateTime(e.mtime);
  const extra = extendedTimestamp(e.mtime);
  return new Writer(30 + e.name.length + extra.length)
    .u32(0x04034b50)
    .u16(VERSION_20)
    .u16(flagsOf(e))
    .u16(e.method)
    .u16(time)
    .u16(date)
    .u32(e.streamed ? 0 : e.crc32)
    .u32(e.streamed ? 0 : e.compressedSize)
    .u32(e.streamed ? 0 : e.uncompressedSize)
    .u16(e.name.length)
    .u16(extra.length)
    .bytes(e.name)
    .bytes(extra).buf;
}

const needsZip64Sizes = (e: Pick<ZipEntryRecord, 'compressedSize' | 'uncompressedSize' | 'zip64'>) =>
  e.zip64 === true || e.compressedSize >= U32_MAX || e.uncompressedSize >= U32_MAX;

/** The data descriptor after a streamed entry's data: 64-bit sizes once either passes 4 GiB. */
export function dataDescriptor(e: Pick<ZipEntryRecord, 'crc32' | 'compressedSize' | 'uncompressedSize' | 'zip64'>): Buffer {
  if (needsZip64Sizes(e)) return new Writer(24).u32(0x08074b50).u32(e.crc32).u64(e.compressedSize).u64(e.uncompressedSize).buf;
  return new Writer(16).u32(0x08074b50).u32(e.crc32).u32(e.compressedSize).u32(e.uncompressedSize).buf;
}

/** The entry's record in the central directory, with a ZIP64 extra field when a size or its offset needs one. */
export function centralDirectoryRecord(e: ZipEntryRecord): Buffer {
  const { time, date } = dosDateTime(e.mtime);
  const zip64 = needsZip64Sizes(e) || e.offset >= U32_MAX;
  const extras = [extendedTimestamp(e.mtime)];
  // With ZIP64 both sizes and the offset go in the extra field, in this order, and 0xFFFFFFFF in
  // their own fields (APPNOTE 4.5.3: the extra holds exactly the fields that are 0xFFFFFFFF).
  if (zip64) extras.push(new Writer(28).u16(ZIP64_EXTRA_ID).u16(24).u64(e.uncompressedSize).u64(e.compressedSize).u64(e.offset).buf);
  const extra = Buffer.concat(extras);
  const version = zip64 ? VERSION_45 : VERSION_20;
  return new Writer(46 + e.name.length + extra.length)
    .u32(0x02014b50)
    .u16(MADE_BY_UNIX | version)
    .u16(version)
    .u16(flagsOf(e))
    .u16(e.method)
    .u16(time)
    .u16(date)
    .u32(e.crc32)
    .u32(zip64 ? U32_MAX : e.compressedSize)
    .u32(zip64 ? U32_MAX : e.uncompressedSize)
    .u16(e.name.length)
    .u16(extra.length)
    .u16(0) // comment length
    .u16(0) // disk number
    .u16(0) // internal attributes
    .u32(e.mode * 0x1_0000) // Unix mode in the high 16 bits (not <<: it would overflow to negative)
    .u32(zip64 ? U32_MAX : e.offset)
    .bytes(e.name)
    .bytes(extra).buf;
}

/**
 * The end of the archive: the end of central directory record, preceded by the ZIP64 end record
 * and its locator when the entry count, the directory's size or its offset passes its limit.
 * @param records Entries in the central directory.
 * @param size Bytes of the central directory.
 * @param offset Where the central directory starts.
 * @param forceZip64 Write the ZIP64 records whatever the numbers (tests of the layout on small data).
 */
export function endOfCentralDirectory(records: number, size: number, offset: number, forceZip64 = false): Buffer {
  const parts: Buffer[] = [];
  if (forceZip64 || records >= U16_MAX || size >= U32_MAX || offset >= U32_MAX) {
    const zip64EndAt = offset + size;
    parts.push(
      new Writer(56)
        .u32(0x06064b50)
        .u64(56 - 12) // size of the rest of this record
        .u16(MADE_BY_UNIX | VERSION_45)
        .u16(VERSION_45)
        .u32(0) // this disk
        .u32(0) // disk where the directory starts
        .u64(records)
        .u64(records)
        .u64(size)
        .u64(offset).buf,
      new Writer(20).u32(0x07064b50).u32(0).u64(zip64EndAt).u32(1).buf,
    );
    records = U16_MAX;
    size = U32_MAX;
    offset = U32_MAX;
  }
  parts.push(new Writer(22).u32(0x06054b50).u16(0).u16(0).u16(records).u16(records).u32(size).u32(offset).u16(0).buf);
  return Buffer.concat(parts);
}
