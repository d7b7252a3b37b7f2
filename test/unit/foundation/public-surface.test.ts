// The public API is a promise: these lists pin every runtime name each entry point exports.
// Adding a public name means a line in src/index.ts (or the subpath's index) AND a line here;
// removing one is a breaking change for the CHANGELOG.
import { describe, expect, it } from 'vitest';
import * as root from '../../../src/index.js';
import * as testing from '../../../src/testing/index.js';
import * as postgres from '../../../src/integrations/postgres/index.js';
import * as bullmq from '../../../src/integrations/bullmq/index.js';
import * as http from '../../../src/integrations/http/index.js';

const ROOT = [
  'AbortedError',
  'ArchiveError',
  'BACKUP_JOB_NAME',
  'BACKUP_STATUSES',
  'BACKUP_TRANSITIONS',
  'BACKUP_TYPES',
  'BackupCreateSchema',
  'BackupListQuerySchema',
  'BackupPolicyCreateSchema',
  'BackupPolicyUpdateSchema',
  'BackupRunner',
  'BackupSdkError',
  'BackupService',
  'BackupStatus',
  'BackupType',
  'CancelledError',
  'ChecksumMismatchError',
  'ConflictError',
  'CronSchema',
  'DEFAULT_RETENTION',
  'DownloadQuerySchema',
  'ERROR_CODES',
  'FtpStorageProvider',
  'InMemoryScheduleClaims',
  'InProcessJobQueue',
  'InvalidTransitionError',
  'LocalStorageProvider',
  'MemoryStorageProvider',
  'NotFoundError',
  'Permission',
  'PermissionDeniedError',
  'PolicyRowScheduleClaims',
  'PolicyService',
  'QuotaExceededError',
  'RESTORE_JOB_NAME',
  'RETENTION_TYPES',
  'ROLE_PERMISSIONS',
  'RateLimitError',
  'RestoreError',
  'RestoreRequestSchema',
  'RestoreService',
  'RetentionService',
  'RetentionType',
  'S3StorageProvider',
  'STORAGE_PROVIDER_TYPES',
  'Scheduler',
  'SftpStorageProvider',
  'SourceError',
  'StorageConfigService',
  'StorageError',
  'StorageProviderType',
  'TASK_STATUSES',
  'TASK_TRANSITIONS',
  'TaskStatus',
  'TaskType',
  'TimeoutError',
  'TimezoneSchema',
  'UnsupportedOperationError',
  'UuidSchema',
  'ValidationError',
  'WARNING_CODES',
  'classifyRetention',
  'computeExpiry',
  'createBackupSdk',
  'createBackupSource',
  'createRestoreTarget',
  'createStorageProvider',
  'defaultDockerSource',
  'getQuotaStatus',
  'isBackupSdkError',
  'isValidCron',
  'isValidTimeZone',
  'nextRun',
  'nullEventSink',
  'nullNotifier',
  'parseInput',
  'parseManifest',
  'pgRestoreLister',
  'planKeepPolicy',
  'planRetention',
  'readBackupManifest',
  'detectArchiveFormat',
  'redactStorageConfig',
  'roleHasPermission',
  'simulateRetention',
  'systemClock',
  'verifyBackupArchive',
];

const TESTING = [
  'FAKE_DATABASE_FACTS',
  'FakeBackupSource',
  'FakeClock',
  'FakeRestoreTarget',
  'InMemoryBackupPolicyRepository',
  'InMemoryBackupRepository',
  'InMemoryJobQueue',
  'InMemoryRateLimiter',
  'InMemoryStorageConfigRepository',
  'InMemoryTable',
  'InMemoryTaskRepository',
  'MemoryEventSink',
  'MemoryNotifier',
  'SAMPLE_RECORD_TIME',
  'StaticEnvironmentResolver',
  'allHaveCode',
  'backupPolicyRepositoryChecks',
  'backupRepositoryChecks',
  'clockChecks',
  'digestStream',
  'failingChecks',
  'fakeBackupSourceFactory',
  'fakeBytes',
  'fakeBytesChecksum',
  'fakeRestoreTargetFactory',
  'flushMicrotasks',
  'generatedStream',
  'jobQueueChecks',
  'makeBackup',
  'makeBackupPolicy',
  'makeResolvedEnvironment',
  'makeStorageConfig',
  'makeTask',
  'race',
  'rateLimiterChecks',
  'registerChecks',
  'rejectsWithCode',
  'runBackupPolicyRepositoryContract',
  'runBackupRepositoryContract',
  'runClockContract',
  'runJobQueueContract',
  'runRateLimiterContract',
  'runStorageConfigRepositoryContract',
  'runStorageProviderContract',
  'runTaskRepositoryContract',
  'storageConfigRepositoryChecks',
  'storageProviderChecks',
  'taskRepositoryChecks',
  'uniqueSuffix',
];

const POSTGRES = [
  'JsonbTable',
  'PostgresBackupPolicyRepository',
  'PostgresBackupRepository',
  'PostgresStorageConfigRepository',
  'PostgresTaskRepository',
  'createPostgresRepositories',
  'postgresSchemaSql',
  'postgresTableNames',
];

const BULLMQ = ['BullMqJobQueue'];

const HTTP = [
  'HTTP_STATUS_BY_CODE',
  'IDEMPOTENCY_TTL_SECONDS',
  'InProcessEventBus',
  'InProcessIdempotencyStore',
  'createBackupApi',
  'openApiDocument',
  'toNodeHandler',
];

/** Helpers the root exported before it was curated; they stay internal. */
const INTERNAL = [
  'nextRuns',
  'probeStorage',
  'checkSourceConfig',
  'parseKeepDuration',
  'quoteShellArg',
  'shellCommand',
  'StderrTail',
  'civilFromEpochDay',
  'localMs',
  'zonedParts',
  'TEMP_MARK',
  'tempName',
  'ftpReplyCode',
  'classifyFtpError',
  'classifyS3Error',
  'classifySftpError',
  'ConnectionPool',
  'SettingsReader',
  'MeasuringStream',
  'StorageRangeReader',
  'ArchiveWriter',
  'networkErrorCode',
  'scrubMessage',
  'withRetry',
  'PROVIDER_BUILDERS',
  'hostKeyVerifier',
  'LocalCommandRunner',
  'SshCommandRunner',
  'buildManifest',
  'createBackupJobHandler',
  'recoverStaleBackups',
];

const sorted = (m: object) => Object.keys(m).sort();

describe('public surface', () => {
  it('the root exports exactly the curated runtime names', () => {
    expect(sorted(root)).toEqual([...ROOT].sort());
  });

  // The budget is a promise to hosts: a bigger root is a decision to record, not an accident.
  it('the root stays within its budget of 90 runtime names', () => {
    expect(Object.keys(root).length).toBeLessThanOrEqual(90);
  });

  it('no internal helper leaks from the root', () => {
    const leaked = INTERNAL.filter((name) => name in root);
    expect(leaked).toEqual([]);
  });

  it('odoo-backup-sdk/testing exports exactly its pinned names', () => {
    expect(sorted(testing)).toEqual([...TESTING].sort());
  });

  it('odoo-backup-sdk/postgres and odoo-backup-sdk/bullmq export exactly their pinned names', () => {
    expect(sorted(postgres)).toEqual([...POSTGRES].sort());
    expect(sorted(bullmq)).toEqual([...BULLMQ].sort());
  });

  it('odoo-backup-sdk/http exports exactly its pinned names', () => {
    expect(sorted(http)).toEqual([...HTTP].sort());
  });
});
