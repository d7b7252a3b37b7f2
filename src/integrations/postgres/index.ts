/**
 * PostgreSQL repositories: `odoo-backup-sdk/postgres`. Needs the `pg` package (optional peer dependency).
 *
 * @packageDocumentation
 */
export * from './schema.js';
export * from './jsonb-table.js';
export * from './postgres-repositories.js';
