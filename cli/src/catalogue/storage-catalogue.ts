import { Readable } from 'node:stream';
import {
  isBackupSdkError,
  readBackupManifest,
  type Backup,
  type BackupFilter,
  type BackupRepository,
  type ObjectInfo,
  type PageRequest,
  type StorageProvider,
  type Where,
} from 'odoo-backup-sdk';
import { InMemoryBackupRepository } from 'odoo-backup-sdk/testing';
import {
  BACKUPS_PREFIX,
  fingerprint,
  INDEX_KEY,
  parseBackupKey,
  parseState,
  recordFromStorage,
  stateKeyOf,
  stateOf,
  withState,
  type BackupKeyIds,
  type BackupState,
} from './catalogue-records.js';

/** A cached record in the index, with what its objects looked like when it was read. */
interface IndexEntry {
  key: string;
  /** {@link fingerprint} of the ZIP. */
  zip: string;
  /** {@link fingerprint} of the state file, null when there was none. */
  state: string | null;
  record: Backup;
}

/** A ZIP under the backup layout that is not a readable backup: reported on every run, never deleted. */
export interface SkippedObject {
  key: string;
  /** {@link fingerprint} of the object when it was examined. */
  zip: string;
  /** The error code that explains it (`E_ARCHIVE`, `E_MANIFEST_INVALID`, `E_ENCRYPTION_KEY`...). */
  code: string;
  message: string;
}

/** The content of `odoo-backup-index.json`. */
interface IndexFile {
  format: 'odoo-backup-index';
  version: 1;
  written_at: string;
  backups: IndexEntry[];
  skipped: SkippedObject[];
}

/** How the last reconciliation found the index. */
export type IndexState = 'fresh' | 'stale' | 'missing' | 'corrupt';

/** What one reconciliation found. */
export interface Reconciliation {
  /** Completed backups, as rebuilt from storage (or their cached copies, when their objects did not change). */
  records: Backup[];
  skipped: SkippedObject[];
  index: IndexState;
  /** Manifests and state files read this time (0 when the index was fresh). */
  reads: number;
}

/** Options of {@link StorageCatalogue.open}. */
export interface StorageCatalogueOptions {
  /** The `storage_config_id` rebuilt records carry: the one storage config the command works with. */
  storageConfigId: string;
  /** Current time for `updated_at` (default: the system clock). */
  now?: () => Date;
  /** Told about what could not be written (a state file, the index): the command goes on. */
  onWarning?: (message: string) => void;
  /** Manifests read at once while rebuilding (default 4). */
  concurrency?: number;
}

const isIndexEntry = (e: unknown): e is IndexEntry => {
  if (!e || typeof e !== 'object') return false;
  const x = e as Record<string, unknown>;
  const record = x.record as Record<string, unknown> | undefined;
  const ids = typeof x.key === 'string' ? parseBackupKey(x.key) : null;
  return (
    ids !== null &&
    typeof x.zip === 'string' &&
    (x.state === null || typeof x.state === 'string') &&
    !!record &&
    typeof record === 'object' &&
    record.id === ids.backup_id &&
    record.database_key === x.key &&
    record.status === 'completed' &&
    typeof record.created_at === 'string'
  );
};

const isSkipped = (e: unknown): e is SkippedObject => {
  if (!e || typeof e !== 'object') return false;
  const x = e as Record<string, unknown>;
  return typeof x.key === 'string' && typeof x.zip === 'string' && typeof x.code === 'string' && typeof x.message === 'string';
};

/** Runs `tasks` with at most `limit` at once. */
async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
}

