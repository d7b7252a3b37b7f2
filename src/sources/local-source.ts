import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { resolveSecret, type LocalSource } from '../domain/source-config.js';
import { SourceError } from '../errors/errors.js';
import type { CommandRunner, CommandSpec } from '../ports/command-runner.js';
import type { SourceCommands } from './command-backup-source.js';
import { findPgTool } from './find-pg-tool.js';
import { DEFAULT_FILESTORE_COMPRESSION_LEVEL, gzipToolOnce } from './gzip-tool.js';
import { probeFolder } from './folder-probe.js';
import { pgDumpArgs } from './pg-dump-command.js';
import { psqlSessionArgs, PSQL_SESSION_ENV } from './snapshot-session.js';
import { splitFolder, tarArgs } from './tar-command.js';

/** Where a {@link LocalSource}'s commands run. */
export interface LocalCommandsOptions {
  runner: CommandRunner;
  ownsRunner?: boolean;
  /**
   * True when `runner` is another machine (SSH): pg_dump is then `pg_bin_dir/pg_dump` or
   * `pg_dump` from the remote PATH, and the filestore is probed there with `test -d`.
   */
  remote?: boolean;
  /** For messages, e.g. `on odoo@vm:22`. */
  where?: string;
  /** The source kind reported (`local`, or `ssh` for a local source on the far side). */
  kind?: string;
}

/**
 * The commands of a {@link LocalSource}: `pg_dump -Fc [-Z<level>] --host --port --username
 * --no-password --dbname=dbname='<db>'` with the password in PGPASSWORD (environment, never
 * argv), and `tar -cf - -C <parent> -- <folder>` of the filestore folder, gzipped by igzip when
 * the host has it, else in this process (see {@link tarArgs}).
 */
export function localSourceCommands(config: LocalSource, options: LocalCommandsOptions): SourceCommands {
  const { runner, remote = false, where } = options;
  const gzipTool = gzipToolOnce(runner);
  // pg_dump and psql come from one PostgreSQL client install: pg_bin_dir, else PATH (and, on this host, Debian's folders).
  const program = (name: 'pg_dump' | 'psql') =>
    remote ? (config.pg_bin_dir ? posix.join(config.pg_bin_dir, name) : name) : findPgTool(name, config.pg_bin_dir);
  return {
    kind: options.kind ?? 'local',
    runner,
    ownsRunner: options.ownsRunner,
    async dumpCommand(compressionLevel, snapshot) {
      const { host, port, user, database } = config.connection;
      const password = await resolveSecret(config.connection.password);
      const args = pgDumpArgs({ database, host, port, user, compressionLevel, ...(snapshot !== undefined ? { snapshot } : {}) });
      const spec: CommandSpec = { argv: [program('pg_dump'), ...args] };
      if (password !== undefined) spec.env = { PGPASSWORD: password };
      return { spec, secrets: password ? [password] : [], where };
    },
    async snapshotCommand() {
      const { host, port, user, database } = config.connection;
      const password = await resolveSecret(config.connection.password);
      const env = { ...PSQL_SESSION_ENV, ...(password !== undefined ? { PGPASSWORD: password } : {}) };
      const spec: CommandSpec = { argv: [program('psql'), ...psqlSessionArgs({ database, host, port, user })], env, input: true };
      return { spec, secrets: password ? [password] : [], where };
    },
    async filestoreCommand(signal, level = DEFAULT_FILESTORE_COMPRESSION_LEVEL) {
      if (config.filestore_path === null || config.filestore_path === undefined) return null;
      const { parent, name } = splitFolder(config.filestore_path);
      const exists = remote
        ? await probeFolder(runner, [], config.filestore_path, { where, signal })
        : await localFolderExists(config.filestore_path);
      if (!exists) return null;
      const compression = { gzip: await gzipTool(level, signal), level };
      return { spec: { argv: ['tar', ...tarArgs(parent, name, compression)] }, compression, where };
    },
  };
}

async function localFolderExists(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isDirectory())
      throw new SourceError('E_SOURCE_TAR', `The filestore path ${path} is not a folder`, { details: { phase: 'filestore_probe', path } });
    return true;
  } catch (error) {
    if (error instanceof SourceError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new SourceError(
      'E_SOURCE_TAR',
      `Cannot access the filestore folder ${path}: ${code === 'EACCES' ? 'permission denied' : (error as Error).message}`,
      {
        details: { phase: 'filestore_probe', path, errno: code },
        cause: error,
      },
    );
  }
}
