/**
 * The "other process" of the live-restore recovery test: it runs restore and backup crash
 * recovery once, with `BullMqJobQueue` defaults (no `jobNames`: this process never handled a
 * restore), over the PostgreSQL records the parent uses, and prints both reports as one JSON line.
 *
 * Run as: node --import tsx restore-recover-process.ts with RECOVER_PROCESS = JSON of
 * `{ connectionString, tablePrefix, redisPort, environments }`.
 */
import pg from 'pg';
import { BackupService, RestoreService, type ResolvedEnvironment } from '../../../src/index.js';
import { BullMqJobQueue } from '../../../src/integrations/bullmq/index.js';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { StaticEnvironmentResolver } from '../../../src/testing/index.js';

const config = JSON.parse(process.env.RECOVER_PROCESS ?? '{}') as {
  connectionString: string;
  tablePrefix: string;
  redisPort: number;
  environments: ResolvedEnvironment[];
};
const pool = new pg.Pool({ connectionString: config.connectionString, max: 2 });
const repos = createPostgresRepositories({ client: pool, tablePrefix: config.tablePrefix });
const queue = new BullMqJobQueue({ connection: { host: '127.0.0.1', port: config.redisPort, maxRetriesPerRequest: null } });
const ports = { ...repos, environments: new StaticEnvironmentResolver(config.environments), queue };
const restores = await new RestoreService(ports).recoverStale();
const backups = await new BackupService(ports).recoverStale();
process.stdout.write(`${JSON.stringify({ restores, backups })}\n`);
await queue.close();
await pool.end();
