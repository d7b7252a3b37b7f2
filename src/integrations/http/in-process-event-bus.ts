import { randomBytes } from 'node:crypto';
import type { BusDelivery, EventBus, EventSubscribeOptions, EventSubscription } from '../../ports/event-bus.js';
import type { SdkEvent } from '../../ports/events.js';

/** Options of {@link InProcessEventBus}. */
export interface InProcessEventBusOptions {
  /** Events kept for clients that resume with `Last-Event-ID` (default 1000). */
  bufferSize?: number;
}

/**
 * An {@link EventBus} in this process: the last `bufferSize` events (default 1000) kept for
 * resuming clients, delivered to every subscriber synchronously from `emit`. Event ids carry a
 * random prefix per bus, so an id from before a restart is reported `missed`, never confused
 * with a new event. For a host with one process; replicas need a bus over their broker.
 */
export class InProcessEventBus implements EventBus {
  private readonly prefix = randomBytes(4).toString('hex');
  private readonly buffer: BusDelivery[] = [];
  private readonly listeners = new Set<(delivery: BusDelivery) => void>();
  private readonly bufferSize: number;
  private sequence = 0;

  constructor(options: InProcessEventBusOptions = {}) {
    this.bufferSize = options.bufferSize ?? 1000;
  }

  /** Subscribers now (an SSE client that left is no longer one). */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  emit(event: SdkEvent): void {
    const delivery: BusDelivery = { id: `${this.prefix}-${++this.sequence}`, event };
    this.buffer.push(delivery);
    if (this.buffer.length > this.bufferSize) this.buffer.shift();
    for (const listener of [...this.listeners]) {
      try {
        listener(delivery);
      } catch {
        // A sink must not throw into the service that emitted; a broken listener only loses its own events.
      }
    }
  }

  subscribe(listener: (delivery: BusDelivery) => void, options: EventSubscribeOptions = {}): EventSubscription {
    let missed = false;
    if (options.after !== undefined) {
      const index = this.buffer.findIndex((d) => d.id === options.after);
      if (index === -1) missed = true;
      else for (const delivery of this.buffer.slice(index + 1)) listener(delivery);
    }
    this.listeners.add(listener);
    return { missed, unsubscribe: () => void this.listeners.delete(listener) };
  }
}
