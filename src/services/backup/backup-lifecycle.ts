import type { Backup, Task } from '../../domain/entities.js';
import type { BackupStatus } from '../../domain/enums.js';
import { assertBackupTransition, assertTaskTransition, canTransitionTask } from '../../domain/status-machine.js';
import { backupStorageKey } from '../../domain/storage-keys.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { ConflictError } from '../../errors/errors.js';
import type { Clock } from '../../ports/clock.js';
import { eventScopeOf, type EventSink } from '../../ports/events.js';
import type { Notifier } from '../../ports/notifier.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository, TaskRepository } from '../../ports/repositories.js';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import type { StorageProviderFactory } from '../../ports/storage-provider.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import type { WarningCode } from '../../errors/error-codes.js';
import { FRESH_TRY_FIELDS } from './new-backup-record.js';

/**
 * Steps shared by the job handler, the service and stale recovery: task moves with their
 * `task.status` events, clean resets between tries, notifications per policy, and the policy's
 * `last_backup_status`. Internal to src/services.
 */

/** What the lifecycle helpers touch. */
export interface LifecycleDeps {
  backups: BackupRepository;
  tasks: TaskRepository;
  storageConfigs: StorageConfigRepository;
  policies?: BackupPolicyRepository;
  storageProviders: StorageProviderFactory;
  /** Resolves `{ ref }` credentials just before a provider is built. */
  secrets?: SecretResolver;
  clock: Clock;
  events: EventSink;
  notifier: Notifier;
}

/**
 * What an error leaves in `error_details`, laid out as the runner records its own failures
 * (`code`, `transient`, then the error's details). Secret-free: SDK errors never carry secrets.
 */
export function errorDetailsOf(error: unknown): Record<string, unknown> {
  if (error instanceof BackupSdkError) return { code: error.code, transient: error.transient, ...error.details };
  return { code: 'E_UNEXPECTED', transient: false, name: error instanceof Error ? error.name : typeof error };
}

/** A one-line message for a person. */
export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Moves a task to `patch.status` (checked against TASK_TRANSITIONS) with a compare-and-set on its
 * current status, and emits the product's `task.status` event. Passes through `queued` when the
 * target cannot be reached directly (a task that failed and is retried: failed -> queued -> running).
 */
export async function moveTask(
  deps: Pick<LifecycleDeps, 'tasks' | 'clock' | 'events'>,
  task: Task,
  patch: Partial<Task> & { status: Task['status'] },
  message: string | null = null,
): Promise<Task> {
  let current = task;
  if (
    !canTransitionTask(current.status, patch.status) &&
    canTransitionTask(current.status, 'queued') &&
    canTransitionTask('queued', patch.status)
  ) {
    current = await moveTask(deps, current, { status: 'queued' }, message);
  }
  assertTaskTransition(current.status, patch.status, current.id);
  const updated = await deps.tasks.update(current.id, patch, { status: current.status });
  deps.events.emit({
    type: 'task.status',
    data: {
      task_id: updated.id,
      task_type: updated.task_type,
      status: updated.status,
      previous_status: current.status,
      environment_id: updated.environment_id,
      ...eventScopeOf(updated),
      backup_id: updated.backup_id,
      attempt: updated.attempts,
      message,
      timestamp: deps.clock.now().toISOString(),
    },
  });
  return updated;
}

/** Emits the `task.status` event of a task that was just created (previous_status null). */
export function emitTaskCreated(deps: Pick<LifecycleDeps, 'clock' | 'events'>, task: Task): void {
  deps.events.emit({
    type: 'task.status',
    data: {
      task_id: task.id,
      task_type: task.task_type,
      status: task.status,
      previous_status: null,
      environment_id: task.environment_id,
      ...eventScopeOf(task),
      backup_id: task.backup_id,
      attempt: task.attempts,
      message: null,
      timestamp: deps.clock.now().toISOString(),
    },
  });
}

/** Moves a backup (checked against BACKUP_TRANSITIONS, compare-and-set) and emits `backup.status`. */
export async function moveBackup(
  deps: Pick<LifecycleDeps, 'backups' | 'clock' | 'events'>,
  backup: Backup,
  patch: Partial<Backup> & { status: BackupStatus },
  message: string | null = null,
): Promise<Backup> {
  assertBackupTransition(backup.status, patch.status, backup.id);
  const updated = await deps.backups.update(backup.id, patch, { status: backup.status });
  deps.events.emit({
    type: 'backup.status',
    data: {
      backup_id: updated.id,
      environment_id: updated.environment_id,
      organization_id: updated.organization_id,
      project_id: updated.project_id,
      status: updated.status,
      previous_status: backup.status,
      message,
      timestamp: deps.clock.now().toISOString(),
    },
  });
  return updated;
}

/** The storage key of a backup's ZIP: the recorded one, else the product's layout. */
export function objectKeyOf(backup: Backup): string {
  return (
    backup.database_key ??
    backupStorageKey({
      organization_id: backup.organization_id,
      project_id: backup.project_id,
      environment_id: backup.environment_id,
      backup_id: backup.id,
    })
  );
}

/**
 * Removes whatever an unfinished try may have left at the backup's key. Storage providers make
 * objects appear atomically, so normally nothing is there; this also covers a worker that died
 * between upload and record update.
 */
