import type { Backup } from '../../domain/entities.js';
import type { BackupStatus } from '../../domain/enums.js';
import { Permission } from '../../domain/permissions.js';
import { NotFoundError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import { loadAuthorized, type BackupServiceContext } from './backup-service-context.js';
import { waitUntilSettled } from '../shared/wait-until-settled.js';

/** Options of `BackupService.waitForBackup`. */
export interface WaitForBackupOptions {
  /** Stop waiting (the backup goes on) when this aborts: rejects with `AbortedError` (`E_ABORTED`). */
  signal?: AbortSignal;
  /**
   * Give up after this long on the service's clock: rejects with `TimeoutError` (`E_TIMEOUT`); the
   * backup goes on. Default: every try at its full time limit plus the retry waits, plus a minute.
   */
  timeoutMs?: number;
}

/** Statuses a backup does not leave by itself: the end of a wait. */
const SETTLED: ReadonlySet<BackupStatus> = new Set(['completed', 'failed', 'deleted', 'expired']);

/** The default wait: long enough for every try of the job at its full time limit, and the retry waits. */
export function longestJobMs(ctx: BackupServiceContext): number {
  return ctx.jobTimeoutMs * ctx.retry.attempts + ctx.retry.backoffMs.reduce((a, b) => a + b, 0) + 60_000;
}

/**
 * `BackupService.waitForBackup`: resolves with the record once the backup is settled —
 * `completed` or `failed` (a failure resolves: read `status` and `error_details`), or `deleted` /
 * `expired`. Wakes on this process's status changes and re-reads the repository every
 * `completionPollMs` of the clock, so it sees workers in other processes too.
 */
export async function waitForBackup(
  ctx: BackupServiceContext,
  backupId: string,
  options: WaitForBackupOptions,
  actor: Actor | null,
): Promise<Backup> {
  const timeoutMs = options.timeoutMs ?? longestJobMs(ctx);
  let backup = await loadAuthorized(ctx, backupId, Permission.BACKUPS_VIEW, actor);
  await waitUntilSettled({
    hub: ctx.backupChanges,
    id: backupId,
    isSettled: async () => {
      const current = await ctx.backups.get(backupId);
      if (!current) throw new NotFoundError('backup', backupId);
      backup = current;
      return SETTLED.has(current.status);
    },
    clock: ctx.clock,
    pollMs: ctx.pollMs,
    timeoutMs,
    signal: options.signal,
    operation: `Waiting for backup ${backupId}`,
  });
  return backup;
}
