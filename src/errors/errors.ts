import { BackupSdkError, type BackupSdkErrorOptions } from './backup-sdk-error.js';
import type { ErrorCodeOf } from './error-codes.js';

/** Codes a {@link ValidationError} carries. */
export type ValidationErrorCode = ErrorCodeOf<'ValidationError'>;
/** Codes a {@link ConflictError} (or its subclass {@link InvalidTransitionError}) carries. */
export type ConflictErrorCode = ErrorCodeOf<'ConflictError' | 'InvalidTransitionError'>;
/** Codes a {@link StorageError} carries. */
export type StorageErrorCode = ErrorCodeOf<'StorageError'>;
/** Codes a {@link SourceError} carries. */
export type SourceErrorCode = ErrorCodeOf<'SourceError'>;
/** Codes an {@link ArchiveError} carries. */
export type ArchiveErrorCode = ErrorCodeOf<'ArchiveError'>;

/** The kinds of record a {@link NotFoundError} names in `details.entity`. */
export type NotFoundEntity = 'backup' | 'policy' | 'task' | 'storage_config' | 'environment' | 'object';

const ENTITY_WORDS: Record<NotFoundEntity, string> = {
  backup: 'Backup',
  policy: 'Backup policy',
  task: 'Task',
  storage_config: 'Storage config',
  environment: 'Environment',
  object: 'Object',
};

/** Options of {@link NotFoundError}: a message that says more than "<entity> <id> was not found". */
export interface NotFoundErrorOptions extends BackupSdkErrorOptions {
  /** Replaces the default message. */
  message?: string;
}

/** One bad field of an input, as reported by {@link ValidationError}. */
export interface ValidationIssue {
  /** Dotted path of the field (`daily_retention`, `range.start`); empty for the whole input. */
  field: string;
  /** Why it is bad, in words a person can act on. */
  message: string;
}

/** Bad input, reported before any side effect. `details.issues` names each bad field. */
export class ValidationError extends BackupSdkError {
  /** Every bad field with its reason. */
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], message?: string, code: ValidationErrorCode = 'E_VALIDATION') {
    super(code, message ?? `Invalid input: ${issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ')}`, {
      details: { issues },
    });
    this.issues = issues;
  }
}

/** A record (backup, policy, task, storage config, environment, object) that does not exist. */
export class NotFoundError extends BackupSdkError {
  /** The kind of record that is missing. */
  readonly entity: NotFoundEntity;
  constructor(entity: NotFoundEntity, id: string, options: NotFoundErrorOptions = {}) {
    const { message, ...rest } = options;
    super('E_NOT_FOUND', message ?? `${ENTITY_WORDS[entity]} ${id} was not found`, { ...rest, details: { entity, id, ...rest.details } });
    this.entity = entity;
  }
}

/** A write that lost a race or contradicts current state (duplicate, stale compare-and-set). */
export class ConflictError extends BackupSdkError {
  constructor(message: string, options: BackupSdkErrorOptions = {}, code: ConflictErrorCode = 'E_CONFLICT') {
    super(code, message, options);
  }
}

/** A status change the state machine does not allow (e.g. completed -> in_progress). */
export class InvalidTransitionError extends ConflictError {
  constructor(entity: string, from: string, to: string, id?: string) {
    super(
      `${entity}${id ? ` ${id}` : ''} cannot move from '${from}' to '${to}'`,
      { details: { entity, id, from, to } },
      'E_INVALID_TRANSITION',
    );
  }
}

/** The organisation's backup storage quota is used up. */
export class QuotaExceededError extends BackupSdkError {
  constructor(organizationId: string, usedBytes: number, limitBytes: number) {
    super(
      'E_QUOTA_EXCEEDED',
      `Organisation ${organizationId} uses ${usedBytes} of its ${limitBytes} bytes of backup storage: delete old backups or raise the quota`,
      {
        details: { organization_id: organizationId, used_bytes: usedBytes, limit_bytes: limitBytes },
      },
    );
  }
}

