import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { StorageConfig } from '../../../src/index.js';
import { folderDigests, tableDigests } from '../../fixtures/odoo-fixture.js';
import type { PgServer } from '../../servers/postgres.js';

const run = promisify(execFile);

/**
 * SHA-256 of `pg_dump --data-only --inserts` of a database, without the lines that differ between
 * two copies of the same data (comments, and the random `\restrict` key of recent pg_dump).
 */
export async function dataDumpHash(pg: PgServer, db: string): Promise<string> {
  const { stdout } = await run(
    `${pg.binDir}/pg_dump`,
    ['--data-only', '--inserts', '--no-owner', `--host=${pg.host}`, `--port=${pg.port}`, `--username=${pg.user}`, db],
    { env: { ...process.env, PGPASSWORD: pg.password }, maxBuffer: 256 * 1024 * 1024 },
  );
  const kept = stdout.split('\n').filter((l) => !l.startsWith('--') && !l.startsWith('\\restrict') && !l.startsWith('\\unrestrict'));
  return createHash('sha256').update(kept.join('\n')).digest('hex');
}

/** What a user compares between the source and a restored copy: row counts and hashes per table, the data dump's hash, the files' hashes. */
export async function snapshotOf(pg: PgServer, db: string, folder: string | null) {
  return {
    tables: await tableDigests(pg, db),
    data: await dataDumpHash(pg, db),
    files: folder && existsSync(folder) ? await folderDigests(folder) : null,
  };
}

/**
 * Databases and folders a restore into `name` may leave behind (its temporaries and set-aside
 * copies, named `<name>__restore_<tag>` / `<name>__previous_<tag>`), under the given folders.
 */
export async function leftovers(pg: PgServer, name: string, roots: string[]): Promise<{ databases: string[]; folders: string[] }> {
  const mine = (n: string) => n.startsWith(`${name}__restore_`) || n.startsWith(`${name}__previous_`);
  const rows = await pg.query<{ datname: string }>('postgres', `SELECT datname FROM pg_database`);
  const folders = roots.flatMap((root) => (existsSync(root) ? readdirSync(root).filter(mine) : []));
  return { databases: rows.map((r) => r.datname).filter(mine), folders };
}

/** A storage config record. */
export function storageConfigRecord(
  organizationId: string,
  over: Pick<StorageConfig, 'provider' | 'settings' | 'credentials'>,
): StorageConfig {
  const at = new Date().toISOString();
  return {
    id: randomUUID(),
    organization_id: organizationId,
    name: over.provider,
    is_default: false,
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: at,
    updated_at: at,
    ...over,
  };
}
