import { ValidationError } from '../errors/errors.js';
import { isTempName } from './temp-name.js';

/**
 * Checks a storage key before it reaches a filesystem or a remote server: relative, `/`-separated,
 * no empty, `.` or `..` segments, no backslashes or control characters, no segment starting with
 * the temp-upload marker. Every provider checks every key with it (a `ValidationError`, code
 * `E_VALIDATION`, before any I/O); those that map keys to paths (local, FTP, SFTP) rely on it to
 * stay inside their root folder.
 */
export function assertSafeKey(key: string): string {
  const problems: string[] = [];
  if (typeof key !== 'string' || key.length === 0) problems.push('is empty');
  else {
    if (key.startsWith('/')) problems.push('is absolute');
    if (key.includes('\\')) problems.push('contains a backslash');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(key)) problems.push('contains a control character');
    if (key.split('/').some((s) => s === '' || s === '.' || s === '..')) problems.push('has an empty, "." or ".." segment');
    // Those names are uploads in progress to list(): an object named so would be stored but never listed.
    if (key.split('/').some(isTempName)) problems.push('has a segment starting with the temp-upload marker ".obsdk-partial-"');
    if (key.length > 1024) problems.push('is longer than 1024 characters');
  }
  if (problems.length > 0)
    throw new ValidationError([{ field: 'key', message: `storage key ${JSON.stringify(key)} ${problems.join(', ')}` }]);
  return key;
}
