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
  /** Releases connections (SSH). Idempotent. */
  close(): Promise<void>;
}

/** Builds the {@link BackupSource} for a source config. */
export type BackupSourceFactory = (config: SourceConfig) => BackupSource;