export async function removeLeftoverObject(
  deps: Pick<LifecycleDeps, 'storageConfigs' | 'storageProviders' | 'secrets'>,
  backup: Backup,
): Promise<void> {
  if (!backup.storage_config_id) return;
  const config = await deps.storageConfigs.get(backup.storage_config_id);
  if (!config) return;
  const provider = await buildStorageProvider(deps.storageProviders, deps.secrets, config);
  try {
    const key = objectKeyOf(backup);
    // What a killed upload left under a temp name or as a pending multipart upload, then the object.
    await provider.abortPartialUploads?.(key);
    await provider.delete(key);
  } finally {
    await provider.close();
  }
}

/** The fields a try fills in, back to their values of a fresh `pending` backup. */
export const CLEAN_TRY_FIELDS: Partial<Backup> = FRESH_TRY_FIELDS;

/**
 * Puts a backup that a previous try left `failed`, `in_progress` or `uploading` back to a clean
 * `pending`, after removing any leftover object, so the next try starts from nothing.
 */
export async function resetForRetry(
  deps: Pick<LifecycleDeps, 'backups' | 'storageConfigs' | 'storageProviders' | 'secrets' | 'clock' | 'events'>,
  backup: Backup,
  message: string,
): Promise<Backup> {
  if (backup.status === 'pending') return backup;
  await removeLeftoverObject(deps, backup);
  return moveBackup(deps, backup, { ...CLEAN_TRY_FIELDS, status: 'pending' }, message);
}

/** Whether the environment's policy asks for this notification (no policy: failures only, the default settings). */
async function wantsNotification(deps: Pick<LifecycleDeps, 'policies'>, environmentId: string, success: boolean): Promise<boolean> {
  const policy = deps.policies ? await deps.policies.getByEnvironment(environmentId) : null;
  if (success) return policy?.notify_on_success ?? false;
  return policy?.notify_on_failure ?? true;
}

/**
 * Sends `backup.succeeded` / `backup.failed` when the policy's notify_on_success /
 * notify_on_failure ask for it. A notifier that fails does not fail the backup: it becomes a
 * `warning` event.
 */
export async function notifyBackupOutcome(
  deps: Pick<LifecycleDeps, 'policies' | 'notifier' | 'events' | 'clock'>,
  backup: Backup,
  success: boolean,
  message: string,
): Promise<void> {
  if (!(await wantsNotification(deps, backup.environment_id, success))) return;
  await safeNotify(deps, {
    kind: success ? 'backup.succeeded' : 'backup.failed',
    environment_id: backup.environment_id,
    organization_id: backup.organization_id,
    backup,
    message,
  });
}

/** Calls the notifier; its failure is reported as a `warning` event, never thrown. */
export async function safeNotify(
  deps: Pick<LifecycleDeps, 'notifier' | 'events' | 'clock'>,
  notification: Parameters<LifecycleDeps['notifier']['notify']>[0],
): Promise<void> {
  try {
    await deps.notifier.notify(notification);
  } catch (error) {
    deps.events.emit({
      type: 'warning',
      data: {
        code: 'W_NOTIFICATION_FAILED',
        message: `The ${notification.kind} notification could not be sent: ${errorMessageOf(error)}`,
        environment_id: notification.environment_id,
        organization_id: notification.organization_id,
        ...(notification.backup ? { backup_id: notification.backup.id, project_id: notification.backup.project_id } : {}),
        timestamp: deps.clock.now().toISOString(),
      },
    });
  }
}

/**
 * Records how a scheduled backup ended on its environment's policy (`last_backup_status`), as the
 * product's scheduler does. Other backup types leave the policy alone.
 */
export async function recordPolicyOutcome(
  deps: Pick<LifecycleDeps, 'policies'>,
  backup: Backup,
  status: 'completed' | 'failed',
): Promise<void> {
  if (backup.backup_type !== 'scheduled' || !deps.policies) return;
  const policy = await deps.policies.getByEnvironment(backup.environment_id);
  if (!policy) return;
  // The scheduler stamps last_backup_at when it fires; a backup created before the latest stamp
  // belongs to an older slot and must not overwrite the newer one's status.
  if (policy.last_backup_at !== null && Date.parse(backup.created_at) < Date.parse(policy.last_backup_at)) return;
  try {
    await deps.policies.update(policy.id, { last_backup_status: status }, { last_backup_at: policy.last_backup_at });
  } catch (error) {
    // A newer slot fired meanwhile: its status stands.
    if (!(error instanceof ConflictError)) throw error;
  }
}

/**
 * What follows the end of a backup: the notification per policy and the policy's
 * `last_backup_status`. Never throws: the backup's outcome is already recorded, so a failing
 * notifier or policy store becomes a `warning` event instead of failing the job.
 */
export async function announceOutcome(
  deps: Pick<LifecycleDeps, 'policies' | 'notifier' | 'events' | 'clock'>,
  backup: Backup,
  success: boolean,
  message: string,
): Promise<void> {
  const warn = (code: WarningCode, what: string, error: unknown) =>
    deps.events.emit({
      type: 'warning',
      data: {
        code,
        message: `${what}: ${errorMessageOf(error)}`,
        environment_id: backup.environment_id,
        organization_id: backup.organization_id,
        project_id: backup.project_id,
        backup_id: backup.id,
        timestamp: deps.clock.now().toISOString(),
      },
    });
  try {
    await notifyBackupOutcome(deps, backup, success, message);
  } catch (error) {
    warn('W_NOTIFICATION_FAILED', 'Could not decide or send the outcome notification', error);
  }
  try {
    await recordPolicyOutcome(deps, backup, success ? 'completed' : 'failed');
  } catch (error) {
    warn('W_POLICY_UPDATE_FAILED', 'Could not record the outcome on the policy', error);
  }
}
