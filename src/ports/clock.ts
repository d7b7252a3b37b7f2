/**
 * Time, injectable so schedules and retention are tested without sleeping. The SDK never calls
 * `Date.now()` or `setTimeout` directly in services; it asks the clock.
 */
export interface Clock {
  /** The current instant. */
  now(): Date;
  /**
   * Resolves after `ms` milliseconds of this clock's time; rejects with the signal's reason
   * when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      // Timers run on a monotonic clock and may fire a millisecond before the wall clock
      // (`now()`) shows `ms` elapsed; re-arm for the remainder so a sleeper never wakes early.
      const deadline = Date.now() + Math.max(0, ms);
      let timer: ReturnType<typeof setTimeout>;
      const arm = (): void => {
        timer = setTimeout(
          () => {
            const left = deadline - Date.now();
            if (left > 0) return arm();
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.max(0, deadline - Date.now()),
        );
      };
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      arm();
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
