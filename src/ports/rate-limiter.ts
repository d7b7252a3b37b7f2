/** The answer of a {@link RateLimiter}. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests left in the current window after this one. */
  remaining: number;
  /** When the next request will be allowed, if not allowed now (0 when allowed). */
  retry_after_seconds: number;
  /** The limit the request was counted against (requests per window). */
  limit: number;
  /**
   * Seconds until the window frees a slot again (the oldest counted request leaves it), the
   * `X-RateLimit-Reset` header; 0 when nothing is counted.
   */
  reset_after_seconds: number;
}

/** Counts requests per key in a window (for the manual backup limit: default 10 an hour). */
export interface RateLimiter {
  /** Records one request for `key` and says whether it is within `limit` per `windowSeconds`. */
  consume(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>;
}
