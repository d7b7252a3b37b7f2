import type { Backup, BackupPolicy, StorageConfig, Task } from '../../domain/entities.js';
import { ConflictError, NotFoundError } from '../../errors/errors.js';
import type { Clock } from '../../ports/clock.js';
import type {
  BackupFilter,
  BackupPolicyRepository,
  BackupRepository,
  PageRequest,
  StorageConfigRepository,
  TaskFilter,
  TaskRepository,
  UsageDelta,
  Where,
} from '../../ports/repositories.js';
import { JsonbTable, type SqlClient } from './jsonb-table.js';
import { postgresSchemaSql, postgresTableNames, type PostgresTableNames } from './schema.js';

/** Options of {@link createPostgresRepositories}. */
export interface PostgresRepositoryOptions {
  /** A `pg.Pool` (recommended) or anything with the same `query` method. */
  client: SqlClient;
  /** Table name prefix (default `obsdk_`). */
  tablePrefix?: string;
  /** Clock for `updated_at` (default: system time). */
  clock?: Pick<Clock, 'now'>;
}

/** Builds a WHERE clause for a {@link BackupFilter}; values always travel as parameters. */
function backupWhere(filter: BackupFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const eq = (field: string, value: unknown) => {
    params.push(value);
    clauses.push(`data->>'${field}' = $${params.length}`);
  };
  if (filter.environment_id !== undefined) eq('environment_id', filter.environment_id);
  if (filter.organization_id !== undefined) eq('organization_id', filter.organization_id);
  if (filter.storage_config_id !== undefined) eq('storage_config_id', filter.storage_config_id);
  if (filter.backup_type !== undefined) eq('backup_type', filter.backup_type);
  if (filter.copy_storage_config_id !== undefined) eq('copy_storage_config_id', filter.copy_storage_config_id);
  if (filter.copy_status !== undefined) eq('copy_status', filter.copy_status);
  if (filter.status !== undefined) {
    params.push(typeof filter.status === 'string' ? [filter.status] : [...filter.status]);
    clauses.push(`data->>'status' = ANY($${params.length}::text[])`);
  }
  if (filter.expires_before !== undefined) {
    params.push(new Date(filter.expires_before).toISOString());
    clauses.push(`(data->>'expires_at')::timestamptz < $${params.length}::timestamptz`);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const ORDER = `ORDER BY data->>'created_at' DESC, id DESC`;

/** {@link BackupRepository} on PostgreSQL. */
export class PostgresBackupRepository implements BackupRepository {
  private readonly t: JsonbTable<Backup>;
  constructor(client: SqlClient, table: string, clock: Pick<Clock, 'now'>) {
    this.t = new JsonbTable<Backup>(client, table, 'backup', () => clock.now());
  }
  create(backup: Backup): Promise<Backup> {
    return this.t.insert(backup);
  }
  get(id: string): Promise<Backup | null> {
    return this.t.get(id);
  }
  update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup> {
    return this.t.update(id, patch, where);
  }
  async list(filter: BackupFilter, page: PageRequest): Promise<{ items: Backup[]; total: number }> {
    const w = backupWhere(filter);
    const n = w.params.length;
    const { rows } = await this.t.client.query<{ data: Backup; total: string }>(
      `SELECT data, count(*) OVER () AS total FROM ${this.t.table} ${w.sql} ${ORDER} OFFSET $${n + 1} LIMIT $${n + 2}`,
      [...w.params, page.offset, page.limit],
    );
    if (rows.length > 0) return { items: rows.map((r) => r.data), total: Number(rows[0]!.total) };
    const count = await this.t.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.t.table} ${w.sql}`, w.params);
    return { items: [], total: Number(count.rows[0]?.n ?? 0) };
  }
  async find(filter: BackupFilter): Promise<Backup[]> {
    const w = backupWhere(filter);
    const { rows } = await this.t.client.query<{ data: Backup }>(`SELECT data FROM ${this.t.table} ${w.sql} ${ORDER}`, w.params);
    return rows.map((r) => r.data);
  }
  async sumCompressedSize(filter: BackupFilter): Promise<number> {
    const w = backupWhere(filter);
    const { rows } = await this.t.client.query<{ s: string | null }>(
      `SELECT sum((data->>'compressed_size')::bigint) AS s FROM ${this.t.table} ${w.sql}`,
      w.params,
    );
    return Number(rows[0]?.s ?? 0);
  }
  async listEnvironmentIds(filter: BackupFilter = {}): Promise<string[]> {
    const w = backupWhere(filter);
    const { rows } = await this.t.client.query<{ e: string }>(
      `SELECT DISTINCT data->>'environment_id' AS e FROM ${this.t.table} ${w.sql} ORDER BY 1`,
      w.params,
    );
    return rows.map((r) => r.e);
  }
}

/** {@link BackupPolicyRepository} on PostgreSQL (one policy per environment, by unique index). */
export class PostgresBackupPolicyRepository implements BackupPolicyRepository {
  private readonly t: JsonbTable<BackupPolicy>;
  constructor(client: SqlClient, table: string, clock: Pick<Clock, 'now'>) {
    this.t = new JsonbTable<BackupPolicy>(client, table, 'policy', () => clock.now());
  }
  create(policy: BackupPolicy): Promise<BackupPolicy> {
    return this.t.insert(policy, `Environment ${policy.environment_id} already has a backup policy`);
  }
  get(id: string): Promise<BackupPolicy | null> {
    return this.t.get(id);
  }
  async getByEnvironment(environmentId: string): Promise<BackupPolicy | null> {
    const { rows } = await this.t.client.query<{ data: BackupPolicy }>(
      `SELECT data FROM ${this.t.table} WHERE data->>'environment_id' = $1`,
      [environmentId],
    );
    return rows[0]?.data ?? null;
  }
  update(id: string, patch: Partial<BackupPolicy>, where?: Where<BackupPolicy>): Promise<BackupPolicy> {
    return this.t.update(id, patch, where);
  }
  delete(id: string): Promise<void> {
    return this.t.delete(id);
  }
  async listDue(now: string, limit?: number): Promise<BackupPolicy[]> {
    const { rows } = await this.t.client.query<{ data: BackupPolicy }>(
      `SELECT data FROM ${this.t.table}
        WHERE (data->>'is_enabled') = 'true' AND data->>'next_backup_at' IS NOT NULL
          AND (data->>'next_backup_at')::timestamptz <= $1::timestamptz
        ORDER BY (data->>'next_backup_at')::timestamptz, id ${limit === undefined ? '' : 'LIMIT $2'}`,
      limit === undefined ? [now] : [now, limit],
    );
    return rows.map((r) => r.data);
  }
  async listEnabled(): Promise<BackupPolicy[]> {
    const { rows } = await this.t.client.query<{ data: BackupPolicy }>(
      `SELECT data FROM ${this.t.table} WHERE (data->>'is_enabled') = 'true' ORDER BY id`,
    );
    return rows.map((r) => r.data);
  }
  async nextDueAt(): Promise<string | null> {
    const { rows } = await this.t.client.query<{ n: string | null }>(
      `SELECT data->>'next_backup_at' AS n FROM ${this.t.table}
        WHERE (data->>'is_enabled') = 'true' AND data->>'next_backup_at' IS NOT NULL
        ORDER BY (data->>'next_backup_at')::timestamptz LIMIT 1`,
    );
    return rows[0]?.n ?? null;
  }
}

/** {@link TaskRepository} on PostgreSQL. */
export class PostgresTaskRepository implements TaskRepository {
  private readonly t: JsonbTable<Task>;
  constructor(client: SqlClient, table: string, clock: Pick<Clock, 'now'>) {
    this.t = new JsonbTable<Task>(client, table, 'task', () => clock.now());
  }
  create(task: Task): Promise<Task> {
    return this.t.insert(task);
  }
  /**
   * One INSERT: the partial unique index over the environment of active exclusive tasks makes
   * every concurrent caller but one fail, in this process or any other.
   */
  async createExclusive(task: Task): Promise<Task> {
    try {
      return await this.t.insert(task, undefined, { exclusive: true });
    } catch (error) {
      if (!(error instanceof ConflictError) || (error.details as { duplicate_id?: boolean }).duplicate_id) throw error;
      const { rows } = await this.t.client.query<{ id: string }>(
        `SELECT id FROM ${this.t.table} WHERE exclusive AND data->>'environment_id' = $1 AND (data->>'status') IN ('pending', 'queued', 'running') LIMIT 1`,
        [task.environment_id],
      );
      throw new ConflictError(`Environment ${task.environment_id} already has an active task${rows[0] ? ` (${rows[0].id})` : ''}`, {
        details: { entity: 'task', id: task.id, environment_id: task.environment_id, ...(rows[0] ? { active_task_id: rows[0].id } : {}) },
      });
    }
  }
  get(id: string): Promise<Task | null> {
    return this.t.get(id);
  }
  update(id: string, patch: Partial<Task>, where?: Where<Task>): Promise<Task> {
    return this.t.update(id, patch, where);
  }
  async find(filter: TaskFilter): Promise<Task[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (field: string, value: string | readonly string[]) => {
      params.push(typeof value === 'string' ? [value] : [...value]);
      clauses.push(`data->>'${field}' = ANY($${params.length}::text[])`);
    };
    if (filter.task_type !== undefined) add('task_type', filter.task_type);
    if (filter.environment_id !== undefined) add('environment_id', filter.environment_id);
    if (filter.status !== undefined) add('status', filter.status);
    const { rows } = await this.t.client.query<{ data: Task }>(
      `SELECT data FROM ${this.t.table} ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
        ORDER BY (data->>'created_at')::timestamptz, id`,
      params,
    );
    return rows.map((r) => r.data);
  }
}

/** {@link StorageConfigRepository} on PostgreSQL; usage counters change in one atomic UPDATE. */
export class PostgresStorageConfigRepository implements StorageConfigRepository {
  private readonly t: JsonbTable<StorageConfig>;
  constructor(
    client: SqlClient,
    table: string,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.t = new JsonbTable<StorageConfig>(client, table, 'storage_config', () => clock.now());
  }
  create(config: StorageConfig): Promise<StorageConfig> {
    return this.t.insert(config);
  }
  get(id: string): Promise<StorageConfig | null> {
    return this.t.get(id);
  }
  async getDefault(organizationId: string): Promise<StorageConfig | null> {
    const { rows } = await this.t.client.query<{ data: StorageConfig }>(
      `SELECT data FROM ${this.t.table} WHERE data->>'organization_id' = $1 AND (data->>'is_default') = 'true' ORDER BY id LIMIT 1`,
      [organizationId],
    );
    return rows[0]?.data ?? null;
  }
  async list(organizationId: string): Promise<StorageConfig[]> {
    const { rows } = await this.t.client.query<{ data: StorageConfig }>(
      `SELECT data FROM ${this.t.table} WHERE data->>'organization_id' = $1 ORDER BY data->>'created_at', id`,
      [organizationId],
    );
    return rows.map((r) => r.data);
  }
  delete(id: string): Promise<void> {
    return this.t.delete(id);
  }
  update(id: string, patch: Partial<StorageConfig>, where?: Where<StorageConfig>): Promise<StorageConfig> {
    return this.t.update(id, patch, where);
  }
  async adjustUsage(id: string, delta: UsageDelta): Promise<StorageConfig> {
    const { rows } = await this.t.client.query<{ data: StorageConfig }>(
      `UPDATE ${this.t.table} SET data = data || jsonb_build_object(
          'total_size_bytes', greatest(0, (data->>'total_size_bytes')::bigint + $2::bigint),
          'object_count', greatest(0, (data->>'object_count')::bigint + $3::bigint),
          'last_used_at', COALESCE($4::text, data->>'last_used_at'),
          'updated_at', $5::text)
        WHERE id = $1 RETURNING data`,
      [id, Math.trunc(delta.bytes), Math.trunc(delta.objects), delta.last_used_at ?? null, this.clock.now().toISOString()],
    );
    if (!rows[0]) throw new NotFoundError('storage_config', id);
    return rows[0].data;
  }
}

/** The four repositories over one PostgreSQL client. */
export interface PostgresRepositories {
  backups: PostgresBackupRepository;
  policies: PostgresBackupPolicyRepository;
  tasks: PostgresTaskRepository;
  storageConfigs: PostgresStorageConfigRepository;
  /** Creates the tables and indexes if missing (idempotent). */
  migrate(): Promise<void>;
  /** The table names in use. */
  tables: PostgresTableNames;
}

/**
 * PostgreSQL implementations of every repository port, for hosts that keep backup records in
 * PostgreSQL. `pg` is an optional peer dependency: install it yourself.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createPostgresRepositories } from 'odoo-backup-sdk/postgres';
 * const repos = createPostgresRepositories({ client: new pg.Pool({ connectionString }) });
 * await repos.migrate();
 * ```
 */
export function createPostgresRepositories(options: PostgresRepositoryOptions): PostgresRepositories {
  const tables = postgresTableNames(options.tablePrefix);
  const clock = options.clock ?? { now: () => new Date() };
  const c = options.client;
  return {
    backups: new PostgresBackupRepository(c, tables.backups, clock),
    policies: new PostgresBackupPolicyRepository(c, tables.policies, clock),
    tasks: new PostgresTaskRepository(c, tables.tasks, clock),
    storageConfigs: new PostgresStorageConfigRepository(c, tables.storageConfigs, clock),
    migrate: async () => {
      await c.query(postgresSchemaSql(tables));
    },
    tables,
  };
}
