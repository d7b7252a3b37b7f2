import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  NotFoundError,
  PermissionDeniedError,
  QuotaExceededError,
  RateLimitError,
  ValidationError,
  type AuthorizationRequest,
} from '../../../src/index.js';
import { alice, bob, makeHarness, policy, snapshotState, storageConfig, T0 } from './harness.js';

const CREATED_FIELDS = [
  'backup_type',
  'compressed_size',
  'created_at',
  'database_size',
  'environment_id',
  'expires_at',
  'filestore_size',
  'id',
  'is_verified',
  'retention_type',
  'status',
  'storage_config_id',
  'task_id',
  'total_size',
].sort();

describe('createBackup', () => {
  it('returns the product 201 shape, writes a pending backup and a queued task, and enqueues one job', async () => {
    const h = await makeHarness();
    const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'manual', include_filestore: true }, alice);

    expect(Object.keys(res).sort()).toEqual(CREATED_FIELDS);
    expect(res).toEqual({
      id: expect.any(String),
      environment_id: h.env.environment_id,
      storage_config_id: h.config.id,
      task_id: expect.any(String),
      status: 'pending',
      backup_type: 'manual',
      database_size: 0,
      filestore_size: 0,
      total_size: 0,
      compressed_size: 0,
      retention_type: 'daily',
      expires_at: null,
      is_verified: false,
      created_at: T0,
    });
    expect(res.id).not.toBe(res.task_id);

    const backup = await h.backups.get(res.id);
    expect(backup).toMatchObject({
      status: 'pending',
      organization_id: h.env.organization_id,
      project_id: h.env.project_id,
      task_id: res.task_id,
      include_filestore: true,
      created_by: alice.id,
      database_key: null,
    });
    const task = await h.tasks.get(res.task_id);
    expect(task).toMatchObject({
      status: 'queued',
      task_type: 'backup',
      backup_id: res.id,
      job_id: res.task_id,
      environment_id: h.env.environment_id,
      attempts: 0,
      created_by: alice.id,
    });

    const jobs = h.queue.jobsInfo();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ jobId: res.task_id, name: 'backup', state: 'waiting', maxAttempts: 3 });
    expect(jobs[0]!.payload).toEqual({
      task_id: res.task_id,
      backup_id: res.id,
      environment_id: h.env.environment_id,
      backup_type: 'manual',
      storage_config_id: h.config.id,
      include_filestore: true,
      user_id: alice.id,
    });

    const statusEvents = h.events.ofType('task.status').map((e) => [e.data.previous_status, e.data.status]);
    expect(statusEvents).toEqual([
      [null, 'pending'],
      ['pending', 'queued'],
    ]);
    expect(h.events.ofType('task.status')[1]!.data).toEqual({
      task_id: res.task_id,
      task_type: 'backup',
      status: 'queued',
      previous_status: 'pending',
      environment_id: h.env.environment_id,
      organization_id: h.env.organization_id,
      project_id: h.env.project_id,
      backup_id: res.id,
      attempt: 0,
      message: null,
      timestamp: T0,
    });
  });

  it('applies the default settings to an empty body', async () => {
    const h = await makeHarness();
    const res = await h.service.createBackup(h.env.environment_id, {}, alice);
    expect(res.backup_type).toBe('manual');
    expect((await h.backups.get(res.id))!.include_filestore).toBe(true);
  });

  it('uses the given storage config, include_filestore and retention_type', async () => {
    const h = await makeHarness();
    const second = await h.storageConfigs.create(storageConfig({ organization_id: h.env.organization_id }));
    const res = await h.service.createBackup(
      h.env.environment_id,
      { storage_config_id: second.id, include_filestore: false, retention_type: 'permanent' },
      alice,
    );
    expect(res.storage_config_id).toBe(second.id);
    expect(res.retention_type).toBe('permanent');
    expect((await h.backups.get(res.id))!.include_filestore).toBe(false);
  });

  it('classifies retention by date under the environment policy (weekly day, 1st of month, Jan 1)', async () => {
    const h = await makeHarness();
    // 2026-03-10 is a Tuesday: weekly_backup_day 1 (0 = Monday) makes it weekly.
    await h.policies.create(policy({ environment_id: h.env.environment_id, weekly_backup_day: 1 }));
    expect((await h.service.createBackup(h.env.environment_id, {}, alice)).retention_type).toBe('weekly');
    await h.clock.set('2026-04-01T08:00:00.000Z');
    expect((await h.service.createBackup(h.env.environment_id, {}, bob)).retention_type).toBe('monthly');
    await h.clock.set('2027-01-01T08:00:00.000Z');
    expect((await h.service.createBackup(h.env.environment_id, {}, bob)).retention_type).toBe('yearly');
  });

  it('records scheduled backups of the system with created_by null and no rate limit', async () => {
    const h = await makeHarness({ service: { manualRateLimit: { limit: 1, windowSeconds: 3600 } } });
    for (let i = 0; i < 3; i++) {
      const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
      const backup = await h.backups.get(res.id);
      expect(backup!.created_by).toBeNull();
      expect((await h.tasks.get(res.task_id))!.created_by).toBeNull();
    }
    expect(await h.backups.find({ backup_type: 'scheduled' })).toHaveLength(3);
  });

  describe('refusals change nothing', () => {
    it.each([
      ['an unknown backup_type', { backup_type: 'hourly' }, 'backup_type'],
      ['an unknown field', { backup_type: 'manual', compress: true }, 'compress'],
      ['a storage_config_id that is not a UUID', { storage_config_id: 'abc' }, 'storage_config_id'],
      ['include_filestore that is not a boolean', { include_filestore: 'yes' }, 'include_filestore'],
      ['an unknown retention_type', { retention_type: 'hourly' }, 'retention_type'],
    ])('%s -> ValidationError naming the field', async (_name, input, field) => {
      const h = await makeHarness();
      const before = await snapshotState(h);
      const error = await h.service.createBackup(h.env.environment_id, input as never, alice).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('E_VALIDATION');
      expect((error as ValidationError).issues.map((i) => i.field)).toContain(field);
      expect(await snapshotState(h)).toEqual(before);
    });

    it('an empty environment id -> ValidationError', async () => {
      const h = await makeHarness();
      const before = await snapshotState(h);
      await expect(h.service.createBackup('', {}, alice)).rejects.toBeInstanceOf(ValidationError);
      expect(await snapshotState(h)).toEqual(before);
    });

    it('an unknown environment -> NotFoundError', async () => {
      const h = await makeHarness();
      const before = await snapshotState(h);
      const error = await h.service.createBackup(randomUUID(), {}, alice).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).code).toBe('E_NOT_FOUND');
      expect((error as NotFoundError).details.entity).toBe('environment');
      expect(await snapshotState(h)).toEqual(before);
    });

    it('an unknown storage config, or one of another organisation -> NotFoundError', async () => {
      const h = await makeHarness();
      const foreign = await h.storageConfigs.create(storageConfig({ organization_id: h.otherEnv.organization_id }));
      const before = await snapshotState(h);
      for (const id of [randomUUID(), foreign.id]) {
        const error = await h.service.createBackup(h.env.environment_id, { storage_config_id: id }, alice).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotFoundError);
        expect((error as NotFoundError).details).toMatchObject({ entity: 'storage_config', id });
      }
      expect(await snapshotState(h)).toEqual(before);
    });

    it('no storage config given and no default -> E_STORAGE_CONFIG_MISSING naming storage_config_id', async () => {
      const h = await makeHarness({ defaultConfig: false });
      const before = await snapshotState(h);
      const error = await h.service.createBackup(h.env.environment_id, {}, alice).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('E_STORAGE_CONFIG_MISSING');
      expect((error as ValidationError).issues[0]!.field).toBe('storage_config_id');
      expect((error as Error).message).toMatch(/default/);
      expect(await snapshotState(h)).toEqual(before);
    });

    it('the authorize hook says no -> PermissionDeniedError; it is asked with the create permission', async () => {
      const asked: AuthorizationRequest[] = [];
      const h = await makeHarness({
        authorize: (req) => {
          asked.push(req);
          return req.actor?.id === alice.id;
        },
      });
      const before = await snapshotState(h);
      const error = await h.service.createBackup(h.env.environment_id, {}, bob).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as PermissionDeniedError).code).toBe('E_PERMISSION_DENIED');
      expect((error as PermissionDeniedError).details).toMatchObject({
        permission: 'project.backups.create',
        environment_id: h.env.environment_id,
      });
      expect(await snapshotState(h)).toEqual(before);
      expect(asked).toEqual([
        { actor: bob, permission: 'project.backups.create', environment_id: h.env.environment_id, organization_id: h.env.organization_id },
      ]);
      await expect(h.service.createBackup(h.env.environment_id, {}, alice)).resolves.toMatchObject({ status: 'pending' });
    });

    it('a backup a person asks for over quota is refused whatever its backup_type', async () => {
      const h = await makeHarness({ quota: () => 0 });
      for (const backup_type of ['scheduled', 'pre_destroy'] as const) {
        await expect(h.service.createBackup(h.env.environment_id, { backup_type }, alice)).rejects.toBeInstanceOf(QuotaExceededError);
      }
      expect(await h.backups.find({})).toEqual([]);
    });

    it('reports each counted request to onRateLimit (limit, remaining, reset), refused ones too', async () => {
      const h = await makeHarness({ service: { manualRateLimit: { limit: 2, windowSeconds: 3600 } } });
      const seen: unknown[] = [];
      const onRateLimit = (d: unknown) => seen.push(d);
      await h.service.createBackup(h.env.environment_id, {}, alice, { onRateLimit });
      await h.clock.advance(60_000);
      await h.service.createBackup(h.env.environment_id, {}, alice, { onRateLimit });
      await expect(h.service.createBackup(h.env.environment_id, {}, alice, { onRateLimit })).rejects.toBeInstanceOf(RateLimitError);
      await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null, { onRateLimit });
      expect(seen).toEqual([
        { allowed: true, remaining: 1, limit: 2, retry_after_seconds: 0, reset_after_seconds: 3600 },
        { allowed: true, remaining: 0, limit: 2, retry_after_seconds: 0, reset_after_seconds: 3540 },
        { allowed: false, remaining: 0, limit: 2, retry_after_seconds: 3540, reset_after_seconds: 3540 },
      ]);
    });

    it('a manual backup over quota -> QuotaExceededError', async () => {
      const h = await makeHarness({ quota: () => 0 });
      const before = await snapshotState(h);
      const error = await h.service.createBackup(h.env.environment_id, { backup_type: 'manual' }, alice).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuotaExceededError);
      expect((error as QuotaExceededError).code).toBe('E_QUOTA_EXCEEDED');
      expect((error as QuotaExceededError).details).toEqual({ organization_id: h.env.organization_id, used_bytes: 0, limit_bytes: 0 });
      expect(await snapshotState(h)).toEqual(before);
    });

    it('the rate limit: 10 manual backups an hour per key, then RateLimitError until the window passes', async () => {
      const h = await makeHarness();
      for (let i = 0; i < 10; i++) await h.service.createBackup(h.env.environment_id, {}, alice);
      const before = await snapshotState(h);
      const error = await h.service.createBackup(h.env.environment_id, {}, alice).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitError);
      expect((error as RateLimitError).code).toBe('E_RATE_LIMITED');
      expect((error as RateLimitError).details).toMatchObject({
        key: alice.rate_limit_key,
        limit: 10,
        window_seconds: 3600,
        retry_after_seconds: 3600,
      });
      expect(await snapshotState(h)).toEqual(before);
      // Another key (bob has no rate_limit_key: his id is the key) is not affected.
      await expect(h.service.createBackup(h.env.environment_id, {}, bob)).resolves.toBeDefined();
      // A person who posts another backup_type is still counted as manual; the scheduler (actor null) is not.
      for (const backup_type of ['scheduled', 'pre_upgrade'] as const) {
        await expect(h.service.createBackup(h.env.environment_id, { backup_type }, alice)).rejects.toBeInstanceOf(RateLimitError);
      }
      await expect(h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null)).resolves.toBeDefined();
      await h.clock.advance(3600_000);
      await expect(h.service.createBackup(h.env.environment_id, {}, alice)).resolves.toBeDefined();
    });

    it('the rate limit is configurable', async () => {
      const h = await makeHarness({ service: { manualRateLimit: { limit: 2, windowSeconds: 60 } } });
      await h.service.createBackup(h.env.environment_id, {}, bob);
      await h.service.createBackup(h.env.environment_id, {}, bob);
      await expect(h.service.createBackup(h.env.environment_id, {}, bob)).rejects.toMatchObject({
        code: 'E_RATE_LIMITED',
        details: { limit: 2, window_seconds: 60 },
      });
    });
  });

  it('a scheduled backup over quota goes on, with a warning event and one quota.warning notification', async () => {
    const h = await makeHarness({ quota: () => 0 });
    const res = await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
    expect(res.status).toBe('pending');
    const warnings = h.events.ofType('warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.data).toMatchObject({
      code: 'W_QUOTA_EXCEEDED',
      environment_id: h.env.environment_id,
      organization_id: h.env.organization_id,
      backup_id: res.id,
      used_bytes: 0,
      limit_bytes: 0,
      timestamp: T0,
    });
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.sent[0]).toMatchObject({
      kind: 'quota.warning',
      environment_id: h.env.environment_id,
      organization_id: h.env.organization_id,
      backup: { id: res.id },
    });
  });

  it('an enqueue failure leaves the backup and task failed with the reason, and rethrows', async () => {
    const h = await makeHarness();
    await h.queue.close();
    const error = await h.service.createBackup(h.env.environment_id, {}, alice).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('E_QUEUE_CLOSED');
    const [backup] = await h.backups.find({});
    expect(backup).toMatchObject({ status: 'failed', error_details: { code: 'E_ENQUEUE_FAILED' } });
    expect(backup!.error_message).toMatch(/Could not enqueue/);
    expect((await h.tasks.get(backup!.task_id!))!.status).toBe('failed');
  });
});
