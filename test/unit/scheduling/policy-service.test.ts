import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  nextRun,
  NotFoundError,
  PermissionDeniedError,
  PolicyService,
  ValidationError,
  type AuthorizationRequest,
  type PolicyChange,
} from '../../../src/index.js';
import { FakeClock, InMemoryBackupPolicyRepository, InMemoryStorageConfigRepository } from '../../../src/testing/index.js';

const ENV = '770e8400-e29b-41d4-a716-446655440000';
const STORAGE = '550e8400-e29b-41d4-a716-446655440000';

function setup(options: { authorize?: (r: AuthorizationRequest) => boolean; storage?: boolean } = {}) {
  const clock = new FakeClock('2024-12-11T10:30:00Z');
  const policies = new InMemoryBackupPolicyRepository(clock);
  const storageConfigs = options.storage ? new InMemoryStorageConfigRepository(clock) : undefined;
  const service = new PolicyService({ policies, clock, authorize: options.authorize, storageConfigs });
  const changes: PolicyChange[] = [];
  service.onChange((c) => changes.push(c));
  return { clock, policies, service, changes, storageConfigs };
}

const SPEC_BODY = {
  is_enabled: true,
  schedule_cron: '0 2 * * *',
  timezone: 'UTC',
  daily_retention: 7,
  weekly_retention: 4,
  monthly_retention: 12,
  yearly_retention: 2,
  weekly_backup_day: 6,
  storage_config_id: STORAGE,
  notify_on_success: false,
  notify_on_failure: true,
};

describe('PolicyService.createPolicy', () => {
  it("returns the product's 201 body with next_backup_at computed", async () => {
    const { service, changes } = setup();
    const policy = await service.createPolicy(ENV, SPEC_BODY);
    expect(policy).toEqual({
      id: expect.any(String),
      environment_id: ENV,
      ...SPEC_BODY,
      require_encryption: false,
      secondary_storage_config_id: null,
      last_backup_at: null,
      last_backup_status: null,
      next_backup_at: '2024-12-12T02:00:00.000Z',
      created_at: '2024-12-11T10:30:00.000Z',
      updated_at: '2024-12-11T10:30:00.000Z',
    });
    expect(changes.map((c) => c.type)).toEqual(['created']);
  });

  it('applies the default settings and evaluates the cron in the policy timezone', async () => {
    const { service } = setup();
    const policy = await service.createPolicy(ENV, { timezone: 'Europe/Brussels' });
    expect(policy).toMatchObject({
      is_enabled: true,
      schedule_cron: '0 2 * * *',
      daily_retention: 7,
      weekly_retention: 4,
      monthly_retention: 12,
      yearly_retention: 2,
      weekly_backup_day: 6,
      storage_config_id: null,
      notify_on_success: false,
      notify_on_failure: true,
    });
    // 02:00 in Brussels (CET, +01:00) on 12 December is 01:00 UTC.
    expect(policy.next_backup_at).toBe('2024-12-12T01:00:00.000Z');
  });

  it('refuses a second policy for the same environment with a ConflictError', async () => {
    const { service, policies } = setup();
    const first = await service.createPolicy(ENV, SPEC_BODY);
    await expect(service.createPolicy(ENV, { schedule_cron: '0 4 * * *' })).rejects.toBeInstanceOf(ConflictError);
    expect(await policies.getByEnvironment(ENV)).toEqual(first);
  });

  it('refuses bad input with a ValidationError naming each field, before storing anything', async () => {
    const { service, policies, changes } = setup();
    const error = await service
      .createPolicy(ENV, { schedule_cron: '0 2 * *', timezone: 'Mars/Olympus', daily_retention: 400, weekly_backup_day: 7, extra: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.field).sort()).toEqual([
      'daily_retention',
      'extra',
      'schedule_cron',
      'timezone',
      'weekly_backup_day',
    ]);
    expect(await policies.getByEnvironment(ENV)).toBeNull();
    expect(changes).toEqual([]);
    await expect(service.createPolicy('', SPEC_BODY)).rejects.toBeInstanceOf(ValidationError);
  });

  it('stores a disabled policy with nothing scheduled', async () => {
    const { service } = setup();
    expect((await service.createPolicy(ENV, { is_enabled: false })).next_backup_at).toBeNull();
  });

  it('checks storage_config_id against the storage configs when given them', async () => {
    const { service, storageConfigs } = setup({ storage: true });
    await expect(service.createPolicy(ENV, SPEC_BODY)).rejects.toBeInstanceOf(ValidationError);
    await storageConfigs!.create({
      id: STORAGE,
      organization_id: 'org',
      name: 'main',
      provider: 'memory',
      is_default: true,
      settings: {},
      credentials: null,
      storage_class: null,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: '2024-01-01T00:00:00.000Z',
      updated_at: '2024-01-01T00:00:00.000Z',
    });
    expect((await service.createPolicy(ENV, SPEC_BODY)).storage_config_id).toBe(STORAGE);
  });
});

