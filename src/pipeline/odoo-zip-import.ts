import { buffer } from 'node:stream/consumers';
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { Readable, type Writable } from 'node:stream';
import { pack as tarPack } from 'tar-stream';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { AbortedError, ArchiveError, ConflictError, StorageError } from '../errors/errors.js';
import { RestoreError } from '../errors/restore-error.js';
import type { RestoreProgress } from '../domain/restore-progress.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { checkRestoreDatabaseName } from '../sources/restore-names.js';
import { onceAny } from '../streams/once-any.js';
import { crc32 } from './crc32.js';
import { checkPlainSqlRole, runStagedSql, stagePlainSql, type StagedSql } from './plain-sql-restore.js';
import { COMPRESSION_RATIO_ALLOWANCE, DEFAULT_RESTORE_LIMITS, type RestoreLimits } from './restore-limits.js';
import { forEachZipMember, unsafeZip, type ZipMember } from './sequential-zip-reader.js';
import { downloadRange } from './storage-range-reader.js';
import { readCentralDirectory, type CentralEntry } from './zip-central-directory.js';

/** Options of {@link restoreOdooZip}. */
export interface RestoreOdooZipOptions {
  storage: StorageProvider;
  /** The object: a backup ZIP of Odoo's database manager or Odoo.sh. */
  key: string;
  target: RestoreTarget;
  /** The database to create and fill from `dump.sql` (must not exist). */
  database: string;
  /** The folder to create and fill from `filestore/**` (must not exist); null skips the filestore. */
  filestoreFolder: string | null;
  /** Run the plain SQL with a superuser or `pg_execute_server_program` role (default false). */
  allowPrivilegedRole?: boolean;
  /** Import a dump of a newer PostgreSQL major than the target's server (default false). */
  force?: boolean;
  limits?: Partial<RestoreLimits>;
  /** Where `dump.sql` is staged on this host once it passed the guard (default: the OS temp folder). */
  stagingDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: RestoreProgress) => void;
}

/** What {@link restoreOdooZip} restored. */
export interface RestoreOdooZipResult {
  /** Odoo's `manifest.json` as far as it was readable: `version` (e.g. `17.0`) and `pg_version` (`15.0`). */
  odoo_version: string | null;
  pg_version: string | null;
  /** The `-- Dumped by pg_dump version` line of `dump.sql`. */
  pg_dump_version: string | null;
  database_bytes: number;
  filestore_bytes: number;
  filestore_entries: number;
  /** Members neither `dump.sql`, `manifest.json` nor under `filestore/`, which were left out. */
  skipped: string[];
}

const DUMP = 'dump.sql';
const MANIFEST = 'manifest.json';
const FILESTORE_PREFIX = 'filestore/';
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const MADE_BY_UNIX = 3;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_MASKED_HEADER = 0x2000;
const FLAG_UTF8 = 0x0800;
/** Deflate cannot expand more than about 1032:1; a member declaring more is lying. */
const MAX_DEFLATE_RATIO = 1040;

/** The member's name, decoded and judged: relative, no `.` or `..` segment, no control character or backslash. */
function memberName(key: string, entry: CentralEntry): string {
  const raw = entry.nameRaw;
  let name: string;
  if ((entry.flags & FLAG_UTF8) !== 0) {
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw unsafeZip(key, `a member name is not valid UTF-8 (${raw.toString('hex').slice(0, 80)})`);
    }
  } else {
    if (raw.some((b) => b > 0x7e))
      throw unsafeZip(key, `a member name is neither ASCII nor flagged UTF-8 (${raw.toString('hex').slice(0, 80)})`);
    name = raw.toString('latin1');
  }
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
  // eslint-disable-next-line no-control-regex
  if (name === '' || /[\x00-\x1f\x7f\\]/.test(name))
    throw unsafeZip(key, `member ${shown} has an empty name, a control character or a backslash`, name);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafeZip(key, `member ${shown} has an absolute name`, name);
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw unsafeZip(key, `member ${shown} has an empty, . or .. segment`, name);
  return name;
}

/** What kind of member it is, by its mode bits (only a Unix writer records them). */
function memberKind(entry: CentralEntry, name: string): 'file' | 'directory' | 'other' {
  const mode = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalAttributes >>> 16 : 0;
  const type = mode & S_IFMT;
  const dosDirectory = (entry.externalAttributes & 0x10) !== 0;
  if (name.endsWith('/')) return type === 0 || type === S_IFDIR ? 'directory' : 'other';
  if (type === 0) return dosDirectory ? 'other' : 'file';
  return type === S_IFREG && !dosDirectory ? 'file' : 'other';
}

