// The repository contracts of odoo-backup-sdk/testing against odoo-backup-sdk/postgres on a real PostgreSQL.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresRepositories, type PostgresRepositories } from '../../../src/integrations/postgres/index.js';
import {
  makeBackupPolicy,
  runBackupPolicyRepositoryContract,
  runBackupRepositoryContract,
  runStorageConfigRepositoryContract,
  runTaskRepositoryContract,
} from '../../../src/testing/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';

let server: PgServer;
let pool: pg.Pool;
let tables = 0;

beforeAll(async () => {
  server = await startPostgres();
  await server.createDatabase('contracts');
  // Several connections, so "concurrent" checks really race inside PostgreSQL.
  pool = new pg.Pool({ connectionString: server.connectionString('contracts'), max: 10 });
});
afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

/** Fresh tables per call (a new prefix), so every check starts from an empty store. */
async function fresh(): Promise<PostgresRepositories> {
  const repos = createPostgresRepositories({ client: pool, tablePrefix: `c${++tables}_` });
  await repos.migrate();
  return repos;
}

await runBackupRepositoryContract('postgres', async () => (await fresh()).backups);
await runBackupPolicyRepositoryContract('postgres', async () => (await fresh()).policies);
await runTaskRepositoryContract('postgres', async () => (await fresh()).tasks);
await runStorageConfigRepositoryContract('postgres', async () => (await fresh()).storageConfigs);

describe('postgres repositories beyond the contract', () => {
  it('migrate is idempotent and keeps existing rows', async () => {
    const repos = await fresh();
    const policy = await repos.policies.create(makeBackupPolicy());
    await repos.migrate();
    expect(await repos.policies.get(policy.id)).toEqual(policy);
  });
  it('two prefixes in one database do not see each other', async () => {
    const a = await fresh();
    const b = await fresh();
    const policy = await a.policies.create(makeBackupPolicy({ next_backup_at: '2026-01-01T00:00:00.000Z' }));
    expect(await b.policies.get(policy.id)).toBeNull();
    expect(await b.policies.listDue('2027-01-01T00:00:00.000Z')).toEqual([]);
  });
  it('refuses a table prefix that is not a plain identifier', () => {
    expect(() => createPostgresRepositories({ client: pool, tablePrefix: 'x; DROP TABLE y; --' })).toThrow(/Invalid table prefix/);
  });
});
