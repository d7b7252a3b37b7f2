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
 */
export async function performSwap(target: RestoreTarget, journal: RestoreJournal, step: StepRunner): Promise<void> {
  const { names, target_database: db, target_folder: folder } = journal;
  const replace = journal.request.mode === 'replace';
  if (replace) {
    await step('swap_db_aside', async () => {
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
    await step('swap_folder_aside', () => target.renamePath(folder, names.aside_folder!));
  }
  await step('swap_folder_in', () => target.renamePath(names.temp_folder!, folder));
}

/**
 * Puts the target back as it was before the restore, from the journal and what exists now, so
 * it is right whichever prefix of the swap ran (and whether each step's `done` was written):
 *
 * - the set-aside database exists: the original is there, so whatever holds the target's name
 *   is the restored copy; it is dropped and the original renamed back;
 * - in `new_database` mode, a database under the new name after `swap_db_in` began is ours;
 * - the same for folders; then the temporaries are dropped and the target accepts connections.
 *
 * Idempotent: running it twice (a crash during rollback, then recovery) changes nothing more.
 */
export async function rollBack(target: RestoreTarget, journal: RestoreJournal): Promise<void> {
  const { names, target_database: db, target_folder: folder } = journal;
  const replace = journal.request.mode === 'replace';
  const swapInBegun = journal.begun.includes('swap_db_in');

  if (replace) {
    if (await target.databaseExists(names.aside_database)) {
      if (await target.databaseExists(db)) await target.dropDatabase(db);
      await target.renameDatabase(names.aside_database, db);
    }
    // The original may have been left refusing connections by swap_db_aside.
    if (journal.begun.includes('swap_db_aside') && (await target.databaseExists(db))) await target.setAllowConnections(db, true);
  } else if (swapInBegun && !(await target.databaseExists(names.temp_database)) && (await target.databaseExists(db))) {
    // The temporary is gone, so the rename into the new name happened: what holds it is our copy
    // (the name was free when the restore started, and one restore at a time runs per environment).
    await target.dropDatabase(db);
  }
  await target.dropDatabase(names.temp_database);

  if (folder !== null && names.temp_folder !== null) {
    const folderInBegun = journal.begun.includes('swap_folder_in');
    if (replace && names.aside_folder !== null && (await target.pathExists(names.aside_folder))) {
      if (await target.pathExists(folder)) await target.removePath(folder);
      await target.renamePath(names.aside_folder, folder);
    } else if (
      folderInBegun &&
      (!replace || journal.had_folder === false) &&
      !(await target.pathExists(names.temp_folder)) &&
      (await target.pathExists(folder))
    ) {
      // No original folder stood there (new_database, or an environment without one yet) and the
      // temporary is gone, so the rename happened: the folder is ours.
      await target.removePath(folder);
    }
    await target.removePath(names.temp_folder);
  }
}

/** After a successful swap: drops the set-aside database and folder unless `keep_previous`. */
export async function dropPrevious(target: RestoreTarget, journal: RestoreJournal): Promise<void> {
  if (journal.request.mode !== 'replace' || journal.request.keep_previous) return;
  await target.dropDatabase(journal.names.aside_database);
  if (journal.names.aside_folder !== null && journal.had_folder) await target.removePath(journal.names.aside_folder);
}
