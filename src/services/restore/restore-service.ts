import { randomUUID } from 'node:crypto';
import { restoreArchive } from '../../pipeline/restore-runner.js';
import type { Task } from '../../domain/entities.js';
import { Permission } from '../../domain/permissions.js';
import { parentFolder, isInside } from '../../domain/restore-names.js';
import {
  ImportRequestSchema,
  RestoreRequestSchema,
  type ImportRequestInput,
  type RestoreRequest,
  type RestoreRequestInput,
} from '../../domain/restore-request.js';
import { parseInput } from '../../domain/validation.js';
import { ConflictError, NotFoundError, UnsupportedOperationError, ValidationError } from '../../errors/errors.js';
import { RestoreError } from '../../errors/restore-error.js';
import type { Actor, Authorizer } from '../../ports/authorizer.js';
import type { BackupSourceFactory } from '../../ports/backup-source.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import type { EnvironmentResolver, ResolvedEnvironment } from '../../ports/environment-resolver.js';
import { nullEventSink, type EventSink } from '../../ports/events.js';
import type { JobContext, JobQueue, Worker } from '../../ports/job-queue.js';
import { nullNotifier, type Notifier } from '../../ports/notifier.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository, TaskRepository } from '../../ports/repositories.js';
import type { RestoreTarget, RestoreTargetFactory } from '../../ports/restore-target.js';
import type { StorageProviderFactory } from '../../ports/storage-provider.js';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import type { BackupRunnerDeps } from '../../pipeline/backup-runner.js';
import type { KeyProvider } from '../../ports/key-provider.js';
import { createRestoreTarget } from '../../sources/create-restore-target.js';
import { createStorageProvider } from '../../storage/registry.js';
import { authorizeCall } from '../shared/authorize-call.js';
import { BACKUP_JOB_RETRY, type BackupExecutor } from '../backup/backup-job.js';
import { scheduleBackupCopy } from '../backup/backup-copy.js';
import { emitTaskCreated, errorMessageOf, moveTask } from '../backup/backup-lifecycle.js';
import { assertActor, assertId, defaultBackupRunner } from '../backup/backup-service-context.js';
import { journalOf } from './restore-journal.js';
import {
  DEFAULT_RESTORE_TIMEOUT_MS,
  RESTORE_JOB_NAME,
  runRestoreJob,
  type RestoreArchiveFn,
  type RestoreJobDeps,
  type RestoreJobPayload,
  type RestoreJobResult,
} from './restore-job.js';
import { recoverStaleRestores, type RestoreRecoveryOptions, type RestoreRecoveryReport } from './restore-recovery.js';
import type { RestoreHooks } from './restore-swap.js';
import { TaskCompletionHub } from '../shared/task-completion.js';
import { removeUploadedSource } from './import-source.js';
import { stageImport, type ImportSource } from './import-admission.js';
import { waitUntilSettled } from '../shared/wait-until-settled.js';

