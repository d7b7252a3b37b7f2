import { pipeline, type Readable } from 'node:stream';
import type { Backup, StorageConfig } from '../domain/entities.js';
import type { BackupStatus, RetentionType } from '../domain/enums.js';
import type { EnvironmentSnapshot } from '../domain/environment-snapshot.js';
import {
  ARCHIVE_ENTRIES,
  buildManifest,
  manifestOdooOf,
  serializeManifest,
  type BackupManifest,
  type FilestoreCompressor,
} from '../domain/manifest.js';
import { DEFAULT_RETENTION, classifyRetention, computeExpiry, type RetentionSettings } from '../domain/retention-classification.js';
import { assertBackupTransition } from '../domain/status-machine.js';
import { backupStorageKey } from '../domain/storage-keys.js';
import { AbortedError, CancelledError, ConflictError, NotFoundError, TimeoutError, ValidationError } from '../errors/errors.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { BackupSource, BackupSourceFactory, DatabaseFacts, DatabaseSnapshot, SourceStream } from '../ports/backup-source.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { EnvironmentResolver, ResolvedEnvironment } from '../ports/environment-resolver.js';
import { nullEventSink, type BackupPhase, type EventSink } from '../ports/events.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository } from '../ports/repositories.js';
import type { StorageProvider, StorageProviderFactory } from '../ports/storage-provider.js';
import { createBackupSource } from '../sources/create-backup-source.js';
import { checkFilestoreCompressionLevel, DEFAULT_FILESTORE_COMPRESSION_LEVEL } from '../sources/gzip-tool.js';
import { createStorageProvider } from '../storage/registry.js';
import { ArchiveWriter } from './archive-writer.js';
import type { DumpLister } from './dump-lister.js';
import { MeasuringStream, type Measurement } from './measuring-stream.js';
import { parsePgDumpHeader, type PgDumpHeader } from './pg-dump-header.js';
import { ProgressReporter } from './progress-reporter.js';
import { verifyBackupArchive, type ArchiveVerification } from './verify-archive.js';
import type { WarningCode } from '../errors/error-codes.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { SecretResolver } from '../ports/secret-resolver.js';
import { buildStorageProvider } from '../storage/resolve-credentials.js';
import { AgeEncryptStream, AgePrefixGuard } from './age-encrypt-stream.js';
import { sealAgeHeader, type SealedAgeHeader } from './age-header.js';
import { assertEncryptionAllowed, backupRecipients } from './backup-recipients.js';

/**
 * `pg_dump -Z` level used when the caller does not choose one (see docs/decisions.md#dump-compression-level). Chosen from
 * `npm run bench` figures: see docs/pipeline.md ("Compression level").
 */
export const DEFAULT_DUMP_COMPRESSION_LEVEL = 1;

/**
 * Whether backups count the rows of every table (`odoo.row_counts` in the manifest) when the
 * caller does not say. See docs/pipeline.md ("Odoo facts"): the figure it was chosen from.
 */
export const DEFAULT_RECORD_ROW_COUNTS = false;

/** The tool name written into manifests. */
export const MANIFEST_TOOL = 'odoo-backup-sdk/0.1.0';

