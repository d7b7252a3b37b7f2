import type { SourceConfig } from '../domain/source-config.js';
import type { BackupSource } from '../ports/backup-source.js';
import type { CommandRunner } from '../ports/command-runner.js';
import { CommandBackupSource } from './command-backup-source.js';
import { dockerSourceCommands } from './docker-source.js';
import { LocalCommandRunner } from './local-command-runner.js';
import { localSourceCommands } from './local-source.js';
import { checkSourceConfig } from './source-config-check.js';
import { SshCommandRunner, type SshCommandRunnerOptions } from './ssh-command-runner.js';

/** Options of {@link createBackupSource}. */
export interface CreateBackupSourceOptions {
  /**
   * Runs the commands instead of the default (a `LocalCommandRunner` for `local` and
   * `docker`, an `SshCommandRunner` for `ssh`). The source does not close a runner given here.
   */
  runner?: CommandRunner;
  /** Keepalive tuning of the SSH connection. */
  ssh?: SshCommandRunnerOptions;
}

/**
 * The SDK's {@link BackupSource} for a source config (a `BackupSourceFactory`):
 *
 * - `local`: `pg_dump` on this host against host/port/user, password in PGPASSWORD; `tar` of a local folder.
 * - `docker`: `docker exec <db_container> pg_dump ...` and `docker exec <odoo_container> tar ...`.
 * - `ssh`: the `local` or `docker` commands run on the far side of an SSH connection (host key verified).
 *
 * Throws a `ValidationError` for a bad config before anything runs. Close the source to release
 * its SSH connection.
 */
export function createBackupSource(config: SourceConfig, options: CreateBackupSourceOptions = {}): BackupSource {
  checkSourceConfig(config);
  const given = options.runner;
  switch (config.kind) {
    case 'local':
      return new CommandBackupSource(localSourceCommands(config, { runner: given ?? new LocalCommandRunner(), ownsRunner: !given }));
    case 'docker':
      return new CommandBackupSource(dockerSourceCommands(config, { runner: given ?? new LocalCommandRunner(), ownsRunner: !given }));
    case 'ssh': {
      const runner = given ?? new SshCommandRunner(config.ssh, options.ssh);
      const where = `on ${config.ssh.username}@${config.ssh.host}:${config.ssh.port ?? 22}`;
      const common = { runner, ownsRunner: !given, where, kind: 'ssh' };
      return new CommandBackupSource(
        config.remote.kind === 'local'
          ? localSourceCommands(config.remote, { ...common, remote: true })
          : dockerSourceCommands(config.remote, common),
      );
    }
  }
}
