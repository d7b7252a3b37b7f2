import type { BackupStatus, TaskStatus } from '../domain/enums.js';
import type { WarningCode } from '../errors/error-codes.js';
import type { RestoreProgress } from '../domain/restore-progress.js';
import type { RestoreStep } from '../domain/restore-steps.js';

/**
 * Whose event it is: the organisation and project of its environment. An HTTP layer streams an
 * event only to those allowed to see that environment, and never one without `organization_id`.
 */
export interface EventScope {
  organization_id: string;
  project_id: string;
}

/** The product's SSE `task.status` event payload. */
export interface TaskStatusEvent {
  type: 'task.status';
  data: Partial<EventScope> & {
    task_id: string;
    task_type: string;
    status: TaskStatus;
    previous_status: TaskStatus | null;
    environment_id: string;
    backup_id: string | null;
    attempt?: number;
    message?: string | null;
    timestamp: string;
  };
}

/** Phases of a backup run, in order. */
export type BackupPhase = 'starting' | 'dumping' | 'uploading' | 'verifying' | 'finalizing';

/** Progress of one backup, emitted at least once a second while bytes flow. */
export interface BackupProgressEvent {
  type: 'backup.progress';
  data: EventScope & {
    backup_id: string;
    environment_id: string;
    phase: BackupPhase;
    /** Part being written (`dump.sql`, `filestore.tar.gz`, `manifest.json`), when relevant. */
    part?: string;
    /** Bytes of `part` read into the archive so far (present with `part`): what a progress line shows. */
    part_bytes?: number;
    /** Bytes of the whole archive produced so far (all parts, as they leave the ZIP writer). */
    bytes: number;
    /** Average bytes per second since the phase began. */
    rate_bytes_per_second: number;
    timestamp: string;
  };
}

/** A backup changed status. */
export interface BackupStatusEvent {
  type: 'backup.status';
  data: EventScope & {
    backup_id: string;
    environment_id: string;
    status: BackupStatus;
    previous_status: BackupStatus | null;
    message?: string | null;
    timestamp: string;
  };
}

/** Something a person should know that did not fail the operation (empty filestore, over quota...). */
export interface WarningEvent {
  type: 'warning';
  data: {
    /** Which warning, from the catalogue (`WARNING_CODES`, docs/errors.md). */
    code: WarningCode;
    message: string;
    environment_id?: string;
    backup_id?: string;
    /** Set on every warning about one backup or environment (with `project_id` when known). */
    organization_id?: string;
    project_id?: string;
    timestamp: string;
    [extra: string]: unknown;
  };
}

/** A restore began or finished one step of its journal (docs/restore.md), written to its task first. */
export interface RestoreStatusEvent {
  type: 'restore.status';
  data: EventScope & {
    task_id: string;
    /** The backup restored; null for an import. */
    backup_id: string | null;
    /** The environment restored into. */
    environment_id: string;
    step: RestoreStep;
    state: 'begun' | 'done';
    message: string | null;
    timestamp: string;
  };
}

/** Bytes of a restore flowing: the archive checked, the filestore folder and the database filled. */
export interface RestoreProgressEvent {
  type: 'restore.progress';
  data: RestoreProgress &
    EventScope & {
      task_id: string;
      /** The backup restored; null for an import. */
      backup_id: string | null;
      /** The environment restored into. */
      environment_id: string;
      timestamp: string;
    };
}

/** Retention, scheduler and other service events. */
export interface ServiceEvent {
  type: `retention.${string}` | `scheduler.${string}` | `job.${string}`;
  data: Record<string, unknown> & { timestamp: string };
}

/** Every event the SDK emits; `type` tells them apart (a `switch` on it narrows `data`). */
export type SdkEvent =
  TaskStatusEvent | BackupProgressEvent | BackupStatusEvent | RestoreStatusEvent | RestoreProgressEvent | WarningEvent | ServiceEvent;

/**
 * Where events go: a host forwards them over SSE (`event: ${type}\ndata: ${JSON.stringify(data)}`),
 * to logs or to metrics. Must not throw; slow sinks should buffer on their side.
 */
export interface EventSink {
  emit(event: SdkEvent): void;
}

/** The `organization_id` and `project_id` a record carries, for an event's data (none when it lacks them). */
export function eventScopeOf(record: Partial<EventScope>): Partial<EventScope> {
  return {
    ...(record.organization_id !== undefined ? { organization_id: record.organization_id } : {}),
    ...(record.project_id !== undefined ? { project_id: record.project_id } : {}),
  };
}

/** A sink that drops everything. */
export const nullEventSink: EventSink = { emit: () => undefined };
