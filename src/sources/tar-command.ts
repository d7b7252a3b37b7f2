import { posix } from 'node:path';
import { ValidationError } from '../errors/errors.js';

/** A filestore folder split into the folder `tar -C` enters and the entry it archives. */
export interface FolderParts {
  parent: string;
  name: string;
}

/**
 * Splits an absolute folder path (`/var/lib/odoo/filestore/mydb/`) into `parent` and `name`
 * (`/var/lib/odoo/filestore`, `mydb`). Throws a `ValidationError` for a relative path or `/`.
 */
export function splitFolder(path: string, field = 'filestore_path'): FolderParts {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new ValidationError([{ field, message: `must be an absolute path, got ${JSON.stringify(path)}` }]);
  const normalized = posix.normalize(path).replace(/\/+$/, '');
  if (normalized === '') throw new ValidationError([{ field, message: 'cannot be the root folder' }]);
  return { parent: posix.dirname(normalized), name: posix.basename(normalized) };
}

/**
 * `tar -czf - -C <parent> -- <name>`: a gzip tarball on stdout whose entries start with the
 * folder's own name (`mydb/ab/abcdef...`), as the spec's `tar -czf - -C /var/lib/odoo/filestore {db}`.
 * `--` keeps a name starting with `-` from being read as an option.
 */
export function tarArgs(parent: string, name: string): string[] {
  return ['-czf', '-', '-C', parent, '--', name];
}
