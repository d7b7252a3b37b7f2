import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter.js';

/**
 * A sliding-window {@link RateLimiter} in memory. Fine for one process; hosts with several
 * replicas should back it with Redis or their database.
 */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}
  async consume(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    const now = this.clock.now().getTime();
    const windowStart = now - windowSeconds * 1000;
    const recent = (this.hits.get(key) ?? []).filter((t) => t > windowStart);
    // Seconds until the oldest counted request leaves the window (at least 1: the header is whole seconds).
    const resetAfter = (oldest: number) => Math.max(1, Math.ceil((oldest + windowSeconds * 1000 - now) / 1000));
    if (recent.length >= limit) {
      this.hits.set(key, recent);
      const reset = resetAfter(recent[0] ?? now);
      return { allowed: false, remaining: 0, retry_after_seconds: reset, limit, reset_after_seconds: reset };
    }
    recent.push(now);
    this.hits.set(key, recent);
    return { allowed: true, remaining: limit - recent.length, retry_after_seconds: 0, limit, reset_after_seconds: resetAfter(recent[0]!) };
  }
}
