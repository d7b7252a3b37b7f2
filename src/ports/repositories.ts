import type { Backup, BackupPolicy, IsoDateTime, StorageConfig, Task } from '../domain/entities.js';
import type { BackupCopyStatus, BackupStatus, BackupType, TaskStatus, TaskType } from '../domain/enums.js';

/**
 * Compare-and-set condition for an update: every given field must currently hold exactly the
 * given value (`null` included), else the update fails with a `ConflictError` and changes nothing.
 */
export type Where<T> = { [K in keyof T]?: T[K] };

/** Which backups to find. All given criteria must hold. */
export interface BackupFilter {
  environment_id?: string;
  organization_id?: string;
  storage_config_id?: string;
  /** Backups whose second copy is (or is to be) on this config. */
  copy_storage_config_id?: string;
  /** Backups whose copy is in this state. */
  copy_status?: BackupCopyStatus;
  /** One status or any of several. */
  status?: BackupStatus | readonly BackupStatus[];
  backup_type?: BackupType;
  /** Only backups whose `expires_at` is non-null and strictly before this instant. */
  expires_before?: IsoDateTime;
}

/** Paging for {@link BackupRepository.list}; results are ordered by `created_at` descending, then `id`. */
export interface PageRequest {
  offset: number;
  limit: number;
}

/** Persistence of {@link Backup} records. Hosts implement it over their database. */
export interface BackupRepository {
  /** Stores a new record. Throws `ConflictError` when the id exists. */
  create(backup: Backup): Promise<Backup>;
  /** The record, or null. */
  get(id: string): Promise<Backup | null>;
  /**
   * Applies `patch` atomically when every field in `where` matches (compare-and-set), and
   * returns the new record. Throws `NotFoundError` for an unknown id and `ConflictError` when
   * `where` does not match. Implementations also set `updated_at` when the patch does not.
   */
  update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup>;
  /** One page of matches (newest first) and the total count of matches. */
  list(filter: BackupFilter, page: PageRequest): Promise<{ items: Backup[]; total: number }>;
  /** Every match, newest first. For retention and summaries of one environment. */
  find(filter: BackupFilter): Promise<Backup[]>;
  /** Sum of `compressed_size` over matches (the product's quota query). */
  sumCompressedSize(filter: BackupFilter): Promise<number>;
  /** Distinct environment ids that have at least one backup matching `filter`. */
  listEnvironmentIds(filter?: BackupFilter): Promise<string[]>;
}

/** Persistence of {@link BackupPolicy} records: at most one per environment. */
export interface BackupPolicyRepository {
  /** Stores a new policy. Throws `ConflictError` when the environment already has one. */
  create(policy: BackupPolicy): Promise<BackupPolicy>;
  get(id: string): Promise<BackupPolicy | null>;
  getByEnvironment(environmentId: string): Promise<BackupPolicy | null>;
  /** Compare-and-set update, as {@link BackupRepository.update}. Claiming a due slot uses `where: { next_backup_at }`. */
  update(id: string, patch: Partial<BackupPolicy>, where?: Where<BackupPolicy>): Promise<BackupPolicy>;
  /** Removes the policy; a missing one is not an error. */
  delete(id: string): Promise<void>;
  /** Enabled policies with `next_backup_at <= now`, earliest first, at most `limit`. */
  listDue(now: IsoDateTime, limit?: number): Promise<BackupPolicy[]>;
  /** Every enabled policy. */
  listEnabled(): Promise<BackupPolicy[]>;
  /** The earliest `next_backup_at` of any enabled policy, or null. Lets a runner sleep until then. */
  nextDueAt(): Promise<IsoDateTime | null>;
}

/** Which tasks {@link TaskRepository.find} returns. All given criteria must hold. */
export interface TaskFilter {
  task_type?: TaskType;
  environment_id?: string;
  /** One status or any of several. */
  status?: TaskStatus | readonly TaskStatus[];
}

/** Persistence of {@link Task} records. */
export interface TaskRepository {
  create(task: Task): Promise<Task>;
  get(id: string): Promise<Task | null>;
  /** Compare-and-set update, as {@link BackupRepository.update}. */
  update(id: string, patch: Partial<Task>, where?: Where<Task>): Promise<Task>;
  /**
   * Every task matching `filter`, oldest (`created_at`) first. Optional, so repositories written
   * before restores still fit; restore crash recovery and the one-restore-per-environment check
   * need it (they say so with a clear error when it is missing).
   */
  find?(filter: TaskFilter): Promise<Task[]>;
  /**
   * Creates `task` only when its environment has no other active (`pending`, `queued` or
   * `running`) task that was itself created through `createExclusive`; otherwise throws
   * `ConflictError` (with `details.active_task_id` when the repository can tell) and writes
   * nothing. Restores (and, later, drills and imports) claim their environment this way.
   *
   * The check and the insert must be ONE atomic step for every caller of every process: a
   * unique index over the environment of active exclusive tasks (what the PostgreSQL
   * repository does), a transaction holding a lock on the environment, or a synchronous
   * check-and-insert in a single-threaded store. A `find` followed by a `create` is not enough:
   * two concurrent calls both find nothing and both create. Optional so repositories written
   * before it still type-check; restores refuse to start (`E_UNSUPPORTED`) without it.
   */
  createExclusive?(task: Task): Promise<Task>;
}

/** A change to a storage config's usage counters, applied atomically. */
export interface UsageDelta {
  /** Added to `total_size_bytes` (negative to subtract). */
  bytes: number;
  /** Added to `object_count` (negative to subtract). */
  objects: number;
  /** New `last_used_at`, when given. */
  last_used_at?: IsoDateTime;
}

/** Persistence of {@link StorageConfig} records and their usage counters. */
export interface StorageConfigRepository {
  create(config: StorageConfig): Promise<StorageConfig>;
  get(id: string): Promise<StorageConfig | null>;
  /** The organisation's default config (`is_default`), or null. */
  getDefault(organizationId: string): Promise<StorageConfig | null>;
  /** Every config of the organisation, oldest first (`created_at`, then `id`). */
  list(organizationId: string): Promise<StorageConfig[]>;
  /** Removes the config; a missing one is not an error. */
  delete(id: string): Promise<void>;
  update(id: string, patch: Partial<StorageConfig>, where?: Where<StorageConfig>): Promise<StorageConfig>;
  /**
   * Adds `delta` to the usage counters in one atomic step (no read-modify-write race between
   * workers). Counters never go below zero.
   */
  adjustUsage(id: string, delta: UsageDelta): Promise<StorageConfig>;
}
