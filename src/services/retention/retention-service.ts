import type { Backup, StorageConfig } from '../../domain/entities.js';
import { DEFAULT_RETENTION, type RetentionSettings } from '../../domain/retention-classification.js';
import { planRetention, type RetentionPlan } from '../../domain/retention-plan.js';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import { ConflictError, NotFoundError, QuotaExceededError } from '../../errors/errors.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import { nullEventSink, type EventSink, type SdkEvent } from '../../ports/events.js';
import type { QuotaLookup, QuotaStatus } from '../../ports/quota.js';
import type { BackupPolicyRepository, BackupRepository, StorageConfigRepository, Where } from '../../ports/repositories.js';
import type { StorageProvider, StorageProviderFactory } from '../../ports/storage-provider.js';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import { createStorageProvider } from '../../storage/registry.js';
import { buildStorageProvider } from '../../storage/resolve-credentials.js';
import { getQuotaStatus, QUOTA_COUNTED_STATUSES } from './quota.js';
import { Permission } from '../../domain/permissions.js';
import type { Actor, Authorizer } from '../../ports/authorizer.js';
import { authorizeCall } from '../shared/authorize-call.js';
import type { ErrorCode } from '../../errors/error-codes.js';

/** What a {@link RetentionService} is built from: the host's ports. */
export interface RetentionServiceOptions {
  backups: BackupRepository;
  storageConfigs: StorageConfigRepository;
  /** Each environment's retention settings; environments without a policy use the default settings (see docs/decisions.md#retention-classification). */
  policies?: BackupPolicyRepository;
  /** Builds storage providers (default: `createStorageProvider`). Providers it returns are closed after each cleanup. */
  storageProviders?: StorageProviderFactory;
  /** Resolves `{ ref }` storage credentials just before a provider is built. */
  secrets?: SecretResolver;
  /** The host's plan limits, for {@link RetentionService.usage}; without one, quotas are unlimited. */
  quota?: QuotaLookup;
  /** The host's permission hook, asked by {@link RetentionService.usage} (`project.backups.list` on the organisation). */
  authorize?: Authorizer;
  clock?: Clock;
  events?: EventSink;
}

/** One thing cleanup could not do. The record it concerns is left as it was, so the next run retries. */
export interface RetentionCleanupError {
  step: 'plan' | 'expire' | 'delete_storage' | 'promote';
  environment_id: string | null;
  backup_id: string | null;
  /** The error's stable code (`E_STORAGE_UNAVAILABLE`, `E_NOT_FOUND`...), `E_UNEXPECTED` for a non-SDK error. */
  code: ErrorCode;
  message: string;
  /** True when the next run may well succeed. */
  transient: boolean;
}

/** Options of {@link RetentionService.runCleanup}. */
export interface RetentionCleanupOptions {
  /**
   * Clean up this one environment only (its expiries, deletions and promotions); default: every
   * environment with a completed backup, as the product's daily job does.
   */
  environment_id?: string;
}

/** The product's cleanup summary: counts of this run's own changes (a change another instance made first is not counted). */
export interface RetentionCleanupResult {
  expired: number;
  deleted_storage: number;
  promoted: number;
  errors: RetentionCleanupError[];
}

function asCleanupError(
  step: RetentionCleanupError['step'],
  error: unknown,
  environmentId: string | null,
  backupId: string | null,
): RetentionCleanupError {
  if (error instanceof BackupSdkError)
    return {
      step,
      environment_id: environmentId,
      backup_id: backupId,
      code: error.code,
      message: error.message,
      transient: error.transient,
    };
  return {
    step,
    environment_id: environmentId,
    backup_id: backupId,
    code: 'E_UNEXPECTED',
    message: error instanceof Error ? error.message : String(error),
    transient: false,
  };
}

const KEY_FIELDS = ['database_key', 'filestore_key', 'manifest_key'] as const;

/**
 * GFS retention through the ports: the product's daily cleanup job and the quota query.
 *
 * Safe to run from several processes at once: every write is a compare-and-set on what was
 * read, so a change another instance (or a user) made first wins, nothing is overwritten, and
 * each storage config's usage counters drop exactly once per deleted object.
 */
