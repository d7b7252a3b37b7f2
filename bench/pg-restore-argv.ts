import { join } from 'node:path';
import type { PgServer } from '../test/servers/postgres.js';

/**
 * The raw baseline both restore benches time: `pg_restore -j<jobs> --no-owner` of a dump file into
 * an existing database of the bench's PostgreSQL (the password travels as PGPASSWORD).
 */
export function pgRestoreArgv(pg: PgServer, jobs: number, database: string, dumpFile: string): string[] {
  return [
    join(pg.binDir, 'pg_restore'),
    `-j${jobs}`,
    '--no-owner',
    '-h',
    pg.host,
    '-p',
    String(pg.port),
    '-U',
    pg.user,
    '-d',
    database,
    dumpFile,
  ];
}
