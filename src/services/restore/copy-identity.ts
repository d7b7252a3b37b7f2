import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { UnsupportedOperationError } from '../../errors/errors.js';
import type { RestoreTarget } from '../../ports/restore-target.js';
import { quoteSqlLiteral } from '../../sources/sql-quote.js';

/** The `ir_config_parameter` values that make a restored database a copy rather than the original moved. */
export interface CopyIdentity {
  'database.secret': string;
  'database.uuid': string;
  'database.create_date': string;
  'base.login_cooldown_after': string;
  'base.login_cooldown_duration': string;
  /** Only when the request gave `base_url`. */
  'web.base.url'?: string;
}

/**
 * What Odoo's own copy writes (`restore_db(copy=True)` and `exp_duplicate_database` both call
 * `ir.config_parameter.init(force=True)`, which sets every `_default_parameters` entry): a new
 * random secret and uuid, the creation date now (`YYYY-MM-DD HH:MM:SS`, UTC, as Odoo's
 * `fields.Datetime.now` stores it), and the login cooldowns at their defaults (10 failures, 60 s).
 * Odoo also resets `web.base.url` to `http://localhost:<port>`, which would break every link of a
 * copy served elsewhere: here it changes only to the `base_url` the request gives.
 */
export function copyIdentity(now: Date, baseUrl: string | null): CopyIdentity {
  return {
    'database.secret': randomUUID(),
    'database.uuid': randomUUID(),
    'database.create_date': now.toISOString().slice(0, 19).replace('T', ' '),
    'base.login_cooldown_after': '10',
    'base.login_cooldown_duration': '60',
    ...(baseUrl !== null ? { 'web.base.url': baseUrl } : {}),
  };
}

/**
 * The SQL that writes `identity` into `ir_config_parameter`: each key updated where it exists and
 * inserted where it does not (as Odoo's `set_param` does), in one transaction. A database without
 * the table (not an Odoo database) is left as it is.
 */
export function copyIdentitySql(identity: CopyIdentity): string {
  const rows = Object.entries(identity)
    .map(([key, value]) => `(${quoteSqlLiteral(key)}, ${quoteSqlLiteral(value as string)})`)
    .join(', ');
  return [
    'BEGIN;',
    'DO $obsdk_copy$',
    'BEGIN',
    "  IF to_regclass('public.ir_config_parameter') IS NULL THEN RETURN; END IF;",
    `  UPDATE public.ir_config_parameter p SET value = v.value FROM (VALUES ${rows}) AS v(key, value) WHERE p.key = v.key;`,
    `  INSERT INTO public.ir_config_parameter (key, value) SELECT v.key, v.value FROM (VALUES ${rows}) AS v(key, value)`,
    '    WHERE NOT EXISTS (SELECT 1 FROM public.ir_config_parameter p WHERE p.key = v.key);',
    'END',
    '$obsdk_copy$;',
    'COMMIT;',
    '',
  ].join('\n');
}

/** Fails early when `target` cannot run the SQL a copy needs. */
export function assertCanCopy(target: RestoreTarget): void {
  if (!target.runSqlScript)
    throw new UnsupportedOperationError(
      'as_copy',
      `The ${target.kind} restore target`,
      'it has no runSqlScript to give the copy its own identity; restore with as_copy: false',
    );
}

/** Rewrites the identity of the restored (temporary) `database` on `target`; returns what it wrote. */
export async function makeCopy(
  target: RestoreTarget,
  database: string,
  identity: CopyIdentity,
  signal?: AbortSignal,
): Promise<CopyIdentity> {
  assertCanCopy(target);
  await target.runSqlScript!(database, Readable.from([Buffer.from(copyIdentitySql(identity))]), signal ? { signal } : {});
  return identity;
}