describe('PolicyService.updatePolicy (PATCH)', () => {
  it('changes only the given fields', async () => {
    const { service, clock } = setup();
    const before = await service.createPolicy(ENV, SPEC_BODY);
    await clock.advance(60_000);
    const after = await service.updatePolicy(ENV, { daily_retention: 14, notify_on_success: true });
    expect(after).toEqual({ ...before, daily_retention: 14, notify_on_success: true, updated_at: '2024-12-11T10:31:00.000Z' });
  });

  it('recomputes next_backup_at from now when the cron or the timezone changes', async () => {
    const { service, clock } = setup();
    await service.createPolicy(ENV, SPEC_BODY);
    await clock.set('2024-12-11T12:00:00Z');
    expect((await service.updatePolicy(ENV, { schedule_cron: '30 14 * * *' })).next_backup_at).toBe('2024-12-11T14:30:00.000Z');
    // 14:30 in New York (EST, -05:00) is 19:30 UTC.
    expect((await service.updatePolicy(ENV, { timezone: 'America/New_York' })).next_backup_at).toBe('2024-12-11T19:30:00.000Z');
  });

  it('clears next_backup_at when disabled and recomputes it from now when enabled again', async () => {
    const { service, clock } = setup();
    await service.createPolicy(ENV, SPEC_BODY);
    expect((await service.updatePolicy(ENV, { is_enabled: false, daily_retention: 14 })).next_backup_at).toBeNull();
    await clock.set('2024-12-20T03:00:00Z');
    const enabled = await service.updatePolicy(ENV, { is_enabled: true });
    // Not the stale 12 December slot: the next one after now.
    expect(enabled.next_backup_at).toBe('2024-12-21T02:00:00.000Z');
    expect(enabled.daily_retention).toBe(14);
  });

  it('keeps next_backup_at when other fields change', async () => {
    const { service, clock } = setup();
    const created = await service.createPolicy(ENV, SPEC_BODY);
    await clock.set('2024-12-11T23:00:00Z');
    expect((await service.updatePolicy(ENV, { yearly_retention: 5, schedule_cron: '0 2 * * *' })).next_backup_at).toBe(
      created.next_backup_at,
    );
  });

  it('refuses an invalid cron with E_INVALID_CRON, as nextRun does, on create and update alike', async () => {
    const { service, policies } = setup();
    const codeOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as ValidationError).code;
    for (const cron of ['0 0 30 2 *', '0 2 * *', '61 * * * *']) {
      const fromNextRun = (() => {
        try {
          nextRun(cron, 'UTC', new Date(0));
        } catch (error) {
          return (error as ValidationError).code;
        }
      })();
      expect(fromNextRun, cron).toBe('E_INVALID_CRON');
      expect(await codeOf(service.createPolicy(ENV, { schedule_cron: cron })), cron).toBe('E_INVALID_CRON');
    }
    await service.createPolicy(ENV, SPEC_BODY);
    const error = (await service.updatePolicy(ENV, { schedule_cron: '0 0 30 2 *' }).catch((e: unknown) => e)) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('E_INVALID_CRON');
    expect(error.issues).toEqual([{ field: 'schedule_cron', message: 'never fires: day-of-month 30 never falls in February' }]);
    expect((await policies.getByEnvironment(ENV))!.schedule_cron).toBe(SPEC_BODY.schedule_cron);
  });

  it('refuses bad input before changing anything, and a missing policy with NotFoundError', async () => {
    const { service, changes } = setup();
    const created = await service.createPolicy(ENV, SPEC_BODY);
    await expect(service.updatePolicy(ENV, { schedule_cron: 'every day', daily_retention: 8 })).rejects.toBeInstanceOf(ValidationError);
    expect(await service.getPolicy(ENV)).toEqual(created);
    await expect(service.updatePolicy('other-env', { daily_retention: 8 })).rejects.toBeInstanceOf(NotFoundError);
    expect(changes.map((c) => c.type)).toEqual(['created']);
  });

  it('lands a PATCH that races a scheduler claim, with next_backup_at from the new cron', async () => {
    const { service, policies } = setup();
    const created = await service.createPolicy(ENV, SPEC_BODY);
    // A scheduler claims the slot between the PATCH's read and its write.
    const realUpdate = policies.update.bind(policies);
    let raced = false;
    policies.update = async (id, patch, where) => {
      if (!raced) {
        raced = true;
        await realUpdate(
          id,
          { next_backup_at: '2024-12-13T02:00:00.000Z', last_backup_status: 'pending' },
          { next_backup_at: created.next_backup_at },
        );
      }
      return realUpdate(id, patch, where);
    };
    const updated = await service.updatePolicy(ENV, { schedule_cron: '0 5 * * *' });
    expect(updated.schedule_cron).toBe('0 5 * * *');
    expect(updated.next_backup_at).toBe('2024-12-12T05:00:00.000Z');
    expect(updated.last_backup_status).toBe('pending');
  });
});