/** What a {@link RestoreService} is built from: the host's ports plus optional settings. */
export interface RestoreServiceOptions {
  backups: BackupRepository;
  tasks: TaskRepository;
  storageConfigs: StorageConfigRepository;
  /** Notification settings (notify_on_success / notify_on_failure) and the pre-restore backup's retention. */
  policies?: BackupPolicyRepository;
  environments: EnvironmentResolver;
  queue: JobQueue;
  /** Builds the target a restore writes through, from the environment's source config (default: `createRestoreTarget`). */
  targets?: RestoreTargetFactory;
  /** The archive restore pipeline (verify + restore into temporaries; default: the SDK's `restoreArchive`). */
  restoreArchive?: RestoreArchiveFn;
  /** Builds storage providers (default: `createStorageProvider`). */
  storageProviders?: StorageProviderFactory;
  /** Resolves `{ ref }` storage credentials just before a provider is built (restores, the pre-restore backup). */
  secrets?: SecretResolver;
  /** Builds backup sources for the pre-restore backup's default runner (default: `createBackupSource`). */
  sources?: BackupSourceFactory;
  /** Encryption keys: recipients of the pre-restore backup, identities of encrypted backups restored. */
  keys?: KeyProvider;
  /** Runs the pre-restore backup (default: a `BackupRunner` over the same ports). */
  backupRunner?: BackupExecutor;
  /** Settings of the default backup runner. */
  runnerOptions?: Pick<BackupRunnerDeps, 'compressionLevel' | 'dumpLister' | 'recordRowCounts'>;
  /** Hooks around the swap (stop and start Odoo). */
  hooks?: RestoreHooks;
  clock?: Clock;
  events?: EventSink;
  notifier?: Notifier;
  /** The host's permission hook (`project.backups.restore`). */
  authorize?: Authorizer;
  /** Time limit of one restore job (default six hours). */
  jobTimeoutMs?: number;
  /**
   * How often `waitForRestore` re-reads the task when no in-process signal arrives, in ms of the
   * clock (default 2000): what a worker in another process changed is seen within that time.
   */
  completionPollMs?: number;
  /** New record ids (default: random UUIDs). */
  ids?: () => string;
}

/** Options of {@link RestoreService.waitForRestore}. */
export interface WaitForRestoreOptions {
  /** Stop waiting (the restore goes on) when this aborts: rejects with `AbortedError` (`E_ABORTED`). */
  signal?: AbortSignal;
  /**
   * Give up after this long on the service's clock: rejects with `TimeoutError` (`E_TIMEOUT`); the
   * restore goes on. Default: the job's time limit (`jobTimeoutMs`) plus a minute.
   */
  timeoutMs?: number;
}

/**
 * Restores backups: into a new database beside the environment's, or over the environment's own
 * database and filestore (`replace`), with verification before anything is touched, a pre-restore
 * backup, a journaled swap that is rolled back on any failure, and crash recovery from the journal.
 * See docs/restore.md.
 *
 * Like backups, a restore is a Task (`task_type: 'restore'`) plus a job on the host's queue, run
 * by a worker (`startWorker`, or `executeRestoreJob` from the host's own worker).
 */
export class RestoreService {
  private readonly clock: Clock;
  private readonly events: EventSink;
  private readonly ids: () => string;
  private readonly completions = new TaskCompletionHub();
  private readonly running = new Map<string, AbortController>();
  private readonly jobDeps: RestoreJobDeps;

  constructor(private readonly options: RestoreServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? nullEventSink;
    this.ids = options.ids ?? randomUUID;
    const storageProviders = options.storageProviders ?? createStorageProvider;
    const backupRunner = options.backupRunner ?? defaultBackupRunner(options, { clock: this.clock, events: this.events, storageProviders });
    this.jobDeps = {
      backups: options.backups,
      tasks: options.tasks,
      storageConfigs: options.storageConfigs,
      ...(options.policies ? { policies: options.policies } : {}),
      storageProviders,
      ...(options.secrets ? { secrets: options.secrets } : {}),
      clock: this.clock,
      events: this.events,
      notifier: options.notifier ?? nullNotifier,
      environments: options.environments,
      targets: options.targets ?? ((config) => createRestoreTarget(config)),
      restoreArchive: options.restoreArchive ?? restoreArchive,
      backupRunner,
      hooks: options.hooks ?? {},
      jobTimeoutMs: options.jobTimeoutMs ?? DEFAULT_RESTORE_TIMEOUT_MS,
      ids: this.ids,
      running: this.running,
      completions: this.completions,
      ...(options.keys ? { keys: options.keys } : {}),
      scheduleCopy: (backup) => scheduleBackupCopy({ ...this.jobDeps, queue: options.queue, retry: BACKUP_JOB_RETRY }, backup),
    };
  }

