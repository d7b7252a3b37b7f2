/**
 * odoo-backup-sdk: backup and restore for Odoo environments (PostgreSQL + filestore).
 *
 * The root is a curated list: every public name is an explicit line below, and
 * `test/unit/foundation/public-surface.test.ts` pins the runtime names. Everything else under
 * `src/` is internal and may change in any release. Heavy provider SDKs (AWS SDK, basic-ftp,
 * ssh2, ssh2-sftp-client) are not loaded by importing this module; a provider loads its SDK on
 * first use.
 *
 * @packageDocumentation
 */

// ---- Composition root: one call wires every service over one set of ports ----
export { createBackupSdk } from './sdk.js';
export type { BackupSdk, BackupSdkOptions, BackupSdkPorts, ResolvedBackupSdkPorts } from './sdk.js';

// ---- Adapters for single-process hosts ----
export { InProcessJobQueue } from './adapters/in-process-job-queue.js';
export type { InProcessJobQueueCloseOptions, InProcessJobQueueOptions } from './adapters/in-process-job-queue.js';

// ---- Services: what a host constructs and calls ----
export { BackupService } from './services/backup/backup-service.js';
export type {
  BackupDownload,
  BackupServiceOptions,
  CreateBackupOptions,
  DeleteBackupOptions,
  ListBackupsQuery,
  OdooExport,
  OpenDownloadOptions,
  OpenOdooExportOptions,
  PreOperationBackupOptions,
  PreOperationBackupType,
  RateLimitSettings,
  RetrySettings,
  BackupVerificationResult,
  VerifyBackupOptions,
  WaitForBackupOptions,
} from './services/backup/backup-service.js';
export type {
  BackupCreatedResponse,
  BackupDetail,
  BackupDownloadUrls,
  BackupListItem,
  BackupSummary,
  Page,
} from './services/backup/backup-responses.js';
export { BACKUP_JOB_NAME } from './services/backup/backup-job.js';
export type { BackupExecutor, BackupJobPayload, BackupJobResult } from './services/backup/backup-job.js';
export type { BackupCopyPayload, BackupCopyResult, StoredObject } from './services/backup/backup-copy.js';
export type { RecoveredBackup, RecoveredCopy, StaleRecoveryOptions, StaleRecoveryReport } from './services/backup/stale-recovery.js';
export { RestoreService } from './services/restore/restore-service.js';
export type { RestoreServiceOptions, WaitForRestoreOptions } from './services/restore/restore-service.js';
export { RESTORE_JOB_NAME } from './services/restore/restore-job.js';
export type {
  RestoreArchiveCall,
  RestoreArchiveFn,
  RestoreArchiveOutcome,
  RestoreArchiveProgress,
  RestoreJobPayload,
  RestoreJobResult,
} from './services/restore/restore-job.js';
export type { ImportSourceRecord, RestoreJournal, RestoreOutcome, RestoreStep } from './services/restore/restore-journal.js';
export type { ImportSource, StoredImportSource } from './services/restore/import-admission.js';
export type { RestoreHooks, RestoreSwapContext } from './services/restore/restore-swap.js';
export type { RecoveredRestore, RestoreRecoveryOptions, RestoreRecoveryReport } from './services/restore/restore-recovery.js';
export { RestoreRequestSchema } from './domain/restore-request.js';
export type {
  ImportRequest,
  ImportRequestExtras,
  ImportRequestInput,
  NewDatabaseRestoreInput,
  ReplaceRestoreInput,
  RestoreMode,
  RestoreRequest,
  RestoreRequestCommon,
  RestoreRequestInput,
} from './domain/restore-request.js';
export type { RestoreNames } from './domain/restore-names.js';
export { PolicyService } from './services/scheduling/policy-service.js';
export type { PolicyChange, PolicyChangeListener, PolicyChangeSource, PolicyServiceOptions } from './services/scheduling/policy-service.js';
export { RetentionService } from './services/retention/retention-service.js';
export type {
  RetentionCleanupError,
  RetentionCleanupOptions,
  RetentionCleanupResult,
  RetentionServiceOptions,
} from './services/retention/retention-service.js';
export { getQuotaStatus } from './services/retention/quota.js';
export type { QuotaDeps } from './services/retention/quota.js';
export { Scheduler } from './services/scheduling/scheduler.js';
export type { BackupStarter, RetentionRunner, SchedulerError, SchedulerOptions, TickResult } from './services/scheduling/scheduler.js';
export { StorageConfigService } from './services/storage-configs/storage-config-service.js';
export type { RedactedStorageConfig, StorageConfigServiceOptions } from './services/storage-configs/storage-config-service.js';
export { InMemoryScheduleClaims, PolicyRowScheduleClaims } from './services/scheduling/schedule-claims.js';
export type { ScheduleClaims } from './services/scheduling/schedule-claims.js';

