// Replays restic's own TestApplyPolicy: its 103 input snapshots and all 40 golden results
// (test/fixtures/restic-forget, vendored from restic commit a80be147 under its BSD-2-Clause licence).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planKeepPolicy, ValidationError, type KeepPolicy } from '../../../src/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/restic-forget');
interface Snap {
  index: number;
  time: string;
  tags?: string[];
}
interface GoldenReason {
  snapshot: { time: string };
  matches: string[];
  counters: Record<string, number>;
}
const snapshots = JSON.parse(readFileSync(join(dir, 'input_snapshots.json'), 'utf8')) as Snap[];
const policies = JSON.parse(readFileSync(join(dir, 'policies.json'), 'utf8')) as { golden: string; policy: Record<string, unknown> }[];

/** restic's ExpirePolicy JSON -> our KeepPolicy. */
function toKeepPolicy(p: Record<string, unknown>): KeepPolicy {
  const names: Record<string, keyof KeepPolicy> = {
    Last: 'last',
    Hourly: 'hourly',
    Daily: 'daily',
    Weekly: 'weekly',
    Monthly: 'monthly',
    Yearly: 'yearly',
    Within: 'within',
    WithinHourly: 'within_hourly',
    WithinDaily: 'within_daily',
    WithinWeekly: 'within_weekly',
    WithinMonthly: 'within_monthly',
    WithinYearly: 'within_yearly',
    Tags: 'tags',
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    const name = names[k];
    if (!name) throw new Error(`unknown restic policy field ${k}`);
    out[name] = v;
  }
  return out as KeepPolicy;
}

/** Go's time.Time JSON keeps the input spelling; compare instants, not strings. */
const ms = (t: string) => Date.parse(t);

describe("planKeepPolicy replays restic's forget golden files", () => {
  it('has the 103 inputs and 40 golden policies', () => {
    expect(snapshots).toHaveLength(103);
    expect(policies).toHaveLength(40);
  });

  it('refuses the empty policy (golden 0), as restic forget does', () => {
    expect(policies[0]!.policy).toEqual({});
    const golden = JSON.parse(readFileSync(join(dir, 'golden', policies[0]!.golden), 'utf8')) as { keep: null };
    expect(golden.keep).toBeNull();
    expect(() => planKeepPolicy(snapshots, {})).toThrow(ValidationError);
    expect(() => planKeepPolicy(snapshots, { last: 0, tags: [] })).toThrow(/empty/);
  });

  for (const { golden, policy } of policies.slice(1)) {
    it(`${golden}: ${JSON.stringify(policy)}`, () => {
      const expected = JSON.parse(readFileSync(join(dir, 'golden', golden), 'utf8')) as {
        keep: { time: string }[];
        reasons: GoldenReason[];
      };
      const plan = planKeepPolicy(snapshots, toKeepPolicy(policy));
      // The kept set, newest first, exactly.
      expect(plan.keep.map((k) => ms(k.item.time))).toEqual(expected.keep.map((s) => ms(s.time)));
      // The reasons and counters restic reports for each kept snapshot.
      expect(plan.keep.map((k) => ({ time: ms(k.item.time), matches: k.reasons, counters: k.counters }))).toEqual(
        expected.reasons.map((r) => ({ time: ms(r.snapshot.time), matches: r.matches, counters: r.counters })),
      );
      // Everything else is removed, and nothing is both.
      expect(plan.keep.length + plan.remove.length).toBe(snapshots.length);
      const keptSet = new Set(plan.keep.map((k) => k.item));
      expect(plan.remove.some((s) => keptSet.has(s))).toBe(false);
    });
  }
});
