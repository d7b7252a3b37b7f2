import type { Backup, Task } from '../../domain/entities.js';
import { classifyRetention, DEFAULT_RETENTION } from '../../domain/retention-classification.js';
import { isInside, parentFolder, restoreNames } from '../../domain/restore-names.js';
import type { RestoreRequest } from '../../domain/restore-request.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { AbortedError, CancelledError, NotFoundError, ValidationError } from '../../errors/errors.js';
import { RestoreError } from '../../errors/restore-error.js';
import type { EnvironmentResolver, ResolvedEnvironment } from '../../ports/environment-resolver.js';
import type { JobContext } from '../../ports/job-queue.js';
import type { RestoreTarget, RestoreTargetFactory } from '../../ports/restore-target.js';
import type { StorageProvider } from '../../ports/storage-provider.js';
import type { RestoreArchiveOptions, RestoreArchiveResult, RestoreProgress } from '../../pipeline/restore-runner.js';
import type { BackupExecutor } from '../backup/backup-job.js';
import {
  errorDetailsOf,
  errorMessageOf,
  moveBackup,
  moveTask,
  objectKeyOf,
  removeLeftoverObject,
  safeNotify,
  type LifecycleDeps,
} from '../backup/backup-lifecycle.js';
import { startJobDeadline } from '../shared/job-timeout.js';
import { newBackupRecord } from '../backup/new-backup-record.js';
import { checkTargetFacts, checkVersions } from './restore-compatibility.js';
import { assertCanCopy, copyIdentity, makeCopy } from './copy-identity.js';
import { hasBegun, journalOf, JournalWriter, type RestoreJournal, type RestoreStep } from './restore-journal.js';
import { dropPrevious, performSwap, rollBack, type RestoreHooks, type RestoreSwapContext } from './restore-swap.js';
import type { TaskCompletionHub } from '../shared/task-completion.js';
import type { KeyProvider } from '../../ports/key-provider.js';
import { encryptedArchiveOptions } from '../shared/backup-identities.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { removeUploadedSource, restoreImportToTemp, type ImportedToTemp } from './import-source.js';
import type { ImportSourceRecord } from './restore-journal.js';

/** The queue name of restore jobs. */
export const RESTORE_JOB_NAME = 'restore';

/** Default time limit of a restore job: six hours (a restore also runs a pre-restore backup). */
export const DEFAULT_RESTORE_TIMEOUT_MS = 6 * 3_600_000;

/** What a restore job carries. Only `task_id` is needed; the rest is for people inspecting the queue and for the job's first journal. */
export interface RestoreJobPayload {
  task_id: string;
  /** The backup to restore; null for an import, which names its `source`. */
  backup_id: string | null;
  /** An import's file (absent for a restore of a backup). */
  source?: ImportSourceRecord | null;
  /** An import's `allow_privileged_role`. */
  allow_privileged_role?: boolean;
  target_environment_id: string;
  request: RestoreRequest;
  user_id: string | null;
}

/** What a restore job returns. */
export interface RestoreJobResult {
  success: boolean;
  task_id: string;
  /** Set when the job had nothing to do: the task was cancelled or ended before it ran, or a previous delivery's crash was recovered. */
  skipped?: 'cancelled' | 'already_ended' | 'recovered';
}

/** Progress of the archive restore: the pipeline's {@link RestoreProgress}. */
export type RestoreArchiveProgress = RestoreProgress;

/** The arguments the restore service passes to the archive restore pipeline: `restoreArchive`'s options but the limits. */
export type RestoreArchiveCall = Omit<RestoreArchiveOptions, 'limits'>;

/** What the archive restore pipeline reports: `restoreArchive`'s {@link RestoreArchiveResult}. */
export type RestoreArchiveOutcome = RestoreArchiveResult;

/**
 * The archive restore pipeline: verifies the whole archive while restoring it into a temporary
 * database and folder it creates, and drops them on any failure. `restoreArchive` of
 * src/pipeline; replaceable for tests.
 */
export type RestoreArchiveFn = (call: RestoreArchiveCall) => Promise<RestoreArchiveOutcome>;