export class RetentionService {
  private readonly clock: Clock;
  private readonly events: EventSink;
  private readonly storageProviders: StorageProviderFactory;

  constructor(private readonly options: RetentionServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? nullEventSink;
    this.storageProviders = options.storageProviders ?? createStorageProvider;
  }

  /**
   * An organisation's backup storage use against its quota (the product's `GET
   * /organizations/{id}/usage`). Asks the authorize hook for `project.backups.list` with the
   * organisation's id (`actor` null is the SDK itself, as everywhere).
   *
   * @throws PermissionDeniedError the authorize hook said no
   */
  async usage(organizationId: string, actor: Actor | null = null): Promise<QuotaStatus> {
    await authorizeCall(this.options.authorize, { actor, permission: Permission.BACKUPS_LIST, organization_id: organizationId });
    const status = await this.quotaStatus(organizationId);
    // The quota counts the primary objects; the copies are reported beside them.
    const copyBytes = await this.options.backups.sumCompressedSize({
      organization_id: organizationId,
      status: QUOTA_COUNTED_STATUSES,
      copy_status: 'completed',
    });
    return { ...status, copy_bytes: copyBytes };
  }

  private quotaStatus(organizationId: string): Promise<QuotaStatus> {
    return getQuotaStatus({ backups: this.options.backups, ...(this.options.quota ? { quota: this.options.quota } : {}) }, organizationId);
  }

  /**
   * The check before a manual backup (see docs/decisions.md#rate-limit-and-quota): resolves with the usage when the
   * organisation is within its quota, throws `QuotaExceededError` (`E_QUOTA_EXCEEDED`) when not.
   */
  async assertWithinQuota(organizationId: string): Promise<QuotaStatus> {
    const status = await this.quotaStatus(organizationId);
    if (status.exceeded && status.limit_bytes !== null) throw new QuotaExceededError(organizationId, status.used_bytes, status.limit_bytes);
    return status;
  }

  /** The retention settings that apply to an environment: its policy's, else the default settings. */
  async settingsFor(environmentId: string): Promise<RetentionSettings> {
    const policy = await this.options.policies?.getByEnvironment(environmentId);
    return policy ?? DEFAULT_RETENTION;
  }

  /** What cleanup would do to one environment at `now` (a dry run: nothing is changed). */
  async planEnvironment(environmentId: string, now: Date = this.clock.now()): Promise<RetentionPlan> {
    const [settings, backups] = await Promise.all([
      this.settingsFor(environmentId),
      this.options.backups.find({ environment_id: environmentId, status: 'completed' }),
    ]);
    return planRetention(backups, settings, now);
  }

