import { AbortedError } from '../errors/errors.js';
import type {
  BackupSource,
  DatabaseSnapshot,
  DumpOptions,
  FilestoreOptions,
  OpenSnapshotOptions,
  SourceStream,
} from '../ports/backup-source.js';
import type { CommandRunner, CommandSpec } from '../ports/command-runner.js';
import { checkFilestoreCompressionLevel } from './gzip-tool.js';
import { gzipInProcess } from './in-process-gzip.js';
import { checkCompressionLevel, checkSnapshotId } from './pg-dump-command.js';
import { asDumpError, openSnapshotSession } from './snapshot-session.js';
import type { TarCompression } from './tar-command.js';
import { startToolStream } from './tool-stream.js';

/** How a {@link CommandBackupSource} builds its two commands. */
export interface SourceCommands {
  /** `local`, `docker`, `ssh`. */
  kind: string;
  runner: CommandRunner;
  /** Close the runner with the source (true when the source created it). */
  ownsRunner?: boolean;
  /**
   * The `pg_dump` command, the secrets it carries (to redact from its messages) and where it
   * runs, for messages (`in container x_db`, `on odoo@vm:22`).
   */
  dumpCommand(compressionLevel: number | undefined, snapshot?: string): Promise<{ spec: CommandSpec; secrets: string[]; where?: string }>;
  /**
   * A psql session on the same database, as the same role, reading statements from stdin
   * (`input: true`, `psqlSessionArgs`): the snapshot session.
   */
  snapshotCommand(): Promise<{ spec: CommandSpec; secrets: string[]; where?: string }>;
  /**
   * The `tar` command for `compressionLevel` (default `DEFAULT_FILESTORE_COMPRESSION_LEVEL`), the
   * compression it was built for (igzip where the host has it, found once per source; else
   * `zlib-adaptive`: a plain tar this process gzips) and where it runs, or null when there is no
   * filestore folder.
   */
  filestoreCommand(
    signal?: AbortSignal,
    compressionLevel?: number,
  ): Promise<{ spec: CommandSpec; compression: TarCompression; where?: string } | null>;
}

/**
 * A {@link BackupSource} that runs `pg_dump` and `tar` through a {@link CommandRunner}: the local,
 * docker and ssh sources differ only in the commands and the runner.
 */
export class CommandBackupSource implements BackupSource {
  readonly kind: string;
  private closed = false;

  constructor(private readonly commands: SourceCommands) {
    this.kind = commands.kind;
  }

  async dumpDatabase(options: DumpOptions = {}): Promise<SourceStream> {
    checkCompressionLevel(options.compressionLevel);
    checkSnapshotId(options.snapshot);
    const { spec, secrets, where } = await this.commands.dumpCommand(options.compressionLevel, options.snapshot);
    return startToolStream({ runner: this.commands.runner, spec, tool: 'pg_dump', phase: 'dump', where, secrets, signal: options.signal });
  }

  async openSnapshot(options: OpenSnapshotOptions = {}): Promise<DatabaseSnapshot> {
    // psql missing from pg_bin_dir is found here, before the session starts: the same failure of the dump.
    const { spec, secrets, where } = await this.commands.snapshotCommand().catch((error: unknown) => {
      throw asDumpError(error);
    });
    return openSnapshotSession({
      runner: this.commands.runner,
      spec,
      secrets,
      ...(where !== undefined ? { where } : {}),
      ...(options.recordRowCounts ? { recordRowCounts: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async archiveFilestore(options: FilestoreOptions = {}): Promise<SourceStream | null> {
    checkFilestoreCompressionLevel(options.compressionLevel, 'compressionLevel');
    let command: Awaited<ReturnType<SourceCommands['filestoreCommand']>>;
    try {
      command = await this.commands.filestoreCommand(options.signal, options.compressionLevel);
    } catch (error) {
      throw options.signal?.aborted ? new AbortedError('tar', options.signal.reason) : error;
    }
    if (!command) return null;
    const tar = await startToolStream({
      runner: this.commands.runner,
      spec: command.spec,
      tool: 'tar',
      phase: 'filestore',
      where: command.where,
      signal: options.signal,
    });
    const { gzip, level } = command.compression;
    const compressor = { tool: gzip.tool, level, ...('version' in gzip ? { version: gzip.version } : {}) };
    return gzip.tool === 'zlib-adaptive' ? { ...gzipInProcess(tar, level), compressor } : { ...tar, compressor };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.commands.ownsRunner) await this.commands.runner.close();
  }
}
