import { posix } from 'node:path';
import { resolveSecret, type DockerSource, type LocalSource } from '../domain/source-config.js';
import type { CommandRunner } from '../ports/command-runner.js';
import type { PgClient, RestoreCommands } from './command-restore-target.js';
import { DOCKER_DEFAULTS, dockerFilestorePath } from './docker-source.js';
import { findPgTool } from './find-pg-tool.js';

/** Where a restore target's commands run and how it was built. */
export interface RestorePlaceOptions {
  runner: CommandRunner;
  ownsRunner?: boolean;
  /** True when `runner` is another machine (SSH): programs come from `pg_bin_dir` or the remote PATH. */
  remote?: boolean;
  /** For messages, e.g. `on odoo@vm:22`. */
  where?: string;
  /** The kind reported (`local`, `docker`, or `ssh` on the far side). */
  kind?: string;
}

/**
 * The restore commands of a {@link LocalSource}: `psql` / `pg_restore` against host, port and user
 * (password in PGPASSWORD), file utilities and `tar -x` on the same host. The filestore root is
 * the folder holding `filestore_path`.
 */
export function localRestoreCommands(config: LocalSource, options: RestorePlaceOptions): RestoreCommands {
  const { runner, remote = false, where } = options;
  const place = {
    spec: (argv: readonly string[], o: { input?: boolean; env?: Readonly<Record<string, string>> } = {}) => ({
      argv,
      env: o.env,
      input: o.input,
    }),
    where,
  };
  const filestorePath = config.filestore_path ? posix.normalize(config.filestore_path).replace(/(.)\/$/, '$1') : null;
  return {
    kind: options.kind ?? 'local',
    runner,
    ownsRunner: options.ownsRunner,
    database: config.connection.database,
    filestorePath,
    filestoreRoot: filestorePath === null ? null : posix.dirname(filestorePath),
    db: place,
    files: place,
    async pgClient(program): Promise<PgClient> {
      const path = remote ? (config.pg_bin_dir ? posix.join(config.pg_bin_dir, program) : program) : findPgTool(program, config.pg_bin_dir);
      const { host, port, user } = config.connection;
      const connection: string[] = [];
      if (host) connection.push(`--host=${host}`);
      if (port !== undefined) connection.push(`--port=${port}`);
      if (user) connection.push(`--username=${user}`);
      connection.push('--no-password');
      const password = await resolveSecret(config.connection.password);
      return {
        program: path,
        connection,
        secrets: password ? [password] : [],
        ...(password !== undefined ? { env: { PGPASSWORD: password } } : {}),
      };
    },
  };
}

/**
 * The restore commands of a {@link DockerSource}: `docker exec [-i] [-e PGPASSWORD] <db_container>
 * psql|pg_restore --username=<user>` (the staging file of `jobs > 1` lives in that container's
 * temp area), `docker exec [-i] <odoo_container> mkdir|tar -x|mv|rm` for the filestore, whose root
 * is `filestore_root`.
 */
export function dockerRestoreCommands(config: DockerSource, options: RestorePlaceOptions): RestoreCommands {
  const docker = config.docker_bin ?? DOCKER_DEFAULTS.docker_bin;
  const suffix = options.where ? ` ${options.where}` : '';
  const inContainer = (container: string) => ({
    spec(argv: readonly string[], o: { input?: boolean; env?: Readonly<Record<string, string>> } = {}) {
      // `-e NAME` without a value: docker copies it from its own environment, never from argv.
      const env = Object.keys(o.env ?? {}).flatMap((name) => ['-e', name]);
      // `--` ends docker's options before the container name.
      return { argv: [docker, 'exec', ...(o.input ? ['-i'] : []), ...env, '--', container, ...argv], env: o.env, input: o.input };
    },
    where: `in container ${container}${suffix}`,
  });
  return {
    kind: options.kind ?? 'docker',
    runner: options.runner,
    ownsRunner: options.ownsRunner,
    database: config.database,
    filestorePath: dockerFilestorePath(config),
    filestoreRoot: posix.normalize(config.filestore_root ?? DOCKER_DEFAULTS.filestore_root).replace(/(.)\/$/, '$1'),
    db: inContainer(config.db_container),
    files: inContainer(config.odoo_container),
    async pgClient(program): Promise<PgClient> {
      const password = await resolveSecret(config.password);
      return {
        program,
        connection: [`--username=${config.db_user ?? DOCKER_DEFAULTS.db_user}`, '--no-password'],
        secrets: password ? [password] : [],
        ...(password !== undefined ? { env: { PGPASSWORD: password } } : {}),
      };
    },
  };
}