/** What a {@link BackupRunner} needs. Everything but the repositories and resolver has a default. */
export interface BackupRunnerDeps {
  backups: BackupRepository;
  storageConfigs: StorageConfigRepository;
  environments: EnvironmentResolver;
  /** Retention settings (classification/expiry); default settings without one. */
  policies?: BackupPolicyRepository;
  /** Default: `createStorageProvider` (src/storage). */
  storageProviders?: StorageProviderFactory;
  /** Default: `createBackupSource` (src/sources). */
  sources?: BackupSourceFactory;
  /** Resolves `{ ref }` storage credentials just before the provider is built. */
  secrets?: SecretResolver;
  /** The age recipients each backup is encrypted to (`[]`: unencrypted). Without one, backups are stored unencrypted. */
  keys?: KeyProvider;
  clock?: Clock;
  events?: EventSink;
  /** Lists the dump during verification; default `pgRestoreLister()`; `null` checks checksums only. */
  dumpLister?: DumpLister | null;
  /** `pg_dump -Z` level (0-9); default 1 (`DEFAULT_DUMP_COMPRESSION_LEVEL`). */
  compressionLevel?: number;
  /**
   * gzip level (1-9) of the filestore tarball (igzip at 1-3 or pigz where the source host has one, else gzip);
   * default 1 (`DEFAULT_FILESTORE_COMPRESSION_LEVEL`). An environment's
   * `filestore_compression_level` wins over it.
   */
  filestoreCompressionLevel?: number;
  /**
   * Count every table's rows inside the dump's snapshot and record them in the manifest
   * (`odoo.row_counts`), for sources with `openSnapshot`. Costs a scan of every table on the live
   * database; default `DEFAULT_RECORD_ROW_COUNTS` (see docs/pipeline.md, "Odoo facts").
   */
  recordRowCounts?: boolean;
}

/** Options of {@link BackupRunner.run}. */
export interface RunBackupOptions {
  /** Aborting kills the tools, removes the partial upload and fails the record (`E_ABORTED`). */
  signal?: AbortSignal;
  /** Read the archive back and check it after upload (default true, for every backup type). Costs one read of the object. */
  verify?: boolean;
  /** Fails the run with a `TimeoutError` after this many ms of the runner's clock (default: none). */
  timeoutMs?: number;
}

interface Deferred {
  promise: Promise<never>;
  reject: (error: unknown) => void;
}

function failureLatch(): Deferred {
  let reject!: (error: unknown) => void;
  const promise = new Promise<never>((_, r) => (reject = r));
  promise.catch(() => undefined);
  return { promise, reject };
}

/**
 * How much of pg_dump's output the run holds while the filestore tarball, the archive's first
 * entry, streams. 8, 16, 32 and 64 MiB were measured on the bench data (docs/pipeline.md): 16
 * and more saved about 0.8-1.1 s of a 13 s backup, 8 less; 16 keeps the peak RSS budget.
 */
const DUMP_READ_AHEAD_BYTES = 16 * 1024 * 1024;

/** How long a failed run waits for its upload and tools to stop before recording the failure. */
const CLEANUP_WAIT_MS = 30_000;

/** Phases as recorded in `error_details.phase`. */
type RunPhase = 'prepare' | 'dump' | 'filestore' | 'upload' | 'verify' | 'finalize';

/**
 * Runs one backup: streams `pg_dump -Fc` and the filestore tarball into a ZIP (hashing and
 * counting each part in flight) and the ZIP into storage, in one pass with no temp file, then
 * optionally reads it back to verify it. Moves the record pending -> in_progress -> uploading ->
 * completed by compare-and-set, and emits `backup.status` and `backup.progress` events.
 *
 * On any failure the tools are killed, the upload is aborted and the object removed, the record
 * ends `failed` with a person-readable `error_message` and `error_details`, and the typed error
 * is rethrown (`error.transient` says whether a retry may help).
 */
export class BackupRunner {
  private readonly clock: Clock;
  private readonly events: EventSink;
  private readonly storageProviders: StorageProviderFactory;
  private readonly sources: BackupSourceFactory;

  constructor(private readonly deps: BackupRunnerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.events = deps.events ?? nullEventSink;
    this.storageProviders = deps.storageProviders ?? createStorageProvider;
    this.sources = deps.sources ?? ((config) => createBackupSource(config));
    const level = deps.compressionLevel;
    if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
      throw new ValidationError([{ field: 'compressionLevel', message: 'must be a whole number from 0 to 9' }]);
    }
    checkFilestoreCompressionLevel(deps.filestoreCompressionLevel);
  }

  /**
   * Runs a `pending` backup to `completed` and returns the record. On failure the record ends
   * `failed` (error_message, error_details), no object remains in storage, and the typed error
   * is rethrown.
   */
  async run(backupId: string, options: RunBackupOptions = {}): Promise<Backup> {
    const backup = await this.deps.backups.get(backupId);
    if (!backup) throw new NotFoundError('backup', backupId);
    assertBackupTransition(backup.status, 'in_progress', backup.id);
    return new Run(this.deps, this.clock, this.events, this.storageProviders, this.sources, backup, options).execute();
  }
}

