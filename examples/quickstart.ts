/**
 * The README's wiring example: a production host with PostgreSQL records and a BullMQ queue.
 * `test/unit/foundation/readme-example.test.ts` checks that the README shows this code
 * (with the package's import names) and type-checks it with the rest of the project.
 */
// readme:start
import pg from 'pg';
import { createBackupSdk, type EnvironmentResolver } from '../src/index.js';
import { createPostgresRepositories } from '../src/integrations/postgres/index.js';
import { BullMqJobQueue } from '../src/integrations/bullmq/index.js';
import { describeEnvironment } from './inventory.js'; // your own lookup

const repos = createPostgresRepositories({ client: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
await repos.migrate();
// Where each environment's database and filestore live: local, docker or ssh (see docs/pipeline.md).
const environments: EnvironmentResolver = { resolve: (id) => describeEnvironment(id) };
const queue = new BullMqJobQueue({ connection: { host: '127.0.0.1', port: 6379 } });

// Every service over one set of ports (clock, events, logger, rate limiter... default sensibly).
export const sdk = createBackupSdk({ ...repos, environments, queue });
sdk.backups.startWorker({ concurrency: 4 }); // in each worker process
sdk.scheduler.start(); // cron + daily GFS cleanup

// In your HTTP handler, after your own auth: the product's POST .../backups, minus HTTP.
export const handlePost = (envId: string, body: Record<string, unknown>, user: { id: string; ip: string }) =>
  sdk.backups.createBackup(envId, body, { id: user.id, rate_limit_key: user.ip });
// readme:end