async function readText(provider: StorageProvider, key: string): Promise<string | null> {
  try {
    const stream = await provider.download(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (isBackupSdkError(error, 'E_STORAGE_NOT_FOUND')) return null;
    throw error;
  }
}

/**
 * A {@link BackupRepository} whose truth is the storage itself, for a tool with no database: each
 * completed backup is its ZIP plus `{id}.state.json` beside it, and `odoo-backup-index.json` at
 * the root caches the records so a run reads only what changed.
 *
 * {@link open} lists the backup prefix once and reconciles: ZIPs the index does not know are read
 * by range (manifest, state), vanished ones are dropped, changed state files are read again; a
 * missing, corrupt or stale index is rewritten. A ZIP that fails the structure check or does not
 * match its key is reported in `skipped`, never deleted; objects outside the layout are ignored.
 * Several runs may share a storage: the index is derived, so the last writer wins and loses nothing.
 *
 * Records that are not completed (a backup while it runs, a failed one) live in memory for the
 * run. Writes to a completed record (completion, promotion, verification) rewrite its state file;
 * clearing a record's keys (its ZIP was deleted) removes it. {@link flush} rewrites the index once
 * the command is done.
 */
export class StorageCatalogue implements BackupRepository {
  private readonly records: InMemoryBackupRepository;
  /** The state file each record last wrote, so clearing its keys removes the right one. */
  private readonly stateKeys = new Map<string, string>();
  /** Per record, the chain of state writes: they land in order, each writing the record as it is then. */
  private readonly writes = new Map<string, Promise<void>>();
  private changed = false;
  private lastReconciliation: Reconciliation = { records: [], skipped: [], index: 'fresh', reads: 0 };

  private constructor(
    private readonly provider: StorageProvider,
    private readonly options: StorageCatalogueOptions,
  ) {
    this.records = new InMemoryBackupRepository(options.now ? { now: options.now } : undefined);
  }

  /** Reconciles the catalogue with `provider` and returns it loaded with every completed backup found. */
  static async open(provider: StorageProvider, options: StorageCatalogueOptions): Promise<StorageCatalogue> {
    const catalogue = new StorageCatalogue(provider, options);
    const found = await catalogue.reconcile();
    for (const record of found.records) {
      await catalogue.records.create(record);
      catalogue.stateKeys.set(record.id, stateKeyOf(record.database_key!)!);
    }
    return catalogue;
  }

  /** What the opening reconciliation found (skipped objects, the index's state). */
  get reconciliation(): Reconciliation {
    return this.lastReconciliation;
  }

  /**
   * Lists the storage once and brings the index up to date (rewritten only when it was missing,
   * corrupt or stale). Does not change the records of this catalogue.
   */
  async reconcile(): Promise<Reconciliation> {
    const listed = new Map<string, ObjectInfo>();
    for await (const object of this.provider.list(BACKUPS_PREFIX)) listed.set(object.key, object);
    const index = await this.readIndex();
    let state: IndexState = index.state;
    let reads = 0;
    const entries: IndexEntry[] = [];
    const skipped: SkippedObject[] = [];
    const work: (() => Promise<void>)[] = [];
    const seen = new Set<string>();

    for (const [key, zip] of listed) {
      const encrypted = key.endsWith('.zip.age') ? parseBackupKey(key.slice(0, -'.age'.length)) : null;
      const ids = encrypted ?? parseBackupKey(key);
      if (!ids) continue;
      seen.add(key);
      const zipPrint = fingerprint(zip)!;
      const stateKey = stateKeyOf(encrypted ? key.slice(0, -'.age'.length) : key)!;
      const statePrint = fingerprint(listed.get(stateKey));
      const cached = index.entries.get(key);
      if (cached && cached.zip === zipPrint && cached.state === statePrint) {
        entries.push(cached);
        continue;
      }
      const known = index.skipped.get(key);
      if (known && known.zip === zipPrint) {
        skipped.push(known);
        continue;
      }
      if (state === 'fresh') state = 'stale';
      if (encrypted) {
        skipped.push({
          key,
          zip: zipPrint,
          code: 'E_ENCRYPTION_KEY',
          message: 'an encrypted backup: the CLI reads unencrypted archives only',
        });
        continue;
      }
      work.push(async () => {
        reads++;
        const stateFile = statePrint === null ? null : await this.readState(stateKey, ids.backup_id);
        if (cached && cached.zip === zipPrint && stateFile) {
          entries.push({ key, zip: zipPrint, state: statePrint, record: withState(cached.record, stateFile) });
          return;
        }
        const read = await this.readRecord(key, ids, zip, stateFile);
        if ('record' in read) entries.push({ key, zip: zipPrint, state: statePrint, record: read.record });
        else skipped.push({ key, zip: zipPrint, code: read.code, message: read.message });
      });
    }
    await runLimited(work, this.options.concurrency ?? 4);
    if (state === 'fresh' && [...index.entries.keys(), ...index.skipped.keys()].some((k) => !seen.has(k))) state = 'stale';
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    skipped.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (state !== 'fresh') await this.writeIndex(entries, skipped);
    this.lastReconciliation = { records: entries.map((e) => structuredClone(e.record)), skipped, index: state, reads };
    return this.lastReconciliation;
  }

  /** After a command that changed state files: waits for them, then brings the index up to date. */
  async flush(): Promise<void> {
    await Promise.all(this.writes.values());
    if (!this.changed) return;
    this.changed = false;
    await this.reconcile();
  }

  // ---- BackupRepository ----

  async create(backup: Backup): Promise<Backup> {
    const created = await this.records.create(backup);
    await this.persist(created.id);
    return created;
  }

  get(id: string): Promise<Backup | null> {
    return this.records.get(id);
  }

  async update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup> {
    const updated = await this.records.update(id, patch, where);
    await this.persist(id);
    return updated;
  }

  list(filter: BackupFilter, page: PageRequest): Promise<{ items: Backup[]; total: number }> {
    return this.records.list(filter, page);
  }

  find(filter: BackupFilter): Promise<Backup[]> {
    return this.records.find(filter);
  }

  sumCompressedSize(filter: BackupFilter): Promise<number> {
    return this.records.sumCompressedSize(filter);
  }

  listEnvironmentIds(filter?: BackupFilter): Promise<string[]> {
    return this.records.listEnvironmentIds(filter);
  }

  // ---- storage ----

  /** Queues a write of the record's state file (or its removal, once its keys are cleared) and waits for it. */
  private persist(id: string): Promise<void> {
    const previous = this.writes.get(id) ?? Promise.resolve();
    const next = previous.then(() => this.writeState(id));
    this.writes.set(id, next);
    return next;
  }

  private async writeState(id: string): Promise<void> {
    const record = await this.records.get(id);
    if (!record) return;
    const stateKey = record.database_key ? stateKeyOf(record.database_key) : null;
    const before = this.stateKeys.get(id);
    try {
      if (record.status === 'completed' && stateKey) {
        const body = `${JSON.stringify(stateOf(record), null, 2)}\n`;
        await this.provider.upload(stateKey, Readable.from([Buffer.from(body)]), { contentType: 'application/json' });
        this.stateKeys.set(id, stateKey);
        this.changed = true;
      } else if (record.database_key === null && before) {
        await this.provider.delete(before);
        this.stateKeys.delete(id);
        this.changed = true;
      }
    } catch (error) {
      this.options.onWarning?.(
        `could not write the state of backup ${id} (${error instanceof Error ? error.message : String(error)}); its ZIP stays the record of it`,
      );
    }
  }

  private async readState(key: string, backupId: string): Promise<BackupState | null> {
    const text = await readText(this.provider, key);
    return text === null ? null : parseState(text, backupId);
  }

  private async readRecord(
    key: string,
    ids: BackupKeyIds,
    zip: ObjectInfo,
    state: BackupState | null,
  ): Promise<{ record: Backup } | { code: string; message: string }> {
    let manifest;
    try {
      manifest = await readBackupManifest(this.provider, key);
    } catch (error) {
      // Not a backup we can read (corrupt, foreign, a newer format): reported, never deleted.
      if (isBackupSdkError(error) && !error.code.startsWith('E_STORAGE')) return { code: error.code, message: error.message };
      throw error;
    }
    if (manifest.backup_id !== ids.backup_id || manifest.environment_id !== ids.environment_id) {
      return {
        code: 'E_MANIFEST_INVALID',
        message: `its manifest names backup ${manifest.backup_id} of environment ${manifest.environment_id}, not the ${ids.backup_id} of ${ids.environment_id} its key says`,
      };
    }
    return { record: recordFromStorage(ids, key, zip, manifest, state, this.options.storageConfigId) };
  }

  private async readIndex(): Promise<{ state: IndexState; entries: Map<string, IndexEntry>; skipped: Map<string, SkippedObject> }> {
    const empty = { entries: new Map<string, IndexEntry>(), skipped: new Map<string, SkippedObject>() };
    const text = await readText(this.provider, INDEX_KEY);
    if (text === null) return { state: 'missing', ...empty };
    try {
      const file = JSON.parse(text) as Partial<IndexFile>;
      if (
        file.format !== 'odoo-backup-index' ||
        file.version !== 1 ||
        !Array.isArray(file.backups) ||
        !Array.isArray(file.skipped) ||
        !file.backups.every(isIndexEntry) ||
        !file.skipped.every(isSkipped)
      )
        return { state: 'corrupt', ...empty };
      return {
        state: 'fresh',
        entries: new Map(file.backups.map((e) => [e.key, e])),
        skipped: new Map(file.skipped.map((s) => [s.key, s])),
      };
    } catch {
      return { state: 'corrupt', ...empty };
    }
  }

  private async writeIndex(backups: IndexEntry[], skipped: SkippedObject[]): Promise<void> {
    const file: IndexFile = {
      format: 'odoo-backup-index',
      version: 1,
      written_at: (this.options.now?.() ?? new Date()).toISOString(),
      backups,
      skipped,
    };
    try {
      await this.provider.upload(INDEX_KEY, Readable.from([Buffer.from(`${JSON.stringify(file)}\n`)]), {
        contentType: 'application/json',
      });
    } catch (error) {
      // The index is a cache: the next run rebuilds what this one could not write.
      this.options.onWarning?.(`could not write ${INDEX_KEY} (${error instanceof Error ? error.message : String(error)})`);
    }
  }
}
