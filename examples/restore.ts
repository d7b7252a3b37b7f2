// A replace-mode restore, wired: a backup put back over its environment's own database and filestore,
// Odoo stopped around the swap, the caller waiting for the outcome. Type-checked with the project
// (`npm run typecheck`), not run (it needs your ports and your Odoo). See docs/restore.md.
// In your app the import is 'odoo-backup-sdk' ('../src/index.js' is the SDK's source in its repository).
import { createBackupSdk, type BackupSdkPorts, type Task } from '../src/index.js';

/** The host's own way to stop and start an environment's Odoo (systemd, docker, an orchestrator...). */
export interface OdooControl {
  stop(environmentId: string): Promise<void>;
  start(environmentId: string): Promise<void>;
}

/** Builds the SDK with the swap hooks, starts this process's restore worker, recovers stale restores. */
export async function wireRestores(ports: BackupSdkPorts, odoo: OdooControl) {
  const sdk = createBackupSdk(ports, {
    restore: {
      hooks: {
        // After every check and the pre-restore backup; throwing here fails the restore, nothing swapped.
        beforeSwap: ({ environment_id }) => odoo.stop(environment_id),
        // Swapped or rolled back (also after crash recovery): Odoo comes back either way.
        afterSwap: ({ environment_id }) => odoo.start(environment_id),
      },
    },
  });
  sdk.restores.startWorker(); // in each worker process
  await sdk.restores.recoverStale(); // at start-up (and every few minutes): finishes or rolls back a dead worker's restore

  /** Restores `backupId` over its environment; resolves with the task once it ended (`completed` or `failed`). */
  async function restoreOver(backupId: string, user: { id: string }): Promise<Task> {
    const queued = await sdk.restores.restoreBackup(backupId, { mode: 'replace' }, user);
    // Sees a worker of any process (re-reads the task every 2 s); a UI follows `restore.status` /
    // `restore.progress` / `task.status` events instead. A failure resolves: task.result.error has the code.
    return sdk.restores.waitForRestore(queued.id, { timeoutMs: 6 * 3_600_000 }, user);
  }
  return { sdk, restoreOver };
}
