import type { Task } from '../../domain/entities.js';
import type { RestoreRequest } from '../../domain/restore-request.js';
import type { RestoreNames } from '../../domain/restore-names.js';
import type { Clock } from '../../ports/clock.js';
import type { EventScope, EventSink } from '../../ports/events.js';
import type { TaskRepository } from '../../ports/repositories.js';
import type { RestoreStep } from '../../domain/restore-steps.js';
import type { ArchiveFormat } from '../../pipeline/detect-archive-format.js';

export { RESTORE_STEPS, type RestoreStep } from '../../domain/restore-steps.js';

/** How a restore ended, as its journal says. */
export type RestoreOutcome = 'completed' | 'rolled_back' | 'rollback_failed';

/**
 * A restore's journal, kept in its task's `result.restore`: the request, the names of every
 * database and folder it touches, and the steps begun and done. Crash recovery works from it alone.
 */
export interface RestoreJournal {
  /** The validated request. */
  request: RestoreRequest;
  /** The backup restored; null for an import (`source` says what was imported). */
  backup_id: string | null;
  /** An import's file; absent for a restore of a backup. */
  source?: ImportSourceRecord | null;
  target_environment_id: string;
  /** The database the restore ends in: the environment's own (`replace`) or `database_name`. */
  target_database: string;
  /** The folder the filestore ends in; null when the filestore is skipped. */
  target_folder: string | null;
  /** Temporary and set-aside names (derived from the task id). */
  names: RestoreNames;
  /** Whether the target folder existed before the swap (replace mode); null until checked. */
  had_folder: boolean | null;
  /**
   * What each object the swap acts on was when this restore saw it (the target's
   * `databaseIdentity` / `pathIdentity`; absent in journals written before, and null where the
   * target cannot tell): the target's own database and folder when the restore began (replace
   * mode), and the restored temporaries once filled. Swap steps compare before they act.
   */
  identities?: RestoreIdentities;
  /** Id of the pre-restore backup, once its record exists. */
  pre_restore_backup_id: string | null;
  /** Steps written before they ran, in order. */
  begun: RestoreStep[];
  /** Steps that finished, in order. */
  done: RestoreStep[];
  /** Set by `cancelRestore`: the worker stops at its next step boundary before the swap. */
  cancel_requested: boolean;
  /** Set once the restore is over and nothing temporary is left (or it could not be cleaned). */
  outcome: RestoreOutcome | null;
  /** The failure, as `{ code, message, details }`, once the restore failed. */
  error: { code: string; message: string; details: Record<string, unknown> } | null;
}

/** The identities a restore recorded (see {@link RestoreJournal.identities}). */
export interface RestoreIdentities {
  /** The target's own database when the restore began (replace mode). */
  database: string | null;
  /** The target's own folder when the restore began (replace mode, when it had one). */
  folder: string | null;
  /** The temporary database the archive was restored into. */
  restored_database: string | null;
  /** The temporary folder the filestore was extracted into. */
  restored_folder: string | null;
}

/** What an import reads: a file in the organisation's storage, and what kind it is. */
export interface ImportSourceRecord {
  storage_config_id: string;
  key: string;
  format: ArchiveFormat;
  /** The file was uploaded for this import (a stream): it is removed when the import ends, whichever way. */
  uploaded: boolean;
}

/** The journal inside a task, or null when the task is not a restore or has none yet. */
export function journalOf(task: Task): RestoreJournal | null {
  const journal = (task.result as { restore?: RestoreJournal } | null)?.restore;
  return journal && typeof journal === 'object' ? journal : null;
}

/** True once `step` was written as begun. */
export function hasBegun(journal: RestoreJournal, step: RestoreStep): boolean {
  return journal.begun.includes(step);
}

/** What {@link JournalWriter} needs. */
export interface JournalDeps {
  tasks: TaskRepository;
  clock: Clock;
  events: EventSink;
}

/**
 * Writes a restore's journal to its task, one step at a time, and emits `restore.status` for
 * each. Every write is a compare-and-set on `status: running`: when stale recovery (or a cancel
 * of a queued task) ended the task meanwhile, the write fails with a `ConflictError` and the
 * worker stops instead of swapping under someone else's feet.
 */
export class JournalWriter {
  constructor(
    private readonly deps: JournalDeps,
    private task: Task,
    public journal: RestoreJournal,
    /** The target environment's organisation and project, carried by every `restore.status`. */
    private readonly scope: EventScope,
  ) {}

  /** The task as last written. */
  get current(): Task {
    return this.task;
  }

  /** Records that `step` is about to run. */
  async begin(step: RestoreStep, message: string | null = null): Promise<void> {
    if (!this.journal.begun.includes(step)) this.journal.begun.push(step);
    await this.save();
    this.emit(step, 'begun', message);
  }

  /** Records that `step` finished. */
  async done(step: RestoreStep, message: string | null = null): Promise<void> {
    if (!this.journal.done.includes(step)) this.journal.done.push(step);
    await this.save();
    this.emit(step, 'done', message);
  }

  /**
   * Records a step that is a point reached rather than work (`restored_to_temp`): begun and done
   * in one write, so `begun` lists every step `done` does; both events are emitted.
   */
  async mark(step: RestoreStep, message: string | null = null): Promise<void> {
    if (!this.journal.begun.includes(step)) this.journal.begun.push(step);
    if (!this.journal.done.includes(step)) this.journal.done.push(step);
    await this.save();
    this.emit(step, 'begun', message);
    this.emit(step, 'done', message);
  }

  /** Changes other fields of the journal and writes it. */
  async set(patch: Partial<RestoreJournal>): Promise<void> {
    Object.assign(this.journal, patch);
    await this.save();
  }

  /** Re-reads the task (for a cancel written by another process). */
  async refresh(): Promise<RestoreJournal> {
    const fresh = await this.deps.tasks.get(this.task.id);
    if (fresh) {
      this.task = fresh;
      const stored = journalOf(fresh);
      if (stored?.cancel_requested) this.journal.cancel_requested = true;
    }
    return this.journal;
  }

  private async save(): Promise<void> {
    // Keep a cancel another process wrote: read-merge-write under the status compare-and-set.
    const latest = await this.deps.tasks.get(this.task.id);
    if (latest && journalOf(latest)?.cancel_requested) this.journal.cancel_requested = true;
    this.task = await this.deps.tasks.update(this.task.id, { result: { restore: this.journal } }, { status: 'running' });
  }

  private emit(step: RestoreStep, state: 'begun' | 'done', message: string | null): void {
    this.deps.events.emit({
      type: 'restore.status',
      data: {
        task_id: this.task.id,
        backup_id: this.journal.backup_id,
        environment_id: this.journal.target_environment_id,
        ...this.scope,
        step,
        state,
        message,
        timestamp: this.deps.clock.now().toISOString(),
      },
    });
  }
}
