import { posix } from 'node:path';
import { ValidationError } from '../errors/errors.js';
import { checkFilestoreCompressionLevel, IGZIP_MAX_LEVEL, type GzipTool } from './gzip-tool.js';

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

/** How the filestore tarball is gzipped: the compressor found on the source host and the level. */
export interface TarCompression {
  gzip: GzipTool;
  /** gzip level 1-9. */
  level: number;
}

/** gzip's own default level: `tar -czf` compresses at it. */
const GZIP_DEFAULT_LEVEL = 6;

/**
 * `tar -czf - -C <parent> -- <name>`: a gzip tarball on stdout whose entries start with the
 * folder's own name (`mydb/ab/abcdef...`), as `tar -czf - -C /var/lib/odoo/filestore <db>` typed by hand.
 * `--` keeps a name starting with `-` from being read as an option.
 *
 * With `compression`, the same tarball is gzipped by the compressor found on the host
 * (`igzip -<level>` for levels 1-3, `pigz -<level>` on all its cores, or `gzip -<level>`; the
 * output is one standard gzip stream whichever it is), through `tar -I` so tar still reports the
 * compressor's failure in its own exit status. Plain `-z` is kept for gzip at its default level
 * (any tar, BusyBox included, has it). For `zlib-adaptive` it is a plain `tar -cf -`: this
 * process gzips it.
 */
export function tarArgs(parent: string, name: string, compression?: TarCompression): string[] {
  const target = ['-C', parent, '--', name];
  // The level goes into tar's -I string: only a digit may ever reach it.
  checkFilestoreCompressionLevel(compression?.level);
  if (compression?.gzip.tool === 'igzip' && compression.level > IGZIP_MAX_LEVEL) {
    throw new ValidationError([{ field: 'level', message: `igzip has levels 1-${IGZIP_MAX_LEVEL}, got ${compression.level}` }]);
  }
  if (compression?.gzip.tool === 'zlib-adaptive') return ['-cf', '-', ...target];
  if (!compression || (compression.gzip.tool === 'gzip' && compression.level === GZIP_DEFAULT_LEVEL)) return ['-czf', '-', ...target];
  return ['-I', `${compression.gzip.tool} -${compression.level}`, '-cf', '-', ...target];
}
