/**
 * The README's wiring example: a production host with PostgreSQL records and a BullMQ queue.
 * `test/unit/foundation/readme-example.test.ts` checks that the README shows this code
 * (with the package's import names) and type-checks it with the rest of the project.
 */
// readme:start
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { createBackupSdk, defaultDockerSource, type EnvironmentResolver } from '../src/index.js';
import { createPostgresRepositories } from '../src/integrations/postgres/index.js';
import { BullMqJobQueue } from '../src/integrations/bullmq/index.js';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const repos = createPostgresRepositories({ client: pool });
await repos.migrate();

// Where each environment's database and filestore live (docs/sources.md), read from your own tables.
// Here the product's layout: containers {env}_db and {env}_odoo on a VM reached over SSH.
const environments: EnvironmentResolver = {
  async resolve(id) {
    const { rows } = await pool.query(
      `SELECT e.name, e.db_name, e.organization_id, e.project_id, p.name AS project_name, p.odoo_version,
              v.ip_address, v.ssh_host_key
         FROM environments e JOIN projects p ON p.id = e.project_id JOIN vms v ON v.id = e.vm_id
        WHERE e.id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return null; // the SDK answers E_NOT_FOUND
    return {
      environment_id: id,
      organization_id: row.organization_id,
      project_id: row.project_id,
      db_name: row.db_name,
      odoo_version: row.odoo_version,
      source: {
        kind: 'ssh',
        // The VM's host key as recorded when it was made (`SHA256:...`): any other key is refused.
        ssh: {
          host: row.ip_address,
          username: 'backup',
          host_key: row.ssh_host_key,
          private_key: () => readFile('/etc/odoo-backup/id_ed25519', 'utf8'),
        },
        remote: defaultDockerSource(id, row.db_name),
      },
      // Public facts only: kept with the backup record and in its manifest.
      snapshot: {
        environment: { id, name: row.name, db_name: row.db_name },
        project: { id: row.project_id, name: row.project_name, odoo_version: row.odoo_version },
      },
    };
  },
};
const queue = new BullMqJobQueue({ connection: { host: '127.0.0.1', port: 6379 } });

// Every service over one set of ports (clock, events, logger, rate limiter... default sensibly).
export const sdk = createBackupSdk({ ...repos, environments, queue });
sdk.backups.startWorker({ concurrency: 4 }); // in each worker process
sdk.scheduler.start(); // cron + daily GFS cleanup

// In your HTTP handler, after your own auth: the product's POST .../backups, minus HTTP.
export const handlePost = (envId: string, body: Record<string, unknown>, user: { id: string; ip: string }) =>
  sdk.backups.createBackup(envId, body, { id: user.id, rate_limit_key: user.ip });
// readme:end
