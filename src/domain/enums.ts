/** Lifecycle of a backup. See {@link BACKUP_TRANSITIONS} for the legal moves. */
export const BackupStatus = {
  PENDING: 'pending',
  IN_PROGRESS: 'in_progress',
  UPLOADING: 'uploading',
  COMPLETED: 'completed',
  FAILED: 'failed',
  EXPIRED: 'expired',
  DELETED: 'deleted',
} as const;
/** One of `pending`, `in_progress`, `uploading`, `completed`, `failed`, `expired`, `deleted`. */
export type BackupStatus = (typeof BackupStatus)[keyof typeof BackupStatus];
/** Every {@link BackupStatus}, in lifecycle order. */
export const BACKUP_STATUSES = Object.values(BackupStatus) as readonly BackupStatus[];

/** How a backup came to be. */
export const BackupType = {
  MANUAL: 'manual',
  SCHEDULED: 'scheduled',
  PRE_RESTORE: 'pre_restore',
  PRE_UPGRADE: 'pre_upgrade',
  PRE_DESTROY: 'pre_destroy',
} as const;
/** One of `manual`, `scheduled`, `pre_restore`, `pre_upgrade`, `pre_destroy`. */
export type BackupType = (typeof BackupType)[keyof typeof BackupType];
/** Every {@link BackupType}. */
export const BACKUP_TYPES = Object.values(BackupType) as readonly BackupType[];

/** GFS tier of a backup. */
export const RetentionType = {
  DAILY: 'daily',
  WEEKLY: 'weekly',
  MONTHLY: 'monthly',
  YEARLY: 'yearly',
  PERMANENT: 'permanent',
} as const;
/** One of `daily`, `weekly`, `monthly`, `yearly`, `permanent`. */
export type RetentionType = (typeof RetentionType)[keyof typeof RetentionType];
/** Every {@link RetentionType}, lowest tier first. */
export const RETENTION_TYPES = Object.values(RetentionType) as readonly RetentionType[];

/** Lifecycle of a task (the job record a host shows to users). */
export const TaskStatus = {
  PENDING: 'pending',
  QUEUED: 'queued',
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
} as const;
/** One of `pending`, `queued`, `running`, `completed`, `failed`. */
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];
/** Every {@link TaskStatus}. */
export const TASK_STATUSES = Object.values(TaskStatus) as readonly TaskStatus[];
/** Statuses of a task that has not ended: it holds its environment when it was created exclusively. */
export const ACTIVE_TASK_STATUSES: readonly TaskStatus[] = ['pending', 'queued', 'running'];

/** What a task does. */
export const TaskType = {
  BACKUP: 'backup',
  RESTORE: 'restore',
  /** Copies a completed backup's object to its policy's secondary storage. */
  BACKUP_COPY: 'backup_copy',
} as const;
/** One of `backup`, `restore`, `backup_copy`. */
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

/** Where a backup's second copy stands (`Backup.copy_status`). */
export const BackupCopyStatus = {
  PENDING: 'pending',
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
} as const;
/** One of `pending`, `running`, `completed`, `failed`. */
export type BackupCopyStatus = (typeof BackupCopyStatus)[keyof typeof BackupCopyStatus];

/** Storage provider kinds understood by `createStorageProvider`. */
export const StorageProviderType = {
  S3: 's3',
  R2: 'r2',
  B2: 'b2',
  MINIO: 'minio',
  FTP: 'ftp',
  SFTP: 'sftp',
  LOCAL: 'local',
  MEMORY: 'memory',
} as const;
/** One of `s3`, `r2`, `b2`, `minio`, `ftp`, `sftp`, `local`, `memory`. */
export type StorageProviderType = (typeof StorageProviderType)[keyof typeof StorageProviderType];
/** Every {@link StorageProviderType}. */
export const STORAGE_PROVIDER_TYPES = Object.values(StorageProviderType) as readonly StorageProviderType[];
