import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { ArchiveError } from '../errors/errors.js';
import { crc32 } from './crc32.js';
import type { CentralEntry } from './zip-central-directory.js';

/**
 * Reads a ZIP's entries front to back in one sequential read, each entry's local header checked
 * against its central record before any of its bytes is used: a filestore of a million files is
 * one download, not a million ranged ones. The central directory must have been read and judged
 * first (`readCentralDirectory`): this reader only proves that the bytes say what it said.
 */

/** A central record the caller accepted, with its decoded name. */
export interface ZipMember extends CentralEntry {
  name: string;
}

const LOCAL_SIGNATURE = 0x04034b50;
const DESCRIPTOR_SIGNATURE = 0x08074b50;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const U32_MAX = 0xffff_ffff;
const ZIP64_EXTRA_ID = 0x0001;

/** An `E_IMPORT_UNSAFE` refusal: the archive can be read two ways, or would expand past what it declares. */
export function unsafeZip(key: string, message: string, member?: string): ArchiveError {
  return new ArchiveError(
    `${key}: ${message}; refused before anything was created from it`,
    { details: { key, ...(member !== undefined ? { member } : {}) } },
    'E_IMPORT_UNSAFE',
  );
}

/** Bytes of a stream read in order: exact reads for headers, bounded streams for data. */
class SequentialBytes {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  /** Offset in the archive of the next byte. */
  position = 0;

  constructor(
    body: AsyncIterable<Buffer>,
    private readonly key: string,
  ) {
    this.iterator = body[Symbol.asyncIterator]();
  }

  private async fill(): Promise<void> {
    const next = await this.iterator.next();
    if (next.done)
      throw new ArchiveError(`${this.key} ended early at offset ${this.position}`, { details: { key: this.key } }, 'E_IMPORT_FORMAT');
    this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
  }

  async readExact(length: number): Promise<Buffer> {
    while (this.pending.length < length) await this.fill();
    const out = this.pending.subarray(0, length);
    this.pending = this.pending.subarray(length);
    this.position += length;
    return out;
  }

  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      if (this.pending.length === 0) await this.fill();
      const piece = this.pending.subarray(0, Math.min(left, this.pending.length));
      this.pending = this.pending.subarray(piece.length);
      this.position += piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** The ZIP64 sizes of a local header's extra block: uncompressed, then compressed (both present, APPNOTE 4.5.3). */
function localZip64(extra: Buffer): { uncompressed: number; compressed: number } | null {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA_ID && length >= 16)
      return { uncompressed: Number(extra.readBigUInt64LE(at + 4)), compressed: Number(extra.readBigUInt64LE(at + 12)) };
    at += 4 + length;
  }
  return null;
}

/** The uncompressed bytes of one member, refused the moment they pass the declared size; size and CRC-32 checked at the end. */
async function* uncompressed(key: string, member: ZipMember, raw: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  let count = 0;
  let crc = 0;
  const check = (chunk: Buffer) => {
    count += chunk.length;
    if (count > member.uncompressedSize)
      throw unsafeZip(key, `${member.name} inflates past the ${member.uncompressedSize} bytes it declares (a zip bomb)`, member.name);
    crc = crc32(chunk, crc);
  };
  if (member.method === 0) {
    for await (const chunk of raw) {
      check(chunk);
      yield chunk;
    }
  } else {
    const inflate = createInflateRaw({ chunkSize: 1024 * 1024 });
    const input = Readable.from(raw, { objectMode: false });
    input.on('error', (error) => inflate.destroy(error));
    input.pipe(inflate);
    try {
      for await (const chunk of inflate as AsyncIterable<Buffer>) {
        check(chunk);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof ArchiveError) throw error;
      throw new ArchiveError(
        `${key}: ${member.name} is not readable deflate data (${(error as Error).message})`,
        {
          details: { key, member: member.name },
        },
        'E_IMPORT_FORMAT',
      );
    } finally {
      input.unpipe(inflate);
      input.destroy();
      inflate.destroy();
    }
  }
  if (count !== member.uncompressedSize)
    throw unsafeZip(key, `${member.name} holds ${count} bytes but declares ${member.uncompressedSize}`, member.name);
  if (crc !== member.crc32) throw unsafeZip(key, `${member.name} does not match the CRC-32 it declares`, member.name);
}

