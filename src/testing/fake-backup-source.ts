import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { SourceConfig } from '../domain/source-config.js';
import { AbortedError, SourceError } from '../errors/errors.js';
import type {
  BackupSource,
  BackupSourceFactory,
  DatabaseFacts,
  DatabaseSnapshot,
  DumpOptions,
  FilestoreOptions,
  OpenSnapshotOptions,
  SourceStream,
  SourceStreamOptions,
} from '../ports/backup-source.js';

/** Which stream a {@link FakeSourceFault} hits: `snapshot` fails {@link FakeBackupSource.openSnapshot} (mode `error` only). */
export type FakeSourcePart = 'dump' | 'filestore' | 'snapshot';

/** The facts a {@link FakeBackupSource}'s snapshots report by default: PostgreSQL 15.18, Odoo 17.0 with base, web and mail. */
export const FAKE_DATABASE_FACTS: Readonly<DatabaseFacts> = Object.freeze({
  serverVersionNum: 150018,
  modules: Object.freeze({ base: '17.0.1.3', mail: '17.0.1.15', web: '17.0.1.0' }),
  rowCounts: Object.freeze({ ir_module_module: 3, res_partner: 42 }),
});

/** One snapshot a {@link FakeBackupSource} opened. */
export interface FakeSnapshotRecord {
  id: string;
  recordRowCounts: boolean;
  /** Whether `close()` was called. */
  closed: boolean;
}

/** A fault the next streams of a {@link FakeBackupSource} will hit. */
export interface FakeSourceFault {
  /** Which stream fails (default `dump`). */
  part?: FakeSourcePart;
  /** `error`: the tool exits non-zero (default); `hang`: no more bytes until aborted. */
  mode?: 'error' | 'hang';
  /** Fail after this many bytes were produced (default 0: before any byte). */
  afterBytes?: number;
  /** Whether the error says a retry may help (default false). */
  transient?: boolean;
  /** How many streams of that part fail (default 1). */
  times?: number;
  /** Exit code reported (default 1). */
  exitCode?: number;
  /** Stderr tail reported (default a pg_dump- or tar-like message). */
  stderr?: string;
}

/** Options of {@link FakeBackupSource}. */
export interface FakeBackupSourceOptions {
  /** Bytes of the dump (default 256 KiB). */
  dumpSize?: number;
  /** Bytes of the filestore tarball; `null` means the folder does not exist (default 128 KiB). */
  filestoreSize?: number | null;
  /** Seed of the deterministic bytes (default `fake`). Different seeds give different bytes. */
  seed?: string;
  /** Chunk size of the streams (default 64 KiB). */
  chunkSize?: number;
  /** Name for messages (default `fake`). */
  kind?: string;
  /**
   * What snapshots report (default {@link FAKE_DATABASE_FACTS}; `modules: null` for a database
   * that is not Odoo's); `rowCounts` is reported only when asked. `null`: the source has no
   * `openSnapshot`, like a host's source written before it existed.
   */
  facts?: DatabaseFacts | null;
}

const BLOCK = 64 * 1024;

function block(seed: string): Buffer {
  const out = Buffer.alloc(BLOCK);
  let h = createHash('sha256').update(seed).digest();
  for (let i = 0; i < BLOCK; i += 32) {
    h.copy(out, i);
    h = createHash('sha256').update(h).digest();
  }
  return out;
}

/**
 * Deterministic pseudo-random bytes: `size` bytes for `seed`, streamed in `chunkSize` chunks.
 * The same arguments always give the same bytes (so tests can compute expected checksums).
 */
export function fakeBytes(seed: string, size: number, chunkSize = BLOCK): Readable {
  const base = block(seed);
  let offset = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (offset >= size) return void this.push(null);
      const n = Math.min(chunkSize, size - offset);
      this.push(chunkAt(base, offset, n));
      offset += n;
    },
  });
}

function chunkAt(base: Buffer, offset: number, n: number): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  for (let i = 0; i < n;) {
    const pos = (offset + i) % BLOCK;
    const take = Math.min(BLOCK - pos, n - i);
    base.copy(chunk, i, pos, pos + take);
    // Stamp the block number so repeated blocks differ.
    if (pos === 0 && take >= 4) chunk.writeUInt32LE(((offset + i) / BLOCK) >>> 0, i);
    i += take;
  }
  return chunk;
}

