import { ValidationError } from '../errors/errors.js';

function refuseNul(value: string, what: string): void {
  if (typeof value !== 'string') throw new ValidationError([{ field: what, message: 'must be a string' }]);
  if (value.includes('\0')) throw new ValidationError([{ field: what, message: 'cannot contain a NUL byte' }]);
}

/**
 * Quotes an SQL identifier (a database name): double quotes, each `"` doubled. Any name (spaces,
 * quotes, `;`, newlines, unicode) then reaches PostgreSQL as exactly that name.
 */
export function quoteSqlIdentifier(name: string): string {
  refuseNul(name, 'identifier');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Quotes an SQL string literal as an escape string (`E'...'`, `\` and `'` doubled), which means
 * the same whatever `standard_conforming_strings` says.
 */
export function quoteSqlLiteral(value: string): string {
  refuseNul(value, 'literal');
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
