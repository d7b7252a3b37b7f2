import { describe, expect, it } from 'vitest';
import {
  ChecksumMismatchError,
  createBackupSdk,
  RestoreService,
  PermissionDeniedError,
  RestoreError,
  ValidationError,
  type RestoreJournal,
  type RestoreProgressEvent,
  type TaskRepository,
} from '../../../src/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
import { fakeRestoreTargetFactory } from '../../../src/testing/index.js';
import { makeRestoreHarness, RESTORED_DUMP, RESTORED_FILES } from './harness.js';

function filesOf(h: { target: { folders: Map<string, Map<string, Buffer>> } }, path: string): Record<string, string> | null {
  const folder = h.target.folders.get(path);
  return folder ? Object.fromEntries([...folder].map(([k, v]) => [k, v.toString()])) : null;
}

describe('RestoreService: new_database', () => {
  it('leaves the environment running: the swap hooks (stop and start Odoo) are for replace only', async () => {
    const order: string[] = [];
    const h = await makeRestoreHarness({
      hooks: { beforeSwap: () => void order.push('beforeSwap'), afterSwap: () => void order.push('afterSwap') },
    });
    expect((await h.run({ mode: 'new_database', as_copy: false, database_name: 'copy_db' })).status).toBe('completed');
    expect(order).toEqual([]);
  });

  it('restores into a new database and a folder beside the filestore; the environment is untouched', async () => {
    const h = await makeRestoreHarness();
    const task = await h.run({ mode: 'new_database', as_copy: false, database_name: 'copy_db' });
    expect(task).toMatchObject({ status: 'completed', task_type: 'restore', backup_id: h.backup.id, environment_id: h.env.environment_id });
    expect(h.target.databases.get('copy_db')!.content.toString()).toBe(RESTORED_DUMP);
    expect(filesOf(h, '/var/lib/odoo/filestore/copy_db')).toEqual(RESTORED_FILES);
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.target.folderHash(h.filestore)).toBe(h.before.folder);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    const journal = journalOf(task)!;
    expect(journal.outcome).toBe('completed');
    expect(journal.done).toEqual([
      'compatibility',
      'verify',
      'restored_to_temp',
      'before_swap',
      'swap_db_in',
      'swap_folder_in',
      'after_swap',
      'cleanup',
    ]);
    // Every step done was written as begun first, restored_to_temp included, and said so in events.
    expect(journal.begun).toEqual(journal.done);
    const states = h.events.ofType('restore.status').filter((e) => e.data.task_id === task.id);
    expect(states.filter((e) => e.data.state === 'begun').map((e) => e.data.step)).toEqual(journal.done);
    expect(journal.names.temp_database).toMatch(/^copy_db__restore_[0-9a-f]{10}$/);
    // The archive went to the temporaries, never straight to the final names.
    expect(h.archive.calls[0]).toMatchObject({ database: journal.names.temp_database, filestoreFolder: journal.names.temp_folder });
    expect(h.archive.calls[0]!.expected).toEqual({
      size: h.backup.compressed_size,
      database_checksum: h.backup.database_checksum,
      filestore_checksum: h.backup.filestore_checksum,
    });
    expect(task.result).toMatchObject({
      database: 'copy_db',
      filestore_path: '/var/lib/odoo/filestore/copy_db',
      pre_restore_backup_id: null,
    });
    // The events are typed: narrowing on `type` gives `step`, `state` and `phase` without a cast.
    const steps: string[] = [];
    const progress: RestoreProgressEvent['data'][] = [];
    for (const e of h.events.events) {
      if (e.type === 'restore.status') steps.push(`${e.data.step}:${e.data.state}`);
      else if (e.type === 'restore.progress') progress.push(e.data);
    }
    expect(steps.slice(0, 3)).toEqual(['compatibility:begun', 'compatibility:done', 'verify:begun']);
    expect(progress[0]).toMatchObject({ task_id: task.id, phase: 'database', bytes_done: 10 });
  });

  it('takes filestore_path inside the root, skips the filestore on request, and refuses names that exist', async () => {
    const h = await makeRestoreHarness();
    await h.run({ mode: 'new_database', as_copy: false, database_name: 'a_copy', filestore_path: '/var/lib/odoo/filestore/elsewhere' });
    expect(filesOf(h, '/var/lib/odoo/filestore/elsewhere')).toEqual(RESTORED_FILES);
    await h.run({ mode: 'new_database', as_copy: false, database_name: 'no_files', include_filestore: false });
    expect(h.target.databases.has('no_files')).toBe(true);
    expect(h.target.folders.has('/var/lib/odoo/filestore/no_files')).toBe(false);

    const written = h.tasks.created.length;
    await expect(
      h.restores.restoreBackup(h.backup.id, { mode: 'new_database', as_copy: false, database_name: 'a_copy' }),
    ).rejects.toMatchObject({
      code: 'E_RESTORE_TARGET_EXISTS',
    });
    await expect(
      h.restores.restoreBackup(h.backup.id, { mode: 'new_database', as_copy: false, database_name: 'x', filestore_path: '/etc/x' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(h.tasks.created.length).toBe(written);
  });
});

describe('RestoreService: replace', () => {
  it('takes a verified pre-restore backup in the job, swaps between the hooks, and drops the previous copies', async () => {
    const order: string[] = [];
    const h = await makeRestoreHarness({
      hooks: {
        beforeSwap: (c) => void order.push(`beforeSwap:${c.database}`),
        afterSwap: (c) => void order.push(`afterSwap:${c.outcome}`),
      },
    });
    const mark = h.target.calls.length;
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('completed');
    expect(h.target.databases.get(h.env.db_name)!.content.toString()).toBe(RESTORED_DUMP);
    expect(h.target.databases.get(h.env.db_name)!.allowConnections).toBe(true);
    expect(filesOf(h, h.filestore)).toEqual(RESTORED_FILES);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    expect(order).toEqual([`beforeSwap:${h.env.db_name}`, 'afterSwap:swapped']);

    const journal = journalOf(task)!;
    const pre = (await h.backups.get(journal.pre_restore_backup_id!))!;
    expect(pre).toMatchObject({ backup_type: 'pre_restore', status: 'completed', is_verified: true, task_id: task.id });
    // The swap, in order: refuse connections, rename aside, rename in, allow; then the folders.
    const swap = h.target.calls
      .slice(mark)
      .filter((c) => ['setAllowConnections', 'renameDatabase', 'renamePath'].includes(c.method))
      .map((c) => `${c.method}(${c.args.filter((a) => typeof a !== 'object').join(',')})`);
    const n = journal.names;
    expect(swap).toEqual([
      `setAllowConnections(${h.env.db_name},false)`,
      `renameDatabase(${h.env.db_name},${n.aside_database})`,
      `renameDatabase(${n.temp_database},${h.env.db_name})`,
      `setAllowConnections(${h.env.db_name},true)`,
      `renamePath(${h.filestore},${n.aside_folder})`,
      `renamePath(${n.temp_folder},${h.filestore})`,
    ]);
  });

  it('keeps the previous database and folder with keep_previous, and skips the pre-restore backup on request', async () => {
    const h = await makeRestoreHarness();
    const task = await h.run({ mode: 'replace', keep_previous: true, pre_restore_backup: false });
    const { names, pre_restore_backup_id } = journalOf(task)!;
    expect(pre_restore_backup_id).toBeNull();
    expect(h.target.databaseHash(names.aside_database)).toBe(h.before.db);
    expect(h.target.folderHash(names.aside_folder!)).toBe(h.before.folder);
    expect((await h.backups.find({ backup_type: 'pre_restore' })).length).toBe(0);
  });

  it('runs the pre-restore backup with no backup worker at all: it never waits on the queue', async () => {
    const h = await makeRestoreHarness();
    // makeRestoreHarness closed its backup worker: a queued backup would never run.
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('completed');
    const pre = await h.backups.find({ backup_type: 'pre_restore' });
    expect(pre.map((b) => b.status)).toEqual(['completed']);
    expect(await h.queue.getJob(pre[0]!.id)).toBeNull();
  });
});

describe('RestoreService: refusals before anything is touched', () => {
  it('validates the request and the permission before writing anything', async () => {
    const h = await makeRestoreHarness({ authorize: (r) => r.permission !== 'project.backups.restore' });
    const written = h.tasks.created.length;
    for (const bad of [
      {},
      { mode: 'new_database' },
      { mode: 'replace', database_name: 'x' },
      { mode: 'new_database', database_name: 'bad name' },
      { mode: 'new_database', database_name: 'x'.repeat(64) },
      { mode: 'new_database', database_name: 'x', filestore_path: '/a/../b' },
      { mode: 'new_database', database_name: 'x', pre_restore_backup: true },
      { mode: 'replace', jobs: 0 },
      { mode: 'replace', extra: 1 },
    ]) {
      // As an untyped (JavaScript) caller sends them: validated at run time.
      await expect(h.restores.restoreBackup(h.backup.id, bad as never), JSON.stringify(bad)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(h.restores.restoreBackup(h.backup.id, { mode: 'replace' }, { id: 'u' })).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(h.tasks.created.length).toBe(written);
  });

  it('refuses a backup that is not completed and a second restore onto the same environment', async () => {
    const h = await makeRestoreHarness();
    await h.backups.update(h.backup.id, { status: 'failed' });
    await expect(h.restores.restoreBackup(h.backup.id, { mode: 'replace' })).rejects.toMatchObject({ code: 'E_RESTORE_NOT_RESTORABLE' });
    await h.backups.update(h.backup.id, { status: 'completed' });
    const first = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' });
    await expect(h.restores.restoreBackup(h.backup.id, { mode: 'new_database', as_copy: false, database_name: 'b' })).rejects.toMatchObject(
      {
        code: 'E_RESTORE_IN_PROGRESS',
        details: { task_id: first.id },
      },
    );
  });

  it.each([2, 10])('of %i requests at once onto one environment (records 20 ms late) exactly one is accepted', async (count) => {
    const h = await makeRestoreHarness();
    // Every repository call waits 20 ms first: a find-then-create would let every request through.
    const late = new Proxy(h.tasks, {
      get: (repo, key) => {
        const value = Reflect.get(repo, key, repo) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return (value as (...a: unknown[]) => unknown).apply(repo, args);
        };
      },
    });
    const service = h.build(h.restoreQueue, { tasks: late });
    const written = h.tasks.created.length;
    const outcomes = await Promise.allSettled(Array.from({ length: count }, () => service.restoreBackup(h.backup.id, { mode: 'replace' })));
    const accepted = outcomes.filter((o) => o.status === 'fulfilled');
    expect(accepted).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'E_RESTORE_IN_PROGRESS' });
    expect(h.tasks.created.length - written).toBe(1);
    expect(h.restoreQueue.jobsInfo()).toHaveLength(1);
  });

  it('refuses restores when the task records cannot claim an environment atomically (no createExclusive)', async () => {
    const h = await makeRestoreHarness();
    const withoutIt: TaskRepository = {
      create: (t) => h.tasks.create(t),
      get: (id) => h.tasks.get(id),
      update: (id, patch, where) => h.tasks.update(id, patch, where),
      find: (filter) => h.tasks.find(filter),
    };
    const written = h.tasks.created.length;
    const service = h.build(h.restoreQueue, { tasks: withoutIt });
    await expect(service.restoreBackup(h.backup.id, { mode: 'replace' })).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    expect(h.tasks.created.length).toBe(written);
  });

  it.each([
    ['an Odoo major version the target does not run', { facts: { odooVersion: '17.0' } }, 'E_RESTORE_INCOMPATIBLE'],
    ['a pg_restore older than the dump', { facts: { pgRestoreVersion: '15.8' } }, 'E_RESTORE_INCOMPATIBLE'],
    ['a role that may not create databases', { facts: { canCreateDatabase: false } }, 'E_RESTORE_PRIVILEGES'],
    ['a role that does not own the database', { facts: { ownsDatabase: false } }, 'E_RESTORE_PRIVILEGES'],
    ['too little free disk', { facts: { filestoreFreeBytes: 10 } }, 'E_RESTORE_DISK_SPACE'],
  ] as const)('refuses %s, leaving the target as it was', async (_name, setup, code) => {
    const h = await makeRestoreHarness();
    Object.assign(h.target.facts, setup.facts);
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('failed');
    expect(journalOf(task)!.error).toMatchObject({ code });
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.target.folderHash(h.filestore)).toBe(h.before.folder);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    expect(h.notifier.sent.map((n) => n.kind)).toEqual(['restore.failed']);
  });

  it('restores across Odoo majors with force', async () => {
    const h = await makeRestoreHarness();
    h.target.facts.odooVersion = '17.0';
    expect((await h.run({ mode: 'replace', force: true })).status).toBe('completed');
  });

  it('a corrupt archive is refused at verification: no pre-restore backup, target untouched, nothing left', async () => {
    const h = await makeRestoreHarness({ archive: { fail: new ChecksumMismatchError('dump.sql', 'aa', 'bb') } });
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('failed');
    expect(task.error_message).toMatch(/target is as it was.*Checksum mismatch/);
    expect(task.result).toMatchObject({
      error: { code: 'E_CHECKSUM_MISMATCH', details: { step: 'verify', rolled_back: true, pre_restore_backup_id: null } },
    });
    expect(await h.backups.find({ backup_type: 'pre_restore' })).toEqual([]);
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.target.folderHash(h.filestore)).toBe(h.before.folder);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    expect((await h.restoreQueue.deadLetters())[0]!.error.code).toBe('E_CHECKSUM_MISMATCH');
  });

  it('a failed pre-restore backup fails the restore with nothing swapped', async () => {
    const h = await makeRestoreHarness();
    h.source.injectFault({ part: 'dump' });
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('failed');
    const journal = journalOf(task)!;
    expect(journal.error).toMatchObject({
      code: 'E_RESTORE_PRE_BACKUP_FAILED',
      details: { pre_restore_backup_id: journal.pre_restore_backup_id },
    });
    expect((await h.backups.get(journal.pre_restore_backup_id!))!.status).toBe('failed');
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
  });
});

