import type { EventSink, SdkEvent } from '../ports/events.js';
import type { Notification, Notifier } from '../ports/notifier.js';

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

// Moved to src/adapters (the services default to it); re-exported so the testing API stays the same.
export { InMemoryRateLimiter } from '../adapters/in-memory-rate-limiter.js';