/** Too many requests for one rate-limit key. */
export class RateLimitError extends BackupSdkError {
  /** Seconds until another request will be accepted. */
  readonly retryAfterSeconds: number;
  constructor(key: string, limit: number, windowSeconds: number, retryAfterSeconds: number) {
    super('E_RATE_LIMITED', `Rate limit reached: at most ${limit} requests per ${windowSeconds} s; try again in ${retryAfterSeconds} s`, {
      details: { key, limit, window_seconds: windowSeconds, retry_after_seconds: retryAfterSeconds },
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The caller is not allowed to do this (the host's authorize hook said no). */
export class PermissionDeniedError extends BackupSdkError {
  constructor(permission: string, options: BackupSdkErrorOptions = {}) {
    super('E_PERMISSION_DENIED', `Permission '${permission}' is required for this operation`, {
      ...options,
      details: { permission, ...options.details },
    });
  }
}

/** The operation is not offered by this adapter (e.g. presigned URLs on FTP). */
export class UnsupportedOperationError extends BackupSdkError {
  constructor(operation: string, by: string, hint?: string) {
    super('E_UNSUPPORTED', `${by} does not support ${operation}${hint ? `: ${hint}` : ''}`, { details: { operation, by } });
  }
}

/** Bytes read back do not hash to what was recorded. Transient: a new transfer may succeed. */
export class ChecksumMismatchError extends BackupSdkError {
  constructor(part: string, expected: string, actual: string) {
    super('E_CHECKSUM_MISMATCH', `Checksum mismatch for ${part}: expected ${expected}, got ${actual}`, {
      details: { part, expected, actual },
      transient: true,
    });
  }
}

/**
 * A storage provider failed. `code` says which way: `E_STORAGE_AUTH`, `E_STORAGE_PERMISSION`,
 * `E_STORAGE_NOT_FOUND` (bucket, folder or object), `E_STORAGE_UNAVAILABLE` (transient) or another
 * member of {@link StorageErrorCode}.
 */
export class StorageError extends BackupSdkError {
  constructor(code: StorageErrorCode, message: string, options: BackupSdkErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * Reaching the database or filestore failed: `E_SOURCE_PG_DUMP`, `E_SOURCE_TAR`, `E_SOURCE_SSH`,
 * `E_SOURCE_PG_RESTORE`, `E_SOURCE_PSQL` (an admin statement of a restore), `E_SOURCE_FILES` (creating,
 * renaming or removing a folder, staging a dump) or `E_SOURCE`. `details` carries the exit code, the tool's stderr tail and the phase.
 */
export class SourceError extends BackupSdkError {
  constructor(code: SourceErrorCode, message: string, options: BackupSdkErrorOptions = {}) {
    super(code, message, options);
  }
}

/** An operation ran past its time limit (job timeout, connection timeout). Transient. */
export class TimeoutError extends BackupSdkError {
  constructor(operation: string, timeoutMs: number, options: BackupSdkErrorOptions = {}) {
    super('E_TIMEOUT', `${operation} did not finish within ${Math.round(timeoutMs / 1000)} s`, {
      ...options,
      details: { operation, timeout_ms: timeoutMs, ...options.details },
      transient: options.transient ?? true,
    });
  }
}

/** The caller's AbortSignal fired. Not transient: someone asked to stop. */
export class AbortedError extends BackupSdkError {
  constructor(operation: string, reason?: unknown) {
    super('E_ABORTED', `${operation} was aborted${reason instanceof Error && reason.message ? `: ${reason.message}` : ''}`, {
      details: { operation },
      cause: reason,
    });
  }
}

/**
 * A backup was cancelled on request (`BackupService.cancelBackup`). Not transient: it is not
 * retried. `E_ABORTED` stays for the host's own abort signals (shutdown).
 */
export class CancelledError extends BackupSdkError {
  constructor(operation: string, options: BackupSdkErrorOptions = {}) {
    super('E_CANCELLED', `${operation} was cancelled on request`, { ...options, details: { operation, ...options.details } });
  }
}

/** An archive is corrupt, hostile (path traversal, zip bomb) or of an unknown manifest version. */
export class ArchiveError extends BackupSdkError {
  constructor(message: string, options: BackupSdkErrorOptions = {}, code: ArchiveErrorCode = 'E_ARCHIVE') {
    super(code, message, options);
  }
}
