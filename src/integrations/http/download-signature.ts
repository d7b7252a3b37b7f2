import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed archive URLs for storage that cannot presign (local, FTP, SFTP, memory): HMAC-SHA256 of
 * the backup id and the expiry (Unix seconds) with the host's secret. Whoever holds the URL may
 * download that backup until it expires, as with an S3 presigned URL.
 */
export function signArchive(secret: string, backupId: string, expires: number): string {
  return createHmac('sha256', secret).update(`${backupId}\n${expires}`).digest('hex');
}

/** True when `signature` is the one of this backup and expiry, and the expiry is not past. */
export function verifyArchiveSignature(
  secret: string,
  backupId: string,
  expires: string | null,
  signature: string | null,
  nowMs: number,
): boolean {
  if (expires === null || signature === null || !/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/.test(signature)) return false;
  if (Number(expires) * 1000 < nowMs) return false;
  const expected = Buffer.from(signArchive(secret, backupId, Number(expires)), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