/** One execution of a backup; holds everything that must be cleaned up. */
class Run {
  private status: BackupStatus;
  private phase: RunPhase = 'prepare';
  private readonly controller = new AbortController();
  private readonly failure = failureLatch();
  private readonly progress: ProgressReporter;
  private source: BackupSource | null = null;
  /** The snapshot session the dump is taken in. */
  private snapshot: DatabaseSnapshot | null = null;
  private readonly streams: SourceStream[] = [];
  /** Each tool's start, then its exit: what clean-up waits for. */
  private readonly starting: Promise<unknown>[] = [];
  private provider: StorageProvider | null = null;
  private key: string | null = null;
  private archive: ArchiveWriter | null = null;
  private body: MeasuringStream | null = null;
  private upload: Promise<unknown> | null = null;
  private readonly startedAt: Date;
  private cleanupNotes: string[] = [];
  /** Failures of the tools and of the upload, in the order they happened, to name the cause of a broken stream. */
  private readonly causes: unknown[] = [];

  constructor(
    private readonly deps: BackupRunnerDeps,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly storageProviders: StorageProviderFactory,
    private readonly sources: BackupSourceFactory,
    private record: Backup,
    private readonly options: RunBackupOptions,
  ) {
    this.status = record.status;
    this.startedAt = clock.now();
    this.progress = new ProgressReporter(
      {
        backup_id: record.id,
        environment_id: record.environment_id,
        organization_id: record.organization_id,
        project_id: record.project_id,
      },
      clock,
      this.events,
    );
  }

  async execute(): Promise<Backup> {
    const stopWatching = this.watchSignals();
    try {
      return await this.work();
    } catch (error) {
      const first = this.typed(error);
      await this.cleanUp(first);
      const typed = this.rootCause(error, first);
      await this.recordFailure(typed);
      throw typed;
    } finally {
      stopWatching();
      this.controller.abort();
      await this.closeSnapshot();
      await this.source?.close().catch(() => undefined);
    }
  }

  /** The caller's signal and the timeout both fail the run through the latch. */
  private watchSignals(): () => void {
    const { signal, timeoutMs } = this.options;
    const onAbort = () => this.failure.reject(this.abortError(signal?.reason));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = new AbortController();
    if (timeoutMs !== undefined) {
      this.clock.sleep(timeoutMs, timer.signal).then(
        () => this.failure.reject(new TimeoutError(`Backup ${this.record.id}`, timeoutMs)),
        () => undefined,
      );
    }
    return () => {
      signal?.removeEventListener('abort', onAbort);
      timer.abort();
    };
  }

