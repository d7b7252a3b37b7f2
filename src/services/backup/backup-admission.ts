import type { StorageConfig } from '../../domain/entities.js';
import { missingSnapshotFields } from '../../domain/environment-snapshot.js';
import { Permission } from '../../domain/permissions.js';
import type { BackupCreate } from '../../domain/validation.js';
import { NotFoundError, QuotaExceededError, RateLimitError, ValidationError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import type { ResolvedEnvironment } from '../../ports/environment-resolver.js';
import type { QuotaStatus } from '../../ports/quota.js';
import type { RateLimitDecision } from '../../ports/rate-limiter.js';
import { authorizeCall } from '../shared/authorize-call.js';
import type { BackupServiceContext } from './backup-service-context.js';
import { getQuotaStatus } from '../retention/quota.js';
import { assertEncryptionAllowed, backupRecipients, encryptionRequired } from '../../pipeline/backup-recipients.js';

/** A backup request that passed admission: where it runs and the organisation's quota state. */
export interface BackupAdmission {
  env: ResolvedEnvironment;
  config: StorageConfig;
  quota: QuotaStatus;
}

/** How a backup request came in, which decides the quota refusal and the rate limit. */
export interface AdmissionOptions {
  /**
   * True for `createPreOperationBackup`: a safety net, never refused over quota, never rate
   * limited. Otherwise a request with an actor is a person's and is admitted as manual.
   */
  preOperation?: boolean;
  /** Called with the rate limiter's decision when the request was counted (admitted or refused). */
  onRateLimit?: (decision: RateLimitDecision) => void;
}

/**
 * The one step that may refuse a backup request before anything is written: the environment
 * exists, the authorize hook allows `project.backups.create`, a storage config is there to use
 * (the requested one of the same organisation, else the default), the organisation is within its
 * quota, a backup that would be stored unencrypted where the config or the policy requires
 * encryption is refused (`E_ENCRYPTION_REQUIRED`; the runner checks again), and the request is
 * within the rate limit (consumed last, so a request refused for another reason does not use up
 * the caller's allowance).
 *
 * Every backup a person asks for (an actor, not a pre-operation backup) is admitted as manual
 * whatever its `backup_type`: posting `scheduled` or `pre_upgrade` does not skip the quota
 * refusal or the rate limit. The scheduler (actor null) and pre-operation backups go on over
 * quota (with a warning later) and are not counted.
 */
export async function admitBackupRequest(
  ctx: BackupServiceContext,
  environmentId: string,
  request: Pick<BackupCreate, 'backup_type' | 'storage_config_id'>,
  actor: Actor | null,
  options: AdmissionOptions = {},
): Promise<BackupAdmission> {
  const env = await ctx.options.environments.resolve(environmentId);
  if (!env) throw new NotFoundError('environment', environmentId);
  const missing = missingSnapshotFields(env.snapshot);
  if (missing.length > 0) {
    // The host's resolver is at fault, not the caller: say so, before anything is written.
    throw new ValidationError(
      missing.map((field) => ({ field, message: 'is required (a non-empty string) in the snapshot the environment resolver returns' })),
      `The environment resolver returned environment ${environmentId} without ${missing.join(', ')}`,
    );
  }
  await authorizeCall(ctx.options.authorize, {
    actor,
    permission: Permission.BACKUPS_CREATE,
    environment_id: environmentId,
    organization_id: env.organization_id,
  });
  const config = await pickStorageConfig(ctx, env, request.storage_config_id);
  await checkEncryption(ctx, env, config);
  const quota = await getQuotaStatus(
    { backups: ctx.backups, ...(ctx.options.quota ? { quota: ctx.options.quota } : {}) },
    env.organization_id,
  );
  const byPerson = actor !== null && options.preOperation !== true;
  if (quota.exceeded && (byPerson || request.backup_type === 'manual'))
    throw new QuotaExceededError(env.organization_id, quota.used_bytes, quota.limit_bytes ?? 0);
  if (byPerson) await consumeRateLimit(ctx, actor, options.onRateLimit);
  return { env, config, quota };
}

async function pickStorageConfig(ctx: BackupServiceContext, env: ResolvedEnvironment, requested: string | null): Promise<StorageConfig> {
  if (requested !== null) {
    const config = await ctx.storageConfigs.get(requested);
    // A config of another organisation is reported as missing: its existence is not the caller's business.
    if (!config || config.organization_id !== env.organization_id) throw new NotFoundError('storage_config', requested);
    return config;
  }
  const fallback = await ctx.storageConfigs.getDefault(env.organization_id);
  if (fallback) return fallback;
  throw new ValidationError(
    [{ field: 'storage_config_id', message: `is required: organisation ${env.organization_id} has no default storage config` }],
    `No storage config to use: pass storage_config_id, or mark one of organisation ${env.organization_id}'s storage configs as default (is_default)`,
    'E_STORAGE_CONFIG_MISSING',
  );
}

async function consumeRateLimit(ctx: BackupServiceContext, actor: Actor, onRateLimit: AdmissionOptions['onRateLimit']): Promise<void> {
  const key = actor.rate_limit_key ?? actor.id ?? 'anonymous';
  const { limit, windowSeconds } = ctx.rateLimit;
  const decision = await ctx.rateLimiter.consume(`manual-backup:${key}`, limit, windowSeconds);
  onRateLimit?.(decision);
  if (!decision.allowed) throw new RateLimitError(key, limit, windowSeconds, decision.retry_after_seconds);
}

/** Fail closed before anything is created: where encryption is required, the key provider must give recipients now. */
async function checkEncryption(ctx: BackupServiceContext, env: ResolvedEnvironment, config: StorageConfig): Promise<void> {
  const policy = ctx.policies ? await ctx.policies.getByEnvironment(env.environment_id) : null;
  if (!encryptionRequired(config, policy)) return;
  const recipients = await backupRecipients(ctx.options.keys, env, config.id);
  assertEncryptionAllowed(recipients, config, policy);
}