/**
 * Walks `members` (sorted by local header offset, back to back from 0 to `end`, where the central
 * directory starts) through `body`, the archive's bytes from offset 0. For each, the local header
 * must carry the central record's name bytes, flags, method, and (unless bit 3 defers them to a
 * data descriptor, which must then agree) CRC and sizes; `visit` then gets the member's
 * uncompressed bytes and must read them to the end. Refuses with `E_IMPORT_UNSAFE` bytes that
 * disagree with the directory, a gap or an overlap between members (a hidden or shared entry).
 */
export async function forEachZipMember(
  body: AsyncIterable<Buffer>,
  members: readonly ZipMember[],
  end: number,
  key: string,
  visit: (member: ZipMember, data: AsyncGenerator<Buffer>) => Promise<void>,
): Promise<void> {
  const bytes = new SequentialBytes(body, key);
  try {
    for (const member of members) {
      if (bytes.position !== member.localOffset)
        throw unsafeZip(
          key,
          member.localOffset < bytes.position
            ? `${member.name} overlaps the member before it`
            : `${member.localOffset - bytes.position} unlisted bytes lie before ${member.name}`,
          member.name,
        );
      const fixed = await bytes.readExact(30);
      const differs = (what: string) =>
        unsafeZip(key, `the local header of ${member.name} disagrees with its central record on ${what}`, member.name);
      if (fixed.readUInt32LE(0) !== LOCAL_SIGNATURE)
        throw unsafeZip(key, `${member.name} has no local header where its central record points`, member.name);
      const flags = fixed.readUInt16LE(6);
      if (flags !== member.flags) throw differs('the flags');
      if (fixed.readUInt16LE(8) !== member.method) throw differs('the compression method');
      const variable = await bytes.readExact(fixed.readUInt16LE(26) + fixed.readUInt16LE(28));
      const nameRaw = variable.subarray(0, fixed.readUInt16LE(26));
      if (!nameRaw.equals(member.nameRaw)) throw differs('the name');
      const zip64 = localZip64(variable.subarray(nameRaw.length));
      const crc = fixed.readUInt32LE(14);
      let compressed = fixed.readUInt32LE(18);
      let size = fixed.readUInt32LE(22);
      if (zip64 && (compressed === U32_MAX || size === U32_MAX)) ({ compressed, uncompressed: size } = zip64);
      const deferred = (flags & FLAG_DATA_DESCRIPTOR) !== 0;
      // Bit 3: zeros here (or the true values, as some writers put them); the descriptor has the truth.
      const agrees = crc === member.crc32 && compressed === member.compressedSize && size === member.uncompressedSize;
      if (!agrees && !(deferred && crc === 0 && compressed === 0 && size === 0)) throw differs('the CRC or sizes');
      const dataStart = bytes.position;
      await visit(member, uncompressed(key, member, bytes.take(member.compressedSize)));
      if (bytes.position !== dataStart + member.compressedSize)
        throw unsafeZip(key, `${member.name} has compressed bytes past the end of its deflate stream`, member.name);
      if (deferred) {
        const wide = zip64 !== null || member.compressedSize >= U32_MAX || member.uncompressedSize >= U32_MAX;
        let descriptor = await bytes.readExact(4);
        if (descriptor.readUInt32LE(0) === DESCRIPTOR_SIGNATURE) descriptor = await bytes.readExact(wide ? 20 : 12);
        else descriptor = Buffer.concat([descriptor, await bytes.readExact(wide ? 16 : 8)]);
        const d = {
          crc: descriptor.readUInt32LE(0),
          compressed: wide ? Number(descriptor.readBigUInt64LE(4)) : descriptor.readUInt32LE(4),
          size: wide ? Number(descriptor.readBigUInt64LE(12)) : descriptor.readUInt32LE(8),
        };
        if (d.crc !== member.crc32 || d.compressed !== member.compressedSize || d.size !== member.uncompressedSize)
          throw unsafeZip(key, `the data descriptor of ${member.name} disagrees with its central record`, member.name);
      }
    }
    if (bytes.position !== end) throw unsafeZip(key, `${end - bytes.position} unlisted bytes lie before the central directory`);
  } finally {
    await bytes.close();
  }
}
