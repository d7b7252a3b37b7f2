import { systemClock, type Clock } from '../../ports/clock.js';
import type { IdempotencyClaim, IdempotencyRecord, IdempotencyStore, StoredResponse } from '../../ports/idempotency-store.js';

/**
 * An {@link IdempotencyStore} in this process's memory. `claim` decides in one synchronous step
 * (no await between the look-up and the write), so two requests with one key cannot both win.
 * Expired keys are dropped as claims come in. For a host with one process; replicas need a
 * shared store (a table with a unique key, Redis `SET NX`).
 */
export class InProcessIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, IdempotencyRecord & { expiresAt: number }>();

  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  async claim(key: string, fingerprint: string, ttlSeconds: number): Promise<IdempotencyClaim> {
    const now = this.clock.now().getTime();
    for (const [k, record] of this.records) if (record.expiresAt <= now) this.records.delete(k);
    const held = this.records.get(key);
    if (held) return { claimed: false, record: { fingerprint: held.fingerprint, response: held.response } };
    this.records.set(key, { fingerprint, response: null, expiresAt: now + ttlSeconds * 1000 });
    return { claimed: true };
  }

  async complete(key: string, response: StoredResponse, ttlSeconds: number): Promise<void> {
    const held = this.records.get(key);
    if (!held) return;
    this.records.set(key, { ...held, response, expiresAt: this.clock.now().getTime() + ttlSeconds * 1000 });
  }

  async release(key: string): Promise<void> {
    const held = this.records.get(key);
    if (held && held.response === null) this.records.delete(key);
  }
}
