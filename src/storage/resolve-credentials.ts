import type { SecretRef, StorageConfig, StorageCredential } from '../domain/entities.js';
import { BackupSdkError } from '../errors/backup-sdk-error.js';
import type { SecretResolver } from '../ports/secret-resolver.js';
import type { StorageProvider, StorageProviderFactory } from '../ports/storage-provider.js';
import { RESOLVED_CREDENTIALS_SCHEMAS } from './storage-settings-schemas.js';

/** True when a credential is a `{ ref }` to the host's secret store rather than the value. */
export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && typeof (value as { ref?: unknown }).ref === 'string';
}

/** Whether any credential of `config` is a reference. */
export function hasSecretRefs(config: Pick<StorageConfig, 'credentials'>): boolean {
  return Object.values(config.credentials ?? {}).some(isSecretRef);
}

function secretRefError(config: StorageConfig, field: string, reason: string, transient = false): BackupSdkError {
  // The message names the config and the field, never the reference's answer; the resolver's
  // error is not kept as the cause either (hosts log causes, and it may quote what it read).
  return new BackupSdkError('E_SECRET_REF', `Storage config ${config.id}: credentials.${field} ${reason}`, {
    details: { storage_config_id: config.id, field },
    transient,
  });
}

/**
 * A copy of `config` whose `{ ref }` credentials are replaced by what `secrets` answers, checked
 * against the provider's credentials schema. The copy lives only as long as the provider built
 * from it: never pass it to a repository, a log line or an event. A config without references is
 * returned as is.
 *
 * @throws BackupSdkError `E_SECRET_REF` when a reference cannot be resolved (no resolver, the
 *   resolver threw (transient), or its answer is not a valid value for the field); the
 *   resolver's own message is not repeated, since it may quote what it read.
 */
export async function resolveStorageCredentials(config: StorageConfig, secrets: SecretResolver | undefined): Promise<StorageConfig> {
  if (!config.credentials || !hasSecretRefs(config)) return config;
  const resolved: Record<string, string> = {};
  for (const [field, value] of Object.entries(config.credentials) as [string, StorageCredential][]) {
    if (!isSecretRef(value)) {
      resolved[field] = value;
      continue;
    }
    if (!secrets) throw secretRefError(config, field, 'is a { ref } but no SecretResolver was given (BackupSdkPorts.secrets)');
    let answer: unknown;
    try {
      answer = await secrets.resolve(value.ref, { organization_id: config.organization_id, storage_config_id: config.id, field });
    } catch {
      throw secretRefError(config, field, `could not be resolved: the SecretResolver threw for ref ${JSON.stringify(value.ref)}`, true);
    }
    if (typeof answer !== 'string')
      throw secretRefError(config, field, `resolved to ${answer === null ? 'null' : typeof answer}, not a string`);
    resolved[field] = answer;
  }
  const schema = RESOLVED_CREDENTIALS_SCHEMAS[config.provider];
  const checked = schema?.safeParse(resolved);
  if (checked && !checked.success) {
    // Zod's messages here say what is wrong ("must not be empty"), never the value.
    const issue = checked.error.issues[0]!;
    throw secretRefError(config, issue.path.map(String).join('.') || 'credentials', `resolved to an invalid value: ${issue.message}`);
  }
  return { ...config, credentials: resolved };
}

/**
 * Builds `config`'s provider with `factory`, its `{ ref }` credentials resolved just before (see
 * {@link resolveStorageCredentials}). Every place that talks to storage builds its provider here.
 */
export async function buildStorageProvider(
  factory: StorageProviderFactory,
  secrets: SecretResolver | undefined,
  config: StorageConfig,
): Promise<StorageProvider> {
  return factory(await resolveStorageCredentials(config, secrets));
}