/** What {@link runRestoreJob} needs. */
export interface RestoreJobDeps extends LifecycleDeps {
  environments: EnvironmentResolver;
  targets: RestoreTargetFactory;
  restoreArchive: RestoreArchiveFn;
  /** Runs the pre-restore backup through the pipeline, inside the restore job. */
  backupRunner: BackupExecutor;
  hooks: RestoreHooks;
  jobTimeoutMs: number;
  ids: () => string;
  /** Abort controllers of the restores running in this process, by task id (for `cancelRestore`). */
  running: Map<string, AbortController>;
  completions?: TaskCompletionHub;
  /** Identities of encrypted backups. */
  keys?: KeyProvider;
  /** Schedules the pre-restore backup's second copy when its policy names a secondary storage. Never throws. */
  scheduleCopy?: (backup: Backup) => Promise<unknown>;
}

/**
 * The restore job handler: checks, verifies while restoring into temporaries, takes the
 * pre-restore backup, swaps, cleans up; every step journaled on the task first. On any failure
 * the target is put back (see `rollBack`), the temporaries dropped, the task failed with the
 * error's code and the pre-restore backup's id in `result.error.details`, and the error rethrown
 * (restore jobs are never retried: the queue dead-letters it).
 */
export async function runRestoreJob(deps: RestoreJobDeps, payload: RestoreJobPayload, ctx: JobContext): Promise<RestoreJobResult> {
  const task = await deps.tasks.get(payload.task_id);
  if (!task) throw new NotFoundError('task', payload.task_id, { details: { job_id: ctx.jobId } });
  if (task.status === 'failed') {
    // Cancelled while queued: a file uploaded for it goes now.
    if (!journalOf(task)) await removeUploadedSource(deps, payload.source);
    return { success: false, task_id: task.id, skipped: journalOf(task) ? 'already_ended' : 'cancelled' };
  }
  if (task.status === 'completed') return { success: true, task_id: task.id, skipped: 'already_ended' };
  if (task.status === 'running') {
    // Delivered again after the worker running it died (queues deliver at least once): put the
    // target back from the journal rather than start over on top of a half-done restore.
    await recoverRestoreTask(deps, task, 'The worker running this restore stopped; its job was delivered again');
    return { success: false, task_id: task.id, skipped: 'recovered' };
  }

  const cancel = new AbortController();
  deps.running.set(task.id, cancel);
  const outer = new AbortController();
  const forward = (s: AbortSignal) => () => outer.abort(s.reason);
  const onCtx = forward(ctx.signal);
  const onCancel = forward(cancel.signal);
  if (ctx.signal.aborted) outer.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onCtx, { once: true });
  cancel.signal.addEventListener('abort', onCancel, { once: true });
  const deadline = startJobDeadline(deps.clock, deps.jobTimeoutMs, `Restore ${task.id}`, outer.signal);

  const now = deps.clock.now().toISOString();
  const running = await moveTask(
    deps,
    task,
    { status: 'running', started_at: now, attempts: ctx.attempt, error_message: null },
    'Restore started',
  );
  let target: RestoreTarget | null = null;
  let writer: JournalWriter | null = null;
  let swapContext: RestoreSwapContext | null = null;
  try {
    const backup = payload.backup_id === null ? null : await deps.backups.get(payload.backup_id);
    if (payload.backup_id !== null && !backup) throw new NotFoundError('backup', payload.backup_id);
    const source = payload.source ?? null;
    if (!backup && !source) throw new NotFoundError('backup', String(payload.backup_id), { details: { task_id: task.id } });
    const env = await deps.environments.resolve(payload.target_environment_id);
    if (!env) throw new NotFoundError('environment', payload.target_environment_id);
    target = deps.targets(env.source);
    const journal = firstJournal(payload, backup, target, running.id);
    writer = new JournalWriter(deps, running, journal, { organization_id: env.organization_id, project_id: env.project_id });
    const w = writer;
    await w.set({});
    const step = stepRunner(deps, w);
    const signal = deadline.signal;

    // 2. Compatibility (the cheap part, before any byte moves): privileges, space, free names.
    const facts = await runStep(step, 'compatibility', async () => {
      const t = target!;
      const f = await t.inspect({ signal });
      if (journal.request.mode === 'replace' && !(await t.databaseExists(journal.target_database, { signal }))) {
        throw new RestoreError(
          'E_RESTORE_TARGET_MISSING',
          `Database ${journal.target_database} does not exist: replace mode restores over an existing database (use new_database mode)`,
          { details: { database: journal.target_database } },
        );
      }
      checkTargetFacts(f, {
        mode: journal.request.mode,
        database: journal.target_database,
        filestoreBytes: journal.target_folder ? (backup?.filestore_size ?? 0) : 0,
      });
      if (journal.request.mode === 'new_database') await assertFree(t, journal, signal);
      if (journal.request.as_copy) assertCanCopy(t);
      if (journal.request.mode === 'replace') {
        // What the swap will set aside, as it is now: checked again right before the swap acts.
        const hadFolder = journal.target_folder !== null ? await t.pathExists(journal.target_folder, { signal }) : null;
        await w.set({
          ...(journal.target_folder !== null ? { had_folder: hadFolder } : {}),
          identities: {
            database: (await t.databaseIdentity?.(journal.target_database, { signal })) ?? null,
            folder: hadFolder ? ((await t.pathIdentity?.(journal.target_folder!, { signal })) ?? null) : null,
            restored_database: null,
            restored_folder: null,
          },
        });
      }
      return f;
    });
    await checkCancel(w, signal);

    // 1. Verify the whole archive while restoring it into the temporaries (dropped on failure).
    const onProgress = (p: RestoreArchiveProgress) =>
      deps.events.emit({
        type: 'restore.progress',
        data: {
          task_id: running.id,
          backup_id: backup?.id ?? null,
          environment_id: env.environment_id,
          organization_id: env.organization_id,
          project_id: env.project_id,
          ...p,
          timestamp: deps.clock.now().toISOString(),
        },
      });
    const outcome = await runStep<ImportedToTemp>(step, 'verify', () =>
      backup
        ? restoreBackupToTemp(deps, backup, journal, target!, signal, onProgress)
        : restoreImportToTemp(source!, {
            storageConfigs: deps.storageConfigs,
            storageProviders: deps.storageProviders,
            secrets: deps.secrets,
            restoreArchive: deps.restoreArchive,
            target: target!,
            database: journal.names.temp_database,
            filestoreFolder: journal.names.temp_folder,
            jobs: journal.request.jobs,
            allowPrivilegedRole: payload.allow_privileged_role === true,
            force: journal.request.force,
            signal,
            onProgress,
          }),
    );
    const skipped = outcome.skipped ?? [];
    if (skipped.length > 0)
      warn(
        deps,
        'W_IMPORT_SKIPPED',
        running,
        env,
        `${skipped.length} member(s) of ${source!.key} were left out (an Odoo backup holds only dump.sql, manifest.json and filestore/): ${skipped.slice(0, 20).join(', ')}${skipped.length > 20 ? ', ...' : ''}`,
      );
    if (!backup && journal.names.temp_folder !== null && !(await target.pathExists(journal.names.temp_folder, { signal }))) {
      // The imported file had no filestore: the target's folder is left as it is.
      await w.set({ target_folder: null, names: { ...journal.names, temp_folder: null, aside_folder: null } });
    }
    await w.set({
      identities: {
        database: journal.identities?.database ?? null,
        folder: journal.identities?.folder ?? null,
        restored_database: (await target.databaseIdentity?.(journal.names.temp_database, { signal })) ?? null,
        restored_folder:
          journal.names.temp_folder !== null ? ((await target.pathIdentity?.(journal.names.temp_folder, { signal })) ?? null) : null,
      },
    });
    await w.mark('restored_to_temp');
    // 2, continued: the versions, now that the verified manifest says them.
    for (const message of checkVersions(outcome.versions, facts, env.odoo_version, journal.request.force))
      warn(deps, 'W_RESTORE_VERSION_UNKNOWN', running, env, message);
    await checkCancel(w, signal);

    // 2b. A copy gets its own identity, in the temporary database (a move keeps the original's).
    if (journal.request.as_copy) {
      await step('copy_identity', async () => {
        await makeCopy(target!, journal.names.temp_database, copyIdentity(deps.clock.now(), journal.request.base_url ?? null), signal);
      });
      await checkCancel(w, signal);
    }

    // 3. The pre-restore backup of the target, through the pipeline here (never via the queue).
    if (journal.request.pre_restore_backup) {
      await step('pre_restore_backup', () =>
        preRestoreBackup(deps, w, env, backup?.storage_config_id ?? source?.storage_config_id ?? null, payload.user_id, signal),
      );
      await checkCancel(w, signal);
    }

    // 4. The swap, between the host's hooks.
    swapContext = {
      task_id: running.id,
      environment_id: env.environment_id,
      mode: journal.request.mode,
      database: journal.target_database,
      folder: journal.target_folder,
      target,
    };
    const ctxForHooks = swapContext;
    await step('before_swap', async () => {
      // Only `replace` takes the environment offline; a new database leaves its Odoo running.
      if (ctxForHooks.mode === 'replace') await deps.hooks.beforeSwap?.(ctxForHooks);
    });
    await performSwap(target, journal, step);
    await step('after_swap', async () => {
      await safeAfterSwap(deps, ctxForHooks, 'swapped', running, env);
    });
    // Past this point the restore has happened: a failed cleanup is a warning, not a rollback.
    try {
      await step('cleanup', () => dropPrevious(target!, journal));
    } catch (error) {
      warn(
        deps,
        'W_RESTORE_CLEANUP_FAILED',
        running,
        env,
        `The restore succeeded but the previous database or folder could not be dropped: ${errorMessageOf(error)}`,
      );
    }

    journal.outcome = 'completed';
    const result = {
      restore: journal,
      database: journal.target_database,
      filestore_path: journal.target_folder,
      pre_restore_backup_id: journal.pre_restore_backup_id,
      database_bytes: outcome.database_bytes,
      filestore_bytes: outcome.filestore_bytes,
      filestore_entries: outcome.filestore_entries,
    };
    const what = backup ? `backup ${backup.id}` : `the ${source!.format} file ${source!.key}`;
    const ended = await moveTask(
      deps,
      w.current,
      { status: 'completed', completed_at: deps.clock.now().toISOString(), error_message: null, result },
      `${backup ? 'Restored' : 'Imported'} ${what} into ${journal.target_database}`,
    );
    deps.completions?.announce(ended.id);
    await notify(
      deps,
      'restore.succeeded',
      env,
      backup,
      `${backup ? 'Backup' : 'The file'} ${backup ? backup.id : source!.key} was ${backup ? 'restored' : 'imported'} into database ${journal.target_database} of environment ${env.environment_id}`,
    );
    return { success: true, task_id: running.id };
  } catch (thrown) {
    const error =
      deadline.timeoutError ??
      (cancel.signal.aborted ? new CancelledError(`Restore ${task.id}`, { details: { task_id: task.id } }) : thrown);
    const failure = await failRestore(deps, running, writer?.journal ?? null, target, error, swapContext);
    throw failure;
  } finally {
    deadline.dispose();
    ctx.signal.removeEventListener('abort', onCtx);
    cancel.signal.removeEventListener('abort', onCancel);
    deps.running.delete(task.id);
    await target?.close().catch(() => undefined);
    await removeUploadedSource(deps, payload.source);
  }
}

