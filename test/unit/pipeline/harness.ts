import { randomUUID } from 'node:crypto';
import type { Backup, BackupRunnerDeps, Clock, ResolvedEnvironment, StorageConfig, StorageProvider } from '../../../src/index.js';
import { BackupRunner, MemoryStorageProvider } from '../../../src/index.js';
import {
  FakeBackupSource,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  MemoryEventSink,
  StaticEnvironmentResolver,
  fakeBackupSourceFactory,
  makeResolvedEnvironment,
  type FakeBackupSourceOptions,
} from '../../../src/testing/index.js';

/** A clock whose every reading is `stepMs` later than the one before (drives progress throttling). */
export class SteppingClock implements Clock {
  private t: number;
  constructor(
    start = '2026-03-10T02:00:00.000Z',
    private readonly stepMs = 100,
  ) {
    this.t = Date.parse(start);
  }
  now(): Date {
    const d = new Date(this.t);
    this.t += this.stepMs;
    return d;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
  }
}

export function makeBackup(env: ResolvedEnvironment, storageConfigId: string | null, overrides: Partial<Backup> = {}): Backup {
  const now = '2026-03-10T02:00:00.000Z';
  return {
    id: randomUUID(),
    environment_id: env.environment_id,
    organization_id: env.organization_id,
    project_id: env.project_id,
    storage_config_id: storageConfigId,
    task_id: null,
    status: 'pending',
    backup_type: 'manual',
    include_filestore: true,
    database_key: null,
    filestore_key: null,
    manifest_key: null,
    database_size: 0,
    filestore_size: 0,
    total_size: 0,
    compressed_size: 0,
    started_at: null,
    completed_at: null,
    duration_seconds: null,
    retention_type: null,
    expires_at: null,
    is_verified: false,
    verified_at: null,
    verification_error: null,
    database_checksum: null,
    filestore_checksum: null,
    error_message: null,
    error_details: null,
    environment_snapshot: null,
    created_at: now,
    updated_at: now,
    created_by: null,
    write_by: null,
    ...overrides,
  };
}

export function makeStorageConfig(organizationId: string, overrides: Partial<StorageConfig> = {}): StorageConfig {
  const now = '2026-01-01T00:00:00.000Z';
  return {
    id: randomUUID(),
    organization_id: organizationId,
    name: 'memory',
    provider: 'memory',
    is_default: true,
    settings: {},
    credentials: null,
    storage_class: null,
    total_size_bytes: 0,
    object_count: 0,
    last_used_at: null,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

export interface Harness {
  env: ResolvedEnvironment;
  backups: InMemoryBackupRepository;
  storageConfigs: InMemoryStorageConfigRepository;
  policies: InMemoryBackupPolicyRepository;
  environments: StaticEnvironmentResolver;
  storage: MemoryStorageProvider;
  storageConfig: StorageConfig;
  source: FakeBackupSource;
  events: MemoryEventSink;
  runner: BackupRunner;
  /** Creates a pending backup record. */
  pending(overrides?: Partial<Backup>): Promise<Backup>;
}

export async function harness(
  options: { source?: FakeBackupSourceOptions; clock?: Clock; deps?: Partial<BackupRunnerDeps>; storage?: StorageProvider } = {},
): Promise<Harness> {
  const env = makeResolvedEnvironment();
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const policies = new InMemoryBackupPolicyRepository();
  const environments = new StaticEnvironmentResolver([env]);
  const storage = new MemoryStorageProvider();
  const storageConfig = await storageConfigs.create(makeStorageConfig(env.organization_id));
  const source = new FakeBackupSource(options.source);
  const events = new MemoryEventSink();
  const runner = new BackupRunner({
    backups,
    storageConfigs,
    environments,
    policies,
    storageProviders: () => options.storage ?? storage,
    sources: fakeBackupSourceFactory(source),
    events,
    dumpLister: async (dump) => {
      // The fake dump is not a real pg_dump archive: count bytes instead of listing a TOC.
      let n = 0;
      for await (const chunk of dump) n += (chunk as Buffer).length;
      return { entries: n > 0 ? 1 : 0, table_data: 0 };
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.deps,
  });
  return {
    env,
    backups,
    storageConfigs,
    policies,
    environments,
    storage,
    storageConfig,
    source,
    events,
    runner,
    pending: (overrides = {}) => backups.create(makeBackup(env, storageConfig.id, overrides)),
  };
}
