import assert from 'node:assert/strict';
import type { Clock } from '../../ports/clock.js';
import { registerChecks, type ContractCheck } from './contract-check.js';

/** How the clock contract lets time pass. */
export interface ClockContractOptions {
  /** Moves the clock forward by `ms` (default: waits `ms` of real time). A `FakeClock` passes `(ms) => clock.advance(ms)`. */
  advance?: (ms: number) => Promise<void>;
}

/**
 * The {@link Clock} contract as named checks: `now` is a Date that never goes back, `sleep`
 * resolves no earlier than asked (and does resolve), and an abort signal rejects it with its reason.
 */
export function clockChecks(factory: () => Clock, options: ClockContractOptions = {}): ContractCheck[] {
  const advance = options.advance ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  /** Advances in small steps until `done()` or `limitMs` of clock time passed. */
  const drive = async (done: () => boolean, limitMs: number) => {
    for (let passed = 0; !done() && passed <= limitMs; passed += 10) await advance(10);
  };
  return [
    {
      name: 'now() is a valid Date that never goes backwards',
      run: async () => {
        const clock = factory();
        const a = clock.now();
        assert.ok(a instanceof Date && !Number.isNaN(a.getTime()));
        await advance(5);
        assert.ok(clock.now().getTime() >= a.getTime());
      },
    },
    {
      name: 'sleep(ms) resolves once ms have passed on the clock, not before',
      run: async () => {
        const clock = factory();
        const start = clock.now().getTime();
        let wokeAt: number | null = null;
        void clock.sleep(50).then(() => (wokeAt = clock.now().getTime()));
        await drive(() => wokeAt !== null, 1_000);
        assert.ok(wokeAt !== null, 'sleep(50) never resolved');
        assert.ok(wokeAt - start >= 50, `woke after ${wokeAt - start} ms`);
      },
    },
    {
      name: 'sleep(0) resolves without the clock moving',
      run: async () => {
        await factory().sleep(0);
      },
    },
    {
      name: "an abort signal rejects sleep with the signal's reason, at once if already aborted",
      run: async () => {
        const clock = factory();
        const reason = new Error('stop');
        const controller = new AbortController();
        const sleeping = clock.sleep(60_000, controller.signal);
        controller.abort(reason);
        await assert.rejects(sleeping, (e: unknown) => e === reason);
        await assert.rejects(clock.sleep(10, AbortSignal.abort(reason)), (e: unknown) => e === reason);
      },
    },
  ];
}

/** Registers the {@link Clock} contract with vitest. */
export function runClockContract(name: string, factory: () => Clock, options: ClockContractOptions = {}): Promise<void> {
  return registerChecks(`Clock contract: ${name}`, clockChecks(factory, options));
}
