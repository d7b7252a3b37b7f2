import { isDeepStrictEqual } from 'node:util';
import { ConflictError, NotFoundError, type NotFoundEntity } from '../errors/errors.js';
import type { Where } from '../ports/repositories.js';

/**
 * A tiny table of records keyed by `id`, the shared core of the in-memory repositories.
 * Records are cloned in and out so callers can never mutate stored state by accident, and
 * every compare-and-set runs synchronously, so it is atomic under Node's event loop.
 */
export class InMemoryTable<T extends { id: string; updated_at?: string }> {
  readonly rows = new Map<string, T>();

  constructor(
    private readonly entity: NotFoundEntity,
    private readonly now: () => Date = () => new Date(),
  ) {}

  insert(record: T): T {
    if (this.rows.has(record.id))
      throw new ConflictError(`${this.entity} ${record.id} already exists`, { details: { entity: this.entity, id: record.id } });
    this.rows.set(record.id, structuredClone(record));
    return structuredClone(record);
  }

  get(id: string): T | null {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  update(id: string, patch: Partial<T>, where?: Where<T>): T {
    const row = this.rows.get(id);
    if (!row) throw new NotFoundError(this.entity, id);
    if (where) {
      for (const [field, expected] of Object.entries(where)) {
        // An undefined condition is no condition (as it would be once serialised to JSON).
        if (expected === undefined) continue;
        const actual = (row as Record<string, unknown>)[field];
        if (!sameValue(actual, expected)) {
          throw new ConflictError(`${this.entity} ${id} changed concurrently: ${field} is no longer ${JSON.stringify(expected)}`, {
            details: { entity: this.entity, id, field, expected, actual },
          });
        }
      }
    }
    // Undefined patch fields change nothing, as with a JSON-backed store.
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const next = { ...row, ...structuredClone(defined), id: row.id } as T;
    if ('updated_at' in row && !('updated_at' in defined)) (next as { updated_at?: string }).updated_at = this.now().toISOString();
    this.rows.set(id, next);
    return structuredClone(next);
  }

  delete(id: string): void {
    this.rows.delete(id);
  }

  /** Live rows, not cloned: callers must clone what they return. */
  values(): IterableIterator<T> {
    return this.rows.values();
  }
}

/** Whole-value equality, as jsonb compares: key order does not matter, a missing field equals null. */
function sameValue(actual: unknown, expected: unknown): boolean {
  return isDeepStrictEqual(actual === undefined ? null : actual, expected);
}
