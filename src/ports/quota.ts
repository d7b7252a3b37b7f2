/**
 * The host's plan limits: how many bytes of backup storage an organisation may use
 * (`null` = unlimited). The product's plans: Free 5 GB, Starter 50 GB, Professional 200 GB,
 * Business 500 GB, Enterprise unlimited.
 */
export type QuotaLookup = (organizationId: string) => Promise<number | null> | number | null;

/** An organisation's backup storage use against its quota. */
export interface QuotaStatus {
  organization_id: string;
  /** The product's `total_backup_storage`: sum of compressed_size of backups not expired or deleted. */
  used_bytes: number;
  /** The quota, or null for unlimited. */
  limit_bytes: number | null;
  /** True when `used_bytes >= limit_bytes`. */
  exceeded: boolean;
  /**
   * Bytes of the completed second copies of those backups (on their policies' secondary
   * storage), reported by `RetentionService.usage`; not counted against the quota.
   */
  copy_bytes?: number;
}
