import { createHash, randomBytes } from 'node:crypto';

/**
 * Uploads to FTP, SFTP and local disk go to a file with this marker in the target's folder and
 * are renamed into place on success, so readers never see a partial object; `list` skips them.
 */
export const TEMP_MARK = '.obsdk-partial-';

/**
 * The start of every temp file name an upload of `key` uses: the marker, then 16 hex digits of
 * SHA-256 of the key. So `abortPartialUploads(key)` finds what a dead upload of that key left,
 * and never what an upload of another key in the same folder is writing.
 */
export function tempPrefix(key: string): string {
  return `${TEMP_MARK}${createHash('sha256').update(key).digest('hex').slice(0, 16)}-`;
}

/** A fresh temp file name (no folder) for an upload of `key`. */
export function tempName(key: string): string {
  return `${tempPrefix(key)}${randomBytes(8).toString('hex')}`;
}

/** Whether a file name is one of ours in progress (or left by a crash). */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_MARK);
}
