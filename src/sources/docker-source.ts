import { posix } from 'node:path';
import { resolveSecret, type DockerSource } from '../domain/source-config.js';
import type { CommandRunner, CommandSpec } from '../ports/command-runner.js';
import type { SourceCommands } from './command-backup-source.js';
import { ValidationError } from '../errors/errors.js';
import { probeFolder } from './folder-probe.js';
import { pgDumpArgs } from './pg-dump-command.js';
import { psqlSessionArgs, PSQL_SESSION_ENV } from './snapshot-session.js';
import { DEFAULT_FILESTORE_COMPRESSION_LEVEL, gzipToolOnce } from './gzip-tool.js';
import { isInside, relativePathProblem } from './source-identifiers.js';
import { tarArgs, type TarCompression } from './tar-command.js';

/** Defaults of a {@link DockerSource}. */
export const DOCKER_DEFAULTS = { db_user: 'odoo', filestore_root: '/var/lib/odoo/filestore', docker_bin: 'docker' } as const;

/**
 * `docker exec [-e PGPASSWORD] -- <db_container> pg_dump -Fc [-Z<level>] --username=<user>
 * --no-password --dbname=dbname='<db>'`: the product's `docker exec {env}_db pg_dump -U odoo -Fc -Z9 {db}`
 * with the database passed so no name is misread. With a password, `-e PGPASSWORD` (no value)
 * makes docker copy it from the client's environment: it never appears on a command line.
 */
export function dockerDumpArgv(
  config: DockerSource,
  compressionLevel: number | undefined,
  withPassword: boolean,
  snapshot?: string,
): string[] {
  const docker = config.docker_bin ?? DOCKER_DEFAULTS.docker_bin;
  const env = withPassword ? ['-e', 'PGPASSWORD'] : [];
  const args = pgDumpArgs({
    database: config.database,
    user: config.db_user ?? DOCKER_DEFAULTS.db_user,
    compressionLevel,
    ...(snapshot !== undefined ? { snapshot } : {}),
  });
  return [docker, 'exec', ...env, '--', config.db_container, 'pg_dump', ...args];
}

/**
 * `docker exec -i [-e PGPASSWORD] -e PGCLIENTENCODING -- <db_container> psql <session args>`: the
 * snapshot session, fed its statements on stdin (`-i`).
 */
export function dockerPsqlSessionArgv(config: DockerSource, env: Readonly<Record<string, string>>): string[] {
  const docker = config.docker_bin ?? DOCKER_DEFAULTS.docker_bin;
  const names = Object.keys(env).flatMap((name) => ['-e', name]);
  const args = psqlSessionArgs({ database: config.database, user: config.db_user ?? DOCKER_DEFAULTS.db_user });
  return [docker, 'exec', '-i', ...names, '--', config.db_container, 'psql', ...args];
}

/**
 * The filestore folder inside the Odoo container: `<filestore_root>/<database>`. Throws a
 * `ValidationError` when the database name would lead outside the root (`..`, an absolute name):
 * `checkSourceConfig` refuses those first; this is the last guard before a command gets the path.
 */
export function dockerFilestorePath(config: DockerSource): string {
  const root = posix.normalize(config.filestore_root ?? DOCKER_DEFAULTS.filestore_root);
  const problem = relativePathProblem(config.database);
  const path = posix.join(root, String(config.database));
  if (problem || !isInside(root, path) || path === root)
    throw new ValidationError([{ field: 'database', message: problem ?? 'must name a folder inside the filestore root' }]);
  return path;
}

/**
 * `docker exec -- <odoo_container> tar -czf - -C <filestore_root> -- <db>`: the product's filestore
 * command (`--` ends docker's options before the container name); with `compression`, gzipped
 * by igzip in the container, or a plain tar this process gzips (see {@link tarArgs}).
 */
export function dockerTarArgv(config: DockerSource, compression?: TarCompression): string[] {
  const docker = config.docker_bin ?? DOCKER_DEFAULTS.docker_bin;
  dockerFilestorePath(config);
  return [
    docker,
    'exec',
    '--',
    config.odoo_container,
    'tar',
    ...tarArgs(config.filestore_root ?? DOCKER_DEFAULTS.filestore_root, config.database, compression),
  ];
}

/** Where a {@link DockerSource}'s `docker` commands run. */
export interface DockerCommandsOptions {
  runner: CommandRunner;
  ownsRunner?: boolean;
  /** For messages (`on odoo@vm:22`); the container is added. */
  where?: string;
  kind?: string;
}

/** The commands of a {@link DockerSource}; the filestore is probed with `docker exec <odoo> test -d`. */
export function dockerSourceCommands(config: DockerSource, options: DockerCommandsOptions): SourceCommands {
  const { runner } = options;
  const docker = config.docker_bin ?? DOCKER_DEFAULTS.docker_bin;
  const suffix = options.where ? ` ${options.where}` : '';
  const gzipTool = gzipToolOnce(runner, [docker, 'exec', '--', config.odoo_container]);
  return {
    kind: options.kind ?? 'docker',
    runner,
    ownsRunner: options.ownsRunner,
    async dumpCommand(compressionLevel, snapshot) {
      const password = await resolveSecret(config.password);
      const spec: CommandSpec = { argv: dockerDumpArgv(config, compressionLevel, password !== undefined, snapshot) };
      if (password !== undefined) spec.env = { PGPASSWORD: password };
      return { spec, secrets: password ? [password] : [], where: `in container ${config.db_container}${suffix}` };
    },
    async snapshotCommand() {
      const password = await resolveSecret(config.password);
      const env = { ...PSQL_SESSION_ENV, ...(password !== undefined ? { PGPASSWORD: password } : {}) };
      const spec: CommandSpec = { argv: dockerPsqlSessionArgv(config, env), env, input: true };
      return { spec, secrets: password ? [password] : [], where: `in container ${config.db_container}${suffix}` };
    },
    async filestoreCommand(signal, level = DEFAULT_FILESTORE_COMPRESSION_LEVEL) {
      const where = `in container ${config.odoo_container}${suffix}`;
      const exists = await probeFolder(runner, [docker, 'exec', '--', config.odoo_container], dockerFilestorePath(config), {
        where,
        signal,
      });
      if (!exists) return null;
      const compression = { gzip: await gzipTool(level, signal), level };
      return { spec: { argv: dockerTarArgv(config, compression) }, compression, where };
    },
  };
}
