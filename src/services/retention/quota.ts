import type { BackupRepository } from '../../ports/repositories.js';
import type { QuotaLookup, QuotaStatus } from '../../ports/quota.js';
import { BackupStatus } from '../../domain/enums.js';

/** What {@link getQuotaStatus} reads. */
export interface QuotaDeps {
  backups: BackupRepository;
  /** The host's plan limits; without one every organisation is unlimited. */
  quota?: QuotaLookup;
}

/**
 * Statuses that count toward the quota: every status except `expired` and `deleted`, as the
 * product's query (`status NOT IN ('EXPIRED', 'DELETED')`). Pending and running backups count too
 * (their `compressed_size` is 0 until they complete).
 */
export const QUOTA_COUNTED_STATUSES: readonly BackupStatus[] = Object.freeze(
  Object.values(BackupStatus).filter((s) => s !== BackupStatus.EXPIRED && s !== BackupStatus.DELETED),
);

/**
 * An organisation's backup storage use against its quota: the product's quota query (sum of
 * `compressed_size` of the organisation's backups not expired or deleted) and the host's limit.
 * `exceeded` is true when `used_bytes >= limit_bytes`; an unlimited quota (`null`) never is.
 * The backup service calls this before a manual backup (see docs/decisions.md#rate-limit-and-quota).
 */
export async function getQuotaStatus(deps: QuotaDeps, organizationId: string): Promise<QuotaStatus> {
  const used = await deps.backups.sumCompressedSize({ organization_id: organizationId, status: QUOTA_COUNTED_STATUSES });
  const limit = deps.quota ? await deps.quota(organizationId) : null;
  const limitBytes = limit === undefined || limit === null ? null : limit;
  return {
    organization_id: organizationId,
    used_bytes: used,
    limit_bytes: limitBytes,
    exceeded: limitBytes !== null && used >= limitBytes,
  };
}
