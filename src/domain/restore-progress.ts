// In the domain so that the events port can carry it without importing the pipeline.

/** Where a restore is: checking the archive, filling the database, filling the filestore folder. */
export interface RestoreProgress {
  phase: 'verify' | 'database' | 'filestore';
  /** Bytes of the archive's part read so far in this phase. */
  bytes_done: number;
  /** Bytes of that part (`dump.sql` or `filestore.tar.gz`); 0 in `verify`. */
  bytes_total: number;
}
