import type { StorageConfig } from '../../domain/entities.js';
import type { RetryOptions } from '../retry.js';
import { normaliseRoot, SettingsReader } from '../settings.js';

/** Everything the FTP provider needs. */
export interface FtpProviderOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  /** An existing folder on the server; every key lives under it. */
  root: string;
  /** Explicit FTPS (`AUTH TLS` on the plain port), control and data channels encrypted. */
  secure: boolean;
  /** Verify the server certificate (default true). */
  rejectUnauthorized: boolean;
  /** Extra CA certificate(s) in PEM, for servers with a private CA or a self-signed certificate. */
  ca?: string;
  /** Concurrent control connections (default 2). */
  maxConnections: number;
  /** Control-socket idle timeout in ms (default 30,000). */
  timeoutMs: number;
  retry: RetryOptions;
}

/**
 * Reads a StorageConfig of kind ftp. Settings: `host`, `port` (21), `root` (required: an existing
 * folder), `secure` (explicit FTPS, default false), `reject_unauthorized` (true), `ca` (PEM),
 * `max_connections` (1..16, default 2), `timeout_ms`, `retries`, `retry_min_delay_ms`.
 * Credentials: `username`, `password`. Transfers always use passive mode.
 */
export function resolveFtpOptions(config: StorageConfig): FtpProviderOptions {
  const r = new SettingsReader(config);
  const host = r.string('host', true);
  const port = r.number('port', 1, 65535) ?? 21;
  const rootSetting = r.string('root', true);
  const username = r.secret('username', true);
  const password = r.secret('password') ?? '';
  const secure = r.boolean('secure') ?? false;
  const rejectUnauthorized = r.boolean('reject_unauthorized') ?? true;
  const ca = r.string('ca');
  const maxConnections = r.number('max_connections', 1, 16) ?? 2;
  const timeoutMs = r.number('timeout_ms', 100, 600_000) ?? 30_000;
  const retries = r.number('retries', 0, 20);
  const minDelayMs = r.number('retry_min_delay_ms', 0, 60_000);
  let root = '/';
  try {
    if (rootSetting) root = normaliseRoot(rootSetting);
  } catch {
    r.problem('settings.root', 'must not contain ".." segments');
  }
  r.done();
  return {
    host,
    port,
    username,
    password,
    root,
    secure,
    rejectUnauthorized,
    ...(ca ? { ca } : {}),
    maxConnections: Math.floor(maxConnections),
    timeoutMs,
    retry: { ...(retries !== undefined ? { retries } : {}), ...(minDelayMs !== undefined ? { minDelayMs } : {}) },
  };
}
