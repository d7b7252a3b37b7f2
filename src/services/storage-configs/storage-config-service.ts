import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { StorageConfig, StorageCredential } from '../../domain/entities.js';
import { STORAGE_PROVIDER_TYPES, type BackupStatus } from '../../domain/enums.js';
import { Permission } from '../../domain/permissions.js';
import { parseInput, toValidationIssues } from '../../domain/validation.js';
import { ConflictError, NotFoundError, ValidationError, type ValidationIssue } from '../../errors/errors.js';
import type { Actor, Authorizer } from '../../ports/authorizer.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository } from '../../ports/repositories.js';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import type { ConnectionTestResult, StorageProviderFactory } from '../../ports/storage-provider.js';
import { redactStorageConfig } from '../../storage/redact.js';
import { createStorageProvider } from '../../storage/registry.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { STORAGE_SETTINGS_SCHEMAS, StorageConfigSettingsSchema } from '../../storage/storage-settings-schemas.js';
import { authorizeCall } from '../shared/authorize-call.js';

/** What a {@link StorageConfigService} is built from. */
export interface StorageConfigServiceOptions {
  storageConfigs: StorageConfigRepository;
  /** When given, `delete` refuses a config that an enabled policy names. */
  policies?: BackupPolicyRepository;
  /** When given, `delete` refuses a config that still holds backups (any status but failed or deleted). */
  backups?: BackupRepository;
  /** Builds the provider `test` probes (default: the built-in registry, `createStorageProvider`). */
  storageProviders?: StorageProviderFactory;
  /** Resolves `{ ref }` credentials for `test` (see docs/storage-providers.md#secrets-by-reference). */
  secrets?: SecretResolver;
  /** The host's permission hook: `org.storage.manage` for every call. */
  authorize?: Authorizer;
  clock?: Clock;
  /** New record ids (default: random UUIDs). */
  ids?: () => string;
}

const name = z.string().trim().min(1, { message: 'must not be empty' }).max(255);
const storageClass = z.string().trim().min(1).nullable();

// Provider-specific settings and credentials are checked by StorageConfigSettingsSchema; these
// are the bookkeeping-free fields a caller may send.
const CreateSchema = z.strictObject({
  name,
  provider: z.enum(STORAGE_PROVIDER_TYPES as [string, ...string[]]),
  settings: z.unknown(),
  credentials: z.unknown().optional(),
  is_default: z.boolean().default(false),
  storage_class: storageClass.default(null),
  require_encryption: z.boolean().default(false),
});

const UpdateSchema = z.strictObject({
  name: name.optional(),
  provider: z.enum(STORAGE_PROVIDER_TYPES as [string, ...string[]]).optional(),
  settings: z.unknown().optional(),
  credentials: z.unknown().optional(),
  is_default: z.boolean().optional(),
  storage_class: storageClass.optional(),
  require_encryption: z.boolean().optional(),
});

// What a caller may send to create or change a config: the HTTP layer documents its bodies with them.
export { CreateSchema as StorageConfigCreateSchema, UpdateSchema as StorageConfigUpdateSchema };

/** A backup in these states has no object in storage, so it does not keep its config alive. */
const GONE: readonly BackupStatus[] = ['failed', 'deleted'];

/** A storage config as returned by {@link StorageConfigService}: every credential value is `[redacted]`. */
export type RedactedStorageConfig = ReturnType<typeof redactStorageConfig>;

/**
 * An organisation's storage configs: create, update, get, list, delete and test. Settings and
 * credentials are checked against the provider's strict schema before anything is stored, so a
 * saved config cannot fail at backup time on a misspelt key or an out-of-range number. What it
 * returns has its credentials redacted: secrets go in, never come back out. Every call asks the
 * authorize hook for `org.storage.manage` on the config's organisation.
 */
export class StorageConfigService {
  /**
   * `provider` + `settings` + `credentials`, one strict shape per provider (a zod discriminated
   * union on `provider`): validate a host's form with it; every save here is checked by it.
   */
  static readonly settingsSchema = StorageConfigSettingsSchema;
  /** The strict `settings` schema of each provider, keyed by provider. */
  static readonly providerSettingsSchemas = STORAGE_SETTINGS_SCHEMAS;

  private readonly repo: StorageConfigRepository;
  private readonly clock: Clock;
  private readonly ids: () => string;
  private readonly providers: StorageProviderFactory;

  constructor(private readonly options: StorageConfigServiceOptions) {
    this.repo = options.storageConfigs;
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? randomUUID;
    this.providers = options.storageProviders ?? createStorageProvider;
  }

