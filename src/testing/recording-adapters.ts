import type { EventSink, SdkEvent } from '../ports/events.js';
import type { Notification, Notifier } from '../ports/notifier.js';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter.js';
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';

/** An {@link EventSink} that keeps every event, for assertions. */
export class MemoryEventSink implements EventSink {
  readonly events: SdkEvent[] = [];
  private readonly listeners = new Set<(e: SdkEvent) => void>();
  emit(event: SdkEvent): void {
    this.events.push(event);
    for (const l of this.listeners) l(event);
  }
  /** Events of one type. */
  ofType<T extends SdkEvent['type']>(type: T): Extract<SdkEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<SdkEvent, { type: T }>[];
  }
  /** Calls `listener` for every later event; returns an unsubscribe function (SSE-style). */
  subscribe(listener: (e: SdkEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  clear(): void {
    this.events.length = 0;
  }
}

/** A {@link Notifier} that records what it was asked to send. */
export class MemoryNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async notify(notification: Notification): Promise<void> {
    this.sent.push(structuredClone(notification));
  }
}

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
    if (recent.length >= limit) {
      this.hits.set(key, recent);
      const oldest = recent[0] ?? now;
      return { allowed: false, remaining: 0, retry_after_seconds: Math.max(1, Math.ceil((oldest + windowSeconds * 1000 - now) / 1000)) };
    }
    recent.push(now);
    this.hits.set(key, recent);
    return { allowed: true, remaining: limit - recent.length, retry_after_seconds: 0 };
  }
}
