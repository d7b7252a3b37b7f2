import { finished } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import { promisify } from 'node:util';
import { deflateRaw } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { odooPgVersion, odooSeriesOf, type BackupManifest } from '../domain/manifest.js';
import { AbortedError } from '../errors/errors.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { SourceStream } from '../ports/backup-source.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { sampledBitsPerByte } from '../streams/byte-entropy.js';
import { onceAny } from '../streams/once-any.js';
import { ArchiveWriter } from './archive-writer.js';
import { archiveFailure, checkChecksum, type OpenedBackupArchive } from './backup-archive-reader.js';
import { guardFilestoreTar } from './filestore-tar-guard.js';
import { MeasuringStream } from './measuring-stream.js';
import { DEFAULT_RESTORE_LIMITS } from './restore-limits.js';
import { openRecordedArchive } from './recorded-archive.js';
import type { RestoreArchiveOptions } from './restore-runner.js';

const deflateRawAsync = promisify(deflateRaw);

/** Turns a `pg_dump -Fc` stream into plain SQL (`pg_restore -f -`); the SDK's runs on this host. */
export type PlainSqlConverter = (dump: Readable, options: { signal: AbortSignal }) => Promise<SourceStream>;

/** Options of {@link exportOdooArchive}. */
export interface ExportOdooArchiveOptions {
  storage: StorageProvider;
  /** The backup's storage key. */
  key: string;
  /** From the Backup record, cross-checked with the object and its manifest before a byte goes out (as a restore does). */
  expected?: RestoreArchiveOptions['expected'];
  /** `AGE-SECRET-KEY-1…` identities for an encrypted backup; none for one of its recipients is `E_ENCRYPTION_KEY`. */
  identities?: readonly string[];
  /** Makes `dump.sql` from the dump. */
  toPlainSql: PlainSqlConverter;
  /** zlib level (1-9) of `dump.sql` and of the filestore files worth deflating. Default {@link DEFAULT_ODOO_EXPORT_LEVEL}. */
  level?: number;
  /** Aborting stops every tool; the stream fails with `E_ABORTED`. */
  signal?: AbortSignal;
  /** Called with the plain SQL bytes that passed into `dump.sql`. */
  onSqlBytes?: (delta: number) => void;
}

/** The ZIP being written: read it to the end or destroy it (which stops pg_restore). */
export interface OdooArchiveStream {
  /** The backup's manifest (already checked). */
  manifest: BackupManifest;
  /** Odoo's own `manifest.json` written into the ZIP. */
  odooManifest: OdooDumpManifest;
  /** The ZIP's bytes; fails (never ends cleanly) when anything went wrong. */
  stream: Readable;
  /** Resolves once the ZIP ended whole; rejects with what broke it. */
  done: Promise<void>;
}

/** Odoo's `manifest.json`, the seven keys `dump_db_manifest` writes. */
export interface OdooDumpManifest {
  odoo_dump: '1';
  db_name: string;
  version: string | null;
  version_info: (string | number)[] | null;
  major_version: string | null;
  pg_version: string | null;
  modules: Record<string, string | null>;
}

/**
 * zlib level of exports. Level 6 is what Odoo's own `zipfile` uses; 1 was chosen from the figure
 * in docs/import-export.md: on pg_restore's SQL it deflates several times faster for a few
 * percent more bytes, and an export is read while it is written.
 */
export const DEFAULT_ODOO_EXPORT_LEVEL = 1;

/** Filestore files up to this size are deflated whole, off the main thread, when that pays; larger ones are stored. */
const SMALL_FILE_BYTES = 1024 * 1024;
/** A sample above this many bits per byte does not deflate enough to be worth it (images, PDFs, archives). */
const INCOMPRESSIBLE_BITS = 7.5;

/**
 * Odoo's `manifest.json` for a backup: the series from the database's own `base` module
 * (`odoo.major_version`), else the host's `odoo_version`; `pg_version` in Odoo's form;
 * `version_info` as `odoo.release` spells it (`[17, 0, 0, 'final', 0, '']`,
 * `['saas~17', 2, 0, 'final', 0, '']`).
 */
