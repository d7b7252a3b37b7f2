import type { EventEmitter } from 'node:events';

/**
 * Resolves at the first of `events` on `emitter`, and removes every listener it added. For waits
 * that must also end when the other side goes away: `drain` or `close`, `secureConnect` or `close`.
 */
export function onceAny(emitter: EventEmitter, events: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of events) emitter.off(event, done);
      resolve();
    };
    for (const event of events) emitter.once(event, done);
  });
}
