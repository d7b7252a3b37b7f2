import { describe, expect, it } from 'vitest';
import { type RestoreStep } from '../../../src/index.js';
import { journalOf, RESTORE_STEPS } from '../../../src/services/restore/restore-journal.js';
import { derivedDatabaseName, restoreNames } from '../../../src/domain/restore-names.js';
import { InMemoryJobQueue, InMemoryTaskRepository } from '../../../src/testing/index.js';
import { makeRestoreHarness, RESTORED_DUMP } from './harness.js';

/**
 * A worker "dies" holding at a point of the restore (a hook or a target call that never
 * returns); the host restarts with a new, empty queue and runs recovery.
 */
type HeldCall = 'renameDatabase' | 'renamePath' | 'setAllowConnections';
async function dieAt(hold: { step?: RestoreStep; call?: HeldCall; when?: (args: unknown[]) => boolean }) {
  let reached!: () => void;
  const held = new Promise<void>((r) => (reached = r));
  const h = await makeRestoreHarness({
    hooks: {
      onStep: async (step) => {
        if (step !== hold.step) return;
        reached();
        await new Promise(() => undefined); // never returns: the worker is as good as dead
      },
    },
  });
  if (hold.call) {
    h.target.failOn(hold.call, { mode: 'hang', when: hold.when! });
    const original = h.target.calls.push.bind(h.target.calls);
    h.target.calls.push = (...items) => {
      const n = original(...items);
      if (items.some((c) => c.method === hold.call && hold.when!(c.args))) reached();
      return n;
    };
  }
  const worker = h.restores.startWorker();
  // copy_identity runs for copies only.
  const task = await h.restores.restoreBackup(h.backup.id, { mode: 'replace', as_copy: hold.step === 'copy_identity' });
  await held;
  void worker; // never closed: it is the dead process's
  expect((await h.tasks.get(task.id))!.status).toBe('running');
  const afterSwaps: string[] = [];
  const restarted = h.build(new InMemoryJobQueue({ clock: h.clock }), { hooks: { afterSwap: (c) => void afterSwaps.push(c.outcome) } });
  const report = await restarted.recoverStale();
  return { h, task: (await h.tasks.get(task.id))!, report, afterSwaps };
}

describe('restore recovery after a worker died', () => {
  // Every step but the two that are never held on their own (restored_to_temp follows verify at once; cleanup is past the point of no return).
  it.each(RESTORE_STEPS.filter((s) => s !== 'restored_to_temp' && s !== 'cleanup'))(
    'dead at %s: the target is as before and nothing temporary remains',
    async (step) => {
      const { h, task, report } = await dieAt({ step });
      expect(report).toEqual({
        recovered: [{ task_id: task.id, previous_status: 'running', job_state: 'missing', outcome: 'rolled_back' }],
        errors: [],
      });
      expect(task.status).toBe('failed');
      expect(journalOf(task)).toMatchObject({ outcome: 'rolled_back', error: { code: 'E_WORKER_LOST' } });
      expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
      expect(h.target.databases.get(h.env.db_name)!.allowConnections).toBe(true);
      expect(h.target.folderHash(h.filestore)).toBe(h.before.folder);
      expect(h.leftovers()).toEqual({ databases: [], folders: [] });
      // A pre-restore backup the dead worker left running ends failed, not stuck.
      for (const b of await h.backups.find({ backup_type: 'pre_restore' })) expect(['completed', 'failed']).toContain(b.status);
    },
  );

  const has = (part: string) => (args: unknown[]) => args.some((x) => typeof x === 'string' && x.includes(part));
  it.each([
    ['between refusing connections and renaming aside', 'renameDatabase', has('__previous_')],
    ['between the two database renames', 'renameDatabase', has('__restore_')],
    ['before re-allowing connections to the restored database', 'setAllowConnections', (a: unknown[]) => a[1] === true],
    ['between the two folder renames', 'renamePath', has('__restore_')],
  ] as const)('dead %s: rolled back', async (_name, call, when) => {
    const { h, report, afterSwaps } = await dieAt({ call, when });
    expect(report.recovered[0]!.outcome).toBe('rolled_back');
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.target.databases.get(h.env.db_name)!.allowConnections).toBe(true);
    expect(h.target.folderHash(h.filestore)).toBe(h.before.folder);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    // Odoo was stopped by beforeSwap: recovery lets the host start it again.
    expect(afterSwaps).toEqual(['rolled_back']);
  });

  it('dead during cleanup: the restore had happened, so recovery finishes it', async () => {
    const { h, task, report } = await dieAt({ step: 'cleanup' });
    expect(report.recovered[0]!.outcome).toBe('completed');
    expect(task.status).toBe('completed');
    expect(h.target.databases.get(h.env.db_name)!.content.toString()).toBe(RESTORED_DUMP);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
  });

  it('leaves restores whose job is alive alone, and ends queued ones whose job is lost after the grace period', async () => {
    const h = await makeRestoreHarness();
    const task = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' });
    expect(await h.restores.recoverStale()).toEqual({ recovered: [], errors: [] });
    const restarted = h.build(new InMemoryJobQueue({ clock: h.clock }));
    expect(await restarted.recoverStale()).toEqual({ recovered: [], errors: [] }); // within the grace period
    await h.clock.advance(6 * 60_000);
    expect((await restarted.recoverStale()).recovered).toEqual([
      { task_id: task.id, previous_status: 'queued', job_state: 'missing', outcome: 'failed' },
    ]);
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
  });

  it('says clearly when the task repository cannot list tasks', async () => {
    const h = await makeRestoreHarness();
    const bare = new InMemoryTaskRepository();
    Object.defineProperty(bare, 'find', { value: undefined });
    const service = h.build(h.restoreQueue, { tasks: bare });
    await expect(service.recoverStale()).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });
});

describe('temporary names', () => {
  it('derive from the task id, fit in 63 bytes, and sit beside the final folder', () => {
    const long = 'd'.repeat(63);
    const names = restoreNames('task-1', long, '/srv/filestore/prod');
    expect(Buffer.byteLength(names.temp_database)).toBeLessThanOrEqual(63);
    expect(names.temp_database).toMatch(/^d+__restore_[0-9a-f]{10}$/);
    expect(names.aside_database).toMatch(/^d+__previous_[0-9a-f]{10}$/);
    expect(restoreNames('task-1', long, null)).toMatchObject({ temp_database: names.temp_database, temp_folder: null });
    expect(restoreNames('task-2', long, null).temp_database).not.toBe(names.temp_database);
    expect(names.temp_folder).toMatch(/^\/srv\/filestore\/prod__restore_[0-9a-f]{10}$/);
    // Multi-byte names are cut on a character boundary.
    expect(Buffer.byteLength(derivedDatabaseName('é'.repeat(40), '__x'))).toBeLessThanOrEqual(63);
    expect(derivedDatabaseName('é'.repeat(40), '__x')).toMatch(/^é+__x$/);
  });
});
