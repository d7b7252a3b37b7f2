import { Permission } from '../../domain/permissions.js';
import type { Actor, Authorizer } from '../../ports/authorizer.js';
import type { BusDelivery, EventBus, EventSubscription } from '../../ports/event-bus.js';
import type { SdkEvent } from '../../ports/events.js';

/** The event types a client may see; `retention.*`, `scheduler.*` and `job.*` stay on the server. */
const STREAMED_TYPES: ReadonlySet<string> = new Set([
  'task.status',
  'backup.status',
  'backup.progress',
  'restore.status',
  'restore.progress',
  'warning',
]);

/** Comment line sent this often so proxies keep an idle stream open. */
export const SSE_PING_MS = 15_000;

/** Frames queued for a client that does not read before it is dropped (it resumes with Last-Event-ID). */
const MAX_QUEUED_FRAMES = 1000;

/** What {@link openEventStream} needs. */
export interface EventStreamOptions {
  bus: EventBus;
  actor: Actor;
  /** The host's permission hook; undefined when the handler was built with `allowEveryone`. */
  authorize: Authorizer | undefined;
  /** `Last-Event-ID` of a reconnecting client. */
  lastEventId: string | null;
  /** Aborted when the client leaves. */
  signal: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * The `GET /events/stream` response: `id:` / `event:` / `data:` frames of the bus's events that
 * the actor may see. An event goes out only when it has an `organization_id`, is of a streamed
 * type, and the authorize hook allows `project.backups.view` on its environment; the answer is
 * asked once per environment per connection and cached, and events wait in order behind a
 * pending answer. A client that resumes from an id the bus no longer holds gets `event:
 * stream.reset` first. The subscription ends when the client leaves.
 */
export function openEventStream(options: EventStreamOptions): Response {
  const { bus, actor, authorize, signal } = options;
  const allowed = new Map<string, Promise<boolean>>();
  let chain: Promise<void> = Promise.resolve();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let ping: ReturnType<typeof setInterval> | undefined;
  let subscription: EventSubscription | undefined;

  const close = () => {
    if (closed) return;
    closed = true;
    subscription?.unsubscribe();
    if (ping) clearInterval(ping);
    signal.removeEventListener('abort', close);
    try {
      controller.close();
    } catch {
      // Already closed or cancelled by the reader.
    }
  };
  const send = (frame: string) => {
    if (closed) return;
    // A client that stopped reading is dropped rather than buffered without bound.
    if ((controller.desiredSize ?? 0) < -MAX_QUEUED_FRAMES) return close();
    controller.enqueue(encoder.encode(frame));
  };
  const mayView = (event: SdkEvent): Promise<boolean> => {
    const data = event.data as { organization_id?: unknown; environment_id?: unknown };
    if (!STREAMED_TYPES.has(event.type) || typeof data.organization_id !== 'string') return Promise.resolve(false);
    if (!authorize) return Promise.resolve(true);
    const environmentId = typeof data.environment_id === 'string' ? data.environment_id : undefined;
    const cacheKey = environmentId ?? `organization:${data.organization_id}`;
    let answer = allowed.get(cacheKey);
    if (!answer) {
      answer = Promise.resolve()
        .then(() =>
          authorize({
            actor,
            permission: Permission.BACKUPS_VIEW,
            organization_id: data.organization_id as string,
            ...(environmentId ? { environment_id: environmentId } : {}),
          }),
        )
        .then(
          (yes) => yes === true,
          () => false,
        );
      allowed.set(cacheKey, answer);
    }
    return answer;
  };
  const deliver = (delivery: BusDelivery) => {
    // One chain per connection keeps bus order even while an authorize answer is pending.
    chain = chain.then(async () => {
      if (closed || !(await mayView(delivery.event))) return;
      send(`id: ${delivery.id}\nevent: ${delivery.event.type}\ndata: ${JSON.stringify(delivery.event.data)}\n\n`);
    });
  };

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (signal.aborted) return close();
      signal.addEventListener('abort', close, { once: true });
      send(': connected\n\n');
      subscription = bus.subscribe(deliver, options.lastEventId ? { after: options.lastEventId } : {});
      if (subscription.missed) {
        chain = chain.then(() => send(`event: stream.reset\ndata: ${JSON.stringify({ after: options.lastEventId })}\n\n`));
      }
      ping = setInterval(() => send(': ping\n\n'), SSE_PING_MS);
      ping.unref?.();
    },
    cancel() {
      close();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' },
  });
}
