import type { StorageConfig } from '../../domain/entities.js';
import { ValidationError } from '../../errors/errors.js';
import { parseExpectedHostKey } from '../../ssh/host-key.js';
import type { RetryOptions } from '../retry.js';
import { normaliseRoot, SettingsReader } from '../settings.js';

/** Everything the SFTP provider needs. */
export interface SftpProviderOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  /** OpenSSH or PEM private key. */
  privateKey?: string;
  passphrase?: string;
  /** The server's expected host key: `SHA256:...` fingerprint or a known_hosts line. Unknown keys are refused. */
  hostKey: string;
  /** An existing folder on the server; every key lives under it. */
  root: string;
  /** SSH sessions kept open (default 2). */
  maxConnections: number;
  /** Handshake timeout in ms (default 20,000). */
  timeoutMs: number;
  retry: RetryOptions;
}

/**
 * Reads a StorageConfig of kind sftp. Settings: `host`, `port` (22), `root` (required: an existing
 * absolute folder), `host_key` (required: `SHA256:...` or a known_hosts line; there is no
 * trust-on-first-use), `max_connections` (1..16, default 2), `timeout_ms`, `retries`,
 * `retry_min_delay_ms`. Credentials: `username` and `password` or `private_key` (+ `passphrase`).
 */
export function resolveSftpOptions(config: StorageConfig): SftpProviderOptions {
  const r = new SettingsReader(config);
  const host = r.string('host', true);
  const port = r.number('port', 1, 65535) ?? 22;
  const rootSetting = r.string('root', true);
  const hostKey = r.string('host_key', true);
  const username = r.secret('username', true);
  const password = r.secret('password');
  const privateKey = r.secret('private_key');
  const passphrase = r.secret('passphrase');
  if (!password && !privateKey) r.problem('credentials', "provider 'sftp' needs credentials.password or credentials.private_key");
  const maxConnections = r.number('max_connections', 1, 16) ?? 2;
  const timeoutMs = r.number('timeout_ms', 100, 600_000) ?? 20_000;
  const retries = r.number('retries', 0, 20);
  const minDelayMs = r.number('retry_min_delay_ms', 0, 60_000);
  let root = '/';
  if (rootSetting) {
    if (!rootSetting.startsWith('/')) r.problem('settings.root', 'must be an absolute path on the server');
    try {
      root = normaliseRoot(rootSetting);
    } catch {
      r.problem('settings.root', 'must not contain ".." segments');
    }
  }
  if (hostKey) {
    try {
      parseExpectedHostKey(hostKey, 'settings.host_key');
    } catch (error) {
      if (error instanceof ValidationError) for (const i of error.issues) r.problem(i.field, i.message);
      else throw error;
    }
  }
  r.done();
  return {
    host,
    port,
    username,
    ...(password ? { password } : {}),
    ...(privateKey ? { privateKey } : {}),
    ...(passphrase ? { passphrase } : {}),
    hostKey,
    root,
    maxConnections: Math.floor(maxConnections),
    timeoutMs,
    retry: { ...(retries !== undefined ? { retries } : {}), ...(minDelayMs !== undefined ? { minDelayMs } : {}) },
  };
}
