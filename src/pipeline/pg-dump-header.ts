/**
 * What the header of a `pg_dump -Fc` archive says about where it came from. The header is the
 * first bytes of the dump, so the pipeline reads it in flight without touching the rest.
 */
export interface PgDumpHeader {
  /** Archive format version, e.g. `1.14`. */
  archive_version: string;
  /** Name of the dumped database. */
  database: string;
  /** Version of the PostgreSQL server dumped, e.g. `15.8 (Debian 15.8-0+deb12u1)`. */
  server_version: string;
  /** Version of the pg_dump that wrote it. */
  pg_dump_version: string;
}

/**
 * Parses the header of a custom-format dump (pg_backup_archiver.c, WriteHead): `PGDMP`, format
 * version, int and offset sizes, format, compression, creation time, then the database name,
 * the server version and pg_dump's version as length-prefixed strings. Returns null when `head`
 * is too short or not a custom-format dump.
 */
export function parsePgDumpHeader(head: Buffer): PgDumpHeader | null {
  if (head.length < 11 || head.toString('latin1', 0, 5) !== 'PGDMP') return null;
  const [vmaj, vmin] = [head[5]!, head[6]!];
  const intSize = head[8]!;
  if (intSize < 1 || intSize > 8 || head[10] !== 1 /* archCustom */) return null;
  let pos = 11;
  const readInt = (): number | null => {
    if (pos + 1 + intSize > head.length) return null;
    const sign = head[pos]!;
    let value = 0;
    for (let i = 0; i < intSize; i++) value += head[pos + 1 + i]! * 2 ** (8 * i);
    pos += 1 + intSize;
    return sign ? -value : value;
  };
  const readStr = (): string | null => {
    const len = readInt();
    if (len === null) return null;
    if (len < 0) return '';
    if (pos + len > head.length) return null;
    const s = head.toString('utf8', pos, pos + len);
    pos += len;
    return s;
  };
  // Format 1.15 (pg_dump 16+) stores the compression algorithm as one byte, older ones an int.
  if (vmaj > 1 || (vmaj === 1 && vmin >= 15)) pos += 1;
  else if (readInt() === null) return null;
  for (let i = 0; i < 7; i++) if (readInt() === null) return null; // creation time fields
  const database = readStr();
  const server = readStr();
  const tool = readStr();
  if (database === null || server === null || tool === null) return null;
  return { archive_version: `${vmaj}.${vmin}`, database, server_version: server, pg_dump_version: tool };
}
