import { randomUUID } from 'node:crypto';
import type { BackupPolicy } from '../../domain/entities.js';
import { Permission } from '../../domain/permissions.js';
import { nextRun } from '../../domain/schedule.js';
import { BackupPolicyCreateSchema, BackupPolicyUpdateSchema, parseInput } from '../../domain/validation.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { Actor, Authorizer } from '../../ports/authorizer.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import type { EnvironmentResolver } from '../../ports/environment-resolver.js';
import { nullEventSink, type EventSink } from '../../ports/events.js';
import type { BackupPolicyRepository, StorageConfigRepository, Where } from '../../ports/repositories.js';
import { authorizeCall } from '../shared/authorize-call.js';

/** What changed, as told to {@link PolicyService.onChange} listeners (a scheduler re-reads its wake-up time). */
export interface PolicyChange {
  type: 'created' | 'updated' | 'deleted';
  /** The policy after the change (before it, for `deleted`). */
  policy: BackupPolicy;
}

/** A listener of {@link PolicyChange}s. It must not throw; errors are swallowed. */
export type PolicyChangeListener = (change: PolicyChange) => void;

/** Something that reports policy changes: a {@link PolicyService}, or a host's own notifier. */
export interface PolicyChangeSource {
  /** Registers `listener`; returns a function that removes it. */
  onChange(listener: PolicyChangeListener): () => void;
}

/** What a {@link PolicyService} is built from. */
export interface PolicyServiceOptions {
  policies: BackupPolicyRepository;
  /** When given, `storage_config_id` must name an existing config (else a ValidationError). */
  storageConfigs?: StorageConfigRepository;
  /** When given, `secondary_storage_config_id` must belong to the environment's organisation. */
  environments?: EnvironmentResolver;
  clock?: Clock;
  events?: EventSink;
  /** The host's permission hook (see docs/decisions.md#permissions): `org.backups.create` for create and update, `org.backups.delete` for delete, `project.backups.view` for get. */
  authorize?: Authorizer;
  /** New record ids (default: random UUIDs). */
  ids?: () => string;
}

// A PATCH that moves next_backup_at is compare-and-set against a concurrent scheduler claim; after
// this many lost races something is wrong (a tight loop of writers) and the caller hears about it.
const MAX_CAS_TRIES = 5;

/**
 * Backup policies: the product's `/environments/{id}/policy` endpoints (create, get, PATCH,
 * delete), one policy per environment. `next_backup_at` is kept exact with {@link nextRun}
 * in the policy's timezone; a disabled policy has `next_backup_at: null` (nothing is scheduled).
 */
export class PolicyService implements PolicyChangeSource {
  private readonly policies: BackupPolicyRepository;
  private readonly storageConfigs: StorageConfigRepository | undefined;
  private readonly environments: EnvironmentResolver | undefined;
  private readonly clock: Clock;
  private readonly events: EventSink;
  private readonly authorize: Authorizer | undefined;
  private readonly ids: () => string;
  private readonly listeners = new Set<PolicyChangeListener>();

  constructor(options: PolicyServiceOptions) {
    this.policies = options.policies;
    this.storageConfigs = options.storageConfigs;
    this.environments = options.environments;
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? nullEventSink;
    this.authorize = options.authorize;
    this.ids = options.ids ?? randomUUID;
  }

