import { createHash } from 'node:crypto';
import { MAX_DATABASE_NAME_BYTES } from './restore-request.js';

/** The database and folder names one restore works with, all derived from its task id. */
export interface RestoreNames {
  /** Where the archive is restored first: `<db>__restore_<tag>`. */
  temp_database: string;
  /** Where the target's own database is renamed during the swap (replace mode): `<db>__previous_<tag>`. */
  aside_database: string;
  /** The temporary filestore folder, beside the final one; null without a filestore. */
  temp_folder: string | null;
  /** Where the target's own folder goes during the swap (replace mode); null without one. */
  aside_folder: string | null;
}

/** Ten hex digits of SHA-256 of the task id: stable for a task, unlikely to collide between tasks. */
export function restoreTag(taskId: string): string {
  return createHash('sha256').update(taskId).digest('hex').slice(0, 10);
}

/**
 * `<base><suffix>`, with `base` cut (on a character boundary) so the whole fits in 63 bytes:
 * PostgreSQL would silently truncate a longer identifier, and two restores could then collide.
 */
export function derivedDatabaseName(base: string, suffix: string): string {
  let cut = base;
  while (Buffer.byteLength(cut + suffix) > MAX_DATABASE_NAME_BYTES) cut = cut.slice(0, -1);
  return cut + suffix;
}

function parentAndBase(path: string): { parent: string; base: string } {
  const i = path.lastIndexOf('/');
  return { parent: i <= 0 ? '' : path.slice(0, i), base: path.slice(i + 1) };
}

/** The folder beside `path` named `<basename><suffix>`. */
export function siblingFolder(path: string, suffix: string): string {
  const { parent, base } = parentAndBase(path);
  return `${parent}/${base}${suffix}`;
}

/** The parent folder of an absolute path (`/` for a top-level one). */
export function parentFolder(path: string): string {
  return parentAndBase(path).parent || '/';
}

/**
 * The temporary and set-aside names of a restore (see docs/restore.md#temporary-names):
 * databases `<db>__restore_<tag>` and `<db>__previous_<tag>`, `<db>` cut so each fits in 63
 * bytes; folders beside the final folder, `<folder>__restore_<tag>` and `<folder>__previous_<tag>`.
 * `tag` is `restoreTag` of the task id, so a recovery that only knows the task finds them.
 */
export function restoreNames(taskId: string, database: string, folder: string | null): RestoreNames {
  const tag = restoreTag(taskId);
  return {
    temp_database: derivedDatabaseName(database, `__restore_${tag}`),
    aside_database: derivedDatabaseName(database, `__previous_${tag}`),
    temp_folder: folder === null ? null : siblingFolder(folder, `__restore_${tag}`),
    aside_folder: folder === null ? null : siblingFolder(folder, `__previous_${tag}`),
  };
}

/** True when `path` is strictly inside `root` (both absolute, normalised). */
export function isInside(path: string, root: string): boolean {
  const prefix = root === '/' ? '/' : `${root}/`;
  return path.startsWith(prefix) && path.length > prefix.length;
}
