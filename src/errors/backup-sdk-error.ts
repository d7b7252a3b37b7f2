import type { ErrorCode } from './error-codes.js';

/** Options shared by every {@link BackupSdkError}. */
export interface BackupSdkErrorOptions {
  /** Structured, secret-free facts a program can act on (field names, exit codes, phases...). */
  details?: Record<string, unknown>;
  /** The underlying error, kept for logs and debugging. */
  cause?: unknown;
  /**
   * Whether trying the same operation again may succeed (network resets, timeouts, 5xx,
   * checksum mismatch in transfer). Job retries only repeat transient failures.
   */
  transient?: boolean;
}

/**
 * The base class of every error the SDK throws on purpose.
 *
 * `code` is stable across versions (`E_VALIDATION`, `E_NOT_FOUND`, ...) and comes from one
 * closed catalogue (see docs/errors.md): branch on it, not on the message. A host adapter's own
 * failure uses `E_ADAPTER` with its facts in `details`. The message is written for a person; `details` carries structured facts.
 * Secrets never appear in either.
 */
export class BackupSdkError extends Error {
  /** Stable machine-readable code from the catalogue (`ERROR_CODES`), e.g. `E_QUOTA_EXCEEDED`. */
  readonly code: ErrorCode;
  /** Structured, secret-free facts about the failure. */
  readonly details: Record<string, unknown>;
  /** True when retrying the same operation may succeed. */
  readonly transient: boolean;

  constructor(code: ErrorCode, message: string, options: BackupSdkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
    this.transient = options.transient ?? false;
  }

  /** A JSON shape suitable for `error_details` columns and HTTP error bodies. */
  toJSON(): { name: string; code: ErrorCode; message: string; details: Record<string, unknown>; transient: boolean } {
    return { name: this.name, code: this.code, message: this.message, details: this.details, transient: this.transient };
  }
}

/** True when `error` is a {@link BackupSdkError}, optionally with the given code. */
export function isBackupSdkError(error: unknown, code?: ErrorCode): error is BackupSdkError {
  return error instanceof BackupSdkError && (code === undefined || error.code === code);
}
