import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { LogFields } from '../ports/logger.js';

// Credentials as they show up in error messages of drivers and tools: in URLs
// (`postgres://user:secret@host`) and as key=value or key: value pairs.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+):[^@\s/]+@/gi;
const SECRET_PAIRS =
  /\b(password|passwd|pwd|pgpassword|secret|secret_access_key|access_key|api_key|apikey|token|passphrase|private_key)(["']?\s*[:=]\s*["']?)([^\s"',;&]+)/gi;

/**
 * Removes credentials from a message before it is logged. SDK errors never carry secrets; this
 * covers messages of foreign errors (a driver's, a host adapter's) that might quote a URL or a
 * `password=...` pair.
 */
export function scrubSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:[redacted]@').replace(SECRET_PAIRS, '$1$2[redacted]');
}

/** The fields of a failure in a log line: its code and a scrubbed message. */
export function errorLogFields(error: unknown): LogFields {
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: error instanceof BackupSdkError ? error.code : 'E_UNEXPECTED',
    transient: error instanceof BackupSdkError ? error.transient : false,
    error: scrubSecrets(message),
  };
}
