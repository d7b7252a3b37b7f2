// Property-based tests (fast-check) of both planners: safety, reasons, idempotence, order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BACKUP_STATUSES,
  classifyRetention,
  computeExpiry,
  planKeepPolicy,
  planRetention,
  RETENTION_TYPES,
  type Backup,
  type KeepPolicy,
  type RetentionSettings,
} from '../../../src/index.js';
import { backup } from './fixtures.js';
import { applyPlan } from './plan-helpers.js';

const ZONES = ['UTC', 'Europe/Brussels', 'America/New_York', 'Pacific/Auckland', 'Asia/Kolkata'];
const BASE = Date.parse('2024-01-01T00:00:00Z');
const SPAN = 3 * 365 * 86_400_000;

const policyArb: fc.Arbitrary<RetentionSettings> = fc.record({
  daily_retention: fc.integer({ min: 0, max: 30 }),
  weekly_retention: fc.integer({ min: 0, max: 8 }),
  monthly_retention: fc.integer({ min: 0, max: 24 }),
  yearly_retention: fc.integer({ min: 0, max: 5 }),
  weekly_backup_day: fc.integer({ min: 0, max: 6 }),
  timezone: fc.constantFrom(...ZONES),
});

const recordArb = fc.record({
  at: fc.integer({ min: 0, max: SPAN }),
  // Mostly completed; a few of every other status.
  status: fc.oneof(
    { weight: 6, arbitrary: fc.constant('completed' as const) },
    { weight: 1, arbitrary: fc.constantFrom(...BACKUP_STATUSES) },
  ),
  tier: fc.oneof(
    { weight: 6, arbitrary: fc.constant('classify' as const) },
    { weight: 2, arbitrary: fc.constantFrom(...RETENTION_TYPES) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  expiry: fc.oneof(
    { weight: 8, arbitrary: fc.constant('computed' as const) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.integer({ min: -SPAN, max: SPAN }) },
  ),
});

/** Random backups of one environment (plausible records plus odd ones), a policy and a `now`. */
const caseArb = fc
  .tuple(policyArb, fc.array(recordArb, { maxLength: 60 }), fc.integer({ min: 0, max: SPAN + 200 * 86_400_000 }))
  .map(([policy, records, nowOffset]) => {
    const backups: Backup[] = records.map((r, i) => {
      const created = new Date(BASE + r.at);
      const tier = r.tier === 'classify' ? classifyRetention(created, policy) : r.tier;
      const expires =
        r.expiry === 'computed'
          ? (computeExpiry(created, tier ?? 'daily', policy)?.toISOString() ?? null)
          : r.expiry === null
            ? null
            : new Date(created.getTime() + r.expiry).toISOString();
      return backup({
        id: `b${String(i).padStart(3, '0')}`,
        status: r.status,
        created_at: created.toISOString(),
        retention_type: tier,
        expires_at: expires,
      });
    });
    return { policy, backups, now: new Date(BASE + nowOffset) };
  });

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('planRetention properties', () => {
  it('never expires the newest completed backup, nor expires or promotes a permanent one', () => {
    fc.assert(
      fc.property(caseArb, ({ policy, backups, now }) => {
        const plan = planRetention(backups, policy, now);
        const completed = backups
          .filter((b) => b.status === 'completed')
          .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
        const expired = new Set(plan.expire.map((e) => e.backup_id));
        if (completed.length) expect(expired.has(completed[0]!.id)).toBe(false);
        for (const b of backups.filter((x) => x.retention_type === 'permanent')) {
          expect(expired.has(b.id)).toBe(false);
          expect(plan.promote.some((p) => p.backup_id === b.id)).toBe(false);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('puts every completed backup in exactly one list, each with a reason, and nothing else', () => {
    fc.assert(
      fc.property(caseArb, ({ policy, backups, now }) => {
        const plan = planRetention(backups, policy, now);
        const listed = [...plan.expire, ...plan.promote, ...plan.keep];
        expect(listed.map((x) => x.backup_id).sort()).toEqual(
          backups
            .filter((b) => b.status === 'completed')
            .map((b) => b.id)
            .sort(),
        );
        for (const x of listed) expect(x.reason.length).toBeGreaterThan(10);
        for (const e of plan.expire) expect(Date.parse(e.expires_at)).toBeLessThan(now.getTime());
        for (const p of plan.promote) {
          expect(RETENTION_TYPES.indexOf(p.to)).toBeGreaterThan(RETENTION_TYPES.indexOf(p.from));
          expect(Date.parse(p.expires_at)).toBeGreaterThanOrEqual(now.getTime());
          if (p.previous_expires_at) expect(Date.parse(p.expires_at)).toBeGreaterThanOrEqual(Date.parse(p.previous_expires_at));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('is idempotent: planning again after applying the plan changes nothing', () => {
    fc.assert(
      fc.property(caseArb, ({ policy, backups, now }) => {
        const after = applyPlan(backups, planRetention(backups, policy, now));
        const again = planRetention(after, policy, now);
        expect(again.expire).toEqual([]);
        expect(again.promote).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('does not depend on the order of its input', () => {
    fc.assert(
      fc.property(caseArb, fc.integer(), ({ policy, backups, now }, seed) => {
        expect(planRetention(shuffled(backups, seed), policy, now)).toEqual(planRetention(backups, policy, now));
      }),
      { numRuns: 300 },
    );
  });
});

describe('planKeepPolicy properties', () => {
  const count = fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 6 }));
  const duration = fc.oneof(fc.constant(undefined), fc.constantFrom('1d', '7d', '1m', '2m3d', '1y', '12h'));
  const keepArb: fc.Arbitrary<KeepPolicy> = fc
    .record({
      last: count,
      hourly: count,
      daily: count,
      weekly: count,
      monthly: count,
      yearly: count,
      within: duration,
      within_daily: duration,
      within_weekly: duration,
    })
    .map((k) => Object.fromEntries(Object.entries(k).filter(([, v]) => v !== undefined)) as KeepPolicy)
    .filter((k) => Object.values(k).some((v) => v !== 0));
  const snapsArb = fc
    .uniqueArray(fc.integer({ min: 0, max: SPAN }), { maxLength: 80 })
    .map((ts) => ts.map((t, i) => ({ id: `s${i}`, time: new Date(BASE + t).toISOString() })));

  it('keeps or removes each snapshot once, with reasons, independent of input order (distinct times)', () => {
    fc.assert(
      fc.property(snapsArb, keepArb, fc.constantFrom(...ZONES), fc.integer(), (snaps, keep, timezone, seed) => {
        const plan = planKeepPolicy(snaps, keep, { timezone });
        expect([...plan.keep.map((k) => k.item.id), ...plan.remove.map((s) => s.id)].sort()).toEqual(snaps.map((s) => s.id).sort());
        for (const k of plan.keep) expect(k.reasons.length).toBeGreaterThan(0);
        const again = planKeepPolicy(shuffled(snaps, seed), keep, { timezone });
        expect(again.keep.map((k) => [k.item.id, k.reasons])).toEqual(plan.keep.map((k) => [k.item.id, k.reasons]));
        // Any counting rule keeps the newest snapshot.
        if (
          snaps.length &&
          [keep.last, keep.hourly, keep.daily, keep.weekly, keep.monthly, keep.yearly].some((c) => c !== undefined && c !== 0)
        ) {
          const newest = [...snaps].sort((a, b) => (a.time < b.time ? 1 : -1))[0]!;
          expect(plan.keep[0]!.item).toBe(newest);
        }
      }),
      { numRuns: 300 },
    );
  });
});