export function odooDumpManifest(manifest: BackupManifest): OdooDumpManifest {
  const series = manifest.odoo?.major_version ?? odooSeriesOf(`${manifest.odoo_version ?? ''}.`) ?? null;
  const match = series ? /^(saas~)?(\d+)\.(\d+)$/.exec(series) : null;
  const versionInfo = match ? [match[1] ? `saas~${match[2]!}` : Number(match[2]), Number(match[3]), 0, 'final', 0, ''] : null;
  const pgNum = manifest.odoo ? null : serverVersionNum(manifest.database.pg_version);
  return {
    odoo_dump: '1',
    db_name: manifest.database.name,
    version: series,
    version_info: versionInfo,
    major_version: series,
    pg_version: manifest.odoo?.pg_version ?? (pgNum === null ? null : odooPgVersion(pgNum)),
    modules: { ...(manifest.odoo?.modules ?? {}) },
  };
}

/** `15.18` -> 150018, `9.6.24` -> 90624 (the dump header's server version), or null. */
function serverVersionNum(version: string | null | undefined): number | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version ?? '');
  if (!m) return null;
  const major = Number(m[1]);
  return major >= 10 ? major * 10000 + Number(m[2]) : major * 10000 + Number(m[2]) * 100 + Number(m[3] ?? 0);
}

/**
 * Opens a backup (checked as a restore checks it: structure, manifest, the record's checksums;
 * decrypted on the fly with `identities`) and streams a ZIP that Odoo's database manager restores:
 * `dump.sql` (the dump as plain SQL from `toPlainSql`, deflated as it streams), `manifest.json`
 * (Odoo's seven keys), then `filestore/<path>` for every file of the tarball, in the tarball's
 * order (depth first, as `os.walk` goes through Odoo's two-level folders). No folder entries.
 * The dump's and the tarball's SHA-256 are checked against the manifest as they stream; any
 * failure destroys the stream, so a reader never takes a cut ZIP for a whole one.
 */
export async function exportOdooArchive(options: ExportOdooArchiveOptions): Promise<OdooArchiveStream> {
  const { storage, key } = options;
  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) throw new AbortedError('Odoo export', outer.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;
  let archive: OpenedBackupArchive;
  try {
    archive = await openRecordedArchive(storage, key, { ...options, signal });
  } catch (error) {
    outer?.removeEventListener('abort', onAbort);
    throw archiveFailure(error, key, signal);
  }
  const manifest = archive.manifest;
  const odooManifest = odooDumpManifest(manifest);
  const writer = new ArchiveWriter(new Date(manifest.created_at));
  const output = writer.output;
  // The reader going away (a closed download) stops pg_restore and the reads.
  let readerGone = false;
  output.once('close', () => {
    if (output.readableEnded) return;
    readerGone = true;
    controller.abort(new AbortedError('Odoo export', 'the reader closed the stream'));
  });
  const level = options.level ?? DEFAULT_ODOO_EXPORT_LEVEL;
  const done = (async () => {
    try {
      await writeDump(archive, writer, options, level, signal);
      await writer.addDeflatedBuffer(
        'manifest.json',
        ...(await deflated(Buffer.from(JSON.stringify(odooManifest, null, 4), 'utf8'), level)),
      );
      if (archive.filestore) await writeFilestore(archive, writer, level, signal);
      writer.end();
      await finished(output, { readable: false, writable: true });
    } catch (error) {
      const failure =
        outer?.aborted || readerGone
          ? new AbortedError('Odoo export', outer?.aborted ? outer.reason : 'the reader closed the stream')
          : exportFailure(error, key, signal);
      controller.abort(failure);
      writer.destroy(failure as Error);
      throw failure;
    } finally {
      outer?.removeEventListener('abort', onAbort);
      archive.close();
    }
  })();
  done.catch(() => undefined);
  return { manifest, odooManifest, stream: output, done };
}

function exportFailure(error: unknown, key: string, signal: AbortSignal): unknown {
  if (error instanceof BackupSdkError) return error;
  return archiveFailure(error, key, signal);
}