  /**
   * Asks for a restore of a completed backup. Validates `request` ({@link RestoreRequestSchema}),
   * authorizes `project.backups.restore` on the target environment, refuses a backup that is not
   * completed, a target environment of another organisation, a second restore onto an
   * environment that has one queued or running, and (new_database) a database name or folder that
   * is taken; then creates the Task and enqueues the job. Returns the task (`queued`). Every
   * refusal throws before anything is written.
   *
   * `request` is typed per mode ({@link RestoreRequestInput}), so `{ mode: 'replace', database_name }`
   * or a new database without `as_copy` does not compile; it is validated at run time all the
   * same (for JavaScript callers). Code that holds an unparsed body (an HTTP handler) parses it
   * first: `restoreBackup(id, parseInput(RestoreRequestSchema, req.body), actor)` (a parsed
   * request may lack `as_copy`: where it is required that is `E_VALIDATION` at run time).
   *
   * @throws ValidationError bad input
   * @throws NotFoundError unknown backup or environment
   * @throws PermissionDeniedError the authorize hook said no
   * @throws RestoreError `E_RESTORE_NOT_RESTORABLE`, `E_RESTORE_IN_PROGRESS`, `E_RESTORE_TARGET_EXISTS`
   */
  async restoreBackup(backupId: string, request: RestoreRequestInput | RestoreRequest, actor: Actor | null = null): Promise<Task> {
    assertId(backupId, 'backup_id');
    const input = parseInput(RestoreRequestSchema, request);
    assertActor(actor);
    const backup = await this.options.backups.get(backupId);
    if (!backup) throw new NotFoundError('backup', backupId);
    const environmentId = input.target_environment_id ?? backup.environment_id;
    const env = await this.options.environments.resolve(environmentId);
    if (!env) throw new NotFoundError('environment', environmentId);
    await authorizeCall(this.options.authorize, {
      actor,
      permission: Permission.BACKUPS_RESTORE,
      environment_id: environmentId,
      organization_id: env.organization_id,
      backup_id: backup.id,
    });
    if (env.organization_id !== backup.organization_id) {
      throw new ValidationError([{ field: 'target_environment_id', message: 'belongs to another organisation than the backup' }]);
    }
    // A move by default only where it cannot surprise: the backup put back over its own environment.
    const asCopy = input.as_copy ?? (input.mode === 'replace' && environmentId === backup.environment_id ? false : null);
    if (asCopy === null) {
      throw new ValidationError([
        {
          field: 'as_copy',
          message:
            "is required unless a replace restores the backup's own environment: true for a copy (new database.uuid and secret), false for a move",
        },
      ]);
    }
    if (backup.status !== 'completed' || (input.from === 'primary' && backup.database_key === null)) {
      throw new RestoreError(
        'E_RESTORE_NOT_RESTORABLE',
        `Backup ${backup.id} is '${backup.status}': only completed backups can be restored`,
        {
          details: { backup_id: backup.id, status: backup.status },
        },
      );
    }
    if (input.from === 'copy' && (backup.copy_status !== 'completed' || !backup.copy_key)) {
      throw new RestoreError('E_RESTORE_NOT_RESTORABLE', `Backup ${backup.id} has no completed copy to restore from`, {
        details: { backup_id: backup.id, copy_status: backup.copy_status ?? null, from: 'copy' },
      });
    }
    const createExclusive = this.exclusiveCreate();
    if (input.mode === 'new_database') await this.assertNewNamesFree(env, input);

    const taskId = this.ids();
    return this.admit(createExclusive, env, actor, null, {
      task_id: taskId,
      backup_id: backup.id,
      target_environment_id: environmentId,
      request: { ...input, as_copy: asCopy },
      user_id: actor?.id ?? null,
    });
  }

