/** A response kept for replay under an `Idempotency-Key`. */
export interface StoredResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body as sent (JSON text). */
  body: string;
}

/** What a key holds: the fingerprint of the request that claimed it and, once answered, its response. */
export interface IdempotencyRecord {
  /** A hash of the first request's body; another body under the same key is refused. */
  fingerprint: string;
  /** Null while the first request is in flight. */
  response: StoredResponse | null;
}

/** The answer of {@link IdempotencyStore.claim}. */
export type IdempotencyClaim = { claimed: true } | { claimed: false; record: IdempotencyRecord };

/**
 * Where `Idempotency-Key`s live (the HTTP layer's backup and restore POSTs). `claim` is the one
 * atomic decision: of two requests with the same key at once, exactly one gets `claimed: true`
 * (an `INSERT ... ON CONFLICT DO NOTHING`, a Redis `SET NX`); never a read then a write.
 */
export interface IdempotencyStore {
  /** Claims `key` for a request with `fingerprint`, unless it is held: then returns what it holds. */
  claim(key: string, fingerprint: string, ttlSeconds: number): Promise<IdempotencyClaim>;
  /** Records the claimed request's response, kept `ttlSeconds` for replay. */
  complete(key: string, response: StoredResponse, ttlSeconds: number): Promise<void>;
  /** Forgets a claim whose request did not succeed, so the client may try again with the same key. */
  release(key: string): Promise<void>;
}
