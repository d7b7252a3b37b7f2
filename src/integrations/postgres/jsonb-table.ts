import { ConflictError, NotFoundError, type NotFoundEntity } from '../../errors/errors.js';
import type { Where } from '../../ports/repositories.js';

/** The part of `pg.Pool` / `pg.Client` the repositories use, so any compatible client works. */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === UNIQUE_VIOLATION;
}

/** Shared CRUD with compare-and-set over one `(id text, data jsonb)` table. */
export class JsonbTable<T extends { id: string }> {
  constructor(
    readonly client: SqlClient,
    readonly table: string,
    private readonly entity: NotFoundEntity,
    private readonly now: () => Date,
  ) {}

  /** Inserts `record`; `columns` are extra columns of the row beside `data` (their names are the SDK's own, never input). */
  async insert(record: T, conflictMessage?: string, columns: Record<string, unknown> = {}): Promise<T> {
    const extra = Object.keys(columns);
    try {
      await this.client.query(
        `INSERT INTO ${this.table} (id, data${extra.map((c) => `, ${c}`).join('')}) VALUES ($1, $2::jsonb${extra.map((_, i) => `, $${i + 3}`).join('')})`,
        [record.id, JSON.stringify(record), ...Object.values(columns)],
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        // The primary key is a duplicate id; any other unique index carries its own meaning (one policy per environment).
        const duplicateId = (error as { constraint?: string }).constraint === `${this.table}_pkey`;
        throw new ConflictError(
          duplicateId
            ? `${this.entity} ${record.id} already exists`
            : (conflictMessage ?? `${this.entity} ${record.id} conflicts with an existing record`),
          {
            details: { entity: this.entity, id: record.id, duplicate_id: duplicateId },
          },
        );
      }
      throw error;
    }
    return structuredClone(record);
  }

  async get(id: string): Promise<T | null> {
    const { rows } = await this.client.query<{ data: T }>(`SELECT data FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0]?.data ?? null;
  }

  /**
   * One atomic statement: the patch applies only when every `where` field equals the stored value
   * (jsonb equality: objects and arrays compare whole, a missing field counts as null), which is
   * what compare-and-set on status or timestamps needs.
   */
  async update(id: string, patch: Partial<T>, where?: Where<T>, touch = true): Promise<T> {
    const full: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch)) if (value !== undefined && key !== 'id') full[key] = value;
    if (touch && !('updated_at' in full)) full.updated_at = this.now().toISOString();
    const params: unknown[] = [id, JSON.stringify(full)];
    const conditions: string[] = [];
    for (const [field, expected] of Object.entries(where ?? {})) {
      if (expected === undefined) continue;
      params.push(field, JSON.stringify(expected));
      conditions.push(`COALESCE(data -> $${params.length - 1}::text, 'null'::jsonb) = $${params.length}::jsonb`);
    }
    let rows: { data: T }[];
    try {
      ({ rows } = await this.client.query<{ data: T }>(
        `UPDATE ${this.table} SET data = data || $2::jsonb WHERE id = $1${conditions.map((c) => ` AND ${c}`).join('')} RETURNING data`,
        params,
      ));
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`${this.entity} ${id} would duplicate another record's unique field`, {
          details: { entity: this.entity, id, fields: Object.keys(full) },
        });
      throw error;
    }
    if (rows[0]) return rows[0].data;
    const current = await this.get(id);
    if (!current) throw new NotFoundError(this.entity, id);
    throw new ConflictError(`${this.entity} ${id} changed concurrently: ${JSON.stringify(where)} no longer holds`, {
      details: { entity: this.entity, id, where },
    });
  }

  async delete(id: string): Promise<void> {
    await this.client.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
  }
}
