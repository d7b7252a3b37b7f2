import { ConflictError, NotFoundError } from '../../errors/errors.js';
import type { Where } from '../../ports/repositories.js';

/** The part of `pg.Pool` / `pg.Client` the repositories use, so any compatible client works. */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

const UNIQUE_VIOLATION = '23505';

/** Shared CRUD with compare-and-set over one `(id text, data jsonb)` table. */
export class JsonbTable<T extends { id: string }> {
  constructor(
    readonly client: SqlClient,
    readonly table: string,
    private readonly entity: string,
    private readonly now: () => Date,
  ) {}

  async insert(record: T, conflictMessage?: string): Promise<T> {
    try {
      await this.client.query(`INSERT INTO ${this.table} (id, data) VALUES ($1, $2::jsonb)`, [record.id, JSON.stringify(record)]);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new ConflictError(conflictMessage ?? `${this.entity} ${record.id} already exists`, { details: { entity: this.entity, id: record.id } });
      }
      throw error;
    }
    return record;
  }

  async get(id: string): Promise<T | null> {
    const { rows } = await this.client.query<{ data: T }>(`SELECT data FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0]?.data ?? null;
  }

  /**
   * One atomic statement: the patch applies only when `data @> where`. JSON containment compares
   * scalars by value, `null` included, which is what compare-and-set on status or timestamps needs.
   */
  async update(id: string, patch: Partial<T>, where?: Where<T>, touch = true): Promise<T> {
    const full: Record<string, unknown> = { ...patch };
    delete full.id;
    if (touch && !('updated_at' in full)) full.updated_at = this.now().toISOString();
    const { rows } = await this.client.query<{ data: T }>(
      `UPDATE ${this.table} SET data = data || $2::jsonb WHERE id = $1 AND data @> $3::jsonb RETURNING data`,
      [id, JSON.stringify(full), JSON.stringify(where ?? {})],
    );
    if (rows[0]) return rows[0].data;
    const current = await this.get(id);
    if (!current) throw new NotFoundError(this.entity, id);
    throw new ConflictError(`${this.entity} ${id} changed concurrently: ${JSON.stringify(where)} no longer holds`, { details: { entity: this.entity, id, where } });
  }

  async delete(id: string): Promise<void> {
    await this.client.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
  }
}