/** A backup's archive, verified while it is restored into the temporaries (the record's sizes and checksums cross-checked). */
async function restoreBackupToTemp(
  deps: RestoreJobDeps,
  backup: Backup,
  journal: RestoreJournal,
  target: RestoreTarget,
  signal: AbortSignal,
  onProgress: (p: RestoreArchiveProgress) => void,
): Promise<RestoreArchiveOutcome & { versions: RestoreArchiveOutcome['manifest'] }> {
  const from = journal.request.from ?? 'primary';
  const provider = await storageOf(deps, backup, from);
  try {
    const outcome = await deps.restoreArchive({
      storage: provider,
      key: from === 'copy' ? backup.copy_key! : objectKeyOf(backup),
      target,
      database: journal.names.temp_database,
      filestoreFolder: journal.target_folder === null ? null : journal.names.temp_folder,
      ...(await encryptedArchiveOptions(deps.keys, backup)),
      expected: {
        size: backup.compressed_size,
        database_checksum: backup.database_checksum,
        filestore_checksum: backup.filestore_checksum,
        ...(backup.encryption_recipients?.length ? { encryption_recipients: backup.encryption_recipients } : {}),
      },
      jobs: journal.request.jobs,
      signal,
      onProgress,
    });
    return { ...outcome, versions: outcome.manifest };
  } finally {
    await provider.close();
  }
}