/** Every way the swap can fail part-way, as fault injections on the target or hooks. */
const SWAP_FAULTS = [
  ['refusing connections', (h: H) => h.target.failOn('setAllowConnections', { when: (a) => a[1] === false })],
  ['renaming the database aside', (h: H) => h.target.failOn('renameDatabase', { when: (a) => String(a[1]).includes('__previous_') })],
  ['renaming the restored database in', (h: H) => h.target.failOn('renameDatabase', { when: (a) => String(a[0]).includes('__restore_') })],
  ['re-allowing connections', (h: H) => h.target.failOn('setAllowConnections', { when: (a) => a[1] === true })],
  ['moving the folder aside', (h: H) => h.target.failOn('renamePath', { when: (a) => String(a[1]).includes('__previous_') })],
  ['moving the restored folder in', (h: H) => h.target.failOn('renamePath', { when: (a) => String(a[0]).includes('__restore_') })],
] as const;
type H = Awaited<ReturnType<typeof makeRestoreHarness>>;

describe('RestoreService: rollback of every prefix of the swap', () => {
  it.each(SWAP_FAULTS)('a failure %s puts the target back and leaves nothing temporary', async (_name, arm) => {
    const order: string[] = [];
    const h = await makeRestoreHarness({ hooks: { afterSwap: (c) => void order.push(c.outcome) } });
    arm(h);
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('failed');
    const journal = journalOf(task) as RestoreJournal;
    expect(journal.outcome).toBe('rolled_back');
    expect(journal.error).toMatchObject({
      code: 'E_SOURCE',
      details: { rolled_back: true, pre_restore_backup_id: journal.pre_restore_backup_id },
    });
    expect(journal.pre_restore_backup_id).not.toBeNull();
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.target.databases.get(h.env.db_name)!.allowConnections).toBe(true);
    expect(h.target.folderHash(h.filestore)).toBe(h.before.folder);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    expect(order).toEqual(['rolled_back']);
  });

  it('new_database: a name taken meanwhile by someone else makes the rename fail, and rollback leaves their database alone', async () => {
    const box: { h?: H } = {};
    box.h = await makeRestoreHarness({
      hooks: { onStep: (step) => (step === 'swap_db_in' ? box.h!.target.createDatabase('copy_db') : undefined) },
    });
    const h = box.h;
    const task = await h.run({ mode: 'new_database', as_copy: false, database_name: 'copy_db' });
    expect(task.status).toBe('failed');
    expect(h.target.databases.get('copy_db')!.content.toString()).toBe('');
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
  });

  it('a beforeSwap hook that throws fails the restore with nothing swapped', async () => {
    const h = await makeRestoreHarness({ hooks: { beforeSwap: () => Promise.reject(new Error('odoo would not stop')) } });
    const task = await h.run({ mode: 'replace', pre_restore_backup: false });
    expect(task.error_message).toMatch(/odoo would not stop/);
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
  });

  it('when the rollback fails too, the task says so with the journal for a person to finish', async () => {
    const h = await makeRestoreHarness();
    h.target.failOn('renameDatabase', { when: (a) => String(a[0]).includes('__restore_') });
    h.target.failOn('renameDatabase', { when: (a) => String(a[0]).includes('__previous_') });
    const task = await h.run({ mode: 'replace', pre_restore_backup: false });
    expect(journalOf(task)).toMatchObject({ outcome: 'rollback_failed', error: { code: 'E_RESTORE_ROLLBACK_FAILED' } });
  });
});

