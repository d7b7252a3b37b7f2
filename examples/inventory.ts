/**
 * A stand-in for the host's own inventory, used by examples/quickstart.ts: it answers where an
 * environment's database and filestore live. A real host reads this from its own tables.
 */
import { defaultDockerSource, type ResolvedEnvironment } from '../src/index.js';

const known = new Map<string, { organization: string; project: string; db: string }>();

/** Registers an environment (a real host has these in its own database). */
export function addEnvironment(id: string, organization: string, project: string, db: string): void {
  known.set(id, { organization, project, db });
}

/** The environment `id` as the SDK needs it, or null when the host does not know it. */
export async function describeEnvironment(id: string): Promise<ResolvedEnvironment | null> {
  const env = known.get(id);
  if (!env) return null;
  return {
    environment_id: id,
    organization_id: env.organization,
    project_id: env.project,
    db_name: env.db,
    odoo_version: '18.0',
    // The product's layout: `docker exec {env}_db pg_dump ...` and `docker exec {env}_odoo tar ...`.
    source: defaultDockerSource(id, env.db),
    snapshot: {
      environment: { id, name: 'production', db_name: env.db },
      project: { id: env.project, name: 'Main project', odoo_version: '18.0' },
      vm: null,
    },
  };
}
