import { AbortedError, ValidationError } from '../../errors/errors.js';
import type { Clock } from '../../ports/clock.js';
import { startJobDeadline } from './job-timeout.js';
import type { TaskCompletionHub } from './task-completion.js';

/** How {@link waitUntilSettled} waits for one record. */
export interface SettleWait {
  /** Where this process announces changes of the record. */
  hub: TaskCompletionHub;
  /** The record's id, as announced on `hub`. */
  id: string;
  /** Re-reads the record; true once it is settled. */
  isSettled: () => Promise<boolean>;
  clock: Clock;
  /** Re-read every this many ms of `clock` (a worker in another process announces nothing here). */
  pollMs: number;
  /** Give up after this long on `clock`: `TimeoutError` (`E_TIMEOUT`). */
  timeoutMs: number;
  /** Stop waiting when it aborts: `AbortedError` (`E_ABORTED`). */
  signal?: AbortSignal | undefined;
  /** What is waited for, for the errors' messages (`Waiting for backup ...`). */
  operation: string;
}

/**
 * The wait behind `waitForBackup` and `waitForRestore`: checks now, on every announcement in this
 * process and every `pollMs` of the clock, until `isSettled()`; the job it waits for goes on
 * whatever ends the wait.
 *
 * @throws ValidationError `timeoutMs` is not a positive number
 * @throws TimeoutError (`E_TIMEOUT`) after `timeoutMs`
 * @throws AbortedError (`E_ABORTED`) when `signal` aborts
 */
export async function waitUntilSettled(wait: SettleWait): Promise<void> {
  const { signal, operation } = wait;
  if (!(Number.isFinite(wait.timeoutMs) && wait.timeoutMs > 0))
    throw new ValidationError([{ field: 'timeoutMs', message: 'must be a positive number' }]);
  if (signal?.aborted) throw new AbortedError(operation, signal.reason);
  const deadline = startJobDeadline(wait.clock, wait.timeoutMs, operation, signal);
  try {
    await wait.hub.waitFor(wait.id, wait.isSettled, wait.clock, wait.pollMs, deadline.signal);
  } catch (error) {
    if (deadline.timeoutError) throw deadline.timeoutError;
    if (signal?.aborted) throw new AbortedError(operation, signal.reason);
    throw error;
  } finally {
    deadline.dispose();
  }
}
