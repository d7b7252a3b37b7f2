import { randomUUID } from 'node:crypto';
import type { SourceConfig } from '../domain/source-config.js';
import type { EnvironmentResolver, ResolvedEnvironment } from '../ports/environment-resolver.js';

/**
 * An {@link EnvironmentResolver} over a fixed map, for tests and small hosts whose
 * environments are known up front.
 */
export class StaticEnvironmentResolver implements EnvironmentResolver {
  private readonly environments = new Map<string, ResolvedEnvironment>();
  /** Ids asked for, in order (to check what a service resolved). */
  readonly lookups: string[] = [];

  constructor(environments: Iterable<ResolvedEnvironment> = []) {
    for (const env of environments) this.set(env);
  }

  /** Adds or replaces an environment. */
  set(environment: ResolvedEnvironment): this {
    this.environments.set(environment.environment_id, structuredClone(environment));
    return this;
  }

  /** Forgets an environment (later lookups answer null). */
  delete(environmentId: string): this {
    this.environments.delete(environmentId);
    return this;
  }

  async resolve(environmentId: string): Promise<ResolvedEnvironment | null> {
    this.lookups.push(environmentId);
    const env = this.environments.get(environmentId);
    // Cloned, except the source: it may hold secret getters (functions) that structuredClone refuses.
    return env ? { ...structuredClone({ ...env, source: null }), source: env.source } : null;
  }
}

/** Overrides for {@link makeResolvedEnvironment}. */
export interface ResolvedEnvironmentOverrides extends Partial<Omit<ResolvedEnvironment, 'snapshot'>> {
  /** Merged over the generated snapshot. */
  snapshot?: Partial<ResolvedEnvironment['snapshot']>;
  /** Name of the environment in the snapshot (default `Production`). */
  name?: string;
}

/**
 * A plausible {@link ResolvedEnvironment} for tests: fresh UUIDs, an Odoo 18 production
 * environment with a local source, and a secret-free snapshot shaped like the product's example.
 */
export function makeResolvedEnvironment(overrides: ResolvedEnvironmentOverrides = {}): ResolvedEnvironment {
  const environment_id = overrides.environment_id ?? randomUUID();
  const organization_id = overrides.organization_id ?? randomUUID();
  const project_id = overrides.project_id ?? randomUUID();
  const db_name = overrides.db_name ?? 'prod_db_main';
  const odoo_version = overrides.odoo_version === undefined ? '18.0' : overrides.odoo_version;
  const source: SourceConfig = overrides.source ?? {
    kind: 'local',
    connection: { host: '127.0.0.1', port: 5432, user: 'odoo', database: db_name },
    filestore_path: `/var/lib/odoo/filestore/${db_name}`,
  };
  const shortId = environment_id.slice(0, 8);
  const snapshot: ResolvedEnvironment['snapshot'] = {
    environment: {
      id: environment_id,
      name: overrides.name ?? 'Production',
      type: 'production',
      status: 'running',
      container_name: `${shortId}_odoo`,
      db_name,
      domain: 'prod.example.com',
    },
    project: { id: project_id, name: 'E-commerce Platform', slug: 'ecommerce-platform', odoo_version },
    vm: { id: randomUUID(), name: 'server-1', ip_address: '203.0.113.10' },
    ...overrides.snapshot,
  };
  return { environment_id, organization_id, project_id, db_name, odoo_version, source, snapshot };
}
