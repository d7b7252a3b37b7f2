import type { Readable } from 'node:stream';
import type { FilestoreCompressor } from '../domain/manifest.js';
import type { SourceConfig } from '../domain/source-config.js';

/**
 * A byte stream produced by a tool (`pg_dump`, `tar`) and how that tool ended. The pipeline
 * reads `stream` to its end and then awaits `done`: a tool can write every byte and still
 * fail (pg_dump prints an error and exits 1), so the stream ending is not success.
 */
export interface SourceStream {
  /** The tool's output. Read it to the end, or call {@link SourceStream.abort}. */
  readonly stream: Readable;
  /**
   * Resolves when the tool exited 0 and its output ended; rejects with a `SourceError`
   * (`E_SOURCE_PG_DUMP`, `E_SOURCE_TAR`, `E_SOURCE_SSH`...) whose details carry the exit code,
   * the tool's stderr tail and the phase. Never rejects with a secret in the message.
   */
  readonly done: Promise<void>;
  /** Stops the tool (kills the local or remote process). Idempotent. */
  abort(): void;
  /**
   * For a filestore tarball: what gzipped it and at which level, recorded in the manifest as
   * `filestore.compressor`. Optional: a source that does not say leaves the field out.
   */
  readonly compressor?: FilestoreCompressor;
}

/** Options for starting a source stream. */
export interface SourceStreamOptions {
  /** Aborting kills the tool; `done` then rejects. */
  signal?: AbortSignal;
}

/** Options of {@link BackupSource.dumpDatabase}. */
export interface DumpOptions extends SourceStreamOptions {
  /** `pg_dump -Z` level (0-9). The pipeline passes its configured default when omitted by the caller. */
  compressionLevel?: number;
  /**
   * `pg_dump --snapshot=<id>`: dump the database as a {@link DatabaseSnapshot} sees it, so the
   * facts read in that snapshot describe exactly the rows dumped.
   */
  snapshot?: string;
}

/** Options of {@link BackupSource.openSnapshot}. */
export interface OpenSnapshotOptions extends SourceStreamOptions {
  /**
   * Also count the rows of every table inside the snapshot (`count(*)`: a scan of every table
   * on the live database). Default false.
   */
  recordRowCounts?: boolean;
}

/** Facts about the database, read inside a {@link DatabaseSnapshot}: what the dump holds. */
export interface DatabaseFacts {
  /** `server_version_num` of the server, e.g. 150018. */
  serverVersionNum: number;
  /**
   * Installed modules (`ir_module_module` rows with `state = 'installed'`), name to
   * `latest_version`; null when the database has no `ir_module_module` (not an Odoo database).
   */
  modules: Record<string, string | null> | null;
  /**
   * `count(*)` of every table (ordinary and partitioned, partitions counted in their parent),
   * keyed by name (`schema.name` outside `public`); present when row counts were asked for.
   */
  rowCounts?: Record<string, number>;
}

/**
 * An open `REPEATABLE READ` session on the source's database that exported its snapshot
 * (`pg_export_snapshot()`). The snapshot lives as long as the session: keep it open until
 * `pg_dump --snapshot` has taken it (its first output byte), then {@link DatabaseSnapshot.close}.
 */
export interface DatabaseSnapshot {
  /** The exported snapshot's id, for {@link DumpOptions.snapshot}. */
  readonly id: string;
  /** The facts, read in the same transaction; rejects when reading them failed. */
  readonly facts: Promise<DatabaseFacts>;
  /**
   * Ends the transaction and the session (psql exits). Idempotent; never rejects. Must be called
   * on every path, failures included: an open session keeps the snapshot's old rows from vacuum.
   */
  close(): Promise<void>;
}

/** Options of {@link BackupSource.archiveFilestore}. */
export interface FilestoreOptions extends SourceStreamOptions {
  /**
   * gzip level (1-9) of the filestore tarball. The SDK's sources compress with ISA-L's `igzip` at
   * levels 1-3 where the source host has it, else in this process (`zlib-adaptive`: stored blocks
   * for incompressible data, zlib at this level for the rest); the default is `DEFAULT_FILESTORE_COMPRESSION_LEVEL`.
   */
  compressionLevel?: number;
}

/**
 * Where one environment's database and filestore are read from: this host, Docker containers,
 * or a VM over SSH. Built from a {@link SourceConfig} by a {@link BackupSourceFactory}; the SDK's
 * own is `createBackupSource`, and `odoo-backup-sdk/testing` has a fake for unit tests.
 */
export interface BackupSource {
  /** `local`, `docker`, `ssh`, or a test double's name: for messages. */
  readonly kind: string;
  /** Starts `pg_dump -Fc` of the environment's database and streams its output. */
  dumpDatabase(options?: DumpOptions): Promise<SourceStream>;
  /**
   * Starts `tar -czf -` of the filestore folder (igzip, or a plain tar gzipped in this process) and streams its output; resolves `null` when
   * the folder does not exist (a new environment: the pipeline records filestore_size 0 and a
   * warning rather than failing).
   */
  archiveFilestore(options?: FilestoreOptions): Promise<SourceStream | null>;
  /**
   * Opens a {@link DatabaseSnapshot}: the pipeline reads Odoo's facts (installed modules, row
   * counts) in it and dumps the database with `pg_dump --snapshot`, so the manifest describes the
   * dump exactly. Optional: without it, backups run as before and their manifests carry no `odoo`.
   */
  openSnapshot?(options?: OpenSnapshotOptions): Promise<DatabaseSnapshot>;
  /** Releases connections (SSH). Idempotent. */
  close(): Promise<void>;
}

/** Builds the {@link BackupSource} for a source config. */
export type BackupSourceFactory = (config: SourceConfig) => BackupSource;