describe('RestoreService: cancel', () => {
  it('a queued restore ends at once and its job does nothing', async () => {
    const h = await makeRestoreHarness();
    const task = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' });
    const cancelled = await h.restores.cancelRestore(task.id, { id: 'user-1' });
    expect(cancelled).toMatchObject({ status: 'failed', error_message: 'Cancelled by user-1 before it started' });
    const worker = h.restores.startWorker();
    await h.restoreQueue.idle();
    await worker.close();
    expect(h.archive.calls).toEqual([]);
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
  });

  it('a running restore stops, rolls back and fails with E_CANCELLED', async () => {
    const h = await makeRestoreHarness({ archive: { hang: true } });
    const worker = h.restores.startWorker();
    const task = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' });
    await h.restoreQueue.settle();
    while (h.archive.calls.length === 0) await new Promise((r) => setTimeout(r, 1));
    await h.restores.cancelRestore(task.id);
    await h.restoreQueue.idle();
    await worker.close();
    const ended = (await h.tasks.get(task.id))!;
    expect(ended.status).toBe('failed');
    expect(journalOf(ended)!.error).toMatchObject({ code: 'E_CANCELLED' });
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
  });

  it('refuses a task that is not a restore', async () => {
    const h = await makeRestoreHarness();
    await expect(h.restores.cancelRestore(h.backup.task_id!)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect(RestoreError).toBeDefined();
  });
});

describe('createBackupSdk', () => {
  it('builds a RestoreService over the same ports: restores see the backups and ask the same authorize hook', async () => {
    const h = await makeRestoreHarness();
    const asked: string[] = [];
    const sdk = createBackupSdk(
      {
        backups: h.backups,
        tasks: h.tasks,
        storageConfigs: h.storageConfigs,
        policies: h.policies,
        environments: h.environments,
        queue: h.restoreQueue,
        clock: h.clock,
        authorize: (r) => (asked.push(r.permission), r.permission !== 'project.backups.restore'),
      },
      { restore: { targets: fakeRestoreTargetFactory(h.target), restoreArchive: h.archive } },
    );
    expect(sdk.restores).toBeInstanceOf(RestoreService);
    await expect(sdk.restores.restoreBackup(h.backup.id, { mode: 'replace' }, { id: 'u' })).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(asked).toEqual(['project.backups.restore']);
  });
});