/** The central directory judged as a whole before a byte of any member is read (see docs/security.md, "Imports"). */
export function checkOdooZipMembers(
  key: string,
  entries: readonly CentralEntry[],
  archiveSize: number,
  limits: RestoreLimits,
): { members: ZipMember[]; skipped: string[] } {
  if (entries.length > limits.maxEntries)
    throw unsafeZip(key, `it has ${entries.length} members, more than the ${limits.maxEntries} allowed`);
  const seen = new Set<string>();
  const offsets = new Set<number>();
  const members: ZipMember[] = [];
  const skipped: string[] = [];
  let total = 0;
  for (const entry of entries) {
    const name = memberName(key, entry);
    if (seen.has(name)) throw unsafeZip(key, `it holds ${JSON.stringify(name)} twice`, name);
    seen.add(name);
    if (offsets.has(entry.localOffset)) throw unsafeZip(key, `${JSON.stringify(name)} shares its bytes with another member`, name);
    offsets.add(entry.localOffset);
    if (entry.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADER))
      throw unsafeZip(key, `${JSON.stringify(name)} is encrypted`, name);
    if (entry.method !== 0 && entry.method !== 8)
      throw new ArchiveError(
        `${key}: ${name} uses compression method ${entry.method}; Odoo writes deflate`,
        { details: { key, member: name } },
        'E_IMPORT_FORMAT',
      );
    const kind = memberKind(entry, name);
    if (kind === 'other')
      throw unsafeZip(key, `${JSON.stringify(name)} is not a regular file (a link, device or other special member)`, name);
    if (kind === 'directory' && entry.uncompressedSize !== 0) throw unsafeZip(key, `folder ${JSON.stringify(name)} holds data`, name);
    if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize)
      throw unsafeZip(
        key,
        `${JSON.stringify(name)} is stored but declares ${entry.uncompressedSize} bytes for ${entry.compressedSize}`,
        name,
      );
    if (entry.uncompressedSize > Math.max(1024, entry.compressedSize * MAX_DEFLATE_RATIO))
      throw unsafeZip(
        key,
        `${JSON.stringify(name)} declares ${entry.uncompressedSize} bytes from ${entry.compressedSize}, more than deflate can expand (a zip bomb)`,
        name,
      );
    const filestore = name.startsWith(FILESTORE_PREFIX) && name.length > FILESTORE_PREFIX.length;
    if (filestore && entry.uncompressedSize > limits.maxEntryBytes)
      throw unsafeZip(
        key,
        `${JSON.stringify(name)} is ${entry.uncompressedSize} bytes, above the ${limits.maxEntryBytes} allowed per file`,
        name,
      );
    total += entry.uncompressedSize;
    if (total > limits.maxTotalBytes) throw unsafeZip(key, `its members hold more than ${limits.maxTotalBytes} bytes`);
    if (kind === 'file' && !(name === DUMP || name === MANIFEST || filestore)) skipped.push(name);
    members.push({ ...entry, name });
  }
  if (total > Math.max(COMPRESSION_RATIO_ALLOWANCE, archiveSize * limits.maxCompressionRatio))
    throw unsafeZip(
      key,
      `its members expand to ${total} bytes, past ${limits.maxCompressionRatio} times its ${archiveSize} bytes (a zip bomb)`,
    );
  if (!seen.has(DUMP)) throw new ArchiveError(`${key} has no dump.sql`, { details: { key } }, 'E_IMPORT_FORMAT');
  members.sort((a, b) => a.localOffset - b.localOffset);
  return { members, skipped };
}

/** The first major version number in `text` (`15.0` -> 15, `PostgreSQL 16.4` -> 16). */
function majorOf(text: string | null): number | null {
  const m = /(\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : null;
}

/** `version` and `pg_version` of Odoo's manifest.json; an unreadable manifest says nothing (Odoo's restore ignores it too). */
function parseOdooManifest(bytes: Buffer): { odoo_version: string | null; pg_version: string | null } {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' && v.length <= 64 ? v : null);
    return { odoo_version: text(m.version) ?? text(m.major_version), pg_version: text(m.pg_version) };
  } catch {
    return { odoo_version: null, pg_version: null };
  }
}

/** The `-- Dumped by pg_dump version X` and `-- Dumped from database version Y` lines at the head of a staged dump. */
async function dumpHeader(file: string): Promise<{ pg_dump: string | null; server: string | null }> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('utf8');
    return {
      pg_dump: /^-- Dumped by pg_dump version (\S+)/m.exec(text)?.[1] ?? null,
      server: /^-- Dumped from database version (\S+)/m.exec(text)?.[1] ?? null,
    };
  } finally {
    await handle.close();
  }
}

/** Writes with backpressure; a sink destroyed meanwhile (the other side failed) ends the wait too. */
async function write(sink: Writable, chunk: Buffer): Promise<void> {
  if (!sink.write(chunk)) await onceAny(sink, ['drain', 'close']);
}

