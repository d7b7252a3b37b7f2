// The restore's journaled steps live in the domain so that the events port (which names them) and
// the restore service (which runs them) both import them from below.

/**
 * The steps of a restore, in order. Each is written to the task (`begun`) before it runs and
 * again (`done`) after, so whoever reads the task after a crash knows where it stopped.
 * `copy_identity` runs for copies only (`as_copy: true`), `pre_restore_backup` in `replace` mode only.
 */
export const RESTORE_STEPS = [
  'compatibility',
  'verify',
  'restored_to_temp',
  'copy_identity',
  'pre_restore_backup',
  'before_swap',
  'swap_db_aside',
  'swap_db_in',
  'swap_folder_aside',
  'swap_folder_in',
  'after_swap',
  'cleanup',
] as const;
/** One of `RESTORE_STEPS`. */
export type RestoreStep = (typeof RESTORE_STEPS)[number];