  /**
   * Imports a file made elsewhere into an environment: Odoo's own backup ZIP (its database
   * manager, Odoo.sh), a bare `pg_dump -Fc` file, or an archive of this SDK, told apart by
   * `detectArchiveFormat`. It runs as a restore (a Task `task_type: 'restore'` with
   * `backup_id: null`, whose journal records the source), through the same checks, temporaries,
   * pre-restore backup, swap, rollback, recovery and permission (`project.backups.restore` on the
   * target) as {@link RestoreService.restoreBackup}, and one at a time per environment with
   * restores. No Backup record is made. See docs/import-export.md, "Import: a file made elsewhere".
   *
   * `source` is a file in one of the organisation's storage configs (`{ storage_config_id, key }`,
   * left in place), or a stream, first stored in the organisation's default storage under
   * `organizations/{org}/imports/{task_id}` and removed when the import ends, whichever way.
   * `request` is a restore request whose `target_environment_id` and `as_copy` are required,
   * plus `allow_privileged_role` (`ImportRequestSchema`).
   *
   * Refused before any task exists: bad input (`E_VALIDATION`), a file of no known format
   * (`E_IMPORT_FORMAT`, the uploaded copy removed), a second restore or import onto the
   * environment (`E_RESTORE_IN_PROGRESS`), a taken name (`E_RESTORE_TARGET_EXISTS`). What only the
   * whole file shows (`E_IMPORT_UNSAFE`, a hostile ZIP, a newer PostgreSQL) fails the task, with
   * nothing created on the target.
   *
   * @throws ValidationError bad input, or a storage config of another organisation
   * @throws NotFoundError unknown environment or storage config
   * @throws PermissionDeniedError the authorize hook said no
   * @throws ArchiveError `E_IMPORT_FORMAT`
   * @throws RestoreError `E_RESTORE_IN_PROGRESS`, `E_RESTORE_TARGET_EXISTS`
   */
  async importOdooArchive(source: ImportSource, request: ImportRequestInput, actor: Actor | null = null): Promise<Task> {
    const input = parseInput(ImportRequestSchema, request);
    assertActor(actor);
    const environmentId = input.target_environment_id;
    const env = await this.options.environments.resolve(environmentId);
    if (!env) throw new NotFoundError('environment', environmentId);
    await authorizeCall(this.options.authorize, {
      actor,
      permission: Permission.BACKUPS_RESTORE,
      environment_id: environmentId,
      organization_id: env.organization_id,
    });
    const createExclusive = this.exclusiveCreate();
    if (input.mode === 'new_database') await this.assertNewNamesFree(env, input);
    const taskId = this.ids();
    const staged = await stageImport(this.jobDeps, source, env.organization_id, taskId);
    try {
      // Until the job's journal replaces it, the task's result names the upload recovery removes.
      return await this.admit(
        createExclusive,
        env,
        actor,
        { source: staged },
        {
          task_id: taskId,
          backup_id: null,
          source: staged,
          allow_privileged_role: input.allow_privileged_role,
          target_environment_id: environmentId,
          request: input,
          user_id: actor?.id ?? null,
        },
      );
    } catch (error) {
      await removeUploadedSource(this.jobDeps, staged);
      throw error;
    }
  }

  /** The job handler any queue calls for {@link RESTORE_JOB_NAME} jobs (bound: pass it as is). */
  readonly executeRestoreJob = (payload: RestoreJobPayload, ctx: JobContext): Promise<RestoreJobResult> =>
    runRestoreJob(this.jobDeps, payload, ctx);

  /** Starts processing restore jobs on the queue, `concurrency` at once (default 1: restores are heavy). */
  startWorker(options: { concurrency?: number } = {}): Worker {
    return this.options.queue.process(RESTORE_JOB_NAME, this.executeRestoreJob as (payload: unknown, ctx: JobContext) => Promise<unknown>, {
      concurrency: options.concurrency ?? 1,
    });
  }

