import assert from 'node:assert/strict';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import { race, uniqueSuffix } from './assertions.js';
import { registerChecks, type ContractCheck } from './contract-check.js';

/** How the rate limiter contract lets time pass. */
export interface RateLimiterContractOptions {
  /**
   * Moves the limiter's clock forward by `ms` (default: waits `ms` of real time). A limiter on a
   * `FakeClock` passes `(ms) => clock.advance(ms)`.
   */
  advance?: (ms: number) => Promise<void>;
}

/**
 * The {@link RateLimiter} contract as named checks: `limit` requests per window then refusals with
 * a usable `retry_after_seconds`, `limit` and `reset_after_seconds` on every decision, independent keys, the window passing, and no over-admission
 * under concurrent requests.
 */
export function rateLimiterChecks(
  factory: () => RateLimiter | Promise<RateLimiter>,
  options: RateLimiterContractOptions = {},
): ContractCheck[] {
  const advance = options.advance ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const check = (name: string, fn: (limiter: RateLimiter, key: string) => Promise<void>): ContractCheck => ({
    name,
    run: async () => fn(await factory(), `contract:${uniqueSuffix()}`),
  });
  return [
    check('allows `limit` requests in a window, counting down `remaining`, then refuses', async (limiter, key) => {
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.consume(key, 3, 3600));
      assert.deepEqual(
        decisions.slice(0, 3).map((d) => [d.allowed, d.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
        ],
      );
      const refused = decisions[3]!;
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      assert.ok(
        refused.retry_after_seconds >= 1 && refused.retry_after_seconds <= 3600,
        `retry_after_seconds ${refused.retry_after_seconds} must be within the window`,
      );
      assert.equal((await limiter.consume(key, 3, 3600)).allowed, false, 'still refused');
    }),
    check('every decision reports the limit and when the window frees a slot (reset_after_seconds)', async (limiter, key) => {
      const first = await limiter.consume(key, 2, 3600);
      assert.equal(first.limit, 2);
      assert.ok(
        first.reset_after_seconds >= 1 && first.reset_after_seconds <= 3600,
        `reset_after_seconds ${first.reset_after_seconds} must be within the window once a request is counted`,
      );
      await limiter.consume(key, 2, 3600);
      const refused = await limiter.consume(key, 2, 3600);
      assert.equal(refused.limit, 2);
      assert.ok(
        refused.reset_after_seconds >= refused.retry_after_seconds && refused.reset_after_seconds <= 3600,
        `a refusal's reset_after_seconds (${refused.reset_after_seconds}) is no sooner than its retry_after_seconds (${refused.retry_after_seconds})`,
      );
    }),
    check('keys are counted separately', async (limiter, key) => {
      assert.equal((await limiter.consume(`${key}:a`, 1, 3600)).allowed, true);
      assert.equal((await limiter.consume(`${key}:a`, 1, 3600)).allowed, false);
      assert.equal((await limiter.consume(`${key}:b`, 1, 3600)).allowed, true);
    }),
    check('a refused caller that waits retry_after_seconds is allowed again', async (limiter, key) => {
      assert.equal((await limiter.consume(key, 2, 1)).allowed, true);
      assert.equal((await limiter.consume(key, 2, 1)).allowed, true);
      const refused = await limiter.consume(key, 2, 1);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retry_after_seconds, 1);
      await advance(refused.retry_after_seconds * 1000 + 20);
      const again = await limiter.consume(key, 2, 1);
      assert.equal(again.allowed, true);
      assert.equal(again.remaining, 1);
    }),
    check('concurrent requests never admit more than the limit', async (limiter, key) => {
      const outcome = await race(30, () => limiter.consume(key, 5, 3600));
      assert.equal(outcome.rejected.length, 0);
      assert.equal(outcome.fulfilled.filter((f) => f.value.allowed).length, 5);
    }),
  ];
}

/** Registers the {@link RateLimiter} contract with vitest. */
export function runRateLimiterContract(
  name: string,
  factory: () => RateLimiter | Promise<RateLimiter>,
  options: RateLimiterContractOptions = {},
): Promise<void> {
  return registerChecks(`RateLimiter contract: ${name}`, rateLimiterChecks(factory, options));
}
