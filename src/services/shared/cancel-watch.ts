import { CancelledError } from '../../errors/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { BackupRepository } from '../../ports/repositories.js';
import type { TaskCompletionHub } from './task-completion.js';

/** What {@link watchForCancel} reads and listens to. */
export interface CancelWatchDeps {
  backups: BackupRepository;
  clock: Clock;
  /** Announced by `cancelBackup` in this process: the watch re-reads at once. */
  cancellations?: TaskCompletionHub;
  /** Re-read interval on the clock (default 2000 ms). */
  cancelCheckMs?: number;
}

/** A running job's view of its backup's cancel flag. */
export interface CancelWatch {
  /** Aborts when the backup's `cancel_requested_at` is set (reason: a `CancelledError`) or when `outer` aborts. */
  readonly signal: AbortSignal;
  /** The `CancelledError`, once a cancel was seen. */
  readonly error: CancelledError | null;
  /** Stops watching (no sleep left on the clock). */
  dispose(): void;
}

/**
 * Watches a backup's `cancel_requested_at` while its job runs, through the repository only, so a
 * cancel works whatever the queue: re-read every `cancelCheckMs` of the clock, and at once when
 * this process announces a cancel. The returned signal also follows `outer` (the queue's signal).
 */
export function watchForCancel(deps: CancelWatchDeps, backupId: string, outer: AbortSignal): CancelWatch {
  const controller = new AbortController();
  const stop = new AbortController();
  let error: CancelledError | null = null;
  const onOuterAbort = () => controller.abort(outer.reason);
  if (outer.aborted) controller.abort(outer.reason);
  else outer.addEventListener('abort', onOuterAbort, { once: true });
  const requested = async () => {
    try {
      return ((await deps.backups.get(backupId))?.cancel_requested_at ?? null) !== null;
    } catch {
      return false; // a repository hiccup is no cancel: look again at the next check
    }
  };
  const hub = deps.cancellations;
  const checks = hub
    ? hub.waitFor(backupId, requested, deps.clock, deps.cancelCheckMs ?? 2000, stop.signal)
    : pollUntil(requested, deps.clock, deps.cancelCheckMs ?? 2000, stop.signal);
  checks.then(
    () => {
      error = cancelledError(backupId);
      controller.abort(error);
    },
    () => undefined, // disposed: the job ended first
  );
  return {
    signal: controller.signal,
    get error() {
      return error;
    },
    dispose() {
      stop.abort();
      outer.removeEventListener('abort', onOuterAbort);
    },
  };
}

async function pollUntil(done: () => Promise<boolean>, clock: Clock, everyMs: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw signal.reason;
    if (await done()) return;
    await clock.sleep(everyMs, signal);
  }
}

/** The `error_message` of a cancelled backup and its task. */
export const CANCELLED_MESSAGE = 'Backup cancelled on request';

/** The error a cancelled backup records (`E_CANCELLED`). */
export function cancelledError(backupId: string): CancelledError {
  return new CancelledError(`Backup ${backupId}`, { details: { backup_id: backupId } });
}
