import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BackupService,
  createBackupSdk,
  createStorageProvider,
  InProcessJobQueue,
  nullEventSink,
  PermissionDeniedError,
  PolicyService,
  RetentionService,
  Scheduler,
  systemClock,
  type AuthorizationRequest,
} from '../../../src/index.js';
import {
  FakeBackupSource,
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryRateLimiter,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  makeResolvedEnvironment,
  MemoryEventSink,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { alice, storageConfig, T0 } from './harness.js';

async function ports() {
  const clock = new FakeClock(T0);
  const env = makeResolvedEnvironment();
  const storageConfigs = new InMemoryStorageConfigRepository(clock);
  await storageConfigs.create(
    storageConfig({ organization_id: env.organization_id, is_default: true, settings: { namespace: randomUUID() } }),
  );
  return {
    env,
    ports: {
      backups: new InMemoryBackupRepository(clock),
      tasks: new InMemoryTaskRepository(clock),
      storageConfigs,
      policies: new InMemoryBackupPolicyRepository(clock),
      environments: new StaticEnvironmentResolver([env]),
      queue: new InProcessJobQueue({ clock }), // the production single-process queue
      clock,
      events: new MemoryEventSink(),
      sources: () => new FakeBackupSource({ dumpSize: 10_000, filestoreSize: 5_000 }),
    },
  };
}

describe('createBackupSdk', () => {
  it('builds every service, and they share the ports: a policy scheduled by one is backed up by another and counted by a third', async () => {
    const { env, ports: p } = await ports();
    const sdk = createBackupSdk(p, { backup: { runnerOptions: { dumpLister: null } } });
    expect(sdk.backups).toBeInstanceOf(BackupService);
    expect(sdk.policies).toBeInstanceOf(PolicyService);
    expect(sdk.retention).toBeInstanceOf(RetentionService);
    expect(sdk.scheduler).toBeInstanceOf(Scheduler);

    // PolicyService computes next_backup_at on the shared clock (02:00 after T0 is tomorrow).
    await sdk.policies.createPolicy(env.environment_id, { schedule_cron: '0 2 * * *' }, null);
    await p.clock.set('2026-03-11T02:00:00.000Z');
    const tick = await sdk.scheduler.tick();
    expect(tick.triggered).toBe(1);
    const worker = sdk.backups.startWorker();
    await p.queue.idle();
    await worker.close();
    const [backup] = await p.backups.find({});
    expect(backup).toMatchObject({ backup_type: 'scheduled', status: 'completed', created_at: '2026-03-11T02:00:00.000Z' });
    expect((await sdk.retention.usage(env.organization_id)).used_bytes).toBe(backup!.compressed_size);
    // One event sink heard the policy service, the scheduler and the backup job.
    const types = new Set(p.events.events.map((e) => e.type));
    expect([...types]).toEqual(expect.arrayContaining(['task.status', 'backup.status', 'backup.progress']));
    expect(p.events.events.some((e) => e.type.startsWith('scheduler.'))).toBe(true);
  });

  it('fills in single-process defaults and hands the same instances to every service', async () => {
    const { ports: p } = await ports();
    const { clock: _clock, events: _events, ...bare } = p;
    const sdk = createBackupSdk(bare);
    expect(sdk.ports.clock).toBe(systemClock);
    expect(sdk.ports.events).toBe(nullEventSink);
    expect(sdk.ports.rateLimiter).toBeInstanceOf(InMemoryRateLimiter);
    expect(sdk.ports.storageProviders).toBe(createStorageProvider);
    expect(sdk.ports.queue).toBe(p.queue);
  });

  it('one authorize hook guards every service', async () => {
    const { env, ports: p } = await ports();
    const asked: string[] = [];
    const sdk = createBackupSdk({
      ...p,
      authorize: (r: AuthorizationRequest) => {
        asked.push(r.permission);
        return false;
      },
    });
    await expect(sdk.backups.createBackup(env.environment_id, {}, alice)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(sdk.policies.createPolicy(env.environment_id, {}, alice)).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(asked).toEqual(['project.backups.create', 'org.backups.create']);
  });

  it('one rate limiter counts manual backups across the sdk', async () => {
    const { env, ports: p } = await ports();
    const sdk = createBackupSdk(p, { backup: { manualRateLimit: { limit: 1, windowSeconds: 60 } } });
    await sdk.backups.createBackup(env.environment_id, {}, alice);
    await expect(sdk.backups.createBackup(env.environment_id, {}, alice)).rejects.toMatchObject({ code: 'E_RATE_LIMITED' });
  });
});
