import type { EnvironmentSnapshotInput } from '../domain/environment-snapshot.js';
import type { SourceConfig } from '../domain/source-config.js';

/** What the SDK needs to know of one environment, as the host answers it. */
export interface ResolvedEnvironment {
  environment_id: string;
  organization_id: string;
  project_id: string;
  /** The Odoo database name. */
  db_name: string;
  odoo_version: string | null;
  /** How to reach the database and filestore. Secrets inside are resolved at call time. */
  source: SourceConfig;
  /**
   * gzip level (1-9) of this environment's filestore tarball, over the runner's
   * `filestoreCompressionLevel`: e.g. 6 for a filestore of mostly text documents.
   */
  filestore_compression_level?: number;
  /**
   * The product's environment_snapshot, without secrets (the SDK sets `timestamp`):
   * `environment.id`, `.name`, `.db_name` and `project.id`, `.name` are required.
   */
  snapshot: EnvironmentSnapshotInput;
}

/** The host's lookup of environments. */
export interface EnvironmentResolver {
  /** The environment, or null when it does not exist. */
  resolve(environmentId: string): Promise<ResolvedEnvironment | null>;
}