describe('PolicyService.deletePolicy and getPolicy', () => {
  it('deletes the policy (stopping automation) and reports it', async () => {
    const { service, policies, changes } = setup();
    await service.createPolicy(ENV, SPEC_BODY);
    await service.deletePolicy(ENV);
    expect(await policies.getByEnvironment(ENV)).toBeNull();
    expect(await policies.nextDueAt()).toBeNull();
    await expect(service.getPolicy(ENV)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.deletePolicy(ENV)).rejects.toBeInstanceOf(NotFoundError);
    expect(changes.map((c) => c.type)).toEqual(['created', 'deleted']);
    // A new policy may be created afterwards.
    expect((await service.createPolicy(ENV, SPEC_BODY)).environment_id).toBe(ENV);
  });
});

describe('PolicyService authorization', () => {
  it('asks the hook for org.backups.create / org.backups.delete / project.backups.view and refuses with PermissionDeniedError', async () => {
    const asked: string[] = [];
    let allow = false;
    const { service, policies } = setup({
      authorize: (r) => {
        asked.push(`${r.permission}:${r.environment_id}:${r.actor?.id ?? 'system'}`);
        return allow;
      },
    });
    const actor = { id: 'user-1' };
    await expect(service.createPolicy(ENV, SPEC_BODY, actor)).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(await policies.getByEnvironment(ENV)).toBeNull();
    allow = true;
    await service.createPolicy(ENV, SPEC_BODY, actor);
    allow = false;
    await expect(service.updatePolicy(ENV, { daily_retention: 1 }, actor)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(service.deletePolicy(ENV, actor)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(service.getPolicy(ENV, actor)).rejects.toBeInstanceOf(PermissionDeniedError);
    expect((await policies.getByEnvironment(ENV))?.daily_retention).toBe(7);
    expect(asked).toEqual([
      `org.backups.create:${ENV}:user-1`,
      `org.backups.create:${ENV}:user-1`,
      `org.backups.create:${ENV}:user-1`,
      `org.backups.delete:${ENV}:user-1`,
      `project.backups.view:${ENV}:user-1`,
    ]);
  });

  it('validates input before asking the hook', async () => {
    let asked = 0;
    const { service } = setup({ authorize: () => ++asked > 0 });
    await expect(service.createPolicy(ENV, { daily_retention: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(asked).toBe(0);
  });
});
