import { RestoreError } from '../../errors/restore-error.js';
import type { RestoreTarget } from '../../ports/restore-target.js';
import type { RestoreJournal, RestoreStep } from './restore-journal.js';

/** What the swap reports to the host's hooks. */
export interface RestoreSwapContext {
  task_id: string;
  environment_id: string;
  mode: RestoreJournal['request']['mode'];
  /** The database the restore ends in. */
  database: string;
  /** The folder the filestore ends in, or null. */
  folder: string | null;
  /** The target the restore writes through (for hooks that need its host). */
  target: RestoreTarget;
}

/**
 * The host's hooks around the swap of a `replace` restore (a `new_database` restore takes
 * nothing offline and calls neither). `beforeSwap` runs after every check passed, right before
 * the target's database is taken offline (stop Odoo there); throwing from it fails the restore
 * with nothing swapped. `afterSwap` runs once the swap is over, whether it went through
 * (`outcome: 'swapped'`) or was put back after a failure (`'rolled_back'`): start Odoo there.
 * A failing `afterSwap` is reported as a `warning` event; the restore's outcome stands.
 * `onStep` is called before each journaled step: for logs, metrics, and tests that need to hold
 * the restore at a precise point.
 */
export interface RestoreHooks {
  beforeSwap?(context: RestoreSwapContext): void | Promise<void>;
  afterSwap?(context: RestoreSwapContext & { outcome: 'swapped' | 'rolled_back' }): void | Promise<void>;
  onStep?(step: RestoreStep, context: { task_id: string; journal: Readonly<RestoreJournal> }): void | Promise<void>;
}

/** Runs one journaled step: written as begun, the hook told, the work done, written as done. */
export type StepRunner = (step: RestoreStep, work: () => Promise<void>) => Promise<void>;

/**
 * The swap itself, journaled. `replace`: the target refuses connections (its sessions are
 * terminated), is renamed aside, the restored database takes its name and accepts connections;
 * then the same for the folders. `new_database`: the restored database and folder are renamed
 * into their final names. Cancellation is not checked here: a swap, once begun, is finished or
 * rolled back, never left half-done.
 *
 * Before it sets the target's database or folder aside, each step checks that it is still the
 * one the restore found when it began (see {@link RestoreJournal.identities}): when another
 * restore swapped it meanwhile, the step fails with `E_RESTORE_TARGET_CHANGED` and touches nothing.
 * The temporaries and set-aside copies carry the task's tag in their names, so they are its own.
 */
export async function performSwap(target: RestoreTarget, journal: RestoreJournal, step: StepRunner): Promise<void> {
  const { names, target_database: db, target_folder: folder } = journal;
  const replace = journal.request.mode === 'replace';
  if (replace) {
    await step('swap_db_aside', async () => {
      if (!(await ownDatabase(target, db, journal.identities?.database))) throw targetChanged('database', db);
      await target.setAllowConnections(db, false);
      await target.renameDatabase(db, names.aside_database);
    });
  }
  await step('swap_db_in', async () => {
    await target.renameDatabase(names.temp_database, db);
    await target.setAllowConnections(db, true);
  });
  if (folder === null || names.temp_folder === null) return;
  if (replace && journal.had_folder) {
    await step('swap_folder_aside', async () => {
      if (!(await ownPath(target, folder, journal.identities?.folder))) throw targetChanged('folder', folder);
      await target.renamePath(folder, names.aside_folder!);
    });
  }
  await step('swap_folder_in', () => target.renamePath(names.temp_folder!, folder));
}

/**
 * True when the database named `name` is the one recorded, or when nothing can tell (no record,
 * a target without `databaseIdentity`): then names alone decide, as before identities existed.
 */
async function ownDatabase(target: RestoreTarget, name: string, recorded: string | null | undefined): Promise<boolean> {
  if (!recorded || !target.databaseIdentity) return true;
  return (await target.databaseIdentity(name)) === recorded;
}

/** {@link ownDatabase} for a folder. */
async function ownPath(target: RestoreTarget, path: string, recorded: string | null | undefined): Promise<boolean> {
  if (!recorded || !target.pathIdentity) return true;
  return (await target.pathIdentity(path)) === recorded;
}

function targetChanged(kind: 'database' | 'folder', name: string): RestoreError {
  return new RestoreError(
    'E_RESTORE_TARGET_CHANGED',
    `The ${kind} ${name} is no longer the one this restore found when it began (another restore swapped it meanwhile): this restore leaves it alone`,
    { details: { [kind]: name } },
  );
}

