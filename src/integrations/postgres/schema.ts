/**
 * DDL for the PostgreSQL repositories. Each table keeps the whole record as `jsonb` (the wire
 * format, so new fields need no migration) plus expression indexes on the fields the SDK filters
 * on. Compare-and-set updates are single `UPDATE ... WHERE data @> $where` statements, atomic
 * under any isolation level. Tasks created through `createExclusive` carry `exclusive = true`,
 * and a partial unique index allows one active such task per environment: the database itself
 * decides which of two concurrent restore requests wins.
 */

/** Table names used by {@link postgresSchemaSql}; override the prefix to share a database. */
export interface PostgresTableNames {
  backups: string;
  policies: string;
  tasks: string;
  storageConfigs: string;
}

/** Table names for a prefix (default `obsdk_`). The prefix must be a plain SQL identifier. */
export function postgresTableNames(prefix = 'obsdk_'): PostgresTableNames {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(`Invalid table prefix ${JSON.stringify(prefix)}: use lowercase letters, digits and _`);
  return {
    backups: `${prefix}backups`,
    policies: `${prefix}backup_policies`,
    tasks: `${prefix}tasks`,
    storageConfigs: `${prefix}storage_configs`,
  };
}

/** Idempotent DDL creating the tables and indexes. Run it once at deploy time (or from a migration). */
export function postgresSchemaSql(names: PostgresTableNames = postgresTableNames()): string {
  const t = names;
  return `
CREATE TABLE IF NOT EXISTS ${t.backups} (id text PRIMARY KEY, data jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS ${t.backups}_env_idx ON ${t.backups} ((data->>'environment_id'), (data->>'created_at') DESC);
CREATE INDEX IF NOT EXISTS ${t.backups}_org_idx ON ${t.backups} ((data->>'organization_id'));
CREATE INDEX IF NOT EXISTS ${t.backups}_status_idx ON ${t.backups} ((data->>'status'));
CREATE INDEX IF NOT EXISTS ${t.backups}_expires_idx ON ${t.backups} ((data->>'expires_at'));
CREATE INDEX IF NOT EXISTS ${t.backups}_copy_config_idx ON ${t.backups} ((data->>'copy_storage_config_id'));
CREATE TABLE IF NOT EXISTS ${t.policies} (id text PRIMARY KEY, data jsonb NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS ${t.policies}_env_uq ON ${t.policies} ((data->>'environment_id'));
CREATE INDEX IF NOT EXISTS ${t.policies}_due_idx ON ${t.policies} ((data->>'next_backup_at')) WHERE (data->>'is_enabled') = 'true';
CREATE TABLE IF NOT EXISTS ${t.tasks} (id text PRIMARY KEY, data jsonb NOT NULL);
ALTER TABLE ${t.tasks} ADD COLUMN IF NOT EXISTS exclusive boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX IF NOT EXISTS ${t.tasks}_one_active_exclusive_uq ON ${t.tasks} ((data->>'environment_id'))
  WHERE exclusive AND (data->>'status') IN ('pending', 'queued', 'running');
CREATE TABLE IF NOT EXISTS ${t.storageConfigs} (id text PRIMARY KEY, data jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS ${t.storageConfigs}_org_idx ON ${t.storageConfigs} ((data->>'organization_id'));
`;
}
