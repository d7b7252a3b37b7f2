import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import type { SourceConfig } from '../domain/source-config.js';
import { AbortedError, SourceError } from '../errors/errors.js';
import type {
  RestoreDumpOptions,
  RestoreStepOptions,
  RestoreTarget,
  RestoreTargetFactory,
  RestoreTargetFacts,
  RunSqlScriptOptions,
} from '../ports/restore-target.js';

/** The {@link RestoreTarget} methods a {@link FakeRestoreTarget} records and can fail. */
export type FakeRestoreTargetMethod = Exclude<keyof RestoreTarget, 'kind' | 'database' | 'filestorePath'>;

/** One call a {@link FakeRestoreTarget} received, in order. Stream arguments are recorded as `'<stream>'`. */
export interface FakeRestoreTargetCall {
  method: FakeRestoreTargetMethod;
  args: unknown[];
}

/** A fault armed with {@link FakeRestoreTarget.failOn}. */
export interface FakeRestoreTargetFault {
  /** `error`: the call rejects (default); `hang`: the call never settles until its signal aborts. */
  mode?: 'error' | 'hang';
  /** The error to reject with (default a {@link SourceError} `E_SOURCE` naming the method). */
  error?: Error;
  /** How many matching calls fail (default 1). */
  times?: number;
  /** Only calls whose arguments match fail (default: every call of the method). */
  when?: (args: unknown[]) => boolean;
}

/** A database of a {@link FakeRestoreTarget}. */
export interface FakeDatabase {
  /** The bytes restored into it (the dump it was filled from), empty when created empty. */
  content: Buffer;
  /** `ALLOW_CONNECTIONS`. */
  allowConnections: boolean;
  /** Open connections (see {@link FakeRestoreTarget.connect}); a database with connections cannot be renamed or dropped without FORCE. */
  connections: number;
}

