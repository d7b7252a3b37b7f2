import type { StorageConfig } from '../domain/entities.js';
import { STORAGE_PROVIDER_TYPES, type StorageProviderType } from '../domain/enums.js';
import { UnsupportedOperationError, ValidationError } from '../errors/errors.js';
import type { StorageProvider } from '../ports/storage-provider.js';
import { LocalStorageProvider } from './local/local-provider.js';
import { MemoryStorageProvider } from './memory/memory-provider.js';
import { own } from './own-property.js';
import { S3StorageProvider } from './s3/s3-provider.js';
import { FtpStorageProvider } from './ftp/ftp-provider.js';
import { SftpStorageProvider } from './sftp/sftp-provider.js';

/** Builds one provider kind from a config. */
export type ProviderBuilder = (config: StorageConfig) => StorageProvider;

function stringSetting(config: StorageConfig, name: string, required: true): string;
function stringSetting(config: StorageConfig, name: string, required?: false): string | undefined;
function stringSetting(config: StorageConfig, name: string, required = false): string | undefined {
  const value = own(config.settings, name);
  if (value === undefined || value === null || value === '') {
    if (required) throw new ValidationError([{ field: `settings.${name}`, message: `is required for provider '${config.provider}'` }]);
    return undefined;
  }
  if (typeof value !== 'string') throw new ValidationError([{ field: `settings.${name}`, message: 'must be a string' }]);
  return value;
}

/**
 * One line per provider kind: adding a provider is a new file plus a line here.
 * Kinds without a builder yet throw `UnsupportedOperationError` from {@link createStorageProvider}.
 */
export const PROVIDER_BUILDERS: Partial<Record<StorageProviderType, ProviderBuilder>> = {
  memory: (c) => new MemoryStorageProvider({ namespace: stringSetting(c, 'namespace') ?? c.id }),
  local: (c) => new LocalStorageProvider({ root: stringSetting(c, 'root', true) }),
  s3: (c) => S3StorageProvider.fromConfig(c),
  r2: (c) => S3StorageProvider.fromConfig(c),
  b2: (c) => S3StorageProvider.fromConfig(c),
  minio: (c) => S3StorageProvider.fromConfig(c),
  ftp: (c) => FtpStorageProvider.fromConfig(c),
  sftp: (c) => SftpStorageProvider.fromConfig(c),
};

/**
 * Maps a {@link StorageConfig} to its adapter (conforms to `StorageProviderFactory`).
 * Settings are validated here, before any connection is made.
 */
export function createStorageProvider(config: StorageConfig): StorageProvider {
  const kind: unknown = config?.provider;
  // An own-property lookup: a plain object would also answer 'constructor', '__proto__' or 'toString'.
  if (typeof kind !== 'string' || !(STORAGE_PROVIDER_TYPES as readonly string[]).includes(kind))
    throw new ValidationError([
      {
        field: 'provider',
        message: `must be one of ${STORAGE_PROVIDER_TYPES.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(kind)}`,
      },
    ]);
  const build = Object.hasOwn(PROVIDER_BUILDERS, kind) ? PROVIDER_BUILDERS[kind as StorageProviderType] : undefined;
  if (!build) throw new UnsupportedOperationError(`provider '${kind}'`, 'This build of odoo-backup-sdk');
  return build(config);
}
