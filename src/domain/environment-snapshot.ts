/**
 * The product's `environment_snapshot`: the state of an environment when it was backed up.
 * Never holds a secret (no passwords, keys or tokens): hosts build it from public fields only.
 */
export interface EnvironmentSnapshot {
  environment: {
    id: string;
    name: string;
    type?: string | null;
    status?: string | null;
    container_name?: string | null;
    db_name: string;
    domain?: string | null;
    [extra: string]: unknown;
  };
  project: {
    id: string;
    name: string;
    slug?: string | null;
    odoo_version?: string | null;
    [extra: string]: unknown;
  };
  vm?: {
    id: string;
    name: string;
    ip_address?: string | null;
    [extra: string]: unknown;
  } | null;
  /** When the snapshot was taken (ISO 8601, UTC). */
  timestamp: string;
  [extra: string]: unknown;
}
