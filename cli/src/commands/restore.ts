import { ValidationError, type EnvironmentResolver, type SdkEvent, type Task } from 'odoo-backup-sdk';
import { FileTaskRepository } from '../file-task-repository.js';
import { formatBytes } from '../output.js';
import { startProgress } from '../progress.js';
import { openCommandSession } from '../session.js';
import { sourceConfig, type ConfigFile, type LocalSourceFlags } from '../settings.js';
import { noEnvironments, recordedFailure, resolveBackupId, singleEnvironment, type CommandContext } from './context.js';

/** The flags of `restore`. */
export interface RestoreFlags extends Omit<LocalSourceFlags, 'db'> {
  storageRoot?: string;
  db?: string;
  newDatabase?: string;
  replace?: boolean;
  yes?: boolean;
  stateDir: string;
  recover?: boolean;
  jobs: number;
}

/**
 * `odoo-backup restore ID --new-database NAME`: restores the backup into a new database (and its
 * filestore beside the environment's, `<filestore parent>/NAME`), verified while it is written.
 * `--replace --yes` restores over the environment's own database and filestore: a pre-restore
 * backup first, then a journaled swap rolled back on any failure, its task and journal kept in
 * `--state-dir`. `restore --recover` finishes or rolls back replace restores a crash interrupted.
 * Prints the restore's `Task` (or the recovery report).
 */
export async function restoreCommand(
  id: string | undefined,
  flags: RestoreFlags,
  config: ConfigFile,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  if (!flags.recover) {
    if (!id)
      throw new ValidationError([{ field: 'id', message: 'is required: the backup to restore (an id or a prefix of 8+ characters)' }]);
    if (Boolean(flags.newDatabase) === Boolean(flags.replace))
      throw new ValidationError([{ field: 'mode', message: 'give exactly one of --new-database NAME and --replace' }]);
    if (flags.replace && !flags.yes)
      throw new ValidationError([
        { field: 'yes', message: "--replace overwrites the environment's database and filestore: add --yes to confirm" },
      ]);
  }
  let environments: EnvironmentResolver = noEnvironments;
  const sourceFor = (database: string) => sourceConfig({ ...flags, db: database }, config, ctx.env);
  let progress = startProgress(out, 'restore');
  const onEvent = (event: SdkEvent) => {
    if (event.type !== 'restore.progress') return;
    const d = event.data;
    const figures = d.bytes_total > 0 ? `${formatBytes(d.bytes_done)} of ${formatBytes(d.bytes_total)}` : formatBytes(d.bytes_done);
    progress.update(d.phase, figures);
  };
  const session = await openCommandSession(flags.storageRoot, config, ctx, {
    environments: { resolve: (environmentId) => environments.resolve(environmentId) },
    events: { emit: onEvent },
    tasks: new FileTaskRepository(flags.stateDir),
  });
  let ok = false;
  try {
    const { sdk, catalogue } = session;
    if (flags.recover) {
      if (flags.db) {
        // Recovery resolves the environment it rolls back: the one --db and the source flags describe.
        const environmentIds = await catalogue.listEnvironmentIds();
        const found = await Promise.all(environmentIds.map(async (e) => (await catalogue.find({ environment_id: e }))[0]));
        const backup = found.find((b) => b?.environment_snapshot?.environment.db_name === flags.db) ?? found[0];
        if (backup)
          environments = singleEnvironment({
            environmentId: backup.environment_id,
            organizationId: backup.organization_id,
            projectId: backup.project_id,
            database: flags.db,
            source: sourceFor(flags.db),
          });
      }
      const report = await sdk.restores.recoverStale();
      ok = true;
      await progress.end(true);
      out.result(report, () => JSON.stringify(report, null, 2));
      return 0;
    }
    const backupId = await resolveBackupId(catalogue, id!);
    const backup = (await catalogue.get(backupId))!;
    const database = flags.db ?? backup.environment_snapshot?.environment.db_name;
    if (!database) throw new ValidationError([{ field: 'db', message: "is required: the environment's database (--db NAME)" }]);
    environments = singleEnvironment({
      environmentId: backup.environment_id,
      organizationId: backup.organization_id,
      projectId: backup.project_id,
      database,
      source: sourceFor(database),
    });
    await progress.end(true);
    progress = startProgress(out, `restore ${backupId.slice(0, 8)}`);
    sdk.restores.startWorker({ concurrency: 1 });
    const includeFilestore = flags.filestore !== false && backup.include_filestore;
    const task = await sdk.restores.restoreBackup(
      backupId,
      flags.newDatabase
        ? // A move (as_copy: false): the database keeps its Odoo identity under its new name.
          { mode: 'new_database', database_name: flags.newDatabase, include_filestore: includeFilestore, jobs: flags.jobs, as_copy: false }
        : { mode: 'replace', include_filestore: includeFilestore, jobs: flags.jobs },
    );
    out.info(`restore ${task.id} started (backup ${backupId})`);
    const cancel = () => void sdk.restores.cancelRestore(task.id).catch(() => undefined);
    if (ctx.signal.aborted) cancel();
    else ctx.signal.addEventListener('abort', cancel, { once: true });
    const ended: Task = await sdk.restores.waitForRestore(task.id);
    ctx.signal.removeEventListener('abort', cancel);
    if (ended.status !== 'completed') {
      const error = (ended.result?.error ?? {}) as { code?: unknown; message?: unknown; details?: Record<string, unknown> };
      throw recordedFailure(error.code, typeof error.message === 'string' ? error.message : (ended.error_message ?? 'restore failed'), {
        ...(error.details ?? {}),
        task_id: ended.id,
      });
    }
    ok = true;
    await progress.end(true);
    out.result(ended, () =>
      flags.newDatabase
        ? `restored backup ${backupId} into database ${flags.newDatabase}`
        : `restored backup ${backupId} over ${database} (task ${ended.id})`,
    );
    return 0;
  } finally {
    if (!ok) await progress.end(false);
    await session.close();
  }
}
