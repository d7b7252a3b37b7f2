import type { StorageConfig } from '../domain/entities.js';

/** The config without its secrets: safe to log, serialize or return from an API. */
export function redactStorageConfig(
  config: StorageConfig,
): Omit<StorageConfig, 'credentials'> & { credentials: Record<string, string> | null } {
  const { credentials, ...rest } = config;
  return {
    ...structuredClone(rest),
    credentials: credentials ? Object.fromEntries(Object.keys(credentials).map((k) => [k, '[redacted]'])) : null,
  };
}
