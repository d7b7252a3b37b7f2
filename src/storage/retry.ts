import pRetry from 'p-retry';
import { AbortedError } from '../errors/errors.js';
import { isBackupSdkError } from '../errors/backup-sdk-error.js';

/** How a provider retries transient failures (network resets, timeouts, 5xx, 429). */
export interface RetryOptions {
  /** Retries after the first attempt (default 4). 0 disables retrying. */
  retries?: number;
  /** Delay before the first retry in ms; doubles each time (default 500). */
  minDelayMs?: number;
  /** Longest delay between two attempts in ms (default 10,000). */
  maxDelayMs?: number;
}

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: Required<RetryOptions> = { retries: 4, minDelayMs: 500, maxDelayMs: 10_000 };

/**
 * Runs `attempt`, repeating it with exponential backoff (p-retry) while it throws an error whose
 * `transient` flag is set. `attempt` must throw already-classified errors (a `StorageError` from the
 * provider's classifier): permanent ones (auth, missing bucket, permission) end the call at once.
 * Only idempotent steps are retried this way; a stream cannot be re-read, so uploads retry their
 * parts (S3) or their connection, never the whole body.
 */
export async function withRetry<T>(
  operation: string,
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions & { signal?: AbortSignal } = {},
): Promise<T> {
  const { retries, minDelayMs, maxDelayMs } = { ...DEFAULT_RETRY, ...stripUndefined(options) };
  const { signal } = options;
  try {
    return await pRetry(attempt, {
      retries,
      minTimeout: minDelayMs,
      maxTimeout: maxDelayMs,
      factor: 2,
      randomize: true,
      ...(signal ? { signal } : {}),
      shouldRetry: ({ error }) => !signal?.aborted && isBackupSdkError(error) && error.transient,
    });
  } catch (error) {
    if (signal?.aborted && !(error instanceof AbortedError)) throw new AbortedError(operation, signal.reason);
    throw error;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Retries of a failed upload's clean-up (abort a multipart upload, remove a temp file), whatever
 * the transfer retries are: it is idempotent and cheap, and runs right after a dropped link,
 * when the first attempt may pick a dead pooled connection.
 */
export const CLEANUP_RETRIES = 2;