  /**
   * The product's daily retention job, for every environment: (1) mark backups whose `expires_at`
   * is before `now` as `expired` (never the newest completed one, never a permanent one);
   * (2) delete the storage objects of `expired` and `deleted` backups, lower their storage
   * config's usage counters and clear their keys (a missing object counts as deleted; a
   * provider error leaves the record as it was and is reported, so the next run retries);
   * (3) apply promotions (see docs/decisions.md#promotion). Emits `retention.*` events and returns the summary.
   * With `options.environment_id`, only that environment's backups are touched.
   */
  async runCleanup(now: Date = this.clock.now(), options: RetentionCleanupOptions = {}): Promise<RetentionCleanupResult> {
    const result: RetentionCleanupResult = { expired: 0, deleted_storage: 0, promoted: 0, errors: [] };
    const at = now.toISOString();
    this.emit('retention.cleanup_started', { now: at });

    // Step 1: plan every environment, mark what expired.
    const plans: { plan: RetentionPlan; records: Map<string, Backup> }[] = [];
    let environmentIds: string[] = [];
    try {
      environmentIds =
        options.environment_id !== undefined
          ? [options.environment_id]
          : await this.options.backups.listEnvironmentIds({ status: 'completed' });
    } catch (error) {
      this.fail(result, asCleanupError('plan', error, null, null));
    }
    for (const environmentId of environmentIds) {
      try {
        const [settings, backups] = await Promise.all([
          this.settingsFor(environmentId),
          this.options.backups.find({ environment_id: environmentId, status: 'completed' }),
        ]);
        const plan = planRetention(backups, settings, now);
        const records = new Map(backups.map((b) => [b.id, b]));
        plans.push({ plan, records });
        for (const e of plan.expire) {
          const b = records.get(e.backup_id)!;
          if (await this.expire(b, e.reason, result)) result.expired++;
        }
      } catch (error) {
        this.fail(result, asCleanupError('plan', error, environmentId, null));
      }
    }

    // Step 2: delete the objects of expired and deleted backups.
    await this.deleteStorage(result, options.environment_id);

    // Step 3: promotions.
    for (const { plan, records } of plans) {
      for (const p of plan.promote) {
        const b = records.get(p.backup_id)!;
        try {
          await this.options.backups.update(
            b.id,
            { retention_type: p.to, expires_at: p.expires_at },
            { status: 'completed', retention_type: b.retention_type, expires_at: b.expires_at },
          );
          result.promoted++;
          this.emit('retention.promoted', {
            backup_id: b.id,
            environment_id: b.environment_id,
            from: p.from,
            to: p.to,
            previous_expires_at: p.previous_expires_at,
            expires_at: p.expires_at,
            reason: p.reason,
          });
        } catch (error) {
          // Changed since it was read (another instance promoted it, or it was deleted): theirs wins.
          if (error instanceof ConflictError || error instanceof NotFoundError) continue;
          this.fail(result, asCleanupError('promote', error, b.environment_id, b.id));
        }
      }
    }

    this.emit('retention.cleanup_completed', {
      now: at,
      expired: result.expired,
      deleted_storage: result.deleted_storage,
      promoted: result.promoted,
      errors: result.errors.length,
    });
    return result;
  }

  private async expire(b: Backup, reason: string, result: RetentionCleanupResult): Promise<boolean> {
    try {
      await this.options.backups.update(
        b.id,
        { status: 'expired' },
        { status: 'completed', retention_type: b.retention_type, expires_at: b.expires_at },
      );
    } catch (error) {
      // Changed since it was read (expired by another instance, deleted, re-tiered): theirs wins.
      if (error instanceof ConflictError || error instanceof NotFoundError) return false;
      this.fail(result, asCleanupError('expire', error, b.environment_id, b.id));
      return false;
    }
    this.send({
      type: 'backup.status',
      data: {
        backup_id: b.id,
        environment_id: b.environment_id,
        organization_id: b.organization_id,
        project_id: b.project_id,
        status: 'expired',
        previous_status: 'completed',
        message: reason,
        timestamp: this.clock.now().toISOString(),
      },
    });
    this.emit('retention.expired', {
      backup_id: b.id,
      environment_id: b.environment_id,
      retention_type: b.retention_type,
      expires_at: b.expires_at,
      reason,
    });
    return true;
  }

