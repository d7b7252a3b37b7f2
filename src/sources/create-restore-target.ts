import type { SourceConfig } from '../domain/source-config.js';
import type { CommandRunner } from '../ports/command-runner.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import { CommandRestoreTarget } from './command-restore-target.js';
import { LocalCommandRunner } from './local-command-runner.js';
import { dockerRestoreCommands, localRestoreCommands } from './restore-places.js';
import { checkSourceConfig } from './source-config-check.js';
import { SshCommandRunner, type SshCommandRunnerOptions } from './ssh-command-runner.js';

/** Options of {@link createRestoreTarget}. */
export interface CreateRestoreTargetOptions {
  /** Runs the commands instead of the default (local for `local`/`docker`, SSH for `ssh`); not closed by the target. */
  runner?: CommandRunner;
  /** Keepalive tuning of the SSH connection. */
  ssh?: SshCommandRunnerOptions;
}

/**
 * The SDK's {@link RestoreTarget} for a source config (a `RestoreTargetFactory`), reached the
 * same ways as its `BackupSource`:
 *
 * - `local`: `psql` / `pg_restore` on this host against host/port/user (password in PGPASSWORD;
 *   admin statements connect to the `postgres` database), `mkdir`, `tar -x`, `mv`, `rm` here.
 * - `docker`: `docker exec -i <db_container> psql|pg_restore` and `docker exec -i <odoo_container> tar -x ...`.
 * - `ssh`: the `local` or `docker` commands on the far side of an SSH connection (host key verified).
 *
 * Folders are created, renamed and removed only inside the folder holding the filestore. Throws a
 * `ValidationError` for a bad config before anything runs. Close the target to release its SSH connection.
 */
export function createRestoreTarget(config: SourceConfig, options: CreateRestoreTargetOptions = {}): RestoreTarget {
  checkSourceConfig(config);
  const given = options.runner;
  switch (config.kind) {
    case 'local':
      return new CommandRestoreTarget(localRestoreCommands(config, { runner: given ?? new LocalCommandRunner(), ownsRunner: !given }));
    case 'docker':
      return new CommandRestoreTarget(dockerRestoreCommands(config, { runner: given ?? new LocalCommandRunner(), ownsRunner: !given }));
    case 'ssh': {
      const runner = given ?? new SshCommandRunner(config.ssh, options.ssh);
      const where = `on ${config.ssh.username}@${config.ssh.host}:${config.ssh.port ?? 22}`;
      const common = { runner, ownsRunner: !given, where, kind: 'ssh' };
      return new CommandRestoreTarget(
        config.remote.kind === 'local'
          ? localRestoreCommands(config.remote, { ...common, remote: true })
          : dockerRestoreCommands(config.remote, common),
      );
    }
  }
}
