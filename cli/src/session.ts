import {
  createBackupSdk,
  createStorageProvider,
  InProcessJobQueue,
  UnsupportedOperationError,
  type BackupPolicy,
  type BackupPolicyRepository,
  type BackupSdk,
  type EnvironmentResolver,
  type EventSink,
  type RetentionSettings,
  type StorageConfig,
  type StorageConfigSettings,
  type StorageProvider,
  type TaskRepository,
} from 'odoo-backup-sdk';
import { InMemoryStorageConfigRepository, InMemoryTaskRepository } from 'odoo-backup-sdk/testing';
import { StorageCatalogue } from './catalogue/storage-catalogue.js';
import { noEnvironments, type CommandContext } from './commands/context.js';
import { retentionSettings, storageSettings, type ConfigFile } from './settings.js';

/** The id of the one storage config a command works with; records rebuilt from storage carry it. */
export const CLI_STORAGE_CONFIG_ID = 'odoo-backup-cli';

/**
 * The policy of every environment: the retention settings of the command (flags, config file or
 * the defaults), no schedule. The CLI has no policy table; `schedule` only prints cron times.
 */
class FixedPolicyRepository implements BackupPolicyRepository {
  constructor(private readonly retention: RetentionSettings) {}
  private policyOf(environmentId: string): BackupPolicy {
    const at = new Date(0).toISOString();
    return {
      id: `policy-${environmentId}`,
      environment_id: environmentId,
      is_enabled: false,
      schedule_cron: '0 2 * * *',
      ...this.retention,
      storage_config_id: CLI_STORAGE_CONFIG_ID,
      notify_on_success: false,
      notify_on_failure: false,
      last_backup_at: null,
      last_backup_status: null,
      next_backup_at: null,
      created_at: at,
      updated_at: at,
    };
  }
  async getByEnvironment(environmentId: string): Promise<BackupPolicy | null> {
    return this.policyOf(environmentId);
  }
  async get(id: string): Promise<BackupPolicy | null> {
    return id.startsWith('policy-') ? this.policyOf(id.slice('policy-'.length)) : null;
  }
  create(): Promise<BackupPolicy> {
    return Promise.reject(
      new UnsupportedOperationError('storing policies', 'The odoo-backup CLI', 'give retention flags or "retention" in --config'),
    );
  }
  async update(id: string): Promise<BackupPolicy> {
    // The services record last_backup_at on the policy; the CLI keeps nothing between runs.
    return (await this.get(id)) ?? this.policyOf(id);
  }
  async delete(): Promise<void> {}
  async listDue(): Promise<BackupPolicy[]> {
    return [];
  }
  async listEnabled(): Promise<BackupPolicy[]> {
    return [];
  }
  async nextDueAt(): Promise<string | null> {
    return null;
  }
}

/** What a command opens: the SDK over the storage catalogue, and how to close it all. */
export interface Session {
  sdk: BackupSdk;
  catalogue: StorageCatalogue;
  storage: StorageConfig;
  /** Waits for running jobs, rewrites the index when state files changed, releases connections. */
  close(): Promise<void>;
}

/** Options of {@link openSession}. */
export interface SessionOptions {
  storage: StorageConfigSettings;
  organizationId: string;
  retention: RetentionSettings;
  environments: EnvironmentResolver;
  events: EventSink;
  warn: (message: string) => void;
  /** Tasks (restore keeps them in its state folder); default in memory. */
  tasks?: TaskRepository;
}

/** The storage config record of the command's storage (secrets stay inside it, never printed). */
export function storageConfigOf(storage: StorageConfigSettings, organizationId: string): StorageConfig {
  const at = new Date().toISOString();
  return {
    id: CLI_STORAGE_CONFIG_ID,
    organization_id: organizationId,
    name: 'odoo-backup CLI storage',
    provider: storage.provider,
    is_default: true,
    settings: storage.settings as Record<string, unknown>,
    credentials: (storage.credentials as Record<string, string> | null | undefined) ?? null,
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: at,
    updated_at: at,
  };
}

/** A provider for the command's storage alone (`storage test`), without reading the catalogue. */
export function openProvider(storage: StorageConfigSettings, organizationId: string): StorageProvider {
  return createStorageProvider(storageConfigOf(storage, organizationId));
}

/**
 * Reads the catalogue from storage (reconciling it with the index) and builds the SDK over it:
 * backups in the catalogue, tasks and storage configs in memory, the fixed retention policy, an
 * in-process job queue with one try per job (an operator reruns a command; a 5-minute retry wait
 * would only look like a hang).
 */
export async function openSession(options: SessionOptions): Promise<Session> {
  const storage = storageConfigOf(options.storage, options.organizationId);
  const provider = createStorageProvider(storage);
  let catalogue: StorageCatalogue;
  try {
    catalogue = await StorageCatalogue.open(provider, { storageConfigId: storage.id, onWarning: options.warn });
  } catch (error) {
    await provider.close().catch(() => undefined);
    throw error;
  }
  const found = catalogue.reconciliation;
  for (const skipped of found.skipped) options.warn(`skipped ${skipped.key}: ${skipped.code} ${skipped.message}`);
  if (found.index === 'corrupt' || (found.index === 'missing' && found.records.length > 0))
    options.warn(`the index (odoo-backup-index.json) was ${found.index}: rebuilt from ${found.records.length} backup(s) in storage`);
  const storageConfigs = new InMemoryStorageConfigRepository();
  await storageConfigs.create(storage);
  const queue = new InProcessJobQueue();
  const sdk = createBackupSdk(
    {
      backups: catalogue,
      tasks: options.tasks ?? new InMemoryTaskRepository(),
      storageConfigs,
      policies: new FixedPolicyRepository(options.retention),
      environments: options.environments,
      queue,
      events: options.events,
    },
    { backup: { retry: { attempts: 1, backoffMs: [] } } },
  );
  return {
    sdk,
    catalogue,
    storage,
    async close() {
      await queue.close();
      try {
        await catalogue.flush();
      } finally {
        await provider.close().catch(() => undefined);
      }
    },
  };
}

/**
 * {@link openSession} for a command: the storage from `--storage-root` or the config file,
 * warnings on stderr, and for what the command does not give, organisation `default`, the
 * retention settings of the config file, no environment, no events.
 */
export function openCommandSession(
  storageRoot: string | undefined,
  config: ConfigFile,
  ctx: CommandContext,
  options: Partial<Omit<SessionOptions, 'storage' | 'warn'>> = {},
): Promise<Session> {
  return openSession({
    storage: storageSettings(storageRoot, config, ctx.env),
    organizationId: options.organizationId ?? 'default',
    retention: options.retention ?? retentionSettings({}, config),
    environments: options.environments ?? noEnvironments,
    events: options.events ?? { emit: () => undefined },
    warn: (line) => ctx.out.warn(line),
    ...(options.tasks ? { tasks: options.tasks } : {}),
  });
}
