import { posix } from 'node:path';
import { ValidationError } from '../errors/errors.js';
import { absoluteFolderProblem, isInside } from './source-identifiers.js';

/** PostgreSQL keeps the first 63 bytes of a name and silently drops the rest. */
const MAX_IDENTIFIER_BYTES = 63;
/** Databases a restore target never drops, renames or restores into. */
const RESERVED_DATABASES = new Set(['postgres', 'template0', 'template1']);

/**
 * Throws a `ValidationError` unless `name` is a database name a restore may create, drop or
 * rename: non-empty, no NUL, at most 63 bytes (a longer name would be truncated by PostgreSQL,
 * so a drop could hit another database), and not `postgres`, `template0` or `template1`.
 */
export function checkRestoreDatabaseName(name: string, field = 'database'): void {
  if (typeof name !== 'string' || name === '') throw new ValidationError([{ field, message: 'is required' }]);
  if (name.includes('\0')) throw new ValidationError([{ field, message: 'cannot contain a NUL byte' }]);
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES)
    throw new ValidationError([{ field, message: `is ${Buffer.byteLength(name)} bytes; PostgreSQL names are at most 63` }]);
  if (RESERVED_DATABASES.has(name)) throw new ValidationError([{ field, message: `${name} is a system database` }]);
}

/** Throws a `ValidationError` unless `path` is an absolute, normalised POSIX path other than `/` without NUL bytes. */
export function checkAbsolutePath(path: string, field = 'path'): void {
  const problem = absoluteFolderProblem(path);
  if (problem) throw new ValidationError([{ field, message: `${problem}, got ${JSON.stringify(path)}` }]);
  if (posix.normalize(path) !== path || path.endsWith('/'))
    throw new ValidationError([{ field, message: `must be a normalised path (no // or trailing /), got ${JSON.stringify(path)}` }]);
}

/**
 * Throws a `ValidationError` unless `path` is strictly inside `root` (the folder holding the
 * environment's filestore): a restore target creates, renames and removes folders only there.
 */
export function checkInsideRoot(path: string, root: string | null, field = 'path'): void {
  checkAbsolutePath(path, field);
  if (root === null)
    throw new ValidationError([{ field, message: 'this restore target has no filestore folder, so it changes no folder' }]);
  if (!isInside(root, path) || path === root)
    throw new ValidationError([{ field, message: `must be inside the filestore root ${root}, got ${JSON.stringify(path)}` }]);
}