/**
 * Restores a backup ZIP of Odoo's database manager (or Odoo.sh) into a new database and folder
 * on `target`, treating it as untrusted input (docs/security.md, "Imports"):
 *
 * 1. The target's role is checked (a privileged role is refused unless `allowPrivilegedRole`).
 * 2. The central directory is read in one ranged read and judged whole: relative names without
 *    `.`/`..`, regular files only, no duplicate names or shared bytes, no encryption, sizes
 *    within `limits` and within what deflate can produce. `manifest.json` is read by range: a
 *    dump of a newer PostgreSQL major than the target's server is `E_RESTORE_INCOMPATIBLE`
 *    unless `force`.
 * 3. The members are read in ONE sequential pass, each local header checked against its central
 *    record: `dump.sql` through the plain-SQL guard into a staging file (the header's
 *    `Dumped from database version` checked as the manifest's was), `filestore/<path>`
 *    re-packed on the fly as a tar for `target.extractFilestore` (the folder is created at the
 *    first one), anything else skipped (listed in `skipped`).
 * 4. Only then is the database created and the staged script run by psql.
 *
 * On any failure what it created (folder, database, staging file) is removed; it rejects with
 * `E_IMPORT_UNSAFE`, `E_IMPORT_FORMAT`, `E_RESTORE_PRIVILEGES`, `E_RESTORE_INCOMPATIBLE`, the
 * target's `SourceError`, `ConflictError` or `AbortedError`.
 */
export async function restoreOdooZip(options: RestoreOdooZipOptions): Promise<RestoreOdooZipResult> {
  const { storage, key, target, database, filestoreFolder, signal } = options;
  checkRestoreDatabaseName(database);
  const limits: RestoreLimits = { ...DEFAULT_RESTORE_LIMITS, ...options.limits };
  const report = (phase: RestoreProgress['phase'], done: number, total: number) => {
    try {
      options.onProgress?.({ phase, bytes_done: done, bytes_total: total });
    } catch {
      /* a progress callback never fails a restore */
    }
  };
  const facts = await checkPlainSqlRole(target, options.allowPrivilegedRole ?? false, signal);
  const targetMajor = Math.floor(facts.serverVersionNum / 10000);
  const checkPg = (version: string | null, where: string) => {
    const major = majorOf(version);
    if (major !== null && major > targetMajor && !options.force)
      throw new RestoreError(
        'E_RESTORE_INCOMPATIBLE',
        `The dump comes from PostgreSQL ${version} (${where}); the target's server is ${facts.serverVersionNum}, an older major that may not run its SQL. Pass force: true to try anyway`,
        { details: { dump_pg_version: version, target_server_version_num: facts.serverVersionNum, source: where } },
      );
  };

  const head = await storage.head(key);
  if (!head.exists) throw new StorageError('E_STORAGE_NOT_FOUND', `${key} does not exist`, { details: { key, missing: 'object' } });
  report('verify', 0, 0);
  const directory = await readCentralDirectory(storage, key, head.size, signal);
  const { members, skipped } = checkOdooZipMembers(key, directory.entries, head.size, limits);
  const manifestEntry = members.find((m) => m.name === MANIFEST);
  let manifest = { odoo_version: null as string | null, pg_version: null as string | null };
  if (manifestEntry && manifestEntry.uncompressedSize <= MAX_MANIFEST_BYTES) {
    manifest = parseOdooManifest(await readOneMember(storage, key, manifestEntry, signal));
    checkPg(manifest.pg_version, 'manifest.json pg_version');
  }
  if (await target.databaseExists(database, { signal }))
    throw new ConflictError(`Database ${JSON.stringify(database)} already exists; a restore fills a new one`, { details: { database } });
  if (filestoreFolder !== null && (await target.pathExists(filestoreFolder, { signal })))
    throw new ConflictError(`Folder ${filestoreFolder} already exists; a restore fills a new one`, {
      details: { folder: filestoreFolder },
    });

  const dumpMember = members.find((m) => m.name === DUMP)!;
  const filestoreBytes = members.filter((m) => m.name.startsWith(FILESTORE_PREFIX)).reduce((sum, m) => sum + m.uncompressedSize, 0);
  let staged: StagedSql | null = null;
  let header = { pg_dump: null as string | null, server: null as string | null };
  let extraction: { pack: ReturnType<typeof tarPack>; done: Promise<void>; error: unknown } | null = null;
  let folderCreated = false;
  let filestoreDone = 0;
  let filestoreEntries = 0;
  const startExtraction = () => {
    const pack = tarPack();
    const tar = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
    folderCreated = true;
    const state: { pack: typeof pack; done: Promise<void>; error: unknown } = { pack, done: Promise.resolve(), error: null };
    state.done = target.extractFilestore(filestoreFolder!, tar, { signal }).catch((error: unknown) => {
      state.error = error;
      pack.destroy(error as Error);
    });
    return state;
  };

  const body = downloadRange(storage, key, 0, directory.offset, signal);
  try {
    await forEachZipMember(body, members, directory.offset, key, async (member, data) => {
      if (member.name === DUMP) {
        staged = await stagePlainSql(data, { name: DUMP, stagingDir: options.stagingDir, signal });
        header = await dumpHeader(staged.file);
        checkPg(header.server, 'dump.sql header');
        return;
      }
      const rest = member.name.slice(FILESTORE_PREFIX.length);
      if (filestoreFolder === null || !member.name.startsWith(FILESTORE_PREFIX) || rest === '' || member.name.endsWith('/')) {
        for await (const _ of data) void _; // skipped, a folder entry, or the manifest read before
        return;
      }
      extraction ??= startExtraction();
      const sink = extraction.pack.entry({
        name: rest,
        type: 'file',
        size: member.uncompressedSize,
        mode: 0o644,
        mtime: dosDate(member.dosDate, member.dosTime),
      }) as unknown as Writable;
      sink.on('error', () => undefined);
      for await (const chunk of data) {
        await write(sink, chunk);
        if (extraction.error) throw extraction.error;
        filestoreDone += chunk.length;
      }
      sink.end();
      filestoreEntries++;
      report('filestore', filestoreDone, filestoreBytes);
    });
    if (extraction) {
      const running = extraction as { pack: ReturnType<typeof tarPack>; done: Promise<void>; error: unknown };
      running.pack.finalize();
      await running.done;
      if (running.error) throw running.error;
    }
    if (!staged) throw new ArchiveError(`${key} has no dump.sql`, { details: { key } }, 'E_IMPORT_FORMAT');
    const script = staged as StagedSql;
    report('database', 0, dumpMember.uncompressedSize);
    await runStagedSql(target, database, script, signal);
    report('database', dumpMember.uncompressedSize, dumpMember.uncompressedSize);
    return {
      odoo_version: manifest.odoo_version,
      pg_version: manifest.pg_version,
      pg_dump_version: header.pg_dump,
      database_bytes: dumpMember.uncompressedSize,
      filestore_bytes: filestoreDone,
      filestore_entries: filestoreEntries,
      skipped,
    };
  } catch (error) {
    body.destroy();
    const running = extraction as { pack: ReturnType<typeof tarPack>; done: Promise<void> } | null;
    if (running) {
      running.pack.destroy(error as Error);
      await running.done;
    }
    if (folderCreated && filestoreFolder !== null) await target.removePath(filestoreFolder).catch(() => undefined);
    if (signal?.aborted) throw new AbortedError('Import', signal.reason);
    throw error instanceof BackupSdkError
      ? error
      : new ArchiveError(
          `${key} could not be imported: ${(error as Error).message}`,
          { details: { key }, cause: error },
          'E_IMPORT_FORMAT',
        );
  } finally {
    await (staged as StagedSql | null)?.dispose();
  }
}