  private async deleteStorage(result: RetentionCleanupResult, environmentId: string | undefined): Promise<void> {
    let candidates: Backup[];
    try {
      const filter = environmentId !== undefined ? { environment_id: environmentId } : {};
      candidates = (await this.options.backups.find({ ...filter, status: ['expired', 'deleted'] })).filter(
        (b) => KEY_FIELDS.some((k) => b[k] !== null) || Boolean(b.copy_key),
      );
    } catch (error) {
      this.fail(result, asCleanupError('delete_storage', error, null, null));
      return;
    }
    const configs = new Map<string, Promise<StorageConfig | null>>();
    const providers = new Map<string, Promise<StorageProvider>>();
    const providerOf = async (configId: string | null | undefined, b: Backup): Promise<StorageProvider> => {
      if (!configId)
        throw new NotFoundError('storage_config', '(none)', {
          details: { reason: `backup ${b.id} has storage keys but no storage_config_id` },
        });
      if (!configs.has(configId)) configs.set(configId, this.options.storageConfigs.get(configId));
      const config = await configs.get(configId)!;
      if (!config) throw new NotFoundError('storage_config', configId);
      if (!providers.has(configId)) providers.set(configId, buildStorageProvider(this.storageProviders, this.options.secrets, config));
      return providers.get(configId)!;
    };
    try {
      for (const b of candidates) {
        // The primary object and the second copy go by separate compare-and-sets: each config's
        // counters drop once, whichever cleanup (or purge) clears its key first.
        if (KEY_FIELDS.some((k) => b[k] !== null)) {
          await this.deleteObjects(
            result,
            b,
            b.storage_config_id,
            KEY_FIELDS.map((k) => b[k]).filter((k): k is string => k !== null),
            {
              provider: providerOf,
              clear: { database_key: null, filestore_key: null, manifest_key: null },
              where: { database_key: b.database_key, filestore_key: b.filestore_key, manifest_key: b.manifest_key },
              // Only a completed backup's object was counted (the pipeline adds 1 object and its ZIP bytes).
              counted: b.completed_at !== null,
            },
          );
        }
        if (b.copy_key) {
          await this.deleteObjects(result, b, b.copy_storage_config_id, [b.copy_key], {
            provider: providerOf,
            clear: { copy_key: null },
            where: { copy_key: b.copy_key },
            counted: true,
            copy: true,
          });
        }
      }
    } finally {
      for (const p of providers.values()) await p.then((provider) => provider.close()).catch(() => undefined);
    }
  }

  /** Deletes `keys` of `b` from one config, then clears them on the record by compare-and-set and lowers that config's usage. */
  private async deleteObjects(
    result: RetentionCleanupResult,
    b: Backup,
    configId: string | null | undefined,
    keys: string[],
    how: {
      provider: (configId: string | null | undefined, b: Backup) => Promise<StorageProvider>;
      clear: Partial<Backup>;
      where: Where<Backup>;
      counted: boolean;
      copy?: boolean;
    },
  ): Promise<void> {
    try {
      const provider = await how.provider(configId, b);
      for (const key of keys) {
        try {
          await provider.delete(key);
        } catch (error) {
          // Already gone counts as deleted.
          if (!(
            error instanceof BackupSdkError &&
            error.code === 'E_STORAGE_NOT_FOUND' &&
            (await provider.head(key).then(
              (h) => !h.exists,
              () => false,
            ))
          ))
            throw error;
        }
      }
      // Whoever clears the keys first (another cleanup, a purge) lowers the counters; the others stop here.
      try {
        await this.options.backups.update(b.id, how.clear, how.where);
      } catch (error) {
        if (error instanceof ConflictError || error instanceof NotFoundError) return;
        throw error;
      }
      if (!how.copy) result.deleted_storage++;
      if (how.counted) {
        try {
          await this.options.storageConfigs.adjustUsage(configId!, { bytes: -b.compressed_size, objects: -1 });
        } catch (error) {
          this.fail(result, asCleanupError('delete_storage', error, b.environment_id, b.id));
        }
      }
      this.emit('retention.storage_deleted', {
        backup_id: b.id,
        environment_id: b.environment_id,
        status: b.status,
        storage_config_id: configId,
        keys,
        bytes: how.counted ? b.compressed_size : 0,
        ...(how.copy ? { copy: true } : {}),
      });
    } catch (error) {
      this.fail(result, asCleanupError('delete_storage', error, b.environment_id, b.id));
    }
  }

  private fail(result: RetentionCleanupResult, error: RetentionCleanupError): void {
    result.errors.push(error);
    this.emit('retention.error', { ...error });
  }

  private emit(type: `retention.${string}`, data: Record<string, unknown>): void {
    this.send({ type, data: { ...data, timestamp: this.clock.now().toISOString() } });
  }

  private send(event: SdkEvent): void {
    try {
      this.events.emit(event);
    } catch {
      // A sink must not throw; if one does, cleanup goes on.
    }
  }
}