  /** Registers a listener of created/updated/deleted policies; returns its remover. */
  onChange(listener: PolicyChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Creates the environment's policy from the product's `BackupPolicyCreate` (defaults for omitted
   * fields) and returns the product's 201 body, with `next_backup_at` computed.
   *
   * @throws ValidationError for bad input (before anything is stored), ConflictError when the environment already has a policy.
   */
  async createPolicy(environmentId: string, input: unknown = {}, actor: Actor | null = null): Promise<BackupPolicy> {
    assertEnvironmentId(environmentId);
    const body = parseInput(BackupPolicyCreateSchema, input);
    await authorizeCall(this.authorize, { actor, permission: Permission.POLICY_CREATE, environment_id: environmentId });
    await this.assertStorageConfig(body.storage_config_id);
    await this.assertSecondary(environmentId, body.storage_config_id, body.secondary_storage_config_id);
    const existing = await this.policies.getByEnvironment(environmentId);
    if (existing) throw policyExists(environmentId, existing.id);
    const now = this.clock.now();
    const stamp = now.toISOString();
    const policy: BackupPolicy = {
      id: this.ids(),
      environment_id: environmentId,
      ...body,
      last_backup_at: null,
      last_backup_status: null,
      next_backup_at: body.is_enabled ? nextRun(body.schedule_cron, body.timezone, now).toISOString() : null,
      created_at: stamp,
      updated_at: stamp,
    };
    let created: BackupPolicy;
    try {
      created = await this.policies.create(policy);
    } catch (error) {
      // Another request created one between our read and our write.
      if (error instanceof ConflictError) throw policyExists(environmentId);
      throw error;
    }
    this.changed('created', created);
    return created;
  }

  /**
   * The environment's policy.
   *
   * @throws NotFoundError when it has none.
   */
  async getPolicy(environmentId: string, actor: Actor | null = null): Promise<BackupPolicy> {
    assertEnvironmentId(environmentId);
    await authorizeCall(this.authorize, { actor, permission: Permission.BACKUPS_VIEW, environment_id: environmentId });
    return this.mustGet(environmentId);
  }

  /**
   * PATCH: only the given fields change. A new `schedule_cron` or `timezone`, or enabling a
   * disabled policy, recomputes `next_backup_at` from now; disabling clears it.
   *
   * @throws ValidationError for bad input (before anything changes), NotFoundError when the environment has no policy.
   */
  async updatePolicy(environmentId: string, input: unknown, actor: Actor | null = null): Promise<BackupPolicy> {
    assertEnvironmentId(environmentId);
    const patch = parseInput(BackupPolicyUpdateSchema, input);
    await authorizeCall(this.authorize, { actor, permission: Permission.POLICY_CREATE, environment_id: environmentId });
    if (patch.storage_config_id !== undefined) await this.assertStorageConfig(patch.storage_config_id);
    if (patch.storage_config_id !== undefined || patch.secondary_storage_config_id !== undefined) {
      const current = await this.mustGet(environmentId);
      await this.assertSecondary(
        environmentId,
        patch.storage_config_id !== undefined ? patch.storage_config_id : current.storage_config_id,
        patch.secondary_storage_config_id !== undefined ? patch.secondary_storage_config_id : (current.secondary_storage_config_id ?? null),
      );
    }
    for (let attempt = 1; ; attempt++) {
      const before = await this.mustGet(environmentId);
      const changes: Partial<BackupPolicy> = {};
      for (const [key, value] of Object.entries(patch) as [keyof typeof patch, unknown][]) {
        if (value !== undefined) (changes as Record<string, unknown>)[key] = value;
      }
      const after = { ...before, ...changes };
      const scheduleChanged =
        after.schedule_cron !== before.schedule_cron || after.timezone !== before.timezone || after.is_enabled !== before.is_enabled;
      let where: Where<BackupPolicy> | undefined;
      if (scheduleChanged) {
        changes.next_backup_at = after.is_enabled ? nextRun(after.schedule_cron, after.timezone, this.clock.now()).toISOString() : null;
        // Lose cleanly to a scheduler that claims the old slot meanwhile, then recompute.
        where = {
          next_backup_at: before.next_backup_at,
          schedule_cron: before.schedule_cron,
          timezone: before.timezone,
          is_enabled: before.is_enabled,
        };
      }
      try {
        const updated = await this.policies.update(before.id, changes, where);
        this.changed('updated', updated);
        return updated;
      } catch (error) {
        if (error instanceof NotFoundError) throw policyMissing(environmentId);
        if (!(error instanceof ConflictError) || !where || attempt >= MAX_CAS_TRIES) throw error;
      }
    }
  }

  /**
   * Deletes the environment's policy: automated backups stop; existing backups are kept.
   *
   * @throws NotFoundError when it has none.
   */
  async deletePolicy(environmentId: string, actor: Actor | null = null): Promise<void> {
    assertEnvironmentId(environmentId);
    await authorizeCall(this.authorize, { actor, permission: Permission.POLICY_DELETE, environment_id: environmentId });
    const policy = await this.mustGet(environmentId);
    await this.policies.delete(policy.id);
    this.changed('deleted', policy);
  }

  private async mustGet(environmentId: string): Promise<BackupPolicy> {
    const policy = await this.policies.getByEnvironment(environmentId);
    if (!policy) throw policyMissing(environmentId);
    return policy;
  }

  private async assertStorageConfig(id: string | null): Promise<void> {
    if (id === null || !this.storageConfigs) return;
    if (!(await this.storageConfigs.get(id))) {
      throw new ValidationError([{ field: 'storage_config_id', message: `no storage config ${id} exists` }]);
    }
  }

  /**
   * The second copy's config must exist, belong to the environment's organisation (and to the
   * primary's) and not be the primary itself (the organisation's default when the policy names none).
   */
  private async assertSecondary(environmentId: string, primaryId: string | null, secondaryId: string | null | undefined): Promise<void> {
    if (!secondaryId) return;
    const refuse = (message: string) => {
      throw new ValidationError([{ field: 'secondary_storage_config_id', message }]);
    };
    if (secondaryId === primaryId) refuse('must not be the primary storage config (storage_config_id)');
    if (!this.storageConfigs) return;
    const secondary = await this.storageConfigs.get(secondaryId);
    if (!secondary) return refuse(`no storage config ${secondaryId} exists`);
    const primary = primaryId ? await this.storageConfigs.get(primaryId) : null;
    if (primary && primary.organization_id !== secondary.organization_id)
      refuse('must belong to the same organisation as storage_config_id');
    const env = this.environments ? await this.environments.resolve(environmentId) : null;
    if (env && secondary.organization_id !== env.organization_id) refuse("must belong to the environment's organisation");
    if (env && !primaryId && (await this.storageConfigs.getDefault(env.organization_id))?.id === secondaryId)
      refuse("must not be the organisation's default storage config, which this policy's backups go to");
  }

  private changed(type: PolicyChange['type'], policy: BackupPolicy): void {
    this.events.emit({
      type: `scheduler.policy_${type}`,
      data: {
        policy_id: policy.id,
        environment_id: policy.environment_id,
        next_backup_at: type === 'deleted' ? null : policy.next_backup_at,
        timestamp: this.clock.now().toISOString(),
      },
    });
    for (const listener of this.listeners) {
      try {
        listener({ type, policy });
      } catch {
        // A listener's failure must not undo a stored change.
      }
    }
  }
}

function assertEnvironmentId(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ValidationError([{ field: 'environment_id', message: 'must be a non-empty string' }]);
}

function policyExists(environmentId: string, policyId?: string): ConflictError {
  return new ConflictError(
    `Environment ${environmentId} already has a backup policy: change it with an update (PATCH) or delete it first`,
    {
      details: { environment_id: environmentId, ...(policyId ? { policy_id: policyId } : {}) },
    },
  );
}

function policyMissing(environmentId: string): NotFoundError {
  return new NotFoundError('policy', environmentId, {
    message: `Environment ${environmentId} has no backup policy`,
    details: { environment_id: environmentId },
  });
}
