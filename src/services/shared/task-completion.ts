import type { Clock } from '../../ports/clock.js';

/**
 * Lets a caller in this process wait for a task to reach an end state (completed or failed).
 * The job handler announces ends here; a waiter also polls the repository on the clock, so it
 * sees tasks finished by a worker in another process too.
 */
export class TaskCompletionHub {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Wakes everyone waiting on `taskId`. */
  announce(taskId: string): void {
    const set = this.waiters.get(taskId);
    if (!set) return;
    this.waiters.delete(taskId);
    for (const wake of set) wake();
  }

  /**
   * Resolves once `isDone()` is true, checking it now, on every announcement for `taskId`, and
   * every `pollMs` of `clock` time. Rejects with the signal's reason when `signal` aborts.
   */
  async waitFor(taskId: string, isDone: () => Promise<boolean>, clock: Clock, pollMs: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (await isDone()) return;
      const stop = new AbortController();
      const onAbort = () => stop.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let wake!: () => void;
      const announced = new Promise<void>((resolve) => (wake = resolve));
      let set = this.waiters.get(taskId);
      if (!set) this.waiters.set(taskId, (set = new Set()));
      set.add(wake);
      try {
        await Promise.race([announced, clock.sleep(pollMs, stop.signal)]);
      } finally {
        stop.abort();
        signal?.removeEventListener('abort', onAbort);
        this.waiters.get(taskId)?.delete(wake);
        if (this.waiters.get(taskId)?.size === 0) this.waiters.delete(taskId);
      }
    }
  }
}