/** Options of {@link FakeRestoreTarget}. */
export interface FakeRestoreTargetOptions {
  /** Name for messages (default `fake`). */
  kind?: string;
  /** The environment's own database (default `odoo`). */
  database?: string;
  /** The environment's own filestore folder (default `/filestore/<database>`); null for none. */
  filestorePath?: string | null;
  /** Databases present at the start, name to content. */
  databases?: Record<string, Buffer | string>;
  /** Folders present at the start, path to (relative file path to content). */
  folders?: Record<string, Record<string, Buffer | string>>;
  /** Facts {@link FakeRestoreTarget.inspect} reports (defaults: PostgreSQL 16, Odoo 17.0, a role that may create databases and owns them). */
  facts?: Partial<RestoreTargetFacts>;
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

function describeArg(arg: unknown): unknown {
  if (arg && typeof arg === 'object' && typeof (arg as Readable).pipe === 'function') return '<stream>';
  if (arg && typeof arg === 'object' && 'signal' in arg) {
    const { signal: _signal, ...rest } = arg as Record<string, unknown>;
    return rest;
  }
  return arg;
}

async function drain(stream: Readable, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const onAbort = () => stream.destroy(new AbortedError('restore step'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks);
}

/**
 * A {@link RestoreTarget} for users' unit tests: databases and filestore folders held in memory,
 * every call recorded in {@link calls}, and faults injectable per method ({@link failOn}).
 * It behaves like PostgreSQL where a restore depends on it: creating an existing database fails,
 * renaming onto an existing name fails, a database with open connections cannot be renamed until
 * {@link setAllowConnections}(name, false) terminated them, and a database that refuses
 * connections cannot be connected to ({@link connect}).
 *
 * `restoreDump` and `runSqlScript` append their input to the database's content; `extractFilestore` parses the
 * tar stream for real (with `tar-stream`) and stores each regular file under the folder.
 */
export class FakeRestoreTarget implements RestoreTarget {
  readonly kind: string;
  readonly database: string;
  readonly filestorePath: string | null;
  /** Databases by name. */
  readonly databases = new Map<string, FakeDatabase>();
  /** Folders by path: each maps a relative file path to its bytes. */
  readonly folders = new Map<string, Map<string, Buffer>>();
  /** Every call, in order. */
  readonly calls: FakeRestoreTargetCall[] = [];
  /** Facts reported by {@link inspect}; edit freely. */
  facts: Omit<RestoreTargetFacts, 'ownsDatabase'> & { ownsDatabase?: boolean | null };
  /** Times {@link close} was called. */
  closeCount = 0;
  private faults: (FakeRestoreTargetFault & { method: FakeRestoreTargetMethod; left: number })[] = [];

  constructor(options: FakeRestoreTargetOptions = {}) {
    this.kind = options.kind ?? 'fake';
    this.database = options.database ?? 'odoo';
    this.filestorePath = options.filestorePath === undefined ? `/filestore/${this.database}` : options.filestorePath;
    for (const [name, content] of Object.entries(options.databases ?? {})) {
      this.databases.set(name, { content: toBuffer(content), allowConnections: true, connections: 0 });
    }
    for (const [path, files] of Object.entries(options.folders ?? {})) {
      this.folders.set(path, new Map(Object.entries(files).map(([f, c]) => [f, toBuffer(c)])));
    }
    this.facts = {
      serverVersionNum: 160004,
      pgRestoreVersion: '16.4',
      role: 'odoo',
      canCreateDatabase: true,
      odooVersion: '17.0',
      filestoreFreeBytes: null,
      ...options.facts,
    };
  }

  /**
   * Arms a fault for the next call(s) of a method. Faults fire before the call has any effect,
   * so a failed `renameDatabase` renamed nothing.
   */
  failOn(method: FakeRestoreTargetMethod, fault: FakeRestoreTargetFault = {}): this {
    this.faults.push({ ...fault, method, left: fault.times ?? 1 });
    return this;
  }

  /** The calls of one method, in order. */
  callsOf(method: FakeRestoreTargetMethod): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** Opens a connection to a database (as Odoo would); throws when it is missing or refuses connections. */
  connect(name: string): void {
    const db = this.databases.get(name);
    if (!db) throw new SourceError('E_SOURCE', `database "${name}" does not exist`);
    if (!db.allowConnections) throw new SourceError('E_SOURCE', `database "${name}" is not currently accepting connections`);
    db.connections++;
  }

  /** SHA-256 of a database's content, or null when it does not exist: compare before and after. */
  databaseHash(name: string): string | null {
    const db = this.databases.get(name);
    return db ? createHash('sha256').update(db.content).digest('hex') : null;
  }

  /** SHA-256 over a folder's sorted file names and contents, or null when it does not exist. */
  folderHash(path: string): string | null {
    const folder = this.folders.get(path);
    if (!folder) return null;
    const hash = createHash('sha256');
    for (const name of [...folder.keys()].sort()) hash.update(name).update('\0').update(folder.get(name)!).update('\0');
    return hash.digest('hex');
  }

  async inspect(options?: RestoreStepOptions): Promise<RestoreTargetFacts> {
    await this.enter('inspect', [options]);
    const ownsDatabase = this.facts.ownsDatabase !== undefined ? this.facts.ownsDatabase : this.databases.has(this.database) ? true : null;
    return { ...this.facts, ownsDatabase };
  }

  async databaseExists(name: string, options?: RestoreStepOptions): Promise<boolean> {
    await this.enter('databaseExists', [name, options]);
    return this.databases.has(name);
  }

  async createDatabase(name: string, options?: RestoreStepOptions): Promise<void> {
    await this.enter('createDatabase', [name, options]);
    if (this.databases.has(name)) throw new SourceError('E_SOURCE', `database "${name}" already exists`);
    this.databases.set(name, { content: Buffer.alloc(0), allowConnections: true, connections: 0 });
  }

  async dropDatabase(name: string, options?: RestoreStepOptions): Promise<void> {
    await this.enter('dropDatabase', [name, options]);
    this.databases.delete(name); // WITH (FORCE): connections are terminated
  }

  async renameDatabase(from: string, to: string, options?: RestoreStepOptions): Promise<void> {
    await this.enter('renameDatabase', [from, to, options]);
    const db = this.databases.get(from);
    if (!db) throw new SourceError('E_SOURCE', `database "${from}" does not exist`);
    if (this.databases.has(to)) throw new SourceError('E_SOURCE', `database "${to}" already exists`);
    if (db.connections > 0) throw new SourceError('E_SOURCE', `database "${from}" is being accessed by other users`);
    this.databases.delete(from);
    this.databases.set(to, db);
  }

  async setAllowConnections(name: string, allow: boolean, options?: RestoreStepOptions): Promise<void> {
    await this.enter('setAllowConnections', [name, allow, options]);
    const db = this.databases.get(name);
    if (!db) throw new SourceError('E_SOURCE', `database "${name}" does not exist`);
    db.allowConnections = allow;
    if (!allow) db.connections = 0;
  }

  async listDump(dump: Readable, options?: RestoreStepOptions): Promise<string> {
    await this.enter('listDump', [dump, options], dump);
    const bytes = await drain(dump, options?.signal);
    if (bytes.length === 0) throw new SourceError('E_SOURCE_PG_RESTORE', 'pg_restore: error: input file is too short');
    return `;\n; Archive of ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}\n;\n`;
  }

  async restoreDump(database: string, dump: Readable, options?: RestoreDumpOptions): Promise<void> {
    await this.enter('restoreDump', [database, dump, options], dump);
    const db = this.databases.get(database);
    if (!db) {
      dump.destroy();
      throw new SourceError('E_SOURCE_PG_RESTORE', `pg_restore: error: database "${database}" does not exist`);
    }
    db.content = Buffer.concat([db.content, await drain(dump, options?.signal)]);
  }

  /** Appends the script's bytes to the database's content (the fake runs no SQL; tests read what was sent). */
  async runSqlScript(database: string, script: Readable, options?: RunSqlScriptOptions): Promise<void> {
    await this.enter('runSqlScript', [database, script, options], script);
    const db = this.databases.get(database);
    if (!db) {
      script.destroy();
      throw new SourceError('E_SOURCE_PSQL', `psql: error: database "${database}" does not exist`);
    }
    db.content = Buffer.concat([db.content, await drain(script, options?.signal)]);
  }

  async extractFilestore(folder: string, tar: Readable, options?: RestoreStepOptions): Promise<void> {
    await this.enter('extractFilestore', [folder, tar, options], tar);
    if (this.folders.has(folder)) {
      tar.destroy();
      throw new SourceError('E_SOURCE_TAR', `folder ${folder} already exists`);
    }
    const files = new Map<string, Buffer>();
    const extractor = tarExtract();
    const onAbort = () => tar.destroy(new AbortedError('tar -x'));
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const parsed = tar.pipe(extractor);
      tar.once('error', (e) => extractor.destroy(e));
      for await (const entry of parsed) {
        const body = await drain(entry as unknown as Readable);
        if (entry.header.type === 'file') files.set(entry.header.name.replace(/^\.\//, ''), body);
      }
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
    }
    // Created only once the whole tarball was read, as a rename of a complete folder would be.
    this.folders.set(folder, files);
  }

  async pathExists(path: string, options?: RestoreStepOptions): Promise<boolean> {
    await this.enter('pathExists', [path, options]);
    if (this.folders.has(path)) return true;
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return [...this.folders.keys()].some((p) => p.startsWith(prefix));
  }

  /** A number per database object, kept across renames (as PostgreSQL's OID is); not recorded in {@link calls}. */
  async databaseIdentity(name: string): Promise<string | null> {
    const db = this.databases.get(name);
    return db ? `fake-db:${identityOf(db)}` : null;
  }

  /** A number per folder, kept across renames (as an inode is); not recorded in {@link calls}. */
  async pathIdentity(path: string): Promise<string | null> {
    const folder = this.folders.get(path);
    return folder ? `fake-folder:${identityOf(folder)}` : null;
  }

  async renamePath(from: string, to: string, options?: RestoreStepOptions): Promise<void> {
    await this.enter('renamePath', [from, to, options]);
    const folder = this.folders.get(from);
    if (!folder) throw new SourceError('E_SOURCE', `mv: cannot stat '${from}': No such file or directory`);
    if (this.folders.has(to)) throw new SourceError('E_SOURCE', `mv: cannot move '${from}' to '${to}': Directory not empty`);
    this.folders.delete(from);
    this.folders.set(to, folder);
  }

  async removePath(path: string, options?: RestoreStepOptions): Promise<void> {
    await this.enter('removePath', [path, options]);
    const prefix = `${path.replace(/\/+$/, '')}/`;
    for (const key of [...this.folders.keys()]) if (key === path || key.startsWith(prefix)) this.folders.delete(key);
  }

  async close(): Promise<void> {
    this.calls.push({ method: 'close', args: [] });
    this.closeCount++;
  }

  private async enter(method: FakeRestoreTargetMethod, args: unknown[], stream?: Readable): Promise<void> {
    const shown = args.filter((a) => a !== undefined).map(describeArg);
    this.calls.push({ method, args: shown });
    const options = args.find((a): a is RestoreStepOptions => !!a && typeof a === 'object' && 'signal' in a);
    const signal = options?.signal;
    if (signal?.aborted) {
      stream?.destroy();
      throw new AbortedError(`${method} (${this.kind} target)`);
    }
    const i = this.faults.findIndex((f) => f.method === method && (!f.when || f.when(shown)));
    if (i < 0) return;
    const fault = this.faults[i]!;
    if (--fault.left <= 0) this.faults.splice(i, 1);
    stream?.resume(); // a failing tool stops reading: let the producer finish or see the pipe close
    if (fault.mode === 'hang') {
      await new Promise<never>((_, reject) => {
        const onAbort = () => reject(new AbortedError(`${method} (${this.kind} target)`));
        if (!signal) return; // hangs forever, as a stuck tool would
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    throw fault.error ?? new SourceError('E_SOURCE', `${method} failed: injected failure (${this.kind} target)`, { details: { method } });
  }
}

/** A {@link RestoreTargetFactory} that hands out one shared {@link FakeRestoreTarget} and remembers the configs. */
export interface FakeRestoreTargetFactory extends RestoreTargetFactory {
  /** The configs it was called with. */
  readonly configs: SourceConfig[];
}

/**
 * Builds a {@link FakeRestoreTargetFactory}: every call returns `target`, or the target `pick`
 * chooses for the config (e.g. by `config.database`).
 */
export function fakeRestoreTargetFactory(
  target: FakeRestoreTarget | ((config: SourceConfig) => FakeRestoreTarget),
): FakeRestoreTargetFactory {
  const configs: SourceConfig[] = [];
  const factory = ((config: SourceConfig) => {
    configs.push(config);
    return typeof target === 'function' ? target(config) : target;
  }) as unknown as FakeRestoreTargetFactory;
  Object.defineProperty(factory, 'configs', { value: configs });
  return factory;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;
/** A stable number per object: what a rename keeps. */
function identityOf(object: object): number {
  let id = identities.get(object);
  if (id === undefined) identities.set(object, (id = nextIdentity++));
  return id;
}