// ---- Errors: every failure is a BackupSdkError with a code ----
export { BackupSdkError, isBackupSdkError } from './errors/backup-sdk-error.js';
export type { BackupSdkErrorOptions } from './errors/backup-sdk-error.js';
export {
  AbortedError,
  ArchiveError,
  CancelledError,
  ChecksumMismatchError,
  ConflictError,
  InvalidTransitionError,
  NotFoundError,
  PermissionDeniedError,
  QuotaExceededError,
  RateLimitError,
  SourceError,
  StorageError,
  TimeoutError,
  UnsupportedOperationError,
  ValidationError,
} from './errors/errors.js';
export type {
  ArchiveErrorCode,
  ConflictErrorCode,
  NotFoundEntity,
  NotFoundErrorOptions,
  SourceErrorCode,
  StorageErrorCode,
  ValidationErrorCode,
  ValidationIssue,
} from './errors/errors.js';
export { RestoreError } from './errors/restore-error.js';
export type { RestoreErrorCode } from './errors/restore-error.js';
export { ERROR_CODES, WARNING_CODES } from './errors/error-codes.js';
export type { ErrorCode, ErrorCodeInfo, ErrorCodeOf, WarningCode, WarningCodeInfo } from './errors/error-codes.js';

// ---- Entities and their value sets ----
export type { Backup, BackupPolicy, IsoDateTime, SecretRef, StorageConfig, StorageCredential, Task } from './domain/entities.js';
export type {
  EnvironmentSnapshot,
  EnvironmentSnapshotInput,
  SnapshotEnvironment,
  SnapshotProject,
  SnapshotVm,
} from './domain/environment-snapshot.js';
export {
  BACKUP_STATUSES,
  BACKUP_TYPES,
  BackupStatus,
  BackupType,
  RETENTION_TYPES,
  RetentionType,
  STORAGE_PROVIDER_TYPES,
  StorageProviderType,
  TASK_STATUSES,
  TaskStatus,
  TaskType,
} from './domain/enums.js';
export type { BackupCopyStatus } from './domain/enums.js';
export { BACKUP_TRANSITIONS, TASK_TRANSITIONS } from './domain/status-machine.js';
export { Permission, ROLE_PERMISSIONS, roleHasPermission } from './domain/permissions.js';
export type { Role } from './domain/permissions.js';
export { parseManifest } from './domain/manifest.js';
export type { BackupManifest, FilestoreCompressor, ManifestDatabase, ManifestFilestore } from './domain/manifest.js';

// ---- Input validation (zod schemas of the request bodies and queries) ----
export {
  BackupCreateSchema,
  BackupListQuerySchema,
  BackupPolicyCreateSchema,
  BackupPolicyUpdateSchema,
  CronSchema,
  DownloadQuerySchema,
  parseInput,
  TimezoneSchema,
  UuidSchema,
} from './domain/validation.js';
export type {
  BackupCreate,
  BackupCreateInput,
  BackupListQuery,
  BackupPolicyCreate,
  BackupPolicyCreateInput,
  BackupPolicyUpdate,
  DownloadQuery,
} from './domain/validation.js';

// ---- Scheduling ----
export { nextRun } from './domain/schedule.js';
export { isValidCron } from './domain/validation.js';
export { isValidTimeZone } from './domain/zoned-time.js';

// ---- Retention: GFS classification, planning and simulation; count-based keep policies ----
export { classifyRetention, computeExpiry, DEFAULT_RETENTION } from './domain/retention-classification.js';
export type { RetentionSettings } from './domain/retention-classification.js';
export { planRetention } from './domain/retention-plan.js';
export type { RetentionCandidate, RetentionExpire, RetentionKeep, RetentionPlan, RetentionPromote } from './domain/retention-plan.js';
export { simulateRetention } from './domain/retention-simulator.js';
export type {
  RetainedByTier,
  RetentionLifetime,
  RetentionSimulationOptions,
  RetentionSimulationResult,
  RetentionSimulationSample,
  TimeOfDay,
} from './domain/retention-simulator.js';
export { planKeepPolicy } from './domain/keep-policy.js';
export type { KeepCounters, KeepDuration, KeepPlan, KeepPlanOptions, KeepPolicy, KeptItem } from './domain/keep-policy.js';

