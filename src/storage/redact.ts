import type { StorageConfig, StorageCredential } from '../domain/entities.js';
import { isSecretRef } from './resolve-credentials.js';

/**
 * The config without its secrets: safe to log, serialize or return from an API. Every credential
 * value reads `[redacted]`; a `{ ref }` is returned as given (a reference names where the secret
 * is kept, not the secret, and a client editing the config needs to see it).
 */
export function redactStorageConfig(
  config: StorageConfig,
): Omit<StorageConfig, 'credentials'> & { credentials: Record<string, StorageCredential> | null } {
  const { credentials, ...rest } = config;
  return {
    ...structuredClone(rest),
    credentials: credentials
      ? Object.fromEntries(
          Object.entries(credentials).map(([k, v]): [string, StorageCredential] => [k, isSecretRef(v) ? { ref: v.ref } : '[redacted]']),
        )
      : null,
  };
}