  /** A restore task, for polling clients (`result.restore` is its journal). */
  async getRestore(taskId: string, actor: Actor | null = null): Promise<Task> {
    const task = await this.loadRestoreTask(taskId);
    await authorizeCall(this.options.authorize, { actor, permission: Permission.BACKUPS_VIEW, environment_id: task.environment_id });
    return task;
  }

  /**
   * Waits until a restore task ended and resolves with it: `completed`, or `failed` (a failure
   * resolves, it does not throw: read `error_message` and `result.error.code`); `result.restore`
   * is its journal. Wakes when a job of this process ends it and re-reads the task every
   * `completionPollMs` of the clock, so it also sees workers in other processes. Asks
   * `project.backups.view`, as {@link RestoreService.getRestore} does.
   *
   * @throws TimeoutError (`E_TIMEOUT`) after `timeoutMs`; the restore goes on
   * @throws AbortedError (`E_ABORTED`) when `signal` aborts; the restore goes on
   */
  async waitForRestore(taskId: string, options: WaitForRestoreOptions = {}, actor: Actor | null = null): Promise<Task> {
    let task = await this.getRestore(taskId, actor);
    await waitUntilSettled({
      hub: this.completions,
      id: task.id,
      isSettled: async () => {
        task = await this.loadRestoreTask(taskId);
        return task.status === 'completed' || task.status === 'failed';
      },
      clock: this.clock,
      pollMs: this.options.completionPollMs ?? 2000,
      timeoutMs: options.timeoutMs ?? this.jobDeps.jobTimeoutMs + 60_000,
      signal: options.signal,
      operation: `Waiting for restore ${taskId}`,
    });
    return task;
  }

  /**
   * Cancels a restore. A queued one ends `failed` at once (its job then does nothing). A running
   * one is asked to stop: in this process at once, in another at its next step; it then rolls
   * back like any failure and ends `failed` with `E_CANCELLED`. Once its swap has begun a restore
   * is finished (or rolled back on failure), never stopped half-way: a cancel then has no effect.
   * A restore that already ended is returned unchanged.
   */
  async cancelRestore(taskId: string, actor: Actor | null = null): Promise<Task> {
    const task = await this.loadRestoreTask(taskId);
    await authorizeCall(this.options.authorize, { actor, permission: Permission.BACKUPS_RESTORE, environment_id: task.environment_id });
    if (task.status === 'pending' || task.status === 'queued') {
      const message = `Cancelled${actor?.id ? ` by ${actor.id}` : ''} before it started`;
      const ended = await moveTask(
        this.jobDeps,
        task,
        {
          status: 'failed',
          error_message: message,
          completed_at: this.clock.now().toISOString(),
          result: { error: { code: 'E_CANCELLED', message, details: {} } },
        },
        message,
      );
      this.completions.announce(ended.id);
      return ended;
    }
    if (task.status !== 'running') return task;
    const journal = journalOf(task);
    this.running.get(task.id)?.abort(new Error('cancelled on request'));
    if (!journal) return task;
    return this.options.tasks.update(
      task.id,
      { result: { ...task.result, restore: { ...journal, cancel_requested: true } } },
      { status: 'running' },
    );
  }

  /**
   * Crash recovery of restores (see `recoverStaleRestores`): restores whose worker died are rolled
   * back from their journal (or finished, when their cleanup had begun), nothing temporary is left
   * and their task ends. Run it at start-up and every few minutes, with the backup service's.
   */
  recoverStale(now?: Date, options: RestoreRecoveryOptions = {}): Promise<RestoreRecoveryReport> {
    return recoverStaleRestores({ ...this.jobDeps, queue: this.options.queue }, now ?? this.clock.now(), options);
  }

  private async loadRestoreTask(taskId: string): Promise<Task> {
    assertId(taskId, 'task_id');
    const task = await this.options.tasks.get(taskId);
    if (!task || task.task_type !== 'restore') throw new NotFoundError('task', taskId);
    return task;
  }

