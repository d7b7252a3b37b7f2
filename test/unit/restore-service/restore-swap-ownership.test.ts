// The swap acts only on objects that are its own: the target's database or folder is set aside
// only while it is the one the restore found, and a rollback never drops or renames what another
// restore put at the target's names.
import { describe, expect, it } from 'vitest';
import { restoreNames } from '../../../src/domain/restore-names.js';
import type { RestoreJournal, RestoreStep } from '../../../src/services/restore/restore-journal.js';
import { performSwap, rollBack } from '../../../src/services/restore/restore-swap.js';
import { FakeRestoreTarget } from '../../../src/testing/index.js';

const FOLDER = '/filestore/odoo';

/** A replace restore of `odoo` whose temporaries are filled, with the identities it recorded on `target`. */
async function prepared(taskId: string, target: FakeRestoreTarget): Promise<RestoreJournal> {
  const names = restoreNames(taskId, 'odoo', FOLDER);
  target.databases.set(names.temp_database, { content: Buffer.from(`restored by ${taskId}`), allowConnections: true, connections: 0 });
  target.folders.set(names.temp_folder!, new Map([['f', Buffer.from(taskId)]]));
  return {
    request: { mode: 'replace', keep_previous: false } as RestoreJournal['request'],
    backup_id: 'b',
    target_environment_id: 'e',
    target_database: 'odoo',
    target_folder: FOLDER,
    names,
    had_folder: true,
    identities: {
      database: await target.databaseIdentity('odoo'),
      folder: await target.pathIdentity(FOLDER),
      restored_database: await target.databaseIdentity(names.temp_database),
      restored_folder: await target.pathIdentity(names.temp_folder!),
    },
    pre_restore_backup_id: null,
    begun: ['restored_to_temp'],
    done: ['restored_to_temp'],
    cancel_requested: false,
    outcome: null,
    error: null,
  };
}

const stepper =
  (journal: RestoreJournal) =>
  async (step: RestoreStep, work: () => Promise<void>): Promise<void> => {
    journal.begun.push(step);
    await work();
    journal.done.push(step);
  };

const state = (t: FakeRestoreTarget) => ({
  databases: Object.fromEntries([...t.databases].map(([n, d]) => [n, d.content.toString()])),
  folders: Object.fromEntries([...t.folders].map(([p, f]) => [p, [...f.values()].join()])),
});

describe('swap steps check the objects are their own', () => {
  it('a swap whose target database was swapped by another restore meanwhile sets nothing aside (E_RESTORE_TARGET_CHANGED)', async () => {
    const target = new FakeRestoreTarget({ databases: { odoo: 'original' }, folders: { [FOLDER]: { f: 'original' } } });
    const a = await prepared('task-a', target);
    const b = await prepared('task-b', target);
    await performSwap(target, a, stepper(a));
    const afterA = state(target);
    await expect(performSwap(target, b, stepper(b))).rejects.toMatchObject({ code: 'E_RESTORE_TARGET_CHANGED' });
    expect(state(target)).toEqual(afterA);
    // B's rollback drops only its temporaries: A's swapped-in copy stays, A's aside original too.
    await rollBack(target, b);
    expect(state(target).databases).toEqual({ odoo: 'restored by task-a', [a.names.aside_database]: 'original' });
  });

  it("a rollback that finds another restore's database and folder at the target's names leaves them, and its own original, alone", async () => {
    const target = new FakeRestoreTarget({ databases: { odoo: 'original' }, folders: { [FOLDER]: { f: 'original' } } });
    const a = await prepared('task-a', target);
    await performSwap(target, a, stepper(a));
    // Another restore (B) then replaces what stands there, as if A's worker had died.
    const b = await prepared('task-b', target);
    await performSwap(target, b, stepper(b));
    const afterB = state(target);
    await expect(rollBack(target, a)).rejects.toMatchObject({
      code: 'E_RESTORE_TARGET_CHANGED',
      details: { foreign: ['odoo', FOLDER], aside_database: a.names.aside_database },
    });
    expect(state(target)).toEqual(afterB);
    expect(state(target).databases.odoo).toBe('restored by task-b');
  });

  it('without identities (an older journal, or a target that cannot tell) names decide, as before', async () => {
    const target = new FakeRestoreTarget({ databases: { odoo: 'original' }, folders: { [FOLDER]: { f: 'original' } } });
    const a = await prepared('task-a', target);
    delete a.identities;
    await performSwap(target, a, stepper(a));
    await rollBack(target, a);
    expect(state(target)).toEqual({ databases: { odoo: 'original' }, folders: { [FOLDER]: 'original' } });
  });
});
