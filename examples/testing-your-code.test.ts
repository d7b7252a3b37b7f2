/**
 * How a host unit-tests its backup wiring with `odoo-backup-sdk/testing` (docs/testing.md).
 *
 * Part 1 runs the real BackupService over in-memory repositories, an in-memory job queue and a
 * fake backup source, on a FakeClock: no database, no Redis, no sleeping, yet real retries.
 * Part 2 runs the SDK's contract suites against an adapter the host wrote itself.
 *
 * In a host project the imports are `odoo-backup-sdk` and `odoo-backup-sdk/testing`.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BackupService, type StorageConfig, type StorageConfigRepository, type UsageDelta, type Where } from '../src/index.js';
import {
  FakeBackupSource,
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  MemoryEventSink,
  MemoryNotifier,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
  makeStorageConfig,
  runStorageConfigRepositoryContract,
} from '../src/testing/index.js';

// ---- Part 1: unit-testing the wiring --------------------------------------------------------

/** Everything BackupService needs, in memory, on one FakeClock. */
async function setup() {
  const clock = new FakeClock('2026-03-10T10:00:00.000Z');
  const queue = new InMemoryJobQueue({ clock }); // retries wait on `clock`, not on real time
  const backups = new InMemoryBackupRepository(clock);
  const tasks = new InMemoryTaskRepository(clock);
  const storageConfigs = new InMemoryStorageConfigRepository(clock);
  const policies = new InMemoryBackupPolicyRepository(clock);
  const env = makeResolvedEnvironment(); // a plausible Odoo 18 environment with fresh UUIDs
  const source = new FakeBackupSource({ dumpSize: 50_000, filestoreSize: 20_000 }); // stands in for pg_dump + tar
  const notifier = new MemoryNotifier();
  const events = new MemoryEventSink();
  // The `memory` storage provider keeps objects in process; a namespace lets the test look inside.
  await storageConfigs.create(
    makeStorageConfig({
      organization_id: env.organization_id,
      provider: 'memory',
      is_default: true,
      settings: { namespace: randomUUID() },
      credentials: null,
    }),
  );
  const service = new BackupService({
    backups,
    tasks,
    storageConfigs,
    policies,
    environments: new StaticEnvironmentResolver([env]),
    queue,
    clock,
    events,
    notifier,
    sources: () => source,
  });
  service.startWorker({ concurrency: 2 });
  return { clock, queue, backups, tasks, storageConfigs, env, source, notifier, events, service };
}

describe('a host testing its backup wiring in memory', () => {
  it('a manual backup goes through the queue and completes', async () => {
    const t = await setup();
    const created = await t.service.createBackup(t.env.environment_id, { include_filestore: true }, { id: 'user-1' });
    expect(created.status).toBe('pending');

    await t.queue.idle(); // the worker ran the job

    const backup = await t.service.getBackup(created.id, { id: 'user-1' });
    expect(backup.status).toBe('completed');
    expect(backup.database_size).toBe(50_000);
    const config = await t.storageConfigs.getDefault(t.env.organization_id);
    expect(config?.object_count).toBe(1);
    await t.queue.close();
  });

  it('a transient pg_dump failure is retried 60 s later, without sleeping', async () => {
    const t = await setup();
    t.source.injectFault({ transient: true }); // the next dump fails with a retryable error
    const created = await t.service.createBackup(t.env.environment_id, {}, { id: 'user-1' });

    await t.queue.settle(); // try 1 ran and failed; try 2 waits on the clock
    expect((await t.tasks.get(created.task_id))?.status).toBe('queued');
    expect((await t.queue.getJob(created.task_id))?.state).toBe('delayed');

    await t.clock.advance(59_999);
    await t.queue.settle();
    expect(t.source.started.dump).toBe(1); // not yet

    await t.clock.advance(1);
    await t.queue.idle();
    expect(t.source.started.dump).toBe(2);
    expect((await t.backups.get(created.id))?.status).toBe('completed');
    expect(t.notifier.sent).toEqual([]); // a retried failure notifies nobody
    await t.queue.close();
  });

  it('a permanent failure ends the backup failed, dead-letters the job and notifies once', async () => {
    const t = await setup();
    t.source.injectFault({ transient: false, stderr: 'pg_dump: error: connection refused' });
    const created = await t.service.createBackup(t.env.environment_id, {}, { id: 'user-1' });

    await t.queue.idle();

    const backup = await t.backups.get(created.id);
    expect(backup?.status).toBe('failed');
    expect(backup?.error_details).toMatchObject({ code: 'E_SOURCE_PG_DUMP' });
    expect((await t.queue.deadLetters()).map((d) => d.jobId)).toEqual([created.task_id]);
    expect(t.notifier.sent.map((n) => n.kind)).toEqual(['backup.failed']);
    expect(t.source.started.dump).toBe(1); // permanent: no retry
    await t.queue.close();
  });
});

// ---- Part 2: running a contract suite on your own adapter -----------------------------------

/**
 * A host's adapter: it wraps another repository and keeps an audit trail of usage changes. The
 * contract proves the wrapper still honours the port (copies, compare-and-set, atomic counters).
 */
class AuditedStorageConfigRepository implements StorageConfigRepository {
  readonly audit: { id: string; delta: UsageDelta }[] = [];
  constructor(private readonly inner: StorageConfigRepository) {}
  create(config: StorageConfig) {
    return this.inner.create(config);
  }
  get(id: string) {
    return this.inner.get(id);
  }
  getDefault(organizationId: string) {
    return this.inner.getDefault(organizationId);
  }
  list(organizationId: string) {
    return this.inner.list(organizationId);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  update(id: string, patch: Partial<StorageConfig>, where?: Where<StorageConfig>) {
    return this.inner.update(id, patch, where);
  }
  async adjustUsage(id: string, delta: UsageDelta) {
    const result = await this.inner.adjustUsage(id, delta);
    this.audit.push({ id, delta });
    return result;
  }
}

// One line per port: every check of the suite becomes a vitest test.
await runStorageConfigRepositoryContract(
  'AuditedStorageConfigRepository',
  () => new AuditedStorageConfigRepository(new InMemoryStorageConfigRepository()),
);