  /**
   * Creates the restore task (in the one atomic step of `createExclusive`), queues it and enqueues
   * its job (one try: a restore that failed was rolled back; trying again is the person's call).
   * A job that cannot be enqueued fails the task and rethrows.
   */
  private async admit(
    createExclusive: (task: Task) => Promise<Task>,
    env: ResolvedEnvironment,
    actor: Actor | null,
    result: Task['result'],
    payload: RestoreJobPayload,
  ): Promise<Task> {
    const at = this.clock.now().toISOString();
    let task = await createExclusive({
      id: payload.task_id,
      task_type: 'restore',
      status: 'pending',
      environment_id: payload.target_environment_id,
      organization_id: env.organization_id,
      project_id: env.project_id,
      backup_id: payload.backup_id,
      job_id: payload.task_id,
      attempts: 0,
      result,
      error_message: null,
      created_by: actor?.id ?? null,
      created_at: at,
      started_at: null,
      completed_at: null,
      updated_at: at,
    });
    emitTaskCreated(this.jobDeps, task);
    task = await moveTask(this.jobDeps, task, { status: 'queued' });
    try {
      await this.options.queue.enqueue(RESTORE_JOB_NAME, payload, { jobId: payload.task_id, attempts: 1 });
    } catch (error) {
      const message = `Could not enqueue the ${payload.backup_id === null ? 'import' : 'restore'} job: ${errorMessageOf(error)}`;
      await moveTask(this.jobDeps, task, { status: 'failed', error_message: message, completed_at: at }, message);
      throw error;
    }
    return task;
  }

  /**
   * The one atomic step that claims the environment: the repository creates the task only when
   * no other restore is active there (see `TaskRepository.createExclusive`), so of concurrent
   * requests, in one process or many, exactly one is accepted; the others get
   * `E_RESTORE_IN_PROGRESS` and nothing is written for them.
   */
  private exclusiveCreate(): (task: Task) => Promise<Task> {
    const tasks = this.options.tasks;
    if (!tasks.createExclusive) {
      throw new UnsupportedOperationError(
        'restore',
        'this TaskRepository',
        'it needs createExclusive() to accept one restore per environment atomically (docs/restore.md)',
      );
    }
    return async (task) => {
      try {
        return await tasks.createExclusive!(task);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        const active = (error.details as { active_task_id?: unknown }).active_task_id;
        throw new RestoreError(
          'E_RESTORE_IN_PROGRESS',
          `Environment ${task.environment_id} already has a restore queued or running${typeof active === 'string' ? ` (task ${active})` : ''}`,
          { details: { environment_id: task.environment_id, ...(typeof active === 'string' ? { task_id: active } : {}) }, cause: error },
        );
      }
    };
  }

  /** new_database: the name and folder must be free, and the folder inside the target's filestore root. */
  private async assertNewNamesFree(env: ResolvedEnvironment, input: RestoreRequest): Promise<void> {
    const target: RestoreTarget = this.jobDeps.targets(env.source);
    try {
      const root = target.filestorePath === null ? null : parentFolder(target.filestorePath);
      if (input.filestore_path !== null && root !== null && !isInside(input.filestore_path, root)) {
        throw new ValidationError([{ field: 'filestore_path', message: `must be inside the filestore root ${root} of the target` }]);
      }
      if (await target.databaseExists(input.database_name!)) {
        throw new RestoreError('E_RESTORE_TARGET_EXISTS', `Database ${input.database_name} already exists: choose another database_name`, {
          details: { database: input.database_name },
        });
      }
      const folder = input.filestore_path ?? (root === null ? null : `${root === '/' ? '' : root}/${input.database_name}`);
      if (input.include_filestore && folder !== null && (await target.pathExists(folder))) {
        throw new RestoreError('E_RESTORE_TARGET_EXISTS', `Folder ${folder} already exists: choose another filestore_path`, {
          details: { filestore_path: folder },
        });
      }
    } finally {
      await target.close().catch(() => undefined);
    }
  }
}