// ---- Ports: the interfaces a host implements, and their trivial defaults ----
export type { Actor, AuthorizationRequest, Authorizer } from './ports/authorizer.js';
export type {
  BackupSource,
  BackupSourceFactory,
  DatabaseFacts,
  DatabaseSnapshot,
  DumpOptions,
  FilestoreOptions,
  OpenSnapshotOptions,
  SourceStream,
  SourceStreamOptions,
} from './ports/backup-source.js';
export { systemClock } from './ports/clock.js';
export type { Clock } from './ports/clock.js';
export type { CommandExit, CommandRunner, CommandSpec, RunningCommand } from './ports/command-runner.js';
export type { EnvironmentResolver, ResolvedEnvironment } from './ports/environment-resolver.js';
export { nullEventSink } from './ports/events.js';
export type {
  BackupPhase,
  BackupProgressEvent,
  BackupStatusEvent,
  EventSink,
  RestoreProgressEvent,
  RestoreStatusEvent,
  SdkEvent,
  ServiceEvent,
  TaskStatusEvent,
  WarningEvent,
} from './ports/events.js';
export type { DeadLetter, JobContext, JobHandler, JobInfo, JobOptions, JobQueue, JobState, Worker } from './ports/job-queue.js';
export type { LogFields, Logger, LogMethod } from './ports/logger.js';
export { nullNotifier } from './ports/notifier.js';
export type { Notification, Notifier } from './ports/notifier.js';
export type { QuotaLookup, QuotaStatus } from './ports/quota.js';
export type { RateLimitDecision, RateLimiter } from './ports/rate-limiter.js';
export type {
  RestoreDumpOptions,
  RestoreStepOptions,
  RestoreTarget,
  RestoreTargetFacts,
  RestoreTargetFactory,
} from './ports/restore-target.js';
export type {
  BackupFilter,
  BackupPolicyRepository,
  BackupRepository,
  PageRequest,
  StorageConfigRepository,
  TaskFilter,
  TaskRepository,
  UsageDelta,
  Where,
} from './ports/repositories.js';
export type {
  ConnectionTestResult,
  ConnectionTestStep,
  DownloadOptions,
  ObjectHead,
  ObjectInfo,
  StorageProvider,
  StorageProviderFactory,
  UploadOptions,
  UploadResult,
} from './ports/storage-provider.js';
export type { IdentityScope, KeyProvider, RecipientScope } from './ports/key-provider.js';
export type { SecretResolver, SecretScope } from './ports/secret-resolver.js';

// ---- Storage: the factory, the providers and their options ----
export { createStorageProvider } from './storage/registry.js';
export { redactStorageConfig } from './storage/redact.js';
// The settings schemas are reached through StorageConfigService.settingsSchema and
// .providerSettingsSchemas (the root's runtime-name budget); their types are here.
export type {
  B2StorageSettings,
  FtpStorageSettings,
  LocalStorageSettings,
  MemoryStorageSettings,
  MinioStorageSettings,
  R2StorageSettings,
  S3StorageSettings,
  SftpStorageSettings,
  StorageConfigSettings,
} from './storage/storage-settings-schemas.js';
export { MemoryStorageProvider } from './storage/memory/memory-provider.js';
export type { MemoryStorageOptions, MemoryUploadFault } from './storage/memory/memory-provider.js';
export { LocalStorageProvider } from './storage/local/local-provider.js';
export type { LocalStorageOptions } from './storage/local/local-provider.js';
export { S3StorageProvider } from './storage/s3/s3-provider.js';
export type { S3Preset, S3ProviderOptions } from './storage/s3/s3-presets.js';
export { FtpStorageProvider } from './storage/ftp/ftp-provider.js';
export type { FtpProviderOptions } from './storage/ftp/ftp-options.js';
export { SftpStorageProvider } from './storage/sftp/sftp-provider.js';
export type { SftpProviderOptions } from './storage/sftp/sftp-options.js';
export type { RetryOptions } from './storage/retry.js';

// ---- Sources: where the database and filestore are read from ----
export { createBackupSource } from './sources/create-backup-source.js';
export type { CreateBackupSourceOptions } from './sources/create-backup-source.js';
export { createRestoreTarget } from './sources/create-restore-target.js';
export type { CreateRestoreTargetOptions } from './sources/create-restore-target.js';
export { defaultDockerSource } from './domain/source-config.js';
export type { DockerSource, LocalSource, PgConnection, Secret, SourceConfig, SshSource, SshTarget } from './domain/source-config.js';

// ---- Pipeline: the backup runner and archive verification ----
export { BackupRunner } from './pipeline/backup-runner.js';
export type { BackupRunnerDeps, RunBackupOptions } from './pipeline/backup-runner.js';
export { verifyBackupArchive } from './pipeline/verify-archive.js';
export type { ArchiveVerification, VerifyArchiveOptions } from './pipeline/verify-archive.js';
export { readBackupManifest } from './pipeline/read-manifest.js';
export { detectArchiveFormat, type ArchiveFormat, type DetectArchiveFormatOptions } from './pipeline/detect-archive-format.js';
export type { ReadBackupManifestOptions } from './pipeline/read-manifest.js';
export type { RestoreArchiveOptions, RestoreArchiveResult, RestoreProgress } from './pipeline/restore-runner.js';
export type { RestoreLimits } from './pipeline/restore-limits.js';
export { pgRestoreLister } from './pipeline/dump-lister.js';
export type { DumpLister, DumpListing, PgRestoreListerOptions } from './pipeline/dump-lister.js';
