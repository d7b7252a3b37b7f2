import { InvalidTransitionError } from '../errors/errors.js';
import type { BackupStatus, TaskStatus } from './enums.js';

/**
 * Legal backup status moves, as data. `in_progress`/`uploading` -> `pending` is a retry
 * reset between job tries; `failed` -> `pending` is a retry of a failed job.
 */
export const BACKUP_TRANSITIONS: Readonly<Record<BackupStatus, readonly BackupStatus[]>> = {
  pending: ['in_progress', 'failed', 'deleted'],
  in_progress: ['uploading', 'failed', 'pending'],
  uploading: ['completed', 'failed', 'pending'],
  completed: ['expired', 'deleted'],
  failed: ['pending', 'deleted'],
  expired: ['deleted'],
  deleted: [],
};

/** Legal task status moves, as data. `running` -> `queued` is a retry. */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['queued', 'running', 'failed'],
  queued: ['running', 'failed'],
  running: ['completed', 'failed', 'queued'],
  completed: [],
  failed: ['queued'],
};

/** True when a backup may move from `from` to `to`. */
export function canTransitionBackup(from: BackupStatus, to: BackupStatus): boolean {
  return BACKUP_TRANSITIONS[from].includes(to);
}

/** True when a task may move from `from` to `to`. */
export function canTransitionTask(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** Throws {@link InvalidTransitionError} unless the backup may move from `from` to `to`. */
export function assertBackupTransition(from: BackupStatus, to: BackupStatus, id?: string): void {
  if (!canTransitionBackup(from, to)) throw new InvalidTransitionError('Backup', from, to, id);
}

/** Throws {@link InvalidTransitionError} unless the task may move from `from` to `to`. */
export function assertTaskTransition(from: TaskStatus, to: TaskStatus, id?: string): void {
  if (!canTransitionTask(from, to)) throw new InvalidTransitionError('Task', from, to, id);
}
