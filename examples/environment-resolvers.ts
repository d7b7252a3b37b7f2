/**
 * Worked `EnvironmentResolver`s, one per kind of source: docs/sources.md shows and explains each.
 * Type-checked with the project (`npm run typecheck`); test/unit/foundation/environment-resolvers.test.ts
 * checks that the SDK accepts what each returns and that docs/sources.md shows this code.
 * In your app the import is 'odoo-backup-sdk' ('../src/index.js' is the SDK's source in its repository).
 */
// docs:start row
import { readFile } from 'node:fs/promises';
import { defaultDockerSource, type EnvironmentResolver, type ResolvedEnvironment, type SourceConfig } from '../src/index.js';

/** One environment as your own inventory holds it (your tables, your names). */
export interface EnvironmentRow {
  id: string;
  organization_id: string;
  project_id: string;
  project_name: string;
  /** e.g. 'production' */
  name: string;
  /** The Odoo database. */
  db_name: string;
  /** e.g. '18.0' */
  odoo_version: string | null;
  /** The VM the environment's containers run on, when not on this machine. */
  vm: { id: string; name: string; ip_address: string; ssh_host_key: string } | null;
}

/** Your own lookup: a query on your tables, a call to your inventory service... */
export type FindEnvironment = (id: string) => Promise<EnvironmentRow | null>;

/** What every kind shares; `source` says where the database and filestore are. */
function resolved(row: EnvironmentRow, source: SourceConfig): ResolvedEnvironment {
  return {
    environment_id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    db_name: row.db_name,
    odoo_version: row.odoo_version,
    source,
    // Public facts only: stored in the backup record and its manifest.
    snapshot: {
      environment: { id: row.id, name: row.name, db_name: row.db_name },
      project: { id: row.project_id, name: row.project_name, odoo_version: row.odoo_version },
      vm: row.vm && { id: row.vm.id, name: row.vm.name, ip_address: row.vm.ip_address },
    },
  };
}
// docs:end

// docs:start local
/** Odoo and PostgreSQL on the machine the worker runs on. */
export function localResolver(find: FindEnvironment): EnvironmentResolver {
  return {
    async resolve(id) {
      const row = await find(id);
      if (!row) return null;
      return resolved(row, {
        kind: 'local',
        connection: {
          host: '127.0.0.1',
          port: 5432,
          user: 'odoo',
          // A function: called each time pg_dump, pg_restore or psql starts; the SDK keeps no copy.
          password: async () => (await readFile('/run/secrets/odoo-db-password', 'utf8')).trim(),
          database: row.db_name,
        },
        filestore_path: `/var/lib/odoo/filestore/${row.db_name}`,
        // pg_dump must be as new as the server: pick its folder when PATH has an older one.
        pg_bin_dir: '/usr/lib/postgresql/16/bin',
      });
    },
  };
}
// docs:end

// docs:start docker
/** The product's layout on this machine: containers `{id}_db` (PostgreSQL) and `{id}_odoo` (Odoo). */
export function dockerResolver(find: FindEnvironment): EnvironmentResolver {
  return {
    async resolve(id) {
      const row = await find(id);
      if (!row) return null;
      // { kind: 'docker', db_container: `${id}_db`, odoo_container: `${id}_odoo`, db_user: 'odoo',
      //   database: row.db_name, filestore_root: '/var/lib/odoo/filestore' }
      return resolved(row, defaultDockerSource(row.id, row.db_name));
    },
  };
}
// docs:end

// docs:start ssh
/**
 * The product's layout on a VM: the same containers, reached over SSH as `backup`; environments
 * without a VM are in docker on this machine. `ssh_host_key` was recorded when the VM was made.
 */
export function sshResolver(find: FindEnvironment, privateKeyFile = '/etc/odoo-backup/id_ed25519'): EnvironmentResolver {
  return {
    async resolve(id) {
      const row = await find(id);
      if (!row) return null;
      const containers = defaultDockerSource(row.id, row.db_name);
      if (!row.vm) return resolved(row, containers);
      return resolved(row, {
        kind: 'ssh',
        ssh: {
          host: row.vm.ip_address,
          port: 22,
          username: 'backup',
          // `SHA256:...` as `ssh-keygen -lf` prints it, or a known_hosts line: any other key is refused.
          host_key: row.vm.ssh_host_key,
          // Read at each connection (a rotated key is picked up), never copied into a record or a log.
          private_key: () => readFile(privateKeyFile, 'utf8'),
        },
        remote: containers,
      });
    },
  };
}
// docs:end