  /** Awaits `promise` unless the run fails first. */
  private guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.failure.promise]);
  }

  private async work(): Promise<Backup> {
    const b = this.record;
    // Prepare: everything that can be refused before a process starts or a byte is written.
    const env = await this.guard(this.deps.environments.resolve(b.environment_id));
    if (!env) throw new NotFoundError('environment', b.environment_id);
    checkFilestoreCompressionLevel(env.filestore_compression_level, 'filestore_compression_level');
    const fsLevel = env.filestore_compression_level ?? this.deps.filestoreCompressionLevel ?? DEFAULT_FILESTORE_COMPRESSION_LEVEL;
    const storageConfig = await this.guard(this.storageConfig());
    const policy = this.deps.policies ? await this.guard(this.deps.policies.getByEnvironment(b.environment_id)) : null;
    const retention: RetentionSettings = policy ?? DEFAULT_RETENTION;
    const recipients = await this.guard(backupRecipients(this.deps.keys, b, storageConfig.id));
    // Fail closed, on every path that runs a backup (manual, scheduled, pre-operation, direct).
    assertEncryptionAllowed(recipients, storageConfig, policy);
    // The header (the file key wrapped for each recipient) is written before anything starts.
    const sealed: SealedAgeHeader | null = recipients.length > 0 ? await this.guard(sealAgeHeader(recipients)) : null;
    const createdAt = new Date(b.created_at);
    const retentionType: RetentionType = b.retention_type ?? classifyRetention(createdAt, retention);
    const expiresAt = computeExpiry(createdAt, retentionType, retention);
    const zipKey = backupStorageKey({
      organization_id: b.organization_id,
      project_id: b.project_id,
      environment_id: b.environment_id,
      backup_id: b.id,
    });
    const key = sealed ? `${zipKey}.age` : zipKey;
    const snapshot = { ...structuredClone(env.snapshot), timestamp: this.startedAt.toISOString() } as EnvironmentSnapshot;
    const provider = await this.guard(buildStorageProvider(this.storageProviders, this.deps.secrets, storageConfig));
    this.provider = provider;

    await this.move('in_progress', {
      started_at: this.startedAt.toISOString(),
      storage_config_id: storageConfig.id,
      database_key: key,
      encryption_recipients: sealed ? [...recipients] : null,
      stored_checksum: null,
      filestore_key: null,
      manifest_key: null,
      retention_type: retentionType,
      environment_snapshot: snapshot,
      error_message: null,
      error_details: null,
    });
    this.key = key;

    // One pass: source -> measuring -> ZIP -> counting -> storage.
    this.source = this.sources(env.source);
    const archive = new ArchiveWriter(this.startedAt);
    this.archive = archive;
    let archiveBytes = 0;
    // Counts the stored bytes (compressed_size, progress); an encrypted object, or one the policy
    // has copied to a secondary storage, is hashed too (stored_checksum: what the copy and
    // `sha256sum` of the object are checked against).
    const hashStored = sealed !== null || Boolean(policy?.secondary_storage_config_id);
    const counted = new MeasuringStream(
      (n) => {
        archiveBytes += n;
        this.progress.add(n);
      },
      { hash: hashStored },
    );
    this.body = counted;
    // The provider may attach its listeners late (the local one awaits a mkdir first): a failure
    // before that destroys `counted` with nobody listening, which Node turns into an uncaught
    // exception. The run learns of every failure through the upload promise and the latch.
    counted.on('error', () => undefined);
    if (sealed) {
      // Encrypted: ZIP -> age (header, nonce, sealed 64 KiB chunks) -> a check that the bytes
      // about to be uploaded are age's (fail closed, whatever the stages before did) -> counting.
      pipeline(archive.output, new AgeEncryptStream(sealed), new AgePrefixGuard(), counted, () => undefined);
    } else {
      pipeline(archive.output, counted, () => undefined);
    }
    this.phase = 'upload';
    const contentType = sealed ? 'application/octet-stream' : 'application/zip';
    const upload = provider.upload(key, counted as Readable, { contentType, signal: this.controller.signal });
    this.upload = upload;
    upload.catch((error: unknown) => {
      this.causes.push(error);
      this.failure.reject(error);
    });

    // Both tools start together: the filestore tarball is the archive's first entry, and pg_dump
    // runs meanwhile, its output hashed and held (up to DUMP_READ_AHEAD_BYTES) until the tarball
    // is in; then the dump entry follows. The filestore is the quick part (a fast compressor on
    // files mostly compressed already), the dump the slow one (about 33 MB/s out of pg_dump -Z1),
    // so a small buffer lets pg_dump work through most of the filestore's time. Starting both at
    // once also brings the filestore's moment close to the database snapshot's.
    const level = this.deps.compressionLevel ?? DEFAULT_DUMP_COMPRESSION_LEVEL;
    this.phase = 'dump';
    const fsStarting = b.include_filestore
      ? this.start(this.source.archiveFilestore({ signal: this.controller.signal, compressionLevel: fsLevel }))
      : Promise.resolve(null);
    // The snapshot first (one psql round trip): pg_dump then dumps exactly what its facts describe.
    // Its opening is part of the dump's start, so a run that fails meanwhile waits for both.
    const source = this.source;
    const snapshotOpening = this.openSnapshot(source);
    const dumpStarting = this.start(
      snapshotOpening.then((opened) =>
        source.dumpDatabase({
          signal: this.controller.signal,
          compressionLevel: level,
          ...(opened ? { snapshot: opened.id } : {}),
        }),
      ),
    );
    const [dump, fsStream] = await this.guard(Promise.all([dumpStarting, fsStarting]));
    const dbSnapshot = await snapshotOpening;

    let filestorePart: Promise<{ measurement: Measurement }> | null = null;
    if (fsStream) {
      this.phase = 'filestore';
      this.progress.enter('dumping', ARCHIVE_ENTRIES.FILESTORE);
      filestorePart = this.part(archive, ARCHIVE_ENTRIES.FILESTORE, fsStream);
      filestorePart.then(
        () => {
          this.phase = 'dump';
          this.progress.enter('dumping', ARCHIVE_ENTRIES.DUMP);
        },
        () => undefined,
      );
    } else {
      this.progress.enter('dumping', ARCHIVE_ENTRIES.DUMP);
      if (b.include_filestore) {
        this.warn(
          'W_FILESTORE_MISSING',
          `The filestore folder of environment ${b.environment_id} does not exist: the backup holds the database only (normal for a new environment)`,
        );
      }
    }
    // pg_dump writes its first byte after it imported the snapshot: the session may end then.
    const dumpPart = this.part(archive, ARCHIVE_ENTRIES.DUMP, dump, {
      keepHead: 4096,
      readAheadBytes: DUMP_READ_AHEAD_BYTES,
      onFirstBytes: () => void this.closeSnapshot(),
    });
    // Either part's failure fails the run at once, whichever is streaming.
    const [fsDone, dumpDone] = await this.guard(Promise.all([filestorePart, dumpPart]));
    const facts: DatabaseFacts | null = dbSnapshot ? await this.guard(dbSnapshot.facts) : null;
    await this.closeSnapshot();
    if (facts && facts.modules === null)
      this.warn(
        'W_NOT_ODOO_DATABASE',
        `The database of environment ${b.environment_id} has no ir_module_module table: it is not an Odoo database (the manifest's odoo is null)`,
      );
    const filestore: Measurement | null = fsDone?.measurement ?? null;
    const database = dumpDone.measurement;
    const dumpHeader = parsePgDumpHeader(dumpDone.head);

    // The sources are done; what remains is the manifest and the storage's commit.
    this.phase = 'upload';
    await this.move('uploading', {});
    this.progress.enter('uploading', ARCHIVE_ENTRIES.MANIFEST);
    const manifest = this.manifest(
      env,
      key,
      database,
      filestore,
      retentionType,
      expiresAt,
      snapshot,
      level,
      dumpHeader,
      fsStream?.compressor,
      facts,
    );
    const manifestBytes = serializeManifest(manifest);
    this.progress.addPart(ARCHIVE_ENTRIES.MANIFEST, manifestBytes.length);
    archive.addBuffer(ARCHIVE_ENTRIES.MANIFEST, manifestBytes);
    archive.end();
    const stored = (await this.guard(upload)) as { size: number };
    const compressedSize = counted.size;
    if (stored.size !== compressedSize) {
      throw new BackupSdkError('E_STORAGE_SIZE', `Storage reports ${stored.size} bytes stored but ${compressedSize} were sent`, {
        transient: true,
        details: { stored: stored.size, sent: compressedSize },
      });
    }
    void archiveBytes;

    // Optional read-back.
    let verification: Partial<Backup> = {};
    const verify = this.options.verify ?? true;
    if (verify) {
      this.phase = 'verify';
      this.progress.enter('verifying');
      verification = await this.verify(provider, key, database, filestore, sealed, compressedSize);
    }

    this.phase = 'finalize';
    this.progress.enter('finalizing');
    const completedAt = this.clock.now();
    const final = await this.move('completed', {
      completed_at: completedAt.toISOString(),
      duration_seconds: Math.max(0, Math.round((completedAt.getTime() - this.startedAt.getTime()) / 1000)),
      database_size: database.size,
      filestore_size: filestore?.size ?? 0,
      total_size: database.size + (filestore?.size ?? 0),
      compressed_size: compressedSize,
      stored_checksum: hashStored ? counted.result().sha256 : null,
      database_checksum: database.sha256,
      filestore_checksum: filestore?.sha256 ?? null,
      expires_at: expiresAt ? expiresAt.toISOString() : null,
      ...verification,
    });
    // The object is final now: count it against the storage config (atomic increment).
    await this.deps.storageConfigs
      .adjustUsage(storageConfig.id, { bytes: compressedSize, objects: 1, last_used_at: completedAt.toISOString() })
      .catch((error: unknown) =>
        this.warn(
          'W_USAGE_UPDATE_FAILED',
          `The storage usage counters of ${storageConfig.id} could not be updated: ${(error as Error).message}`,
        ),
      );
    return final;
  }

  /**
   * Tracks a started tool for clean-up. A tool that starts after the run failed (the latch won
   * the race against its start) is aborted at once, so no child outlives the job.
   */
  private start<T extends SourceStream | null>(started: Promise<T>): Promise<T> {
    const tracked = started.then((stream) => {
      if (stream) {
        this.streams.push(stream);
        stream.done.catch((error: unknown) => this.causes.push(error));
        if (this.controller.signal.aborted) stream.abort();
      }
      return stream;
    });
    // Clean-up waits for tools still starting too. Handled here, at creation: it is awaited only
    // if the run fails, and may reject long before that.
    this.starting.push(tracked.then((s) => s?.done).catch(() => undefined));
    return tracked;
  }

  /** Opens the source's snapshot session when it has one, counting rows when configured. */
  private async openSnapshot(source: BackupSource): Promise<DatabaseSnapshot | null> {
    if (!source.openSnapshot) return null;
    const snapshot = await source.openSnapshot({
      signal: this.controller.signal,
      recordRowCounts: this.deps.recordRowCounts ?? DEFAULT_RECORD_ROW_COUNTS,
    });
    this.snapshot = snapshot;
    // A run that failed while the session opened closes it now (the finally block may have run).
    if (this.controller.signal.aborted) await this.closeSnapshot();
    return snapshot;
  }

  /**
   * Ends the snapshot session; never throws. `close` is idempotent (the port says so), and every
   * caller awaits the same end: the psql session is gone when the run's last step returns.
   */
  private async closeSnapshot(): Promise<void> {
    await this.snapshot?.close().catch(() => undefined);
  }

  /**
   * Streams one source into the archive (once the entries added before it are in: until then
   * it is hashed and held, up to `readAheadBytes`); resolves when its bytes are in and its tool
   * exited 0.
   */
  private async part(
    archive: ArchiveWriter,
    name: string,
    source: SourceStream,
    options: { keepHead?: number; readAheadBytes?: number; onFirstBytes?: () => void } = {},
  ): Promise<{ measurement: Measurement; head: Buffer }> {
    const { onFirstBytes, ...entryOptions } = options;
    let first = onFirstBytes;
    const onBytes = (n: number) => {
      this.progress.addPart(name, n);
      if (first) {
        const call = first;
        first = undefined;
        call();
      }
    };
    const { measured, meter } = archive.addStream(name, source.stream, { ...entryOptions, onBytes });
    const [measurement] = await this.guard(Promise.all([measured, source.done]));
    return { measurement, head: meter.head };
  }

  private manifest(
    env: ResolvedEnvironment,
    key: string,
    database: Measurement,
    filestore: Measurement | null,
    retentionType: RetentionType,
    expiresAt: Date | null,
    snapshot: EnvironmentSnapshot,
    level: number,
    header: PgDumpHeader | null,
    compressor: FilestoreCompressor | undefined,
    facts: DatabaseFacts | null,
  ): BackupManifest {
    const b = this.record;
    return buildManifest({
      backup_id: b.id,
      environment_id: b.environment_id,
      backup_type: b.backup_type,
      created_at: b.created_at,
      database: {
        name: env.db_name,
        key,
        size: database.size,
        checksum: database.sha256,
        compression_level: level,
        pg_version: header?.server_version ?? null,
        pg_dump_version: header?.pg_dump_version ?? null,
        archive_version: header?.archive_version ?? null,
      },
      filestore: filestore ? { size: filestore.size, checksum: filestore.sha256, ...(compressor ? { compressor } : {}) } : null,
      include_filestore: b.include_filestore,
      environment_snapshot: snapshot,
      retention: { type: retentionType, expires_at: expiresAt ? expiresAt.toISOString() : null },
      odoo_version: env.odoo_version,
      ...(facts ? { odoo: manifestOdooOf(facts) } : {}),
      tool: MANIFEST_TOOL,
    });
  }

  private async verify(
    provider: StorageProvider,
    key: string,
    database: Measurement,
    filestore: Measurement | null,
    sealed: SealedAgeHeader | null,
    storedSize: number,
  ): Promise<Partial<Backup>> {
    try {
      const result: ArchiveVerification = await this.guard(
        verifyBackupArchive(provider, key, {
          signal: this.controller.signal,
          expected: {
            database_checksum: database.sha256,
            filestore_checksum: filestore?.sha256 ?? null,
            encryption_recipients: this.record.encryption_recipients ?? null,
            size: storedSize,
          },
          // The run reads back with the file key it holds: workers may hold recipients only.
          ...(sealed ? { fileKey: sealed.fileKey } : {}),
          ...(this.deps.dumpLister !== undefined ? { lister: this.deps.dumpLister } : {}),
        }),
      );
      void result;
      return { is_verified: true, verified_at: this.clock.now().toISOString(), verification_error: null };
    } catch (error) {
      // Abort and timeout fail the run; a failed check is recorded on a completed backup.
      if (this.options.signal?.aborted || error instanceof AbortedError || error instanceof TimeoutError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      this.warn('W_VERIFICATION_FAILED', `Backup ${this.record.id} was stored but did not verify: ${message}`);
      return { is_verified: false, verified_at: null, verification_error: message };
    }
  }

  private async storageConfig(): Promise<StorageConfig> {
    const b = this.record;
    const config = b.storage_config_id
      ? await this.deps.storageConfigs.get(b.storage_config_id)
      : await this.deps.storageConfigs.getDefault(b.organization_id);
    if (!config) {
      throw b.storage_config_id
        ? new NotFoundError('storage_config', b.storage_config_id)
        : new ValidationError([
            { field: 'storage_config_id', message: `organisation ${b.organization_id} has no default storage config: pass one` },
          ]);
    }
    return config;
  }

  /** Compare-and-set status move (src/domain/status-machine.ts), with a `backup.status` event. */
  private async move(to: BackupStatus, patch: Partial<Backup>): Promise<Backup> {
    const from = this.status;
    assertBackupTransition(from, to, this.record.id);
    const updated = await this.deps.backups.update(this.record.id, { ...patch, status: to }, { status: from });
    this.status = to;
    this.record = updated;
    this.events.emit({
      type: 'backup.status',
      data: {
        backup_id: updated.id,
        environment_id: updated.environment_id,
        organization_id: updated.organization_id,
        project_id: updated.project_id,
        status: to,
        previous_status: from,
        message: patch.error_message ?? null,
        timestamp: this.clock.now().toISOString(),
      },
    });
    return updated;
  }

  private warn(code: WarningCode, message: string): void {
    this.events.emit({
      type: 'warning',
      data: {
        code,
        message,
        backup_id: this.record.id,
        environment_id: this.record.environment_id,
        organization_id: this.record.organization_id,
        project_id: this.record.project_id,
        timestamp: this.clock.now().toISOString(),
      },
    });
  }

  /** Kills the tools, aborts the upload and removes whatever reached storage. */
  private async cleanUp(error: BackupSdkError): Promise<void> {
    this.controller.abort(error);
    for (const s of this.streams) s.abort();
    this.archive?.destroy(error);
    this.body?.destroy(error);
    // Wait for the upload and the tools to settle, but never forever: a stuck remote must not
    // keep the record from being marked failed.
    const settled = Promise.all([this.upload?.catch(() => undefined), ...this.starting]);
    const giveUp = new AbortController();
    await Promise.race([settled, this.clock.sleep(CLEANUP_WAIT_MS, giveUp.signal).catch(() => undefined)]);
    giveUp.abort();
    if (this.provider && this.key) {
      // The upload may have completed before a later step failed: the object must not stay.
      await this.provider
        .delete(this.key)
        .catch((e: unknown) => this.cleanupNotes.push(`could not delete ${this.key}: ${(e as Error).message}`));
    }
  }

  private async recordFailure(error: BackupSdkError): Promise<void> {
    if (this.status === 'pending' && this.phase === 'prepare' && error instanceof ConflictError) return;
    const details: Record<string, unknown> = {
      code: error.code,
      phase: phaseOf(error, this.phase),
      transient: error.transient,
      ...error.details,
      ...(this.cleanupNotes.length ? { cleanup: this.cleanupNotes } : {}),
    };
    try {
      await this.move('failed', {
        error_message: `Backup failed while ${PHASE_WORDS[phaseOf(error, this.phase)]}: ${error.message}`,
        error_details: details,
        completed_at: null,
      });
    } catch (moveError) {
      // Someone else moved the record (deleted it, say): their state wins.
      this.events.emit({
        type: 'warning',
        data: {
          code: 'W_RECORD_FAILED',
          message: `Backup ${this.record.id} failed (${error.message}) but its record could not be marked failed: ${(moveError as Error).message}`,
          backup_id: this.record.id,
          environment_id: this.record.environment_id,
          organization_id: this.record.organization_id,
          project_id: this.record.project_id,
          timestamp: this.clock.now().toISOString(),
        },
      });
    }
  }

  /**
   * When a stream broke because the other end failed (the archive output closed because storage
   * gave up, a tool's output cut by its failure), the first error seen is a symptom. The earliest
   * typed error of the tools and the upload, all settled by now, names the cause; our own abort
   * does not.
   */
  private rootCause(error: unknown, first: BackupSdkError): BackupSdkError {
    if (error instanceof BackupSdkError || first instanceof AbortedError || first instanceof CancelledError) return first;
    const cause = this.causes.find((c) => c instanceof BackupSdkError && c !== first && !(c instanceof AbortedError));
    return (cause as BackupSdkError | undefined) ?? first;
  }

  /**
   * What an aborted signal means: a cancel on request when its reason is a `CancelledError`
   * (recorded as `E_CANCELLED`), else the caller's abort (`E_ABORTED`).
   */
  private abortError(reason: unknown): BackupSdkError {
    return reason instanceof CancelledError ? reason : new AbortedError(`Backup ${this.record.id}`, reason);
  }

  /** Any thrown value as a typed SDK error whose message says what failed, in words. */
  private typed(error: unknown): BackupSdkError {
    const signal = this.options.signal;
    if (signal?.aborted && !(error instanceof AbortedError || error instanceof CancelledError)) return this.abortError(signal.reason);
    if (error instanceof BackupSdkError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new BackupSdkError('E_BACKUP', `Backup ${this.record.id} failed while ${PHASE_WORDS[this.phase]}: ${message}`, {
      cause: error,
      details: { phase: this.phase },
    });
  }
}

/**
 * Storage errors belong to the upload whichever part was streaming when storage gave up; a tool's
 * own failure belongs to its part (pg_dump and tar run at the same time).
 */
function phaseOf(error: BackupSdkError, current: RunPhase): RunPhase {
  if (current === 'verify') return current;
  if (error.code.startsWith('E_STORAGE')) return 'upload';
  if (error.code === 'E_SOURCE_PG_DUMP') return 'dump';
  if (error.code === 'E_SOURCE_TAR') return 'filestore';
  return current;
}

const PHASE_WORDS: Record<RunPhase, string> = {
  prepare: 'preparing',
  dump: 'dumping the database',
  filestore: 'archiving the filestore',
  upload: 'uploading the archive',
  verify: 'verifying the archive',
  finalize: 'finalizing the record',
};

/** Keeps the phase type exported for docs. */
export type { BackupPhase };