/**
 * One small member read by range (the manifest, before the sequential pass): its local header's
 * name and method must be the central record's, its bytes inflate to the declared size and CRC.
 * The pass checks the same member again in full.
 */
async function readOneMember(storage: StorageProvider, key: string, member: ZipMember, signal?: AbortSignal): Promise<Buffer> {
  const local = await buffer(downloadRange(storage, key, member.localOffset, member.localOffset + 30, signal));
  if (local.length !== 30 || local.readUInt32LE(0) !== 0x04034b50 || local.readUInt16LE(8) !== member.method)
    throw unsafeZip(key, `${member.name} has no matching local header where its central record points`, member.name);
  const nameEnd = member.localOffset + 30 + local.readUInt16LE(26);
  const name = await buffer(downloadRange(storage, key, member.localOffset + 30, nameEnd, signal));
  if (!name.equals(member.nameRaw)) throw unsafeZip(key, `the local header of ${member.name} names another member`, member.name);
  const start = nameEnd + local.readUInt16LE(28);
  const raw = await buffer(downloadRange(storage, key, start, start + member.compressedSize, signal));
  let bytes: Buffer;
  try {
    bytes = member.method === 0 ? raw : inflateRawSync(raw, { maxOutputLength: Math.max(1, member.uncompressedSize) });
  } catch (error) {
    throw unsafeZip(
      key,
      `${member.name} does not inflate to the ${member.uncompressedSize} bytes it declares (${(error as Error).message})`,
      member.name,
    );
  }
  if (bytes.length !== member.uncompressedSize || crc32(bytes) !== member.crc32)
    throw unsafeZip(key, `${member.name} does not match the size and CRC-32 it declares`, member.name);
  return bytes;
}

/** An MS-DOS date and time as a Date (local time, as zip tools write them). */
function dosDate(date: number, time: number): Date {
  return new Date(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2);
}
