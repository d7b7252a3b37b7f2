import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/index.js';
import { FakeBackupSource } from '../../../src/testing/index.js';
import { backupReaches, eventually, makeHarness, policy } from './harness.js';

// The Scheduler fires slots through BackupService.createBackup (actor null); the job records the
// outcome on the policy.
describe('BackupService behind the Scheduler', () => {
  it('a due policy yields a scheduled backup whose job sets last_backup_status', async () => {
    const h = await makeHarness();
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id, next_backup_at: '2026-03-10T10:00:00.000Z' }));
    const scheduler = new Scheduler({ policies: h.policies, backups: h.service, clock: h.clock, events: h.events });
    const tick = await scheduler.tick();
    expect(tick.triggered).toBe(1);
    const [backup] = await h.backups.find({});
    expect(backup).toMatchObject({ backup_type: 'scheduled', created_by: null, status: 'pending' });
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('pending');
    h.service.startWorker();
    await h.queue.idle();
    expect(await h.policies.get(p.id)).toMatchObject({ last_backup_status: 'completed', last_backup_at: '2026-03-10T10:00:00.000Z' });
  });

  it('a scheduled backup of an older slot that ends late does not overwrite the newer slot status', async () => {
    const source = new FakeBackupSource();
    // The first backup hangs until its time limit; the second runs normally.
    source.injectFault({ mode: 'hang', afterBytes: 100 });
    const h = await makeHarness({ source, service: { retry: { attempts: 1, backoffMs: [] }, jobTimeoutMs: 600_000 } });
    const p = await h.policies.create(policy({ environment_id: h.env.environment_id, next_backup_at: '2026-03-10T10:00:00.000Z' }));
    const scheduler = new Scheduler({ policies: h.policies, backups: h.service, clock: h.clock, events: h.events });
    h.service.startWorker({ concurrency: 2 });
    await scheduler.tick();
    const [first] = await h.backups.find({});
    await eventually(
      'the first backup to hang',
      async () => (await h.backups.get(first!.id))!.status === 'in_progress' && source.started.dump === 1,
    );
    // The next slot fires while the first backup still runs; its backup completes first.
    await h.policies.update(p.id, { next_backup_at: '2026-03-10T10:05:00.000Z' });
    await h.clock.set('2026-03-10T10:05:00.000Z');
    await scheduler.tick();
    const [newer, older] = await h.backups.find({});
    await backupReaches(h, newer!.id, 'completed');
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('completed');
    // Then the older one times out and fails: the policy keeps the newer slot's status.
    await h.clock.advance(600_000);
    await h.queue.idle();
    expect((await h.backups.get(older!.id))!.status).toBe('failed');
    expect((await h.policies.get(p.id))!.last_backup_status).toBe('completed');
  });
});