  /**
   * Saves a new config of `organizationId` from `{ name, provider, settings, credentials?,
   * is_default?, storage_class? }`. A new default config takes the flag from the previous one.
   *
   * @throws ValidationError naming each bad field (nothing stored), PermissionDeniedError.
   */
  async create(organizationId: string, input: unknown, actor: Actor | null = null): Promise<RedactedStorageConfig> {
    assertId(organizationId, 'organization_id');
    const draft = this.draft(organizationId, input);
    await this.authorizeFor(organizationId, actor);
    const created = await this.repo.create(draft);
    if (created.is_default) await this.clearOtherDefaults(created);
    return redactStorageConfig(created);
  }

  /**
   * Changes `name`, `is_default`, `storage_class`, `settings` or `credentials` (or `provider`
   * with matching settings). `settings` and `credentials`, when given, replace the stored ones
   * whole; the result is validated as a whole before it is stored. Usage counters are kept.
   *
   * @throws NotFoundError, ValidationError (nothing changed), PermissionDeniedError, ConflictError on a concurrent change.
   */
  async update(id: string, input: unknown, actor: Actor | null = null): Promise<RedactedStorageConfig> {
    const current = await this.load(id, actor);
    const patch = parseInput(UpdateSchema, input);
    const merged = {
      provider: patch.provider ?? current.provider,
      settings: patch.settings ?? current.settings,
      credentials: patch.credentials !== undefined ? patch.credentials : current.credentials,
    };
    const checked = checkSettings(merged, []);
    const updated = await this.repo.update(
      id,
      {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.is_default !== undefined ? { is_default: patch.is_default } : {}),
        ...(patch.storage_class !== undefined ? { storage_class: patch.storage_class } : {}),
        ...(patch.require_encryption !== undefined ? { require_encryption: patch.require_encryption } : {}),
        provider: checked.provider,
        settings: checked.settings,
        credentials: checked.credentials,
        updated_at: this.clock.now().toISOString(),
      },
      // Compare-and-set: a concurrent update of the same config is refused, not silently merged.
      { updated_at: current.updated_at },
    );
    if (updated.is_default && !current.is_default) await this.clearOtherDefaults(updated);
    return redactStorageConfig(updated);
  }

  /**
   * One config, credentials redacted.
   *
   * @throws NotFoundError, PermissionDeniedError.
   */
  async get(id: string, actor: Actor | null = null): Promise<RedactedStorageConfig> {
    return redactStorageConfig(await this.load(id, actor));
  }

  /** The organisation's configs, oldest first, credentials redacted. */
  async list(organizationId: string, actor: Actor | null = null): Promise<RedactedStorageConfig[]> {
    assertId(organizationId, 'organization_id');
    await this.authorizeFor(organizationId, actor);
    return (await this.repo.list(organizationId)).map(redactStorageConfig);
  }

  /**
   * Removes a config. Refused with `E_STORAGE_CONFIG_IN_USE` while an enabled policy names it or
   * backups still stored on it exist (when the service was given those repositories).
   *
   * @throws NotFoundError, ConflictError (`E_STORAGE_CONFIG_IN_USE`), PermissionDeniedError.
   */
  async delete(id: string, actor: Actor | null = null): Promise<void> {
    const config = await this.load(id, actor);
    // A policy holds it as its primary or as its secondary storage; a backup, by its object or by its copy.
    const policyIds = this.options.policies
      ? (await this.options.policies.listEnabled())
          .filter((p) => p.storage_config_id === id || p.secondary_storage_config_id === id)
          .map((p) => p.id)
      : [];
    const primaries = this.options.backups
      ? (await this.options.backups.find({ storage_config_id: id })).filter((b) => !GONE.includes(b.status))
      : [];
    const copies = this.options.backups
      ? (await this.options.backups.find({ copy_storage_config_id: id })).filter(
          (b) => b.copy_storage_config_id === id && (Boolean(b.copy_key) || b.copy_status === 'pending' || b.copy_status === 'running'),
        )
      : [];
    const backups = [...new Map([...primaries, ...copies].map((b) => [b.id, b])).values()];
    if (policyIds.length > 0 || backups.length > 0) {
      throw new ConflictError(
        `Storage config ${id} is in use (${policyIds.length} enabled policies, ${backups.length} backups): move them to another config first`,
        {
          details: {
            storage_config_id: id,
            policy_ids: policyIds,
            backup_ids: backups.slice(0, 100).map((b) => b.id),
            backup_count: backups.length,
          },
        },
        'E_STORAGE_CONFIG_IN_USE',
      );
    }
    await this.repo.delete(config.id);
  }

  /**
   * Tests a connection: writes a small probe object, reads it back and deletes it. `target` is a
   * draft (the same input as {@link create}, checked the same way, nothing saved) or the id of a
   * saved config of the organisation. A failed step is a result (`ok: false`), not a throw.
   *
   * @throws ValidationError for a bad draft, NotFoundError for an unknown id, PermissionDeniedError.
   */
  async test(organizationId: string, target: unknown, actor: Actor | null = null): Promise<ConnectionTestResult> {
    assertId(organizationId, 'organization_id');
    let config: StorageConfig;
    if (typeof target === 'string') {
      config = await this.load(target, actor);
      // Another organisation's config is reported missing: its existence is not the caller's business.
      if (config.organization_id !== organizationId) throw new NotFoundError('storage_config', target);
    } else {
      config = this.draft(organizationId, target);
      await this.authorizeFor(organizationId, actor);
    }
    const started = this.clock.now().getTime();
    let provider: ReturnType<StorageProviderFactory> | undefined;
    try {
      provider = await buildStorageProvider(this.providers, this.options.secrets, config);
      return await provider.testConnection();
    } catch (error) {
      // Some providers throw while connecting (refused login, unknown host): report it as the connect step.
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        steps: [{ step: 'connect', ok: false, duration_ms: this.clock.now().getTime() - started, message }],
        message: `Storage connect failed: ${message}`,
      };
    } finally {
      await provider?.close().catch(() => undefined);
    }
  }

  private draft(organizationId: string, input: unknown): StorageConfig {
    const base = CreateSchema.safeParse(input ?? {});
    const issues = base.success ? [] : toValidationIssues(base.error, input ?? {});
    const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
    const checked = checkSettings({ provider: raw.provider, settings: raw.settings, credentials: raw.credentials }, issues);
    if (!base.success) throw new ValidationError(issues);
    const stamp = this.clock.now().toISOString();
    return {
      id: this.ids(),
      organization_id: organizationId,
      name: base.data.name,
      provider: checked.provider,
      is_default: base.data.is_default,
      settings: checked.settings,
      credentials: checked.credentials,
      storage_class: base.data.storage_class,
      require_encryption: base.data.require_encryption,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: stamp,
      updated_at: stamp,
    };
  }

  private async load(id: string, actor: Actor | null): Promise<StorageConfig> {
    assertId(id, 'storage_config_id');
    const config = await this.repo.get(id);
    if (!config) throw new NotFoundError('storage_config', id);
    await this.authorizeFor(config.organization_id, actor);
    return config;
  }

  private authorizeFor(organizationId: string, actor: Actor | null): Promise<void> {
    return authorizeCall(this.options.authorize, { actor, permission: Permission.STORAGE_MANAGE, organization_id: organizationId });
  }

  /** One default per organisation: the newest one set wins; a lost race on another row is left alone. */
  private async clearOtherDefaults(winner: StorageConfig): Promise<void> {
    for (const other of await this.repo.list(winner.organization_id)) {
      if (other.id === winner.id || !other.is_default) continue;
      await this.repo.update(other.id, { is_default: false }, { is_default: true }).catch((error: unknown) => {
        if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
      });
    }
  }
}

