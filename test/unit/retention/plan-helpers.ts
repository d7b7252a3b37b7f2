// Applying a retention plan to records, as RetentionService does, for replanning in tests.
import {
  classifyRetention,
  computeExpiry,
  type Backup,
  type RetentionPlan,
  type RetentionSettings,
  type RetentionType,
} from '../../../src/index.js';
import { backup } from './fixtures.js';

/** The records after `plan`: expired ones marked expired, promoted ones moved up. */
export function applyPlan<T extends Pick<Backup, 'id' | 'status' | 'retention_type' | 'expires_at'>>(
  backups: readonly T[],
  plan: RetentionPlan,
): T[] {
  const expire = new Set(plan.expire.map((e) => e.backup_id));
  const promote = new Map(plan.promote.map((p) => [p.backup_id, p]));
  return backups.map((b) => {
    if (expire.has(b.id)) return { ...b, status: 'expired' };
    const p = promote.get(b.id);
    return p ? { ...b, retention_type: p.to, expires_at: p.expires_at } : b;
  });
}

/** A completed backup created at `at`, classified and given its expiry as the pipeline would. */
export function scheduled(at: string, policy: RetentionSettings, overrides: Partial<Backup> = {}): Backup {
  const created = new Date(at);
  const type: RetentionType = overrides.retention_type ?? classifyRetention(created, policy);
  return backup({
    created_at: created.toISOString(),
    retention_type: type,
    expires_at: computeExpiry(created, type, policy)?.toISOString() ?? null,
    ...overrides,
  });
}

/** Backups in the plan, by list. */
export function ids(plan: RetentionPlan): { expire: string[]; promote: string[]; keep: string[] } {
  return {
    expire: plan.expire.map((e) => e.backup_id),
    promote: plan.promote.map((p) => p.backup_id),
    keep: plan.keep.map((k) => k.backup_id),
  };
}
