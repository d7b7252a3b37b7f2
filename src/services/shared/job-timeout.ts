import { TimeoutError } from '../../errors/errors.js';
import type { Clock } from '../../ports/clock.js';

/** A signal that fires when a job runs too long or its queue cancels it. */
export interface JobDeadline {
  /** Aborts on the timeout (reason: a {@link TimeoutError}) or when the outer signal aborts. */
  readonly signal: AbortSignal;
  /** True once the timeout itself fired (not the outer signal). */
  readonly timedOut: boolean;
  /** The error the timeout raised, once it fired. */
  readonly timeoutError: TimeoutError | null;
  /** Stops the timer; call it when the job ends so no sleep is left behind on the clock. */
  dispose(): void;
}

/**
 * Ties a job to a time limit measured on `clock` (see docs/decisions.md#job-timeout: 3600 s by default), so a
 * `FakeClock` can expire it in a test without waiting. The returned signal also follows `outer`
 * (the queue's cancel signal).
 */
export function startJobDeadline(clock: Clock, timeoutMs: number, operation: string, outer?: AbortSignal): JobDeadline {
  const controller = new AbortController();
  const timer = new AbortController();
  let timeoutError: TimeoutError | null = null;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  clock.sleep(timeoutMs, timer.signal).then(
    () => {
      if (controller.signal.aborted) return;
      timeoutError = new TimeoutError(operation, timeoutMs);
      controller.abort(timeoutError);
    },
    () => undefined, // disposed before the deadline
  );
  return {
    signal: controller.signal,
    get timedOut() {
      return timeoutError !== null;
    },
    get timeoutError() {
      return timeoutError;
    },
    dispose() {
      timer.abort();
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}