/**
 * Puts the target back as it was before the restore, from the journal and what exists now, so
 * it is right whichever prefix of the swap ran (and whether each step's `done` was written):
 *
 * - the set-aside database exists: the original is there, so what holds the target's name is
 *   the restored copy; it is dropped and the original renamed back;
 * - in `new_database` mode, a database under the new name after `swap_db_in` began is ours;
 * - the same for folders; then the temporaries are dropped and the target accepts connections.
 *
 * Only its own objects: what holds the target's name is dropped only when it is the restored
 * copy this restore made (its recorded identity). When another restore's object stands there,
 * it is left alone, so is this restore's set-aside original (under its tagged name), the
 * temporaries are still dropped, and the rollback fails with `E_RESTORE_TARGET_CHANGED`.
 *
 * Idempotent: running it twice (a crash during rollback, then recovery) changes nothing more.
 */
export async function rollBack(target: RestoreTarget, journal: RestoreJournal): Promise<void> {
  const { names, target_database: db, target_folder: folder } = journal;
  const replace = journal.request.mode === 'replace';
  const swapInBegun = journal.begun.includes('swap_db_in');
  const ids = journal.identities;
  const foreign: string[] = [];

  if (replace) {
    if (await target.databaseExists(names.aside_database)) {
      if (!(await target.databaseExists(db))) await target.renameDatabase(names.aside_database, db);
      else if (await ownDatabase(target, db, ids?.restored_database)) {
        await target.dropDatabase(db);
        await target.renameDatabase(names.aside_database, db);
      } else foreign.push(db);
    }
    // The original may have been left refusing connections by swap_db_aside.
    if (journal.begun.includes('swap_db_aside') && (await target.databaseExists(db)) && (await ownDatabase(target, db, ids?.database)))
      await target.setAllowConnections(db, true);
  } else if (swapInBegun && !(await target.databaseExists(names.temp_database)) && (await target.databaseExists(db))) {
    // The temporary is gone, so the rename into the new name happened: what holds it is our copy
    // unless its identity says another restore's database stands there.
    if (await ownDatabase(target, db, ids?.restored_database)) await target.dropDatabase(db);
    else foreign.push(db);
  }
  await target.dropDatabase(names.temp_database);

  if (folder !== null && names.temp_folder !== null) {
    const folderInBegun = journal.begun.includes('swap_folder_in');
    if (replace && names.aside_folder !== null && (await target.pathExists(names.aside_folder))) {
      if (!(await target.pathExists(folder))) await target.renamePath(names.aside_folder, folder);
      else if (await ownPath(target, folder, ids?.restored_folder)) {
        await target.removePath(folder);
        await target.renamePath(names.aside_folder, folder);
      } else foreign.push(folder);
    } else if (
      folderInBegun &&
      (!replace || journal.had_folder === false) &&
      !(await target.pathExists(names.temp_folder)) &&
      (await target.pathExists(folder))
    ) {
      // No original folder stood there (new_database, or an environment without one yet) and the
      // temporary is gone, so the rename happened: the folder is ours, unless its identity says not.
      if (await ownPath(target, folder, ids?.restored_folder)) await target.removePath(folder);
      else foreign.push(folder);
    }
    await target.removePath(names.temp_folder);
  }
  if (foreign.length > 0) {
    throw new RestoreError(
      'E_RESTORE_TARGET_CHANGED',
      `Another restore's database or folder stands at ${foreign.join(' and ')}: the rollback left it alone, and this restore's set-aside original${replace ? ` (${[names.aside_database, names.aside_folder].filter(Boolean).join(', ')})` : ''} where it is`,
      { details: { foreign, aside_database: replace ? names.aside_database : null, aside_folder: replace ? names.aside_folder : null } },
    );
  }
}

/**
 * After a successful swap: drops the set-aside database and folder unless `keep_previous`. Both
 * carry this task's tag in their names: only this restore made them.
 */
export async function dropPrevious(target: RestoreTarget, journal: RestoreJournal): Promise<void> {
  if (journal.request.mode !== 'replace' || journal.request.keep_previous) return;
  await target.dropDatabase(journal.names.aside_database);
  if (journal.names.aside_folder !== null && journal.had_folder) await target.removePath(journal.names.aside_folder);
}
