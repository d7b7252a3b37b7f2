import type { Clock } from '../ports/clock.js';

interface Sleeper {
  until: number;
  seq: number;
  resolve: () => void;
}

/**
 * A {@link Clock} that moves only when told. `sleep` resolves when `advance`/`set` passes its
 * deadline, so schedules, retries and timeouts are tested without real waiting.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(start: Date | string | number = '2026-01-01T00:00:00.000Z') {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = { until: this.t + Math.max(0, ms), seq: this.seq++, resolve: () => resolve() };
      if (ms <= 0) {
        // Yield a turn like setTimeout(0) would, but do not wait for an advance.
        queueMicrotask(() => resolve());
        return;
      }
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Number of pending sleeps (useful to wait until code under test is parked). */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }

  /** The earliest pending sleep deadline, or null. */
  nextWakeAt(): Date | null {
    if (this.sleepers.length === 0) return null;
    return new Date(Math.min(...this.sleepers.map((s) => s.until)));
  }

  /** Moves time forward by `ms`, waking sleepers in deadline order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    await this.set(this.t + ms);
  }

  /** Moves time to `to` (never backwards), waking sleepers in deadline order. */
  async set(to: Date | string | number): Promise<void> {
    const target = new Date(to).getTime();
    if (target < this.t) throw new Error('FakeClock cannot go backwards');
    for (;;) {
      const due = this.sleepers.filter((s) => s.until <= target).sort((a, b) => a.until - b.until || a.seq - b.seq)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.until);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.resolve();
      await flushMicrotasks();
    }
    this.t = target;
    await flushMicrotasks();
  }
}

/** Lets pending promise continuations run (a few macrotask turns). */
export async function flushMicrotasks(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