/** `data` and its raw deflate when that is smaller and the data does not look compressed already; else null. */
async function deflated(data: Buffer, level: number): Promise<[Buffer, Buffer | null]> {
  if (data.length === 0 || sampledBitsPerByte(data) > INCOMPRESSIBLE_BITS) return [data, null];
  const body = await deflateRawAsync(data, { level });
  return [data, body.length < data.length ? body : null];
}

/** The dump entry -> SHA-256 -> pg_restore -> plain SQL -> `dump.sql`, deflated as it streams. */
async function writeDump(
  archive: OpenedBackupArchive,
  writer: ArchiveWriter,
  options: ExportOdooArchiveOptions,
  level: number,
  signal: AbortSignal,
): Promise<void> {
  const source = await archive.openEntry(archive.dump);
  const meter = new MeasuringStream();
  source.on('error', (error) => meter.destroy(error));
  source.pipe(meter);
  let sql: SourceStream;
  try {
    sql = await options.toPlainSql(meter, { signal });
  } catch (error) {
    source.destroy();
    throw error;
  }
  const { measured } = writer.addDeflatedStream('dump.sql', sql.stream, {
    level,
    ...(options.onSqlBytes ? { onBytes: options.onSqlBytes } : {}),
  });
  try {
    await Promise.all([measured, sql.done]);
    // pg_restore may stop before the dump's last bytes: read them for the checksum.
    meter.resume();
    await finished(meter);
  } catch (error) {
    sql.abort();
    source.destroy();
    // pg_restore is gone when the export's failure is reported.
    await sql.done.catch(() => undefined);
    throw error;
  }
  checkChecksum(archive.dump.fileName, archive.manifest.database.checksum, meter.result().sha256);
}

/**
 * The tarball -> SHA-256 -> the restore's own tar checks (files and folders only, names inside
 * the folder, bomb limits) -> one `filestore/<path>` member per file.
 */
async function writeFilestore(archive: OpenedBackupArchive, writer: ArchiveWriter, level: number, signal: AbortSignal): Promise<void> {
  const source = await archive.openEntry(archive.filestore!);
  const meter = new MeasuringStream();
  source.on('error', (error) => meter.destroy(error));
  source.pipe(meter);
  const guard = guardFilestoreTar(meter, { limits: DEFAULT_RESTORE_LIMITS, compressedSize: archive.filestore!.uncompressedSize });
  const extract = tarExtract();
  // tar-stream's streams are streamx ones: fed by hand with backpressure, read by async iteration.
  const feed = (async () => {
    for await (const chunk of guard.tar as AsyncIterable<Buffer>) {
      if (!extract.write(chunk)) await onceAny(extract as unknown as Writable, ['drain', 'close']);
    }
    (extract as unknown as Writable).end();
  })();
  const members = (async () => {
    for await (const entry of extract) {
      if (signal.aborted) throw new AbortedError('Odoo export', signal.reason);
      if (entry.header.type !== 'file') {
        entry.resume();
        continue;
      }
      const name = `filestore/${entry.header.name}`;
      const size = entry.header.size ?? 0;
      if (size <= SMALL_FILE_BYTES) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
        await writer.addDeflatedBuffer(name, ...(await deflated(Buffer.concat(chunks), level)));
        await writer.drained();
      } else {
        // Large files (videos, scans, archives) are compressed already: stored, streamed with a descriptor.
        const { measured } = writer.addStream(name, Readable.from(entry as AsyncIterable<Buffer>, { objectMode: false }), {
          hash: false,
        });
        await measured;
      }
    }
  })();
  try {
    await Promise.all([members, feed, guard.done]);
    await finished(meter);
  } catch (error) {
    source.destroy();
    meter.destroy();
    guard.tar.destroy();
    extract.destroy();
    feed.catch(() => undefined);
    // The tarball's own fault explains a broken parse better than the parser does.
    const checked = await guard.done.then(
      () => null,
      (e: unknown) => e,
    );
    throw checked ?? error;
  }
  checkChecksum(archive.filestore!.fileName, archive.manifest.filestore!.checksum, meter.result().sha256);
}
