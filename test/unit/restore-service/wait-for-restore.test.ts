import { describe, expect, it } from 'vitest';
import { AbortedError, NotFoundError, PermissionDeniedError, TimeoutError } from '../../../src/index.js';
import { InMemoryJobQueue } from '../../../src/testing/index.js';
import { outcomeAtTimeout } from '../backup-service/harness.js';
import { makeRestoreHarness } from './harness.js';

const user = { id: 'user-1' };

describe('RestoreService.waitForRestore', () => {
  it('resolves with the completed task, its journal inside, once the worker ran it', async () => {
    const h = await makeRestoreHarness();
    const queued = await h.restores.restoreBackup(h.backup.id, { mode: 'new_database', database_name: 'copy_db', as_copy: false }, user);
    const waiting = h.restores.waitForRestore(queued.id, { timeoutMs: 60_000 }, user);
    h.restores.startWorker();
    const task = await waiting;
    expect(task).toMatchObject({ id: queued.id, status: 'completed' });
    expect(task.result?.restore).toMatchObject({ outcome: 'completed' });
  });

  it('resolves (does not throw) with a failed restore', async () => {
    const h = await makeRestoreHarness({ archive: { fail: new Error('bad archive') } });
    const queued = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' }, user);
    h.restores.startWorker();
    const task = await h.restores.waitForRestore(queued.id, {}, user);
    expect(task.status).toBe('failed');
    expect(task.error_message).toContain('bad archive');
  });

  it('throws E_TIMEOUT after timeoutMs of the clock, and E_ABORTED on its signal; the restore goes on', async () => {
    const h = await makeRestoreHarness();
    const queued = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' }, user);
    const outcome = await outcomeAtTimeout(h.clock, 30_000, () => h.restores.waitForRestore(queued.id, { timeoutMs: 30_000 }, user));
    expect(outcome).toBeInstanceOf(TimeoutError);

    const stop = new AbortController();
    const aborted = h.restores.waitForRestore(queued.id, { signal: stop.signal }, user).catch((e: unknown) => e);
    stop.abort();
    expect(await aborted).toBeInstanceOf(AbortedError);
    expect((await h.tasks.get(queued.id))!.status).toBe('queued');
  });

  it('sees a restore another process ran, within completionPollMs of its clock', async () => {
    const h = await makeRestoreHarness({ restore: { completionPollMs: 5000 } });
    // The "other process": a second service over the same records, with its own queue and in-process signals.
    const otherQueue = new InMemoryJobQueue({ clock: h.clock });
    const elsewhere = h.build(otherQueue);
    const queued = await elsewhere.restoreBackup(h.backup.id, { mode: 'new_database', database_name: 'copy_db', as_copy: false }, user);
    let outcome: unknown = 'waiting';
    const waiting = h.restores.waitForRestore(queued.id, {}, user).then((t) => (outcome = t));
    const worker = elsewhere.startWorker();
    await otherQueue.idle();
    await worker.close();
    expect((await h.tasks.get(queued.id))!.status).toBe('completed');
    expect(outcome).toBe('waiting'); // not re-read yet
    await h.clock.advance(5000);
    await waiting;
    expect(outcome).toMatchObject({ id: queued.id, status: 'completed' });
  });

  it('asks project.backups.view and knows only restore tasks', async () => {
    const h = await makeRestoreHarness({ authorize: (r) => r.permission !== 'project.backups.view' });
    const queued = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' }, user);
    await expect(h.restores.waitForRestore(queued.id, {}, user)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(h.restores.waitForRestore(h.backup.task_id!, {}, null)).rejects.toBeInstanceOf(NotFoundError);
  });
});