/**
 * Checks provider + settings + credentials against the provider's strict schema. Issues found
 * earlier (`prior`) are thrown together with these, so the caller hears of every bad field at once.
 */
function checkSettings(
  input: { provider: unknown; settings: unknown; credentials: unknown },
  prior: ValidationIssue[],
): Pick<StorageConfig, 'provider' | 'settings' | 'credentials'> {
  const issues = [...prior];
  // An unknown provider is already reported by the base schema; its settings cannot be judged.
  if (!(STORAGE_PROVIDER_TYPES as readonly unknown[]).includes(input.provider)) {
    if (!issues.some((i) => i.field === 'provider'))
      issues.push({ field: 'provider', message: `must be one of ${STORAGE_PROVIDER_TYPES.map((p) => JSON.stringify(p)).join(', ')}` });
    throw new ValidationError(issues);
  }
  // A null `credentials` means "none", like an absent one: a provider that needs them says "is required".
  const candidate = { ...input, credentials: input.credentials ?? undefined };
  const parsed = StorageConfigSettingsSchema.safeParse(candidate);
  if (!parsed.success) issues.push(...toValidationIssues(parsed.error, candidate));
  if (issues.length > 0 || !parsed.success) throw new ValidationError(issues);
  const credentials = parsed.data.credentials;
  return {
    provider: parsed.data.provider,
    settings: parsed.data.settings as Record<string, unknown>,
    credentials: credentials && Object.keys(credentials).length > 0 ? (credentials as Record<string, StorageCredential>) : null,
  };
}

function assertId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError([{ field, message: 'must be a non-empty string' }]);
}
