// The two speed helpers under both planners: ISO timestamp parsing and newest-first ordering.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIsoTimestamp } from '../../../src/domain/iso-timestamp.js';
import { newestFirstOrder } from '../../../src/domain/newest-first-order.js';

describe('parseIsoTimestamp', () => {
  it('equals Date.parse on canonical timestamps of any instant from year 0 to 9999', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('0000-01-01T00:00:00Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }),
        fc.boolean(),
        (ms, withMillis) => {
          const iso = new Date(ms).toISOString();
          const text = withMillis ? iso : `${iso.slice(0, 19)}Z`;
          expect(parseIsoTimestamp(text)).toBe(Date.parse(text));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('equals Date.parse on other forms and on nonsense', () => {
    for (const text of [
      '2026-03-20T03:00:00+01:00',
      '2026-03-20',
      '2026-02-29T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-04-31T00:00:00Z',
      '2026-03-20T24:00:00.000Z',
      '2026-03-20T23:60:00.000Z',
      '2026-03-2OT03:00:00.000Z',
      'not a time at all, 24ch',
      '',
    ]) {
      expect(parseIsoTimestamp(text), text).toEqual(Date.parse(text));
    }
  });
});

describe('newestFirstOrder', () => {
  const reference = (times: number[]) =>
    times
      .map((t, i) => [t, i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, i]) => i);

  it('orders newest first, equal times in input order, for any span and any input order', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), // many ties, one radix pass
          fc.array(fc.integer({ min: -1e12, max: 4e12 }), { maxLength: 200 }), // three passes
          fc.array(fc.integer({ min: 1e12, max: 1e12 + 3e9 }), { maxLength: 200 }), // two passes
          fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 50 }), // fractions: fallback
        ),
        (times) => {
          expect(Array.from(newestFirstOrder(Float64Array.from(times)))).toEqual(reference(times));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns the identity for input that is already newest first', () => {
    expect(Array.from(newestFirstOrder(Float64Array.from([5, 4, 4, 1])))).toEqual([0, 1, 2, 3]);
    expect(Array.from(newestFirstOrder(new Float64Array(0)))).toEqual([]);
  });
});