/** Runs a journaled step that returns a value. */
async function runStep<T>(step: ReturnType<typeof stepRunner>, name: RestoreStep, work: () => Promise<T>): Promise<T> {
  let value!: T;
  await step(name, async () => {
    value = await work();
  });
  return value;
}

function stepRunner(deps: RestoreJobDeps, w: JournalWriter) {
  return async (step: RestoreStep, work: () => Promise<void>): Promise<void> => {
    await w.begin(step);
    await deps.hooks.onStep?.(step, { task_id: w.current.id, journal: w.journal });
    await work();
    await w.done(step);
  };
}

/** The journal a restore starts from: every name it will use, derived from the task id. */
function firstJournal(payload: RestoreJobPayload, backup: Backup | null, target: RestoreTarget, taskId: string): RestoreJournal {
  const request = payload.request;
  const replace = request.mode === 'replace';
  const database = replace ? target.database : request.database_name!;
  // An import's file may hold a filestore (pg_custom never does): what it holds is known once it was read.
  const wantsFilestore =
    request.include_filestore &&
    (backup ? backup.include_filestore && backup.filestore_checksum !== null : payload.source?.format !== 'pg_custom');
  let folder: string | null = null;
  if (wantsFilestore) {
    if (replace) folder = target.filestorePath;
    else if (request.filestore_path !== null) folder = request.filestore_path;
    else if (target.filestorePath !== null) folder = `${parentFolder(target.filestorePath)}/${database}`.replace(/^\/\//, '/');
  }
  if (!replace && request.filestore_path !== null && target.filestorePath !== null) {
    const root = parentFolder(target.filestorePath);
    if (!isInside(request.filestore_path, root)) {
      throw new ValidationError([{ field: 'filestore_path', message: `must be inside the filestore root ${root} of the target` }]);
    }
  }
  return {
    request,
    backup_id: backup?.id ?? null,
    ...(payload.source ? { source: payload.source } : {}),
    target_environment_id: payload.target_environment_id,
    target_database: database,
    target_folder: folder,
    names: restoreNames(taskId, database, folder),
    had_folder: null,
    pre_restore_backup_id: null,
    begun: [],
    done: [],
    cancel_requested: false,
    outcome: null,
    error: null,
  };
}

/** new_database mode: the name and folder must be free (checked again at request time and by PostgreSQL itself). */
async function assertFree(target: RestoreTarget, journal: RestoreJournal, signal: AbortSignal): Promise<void> {
  if (await target.databaseExists(journal.target_database, { signal })) {
    throw new RestoreError('E_RESTORE_TARGET_EXISTS', `Database ${journal.target_database} already exists: choose another database_name`, {
      details: { database: journal.target_database },
    });
  }
  if (journal.target_folder !== null && (await target.pathExists(journal.target_folder, { signal }))) {
    throw new RestoreError('E_RESTORE_TARGET_EXISTS', `Folder ${journal.target_folder} already exists: choose another filestore_path`, {
      details: { filestore_path: journal.target_folder },
    });
  }
}

async function checkCancel(w: JournalWriter, signal: AbortSignal): Promise<void> {
  const journal = await w.refresh();
  if (signal.aborted) throw signal.reason instanceof BackupSdkError ? signal.reason : new AbortedError('Restore', signal.reason);
  if (journal.cancel_requested) throw new CancelledError(`Restore ${w.current.id}`, { details: { task_id: w.current.id } });
}

async function storageOf(deps: RestoreJobDeps, backup: Backup, from: 'primary' | 'copy'): Promise<StorageProvider> {
  const configId = from === 'copy' ? backup.copy_storage_config_id : backup.storage_config_id;
  if (!configId || (from === 'copy' && !backup.copy_key))
    throw new RestoreError(
      'E_RESTORE_NOT_RESTORABLE',
      `Backup ${backup.id} has no ${from === 'copy' ? 'completed copy' : 'storage config'}`,
    );
  const config = await deps.storageConfigs.get(configId);
  if (!config) throw new NotFoundError('storage_config', configId, { details: { backup_id: backup.id } });
  return buildStorageProvider(deps.storageProviders, deps.secrets, config);
}

/**
 * Takes the pre-restore backup of the target environment: a `pre_restore` Backup record (task:
 * this restore's), run through the backup pipeline with verification, in this job.
 */
async function preRestoreBackup(
  deps: RestoreJobDeps,
  w: JournalWriter,
  env: ResolvedEnvironment,
  /** The storage config of what is restored: where the pre-restore backup goes when the organisation has no default. */
  restoredConfigId: string | null,
  actorId: string | null,
  signal: AbortSignal,
): Promise<void> {
  const config =
    (await deps.storageConfigs.getDefault(env.organization_id)) ??
    (restoredConfigId ? await deps.storageConfigs.get(restoredConfigId) : null);
  if (!config || config.organization_id !== env.organization_id) {
    throw new RestoreError(
      'E_RESTORE_PRE_BACKUP_FAILED',
      `Organisation ${env.organization_id} has no storage config for the pre-restore backup`,
    );
  }
  const now = deps.clock.now();
  const policy = deps.policies ? await deps.policies.getByEnvironment(env.environment_id) : null;
  const record = await deps.backups.create(
    newBackupRecord({
      id: deps.ids(),
      env,
      config,
      taskId: w.current.id,
      type: 'pre_restore',
      includeFilestore: true,
      retentionType: classifyRetention(now, policy ?? DEFAULT_RETENTION),
      at: now.toISOString(),
      actorId,
    }),
  );
  await w.set({ pre_restore_backup_id: record.id });
  let done: Backup;
  try {
    done = await deps.backupRunner.run(record.id, { signal, verify: true });
  } catch (error) {
    const current = await deps.backups.get(record.id);
    if (current && current.status !== 'failed' && current.status !== 'completed') {
      await moveBackup(deps, current, {
        status: 'failed',
        error_message: errorMessageOf(error),
        error_details: errorDetailsOf(error),
      }).catch(() => undefined);
    }
    throw new RestoreError('E_RESTORE_PRE_BACKUP_FAILED', `The pre-restore backup ${record.id} failed: ${errorMessageOf(error)}`, {
      details: { pre_restore_backup_id: record.id, cause: errorDetailsOf(error) },
      cause: error,
    });
  }
  if (!done.is_verified) {
    throw new RestoreError(
      'E_RESTORE_PRE_BACKUP_FAILED',
      `The pre-restore backup ${record.id} did not verify: ${done.verification_error ?? 'unknown reason'}`,
      {
        details: { pre_restore_backup_id: record.id },
      },
    );
  }
  // Its second copy runs on the queue, like any backup's: the restore does not wait for it.
  await deps.scheduleCopy?.(done);
}

/**
 * The failure path: puts the target back, drops the temporaries, fails the task with the error's
 * code and the pre-restore backup's id, notifies, and returns the typed error to throw.
 */
async function failRestore(
  deps: RestoreJobDeps,
  running: Task,
  journal: RestoreJournal | null,
  target: RestoreTarget | null,
  error: unknown,
  swapContext: RestoreSwapContext | null,
): Promise<BackupSdkError> {
  let rollbackError: unknown = null;
  if (journal && target) {
    try {
      await rollBack(target, journal);
    } catch (e) {
      rollbackError = e;
    }
  }
  const env = journal ? await deps.environments.resolve(journal.target_environment_id).catch(() => null) : null;
  if (swapContext && journal && hasBegun(journal, 'before_swap')) await safeAfterSwap(deps, swapContext, 'rolled_back', running, env);
  const failure = restoreFailure(error, journal, rollbackError);
  const current = (await deps.tasks.get(running.id)) ?? running;
  if (journal) {
    journal.outcome = rollbackError ? 'rollback_failed' : 'rolled_back';
    journal.error = { code: failure.code, message: failure.message, details: failure.details };
  }
  if (current.status === 'running') {
    const ended = await moveTask(
      deps,
      current,
      {
        status: 'failed',
        completed_at: deps.clock.now().toISOString(),
        error_message: failure.message,
        result: journal
          ? { restore: journal, error: journal.error }
          : { error: { code: failure.code, message: failure.message, details: failure.details } },
      },
      failure.message,
    ).catch(() => null);
    if (ended) deps.completions?.announce(ended.id);
  }
  const backup = journal?.backup_id ? await deps.backups.get(journal.backup_id).catch(() => null) : null;
  if (env && (backup || journal?.source)) await notify(deps, 'restore.failed', env, backup, failure.message);
  return failure;
}

/** The error a failed restore ends with: the cause's code, with where it stopped and the pre-restore backup's id. */
export function restoreFailure(error: unknown, journal: RestoreJournal | null, rollbackError: unknown): BackupSdkError {
  const details: Record<string, unknown> = {
    ...errorDetailsOf(error),
    pre_restore_backup_id: journal?.pre_restore_backup_id ?? null,
    step: journal?.begun.at(-1) ?? null,
    rolled_back: rollbackError === null,
  };
  if (rollbackError !== null) {
    return new RestoreError(
      'E_RESTORE_ROLLBACK_FAILED',
      `The restore failed (${errorMessageOf(error)}) and putting the target back failed too (${errorMessageOf(rollbackError)}): see details for where each database and folder is`,
      {
        details: { ...details, cause_code: details.code, rollback_error: errorDetailsOf(rollbackError), journal: structuredClone(journal) },
        cause: error,
      },
    );
  }
  const code = error instanceof BackupSdkError ? error.code : 'E_UNEXPECTED';
  return new BackupSdkError(code, `Restore failed, the target is as it was: ${errorMessageOf(error)}`, { details, cause: error });
}

async function safeAfterSwap(
  deps: RestoreJobDeps,
  context: RestoreSwapContext,
  outcome: 'swapped' | 'rolled_back',
  task: Task,
  env: ResolvedEnvironment | null,
): Promise<void> {
  if (context.mode !== 'replace') return; // beforeSwap did not run: nothing to start again
  try {
    await deps.hooks.afterSwap?.({ ...context, outcome });
  } catch (error) {
    warn(deps, 'W_RESTORE_HOOK_FAILED', task, env, `The afterSwap hook failed (${outcome}): ${errorMessageOf(error)}`);
  }
}

function warn(
  deps: Pick<LifecycleDeps, 'events' | 'clock'>,
  code: 'W_RESTORE_CLEANUP_FAILED' | 'W_RESTORE_HOOK_FAILED' | 'W_RESTORE_VERSION_UNKNOWN' | 'W_IMPORT_SKIPPED',
  task: Task,
  env: ResolvedEnvironment | null,
  message: string,
): void {
  deps.events.emit({
    type: 'warning',
    data: {
      code,
      message,
      task_id: task.id,
      ...(env ? { environment_id: env.environment_id, organization_id: env.organization_id, project_id: env.project_id } : {}),
      timestamp: deps.clock.now().toISOString(),
    },
  });
}

/** Sends `restore.succeeded` / `restore.failed` as backups' outcomes are: per the environment's policy (failures by default). */
async function notify(
  deps: RestoreJobDeps,
  kind: 'restore.succeeded' | 'restore.failed',
  env: ResolvedEnvironment,
  /** The backup restored; null for an import. */
  backup: Backup | null,
  message: string,
): Promise<void> {
  try {
    const policy = deps.policies ? await deps.policies.getByEnvironment(env.environment_id) : null;
    const wanted = kind === 'restore.succeeded' ? (policy?.notify_on_success ?? false) : (policy?.notify_on_failure ?? true);
    if (!wanted) return;
  } catch {
    // Unknown policy: send it, as a failure would be by default.
  }
  await safeNotify(deps, { kind, environment_id: env.environment_id, organization_id: env.organization_id, backup, message });
}

/**
 * Puts a restore whose worker died back to a safe end, from its journal: when its cleanup had
 * begun the restore had happened, so the cleanup is finished and the task completed; otherwise
 * the target is rolled back, the temporaries dropped and the task failed (`E_WORKER_LOST`).
 * Returns how it ended.
 */
export async function recoverRestoreTask(
  deps: RestoreJobDeps,
  task: Task,
  reason: string,
): Promise<'completed' | 'rolled_back' | 'rollback_failed' | 'failed'> {
  try {
    return await recoverFromJournal(deps, task, reason);
  } finally {
    // An import's uploaded file goes however the import ended (a job lost before it ran has no journal yet).
    await removeUploadedSource(deps, journalOf(task)?.source ?? (task.result as { source?: ImportSourceRecord } | null)?.source);
  }
}

async function recoverFromJournal(
  deps: RestoreJobDeps,
  task: Task,
  reason: string,
): Promise<'completed' | 'rolled_back' | 'rollback_failed' | 'failed'> {
  const journal = journalOf(task);
  const message = `${reason}; it was ${journal && hasBegun(journal, 'cleanup') ? 'finished' : 'rolled back'} by restore recovery at ${deps.clock.now().toISOString()}`;
  const endTask = async (patch: Partial<Task> & { status: 'completed' | 'failed' }) => {
    if (task.status === 'running' || task.status === 'queued' || task.status === 'pending') {
      const ended = await moveTask(deps, task, { completed_at: deps.clock.now().toISOString(), ...patch }, patch.error_message ?? message);
      deps.completions?.announce(ended.id);
    } else {
      // Already ended by someone else (backup recovery failed it): record the journal's outcome only.
      await deps.tasks.update(task.id, { result: patch.result ?? null }, { status: task.status });
    }
  };
  const lost = {
    code: 'E_WORKER_LOST',
    message,
    details: { pre_restore_backup_id: journal?.pre_restore_backup_id ?? null, step: journal?.begun.at(-1) ?? null },
  };
  if (!journal || journal.begun.length === 0) {
    await endTask({
      status: 'failed',
      error_message: message,
      result: { ...(journal ? { restore: { ...journal, outcome: 'rolled_back', error: lost } } : {}), error: lost },
    });
    return 'failed';
  }
  const env = await deps.environments.resolve(journal.target_environment_id);
  if (!env) throw new NotFoundError('environment', journal.target_environment_id);
  await failUnfinishedPreBackup(deps, journal, message);
  const target = deps.targets(env.source);
  try {
    if (hasBegun(journal, 'cleanup')) {
      await dropPrevious(target, journal);
      journal.outcome = 'completed';
      if (!journal.done.includes('cleanup')) journal.done.push('cleanup');
      await endTask({
        status: 'completed',
        error_message: null,
        result: {
          restore: journal,
          database: journal.target_database,
          filestore_path: journal.target_folder,
          pre_restore_backup_id: journal.pre_restore_backup_id,
        },
      });
      return 'completed';
    }
    try {
      await rollBack(target, journal);
    } catch (error) {
      // Another restore's objects stand at the target: trying again would not change that.
      if (!(error instanceof BackupSdkError && error.code === 'E_RESTORE_TARGET_CHANGED')) throw error;
      const failure = restoreFailure(new BackupSdkError('E_WORKER_LOST', message, { details: lost.details }), journal, error);
      journal.outcome = 'rollback_failed';
      journal.error = { code: failure.code, message: failure.message, details: failure.details };
      await endTask({ status: 'failed', error_message: failure.message, result: { restore: journal, error: journal.error } });
      const backup = journal.backup_id ? await deps.backups.get(journal.backup_id) : null;
      if (backup || journal.source) await notify(deps, 'restore.failed', env, backup, failure.message);
      return 'rollback_failed';
    }
    journal.outcome = 'rolled_back';
    journal.error = lost;
    await endTask({ status: 'failed', error_message: message, result: { restore: journal, error: lost } });
    if (hasBegun(journal, 'before_swap')) {
      const context: RestoreSwapContext = {
        task_id: task.id,
        environment_id: env.environment_id,
        mode: journal.request.mode,
        database: journal.target_database,
        folder: journal.target_folder,
        target,
      };
      await safeAfterSwap(deps, context, 'rolled_back', task, env);
    }
  } finally {
    await target.close().catch(() => undefined);
  }
  const backup = journal.backup_id ? await deps.backups.get(journal.backup_id) : null;
  if (backup || journal.source) await notify(deps, 'restore.failed', env, backup, message);
  return 'rolled_back';
}

/** A pre-restore backup its worker left unfinished ends `failed`, with nothing left in storage. */
async function failUnfinishedPreBackup(deps: RestoreJobDeps, journal: RestoreJournal, message: string): Promise<void> {
  if (!journal.pre_restore_backup_id) return;
  const backup = await deps.backups.get(journal.pre_restore_backup_id);
  if (!backup || !['pending', 'in_progress', 'uploading'].includes(backup.status)) return;
  const failed = await moveBackup(
    deps,
    backup,
    { status: 'failed', error_message: message, error_details: { code: 'E_WORKER_LOST', message, previous_status: backup.status } },
    message,
  );
  await removeLeftoverObject(deps, failed);
}
