import type { EventSink, SdkEvent } from './events.js';

/** One event as a bus delivers it: its id in bus order (an SSE `id:`) and the event. */
export interface BusDelivery {
  /** Opaque, unique within the bus; pass it back as `after` to resume after this event. */
  id: string;
  event: SdkEvent;
}

/** What {@link EventBus.subscribe} returns. */
export interface EventSubscription {
  /**
   * True when `after` named an event the bus no longer holds (older than its buffer, or from
   * another process lifetime): some events were lost, the subscriber should reload its state.
   */
  readonly missed: boolean;
  /** Stops the deliveries; calling it twice is harmless. */
  unsubscribe(): void;
}

/** Options of {@link EventBus.subscribe}. */
export interface EventSubscribeOptions {
  /** Resume after this event id: the buffered events after it are delivered first, in order. */
  after?: string;
}

/**
 * An {@link EventSink} that remembers its recent events and fans them out to subscribers (the
 * HTTP layer's SSE stream, one subscription per client). Pass the same bus to `createBackupSdk`
 * as `events` and to the HTTP handler. Hosts with several processes implement it over their
 * broker (Redis streams, PostgreSQL LISTEN) so that every process sees every event.
 */
export interface EventBus extends EventSink {
  /**
   * Delivers every later event (after the buffered ones following `options.after`, if given) to
   * `listener`, in bus order, synchronously from `emit` or as the broker delivers. `listener`
   * must not throw.
   */
  subscribe(listener: (delivery: BusDelivery) => void, options?: EventSubscribeOptions): EventSubscription;
}