/** SHA-256 (lowercase hex) and size of {@link fakeBytes}(seed, size). */
export async function fakeBytesChecksum(seed: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fakeBytes(seed, size)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface ArmedFault extends Required<Omit<FakeSourceFault, 'stderr' | 'exitCode'>> {
  stderr: string | undefined;
  exitCode: number;
}

/**
 * A {@link BackupSource} for users' unit tests: deterministic dump and filestore bytes of a
 * configurable size, a missing filestore (`filestoreSize: null`), and injectable faults
 * (fail the next N dumps, transient or not, optionally after some bytes; hang until aborted).
 * Counts what it started and what is still running, so tests can assert nothing was left.
 */
export class FakeBackupSource implements BackupSource {
  readonly kind: string;
  readonly options: Required<Omit<FakeBackupSourceOptions, 'filestoreSize' | 'facts'>> & { filestoreSize: number | null };
  /** Snapshots opened, oldest first. */
  readonly snapshots: FakeSnapshotRecord[] = [];
  /** `snapshot` passed to each {@link dumpDatabase}, in order. */
  readonly dumpSnapshots: (string | undefined)[] = [];
  /** Present unless built with `facts: null`. */
  readonly openSnapshot?: (options?: OpenSnapshotOptions) => Promise<DatabaseSnapshot>;
  /** Streams started, per part. */
  readonly started = { dump: 0, filestore: 0 };
  /** Compression levels passed to {@link dumpDatabase}, in order. */
  readonly compressionLevels: (number | undefined)[] = [];
  /** Compression levels passed to {@link archiveFilestore}, in order. */
  readonly filestoreCompressionLevels: (number | undefined)[] = [];
  /** Times {@link close} was called. */
  closeCount = 0;
  private live = new Set<SourceStream>();
  private faults: ArmedFault[] = [];

  constructor(options: FakeBackupSourceOptions = {}) {
    this.kind = options.kind ?? 'fake';
    this.options = {
      dumpSize: options.dumpSize ?? 256 * 1024,
      filestoreSize: options.filestoreSize === undefined ? 128 * 1024 : options.filestoreSize,
      seed: options.seed ?? 'fake',
      chunkSize: options.chunkSize ?? BLOCK,
      kind: this.kind,
    };
    const facts = options.facts === undefined ? FAKE_DATABASE_FACTS : options.facts;
    if (facts !== null) this.openSnapshot = (o) => this.snapshot(facts, o ?? {});
  }

  private async snapshot(facts: DatabaseFacts, options: OpenSnapshotOptions): Promise<DatabaseSnapshot> {
    const fault = this.takeFault('snapshot');
    if (fault)
      throw new SourceError('E_SOURCE_PSQL', `psql failed (exit code ${fault.exitCode}): ${fault.stderr ?? 'psql: injected failure'}`, {
        transient: fault.transient,
        details: { exit_code: fault.exitCode, stderr_tail: fault.stderr ?? 'psql: injected failure', phase: 'snapshot', source: this.kind },
      });
    if (options.signal?.aborted) throw new AbortedError(`psql (${this.kind} source)`, options.signal.reason);
    const record: FakeSnapshotRecord = {
      id: `00000003-${(this.snapshots.length + 1).toString(16).toUpperCase().padStart(8, '0')}-1`,
      recordRowCounts: options.recordRowCounts === true,
      closed: false,
    };
    this.snapshots.push(record);
    const { rowCounts, ...rest } = facts;
    const reported: DatabaseFacts = {
      ...rest,
      modules: rest.modules === null ? null : { ...rest.modules },
      ...(record.recordRowCounts ? { rowCounts: { ...(rowCounts ?? {}) } } : {}),
    };
    return {
      id: record.id,
      facts: Promise.resolve(reported),
      close: async () => {
        record.closed = true;
      },
    };
  }

  /** Streams still producing (neither ended nor aborted). */
  get running(): number {
    return this.live.size;
  }

  /** Arms a fault for the next stream(s) of a part. */
  injectFault(fault: FakeSourceFault = {}): this {
    this.faults.push({
      part: fault.part ?? 'dump',
      mode: fault.mode ?? 'error',
      afterBytes: fault.afterBytes ?? 0,
      transient: fault.transient ?? false,
      times: fault.times ?? 1,
      exitCode: fault.exitCode ?? 1,
      stderr: fault.stderr,
    });
    return this;
  }

  /** The seed of a part's bytes (for computing expected checksums with {@link fakeBytesChecksum}). */
  seedOf(part: FakeSourcePart): string {
    return `${this.options.seed}:${part}`;
  }

  /** Expected SHA-256 of the dump and the filestore (null when missing). */
  async expectedChecksums(): Promise<{ dump: string; filestore: string | null }> {
    return {
      dump: await fakeBytesChecksum(this.seedOf('dump'), this.options.dumpSize),
      filestore: this.options.filestoreSize === null ? null : await fakeBytesChecksum(this.seedOf('filestore'), this.options.filestoreSize),
    };
  }

  async dumpDatabase(options: DumpOptions = {}): Promise<SourceStream> {
    this.compressionLevels.push(options.compressionLevel);
    this.dumpSnapshots.push(options.snapshot);
    this.started.dump++;
    return this.stream('dump', this.options.dumpSize, options);
  }

  async archiveFilestore(options: FilestoreOptions = {}): Promise<SourceStream | null> {
    this.filestoreCompressionLevels.push(options.compressionLevel);
    if (this.options.filestoreSize === null) return null;
    this.started.filestore++;
    return this.stream('filestore', this.options.filestoreSize, options);
  }

  async close(): Promise<void> {
    this.closeCount++;
  }

  /** Snapshots opened and not closed. */
  get openSnapshots(): number {
    return this.snapshots.filter((s) => !s.closed).length;
  }

  private takeFault(part: FakeSourcePart): ArmedFault | undefined {
    const i = this.faults.findIndex((f) => f.part === part);
    if (i < 0) return undefined;
    const fault = this.faults[i]!;
    if (--fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }

  private stream(part: 'dump' | 'filestore', size: number, options: SourceStreamOptions): SourceStream {
    const tool = part === 'dump' ? 'pg_dump' : 'tar';
    const fault = this.takeFault(part);
    const base = block(this.seedOf(part));
    const chunkSize = this.options.chunkSize;
    let produced = 0;
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    done.catch(() => undefined); // the pipeline may never await a stream it aborted
    let finished = false;
    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      this.live.delete(handle);
      if (error) settle.reject(error);
      else settle.resolve();
    };
    const failure = () =>
      new SourceError(
        part === 'dump' ? 'E_SOURCE_PG_DUMP' : 'E_SOURCE_TAR',
        `${tool} failed (exit code ${fault!.exitCode}): ${fault!.stderr ?? `${tool}: injected failure`}`,
        {
          transient: fault!.transient,
          details: {
            exit_code: fault!.exitCode,
            stderr_tail: fault!.stderr ?? `${tool}: injected failure`,
            phase: part,
            source: this.kind,
          },
        },
      );
    let hung = false;
    const out = new Readable({
      highWaterMark: chunkSize,
      read: () => {
        if (hung || finished) return;
        if (fault && produced >= fault.afterBytes) {
          if (fault.mode === 'hang') {
            hung = true;
            return;
          }
          // A tool that fails closes its output and exits non-zero: the stream ends, `done` rejects.
          out.push(null);
          finish(failure());
          return;
        }
        if (produced >= size) {
          out.push(null);
          finish();
          return;
        }
        let n = Math.min(chunkSize, size - produced);
        if (fault) n = Math.min(n, fault.afterBytes - produced);
        const chunk = chunkAt(base, produced, n);
        produced += n;
        out.push(chunk);
      },
    });
    const abort = () => {
      if (finished) return;
      out.destroy();
      finish(new AbortedError(`${tool} (${this.kind} source)`));
    };
    const handle: SourceStream = { stream: out, done, abort };
    this.live.add(handle);
    if (options.signal) {
      if (options.signal.aborted) abort();
      else options.signal.addEventListener('abort', abort, { once: true });
    }
    return handle;
  }
}

/** A {@link BackupSourceFactory} that hands out fake sources and remembers them. */
export interface FakeBackupSourceFactory extends BackupSourceFactory {
  /** Every source built so far, oldest first. */
  readonly sources: FakeBackupSource[];
  /** The configs it was called with. */
  readonly configs: SourceConfig[];
}

/**
 * Builds a {@link FakeBackupSourceFactory}. Pass a source to share one instance across calls
 * (to arm faults before the run), or options to build a fresh source for each call.
 */
export function fakeBackupSourceFactory(sourceOrOptions: FakeBackupSource | FakeBackupSourceOptions = {}): FakeBackupSourceFactory {
  const sources: FakeBackupSource[] = [];
  const configs: SourceConfig[] = [];
  const factory = ((config: SourceConfig) => {
    configs.push(config);
    const source = sourceOrOptions instanceof FakeBackupSource ? sourceOrOptions : new FakeBackupSource(sourceOrOptions);
    sources.push(source);
    return source;
  }) as unknown as FakeBackupSourceFactory;
  Object.defineProperty(factory, 'sources', { value: sources });
  Object.defineProperty(factory, 'configs', { value: configs });
  return factory;
}
