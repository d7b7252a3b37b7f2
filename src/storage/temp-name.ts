import { randomBytes } from 'node:crypto';

/**
 * Uploads to FTP, SFTP and local disk go to a file with this marker in the target's folder and
 * are renamed into place on success, so readers never see a partial object; `list` skips them.
 */
export const TEMP_MARK = '.obsdk-partial-';

/** A fresh temp file name (no folder). */
export function tempName(): string {
  return `${TEMP_MARK}${randomBytes(8).toString('hex')}`;
}

/** Whether a file name is one of ours in progress (or left by a crash). */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_MARK);
}
