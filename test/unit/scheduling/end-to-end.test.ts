import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BackupService,
  PolicyService,
  RetentionService,
  Scheduler,
  createStorageProvider,
  type ServiceEvent,
  type StorageConfig,
} from '../../../src/index.js';
import {
  FakeBackupSource,
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  MemoryEventSink,
  flushMicrotasks,
  makeResolvedEnvironment,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';
import { localTime } from './helpers.js';

// PolicyService -> Scheduler (self-driving runner) -> BackupService -> job queue -> BackupRunner ->
// memory storage, all in memory on a FakeClock, across the Brussels spring-forward of 2026.
describe('scheduled backups end to end', () => {
  it('policies fire on their slots, backups complete, the policy follows them, and deleting the policy stops automation', async () => {
    const clock = new FakeClock('2026-03-27T12:00:00Z');
    const backups = new InMemoryBackupRepository(clock);
    const tasks = new InMemoryTaskRepository(clock);
    const storageConfigs = new InMemoryStorageConfigRepository(clock);
    const policies = new InMemoryBackupPolicyRepository(clock);
    const queue = new InMemoryJobQueue({ clock });
    const events = new MemoryEventSink();
    const brussels = makeResolvedEnvironment();
    const hourly = makeResolvedEnvironment({ organization_id: brussels.organization_id });
    const environments = new StaticEnvironmentResolver([brussels, hourly]);
    const source = new FakeBackupSource({ dumpSize: 20_000, filestoreSize: 10_000 });
    const config: StorageConfig = {
      id: randomUUID(),
      organization_id: brussels.organization_id,
      name: 'Primary',
      provider: 'memory',
      is_default: true,
      settings: { namespace: randomUUID() },
      credentials: null,
      storage_class: null,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: clock.now().toISOString(),
      updated_at: clock.now().toISOString(),
    };
    await storageConfigs.create(config);
    const service = new BackupService({
      backups,
      tasks,
      storageConfigs,
      policies,
      environments,
      queue,
      clock,
      events,
      sources: () => source,
      storageProviders: createStorageProvider,
      runnerOptions: { dumpLister: null },
    });
    const retention = new RetentionService({ backups, storageConfigs, policies, clock, events });
    const policyService = new PolicyService({ policies, storageConfigs, clock, events });
    const scheduler = new Scheduler({
      policies,
      backups: service,
      retention,
      clock,
      events,
      policyChanges: policyService,
      recheckIntervalMs: 6 * 3_600_000,
    });
    const worker = service.startWorker();

    await policyService.createPolicy(brussels.environment_id, { schedule_cron: '30 2 * * *', timezone: 'Europe/Brussels' });
    scheduler.start();
    await flushMicrotasks();
    // Created while the runner sleeps: it is told, and fires this one at its first slot too.
    await policyService.createPolicy(hourly.environment_id, { schedule_cron: '0 */6 * * *' });
    await flushMicrotasks();
    expect(clock.nextWakeAt()?.toISOString()).toBe('2026-03-27T18:00:00.000Z');

    // Drive time from one wake-up to the next, letting each backup job finish in between.
    const driveTo = async (end: string) => {
      for (;;) {
        await flushMicrotasks(); // a woken runner re-parks its sleep on the next turns
        const wake = clock.nextWakeAt();
        if (!wake || wake.getTime() > Date.parse(end)) break;
        await clock.set(wake);
        await queue.idle();
      }
      await clock.set(end);
      await queue.idle();
    };
    await driveTo('2026-03-31T12:00:00Z');

    const brusselsBackups = (await backups.find({ environment_id: brussels.environment_id })).reverse();
    expect(brusselsBackups.map((b) => localTime(b.created_at, 'Europe/Brussels'))).toEqual([
      '2026-03-28 02:30',
      '2026-03-29 03:30', // 02:30 does not exist that night (see docs/decisions.md#daylight-saving-time)
      '2026-03-30 02:30',
      '2026-03-31 02:30',
    ]);
    const hourlyBackups = await backups.find({ environment_id: hourly.environment_id });
    expect(hourlyBackups).toHaveLength(16); // 18:00 on the 27th ... 12:00 on the 31st
    for (const b of [...brusselsBackups, ...hourlyBackups]) {
      expect(b).toMatchObject({
        status: 'completed',
        backup_type: 'scheduled',
        created_by: null,
        storage_config_id: config.id,
        include_filestore: true,
        is_verified: true,
      });
    }
    expect(source.started.dump).toBe(20);
    expect(await policyService.getPolicy(brussels.environment_id)).toMatchObject({
      last_backup_at: '2026-03-31T00:30:00.000Z',
      last_backup_status: 'completed',
      next_backup_at: '2026-04-01T00:30:00.000Z',
    });
    // Retention cleanup ran at 03:00 UTC on each of the four days.
    expect(events.events.filter((e): e is ServiceEvent => e.type === 'scheduler.retention_ran').map((e) => e.data.slot)).toEqual([
      '2026-03-28T03:00:00.000Z',
      '2026-03-29T03:00:00.000Z',
      '2026-03-30T03:00:00.000Z',
      '2026-03-31T03:00:00.000Z',
    ]);

    // Deleting the policy stops automation; its backups stay.
    await policyService.deletePolicy(brussels.environment_id);
    await driveTo('2026-04-02T12:00:00Z');
    expect(await backups.find({ environment_id: brussels.environment_id })).toHaveLength(4);
    expect(await backups.find({ environment_id: hourly.environment_id })).toHaveLength(24);

    await scheduler.stop();
    await worker.close();
    expect(clock.pendingSleeps).toBe(0);
  });
});
