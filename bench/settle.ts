import { spawnSync } from 'node:child_process';

/**
 * The same starting state for every timed step: PostgreSQL's dirty buffers written out
 * (`CHECKPOINT`, when the step's server is given), the previous step's dirty pages written back
 * (`sync`), then a second for the disk to go quiet. Writeback of gigabytes left by one step slowed
 * the next one by seconds; the checkpoint keeps one that a previous restore triggered from
 * running on into the next step.
 */
export async function settle(pg?: { query(db: string, sql: string): Promise<unknown> }): Promise<void> {
  if (pg) await pg.query('postgres', 'CHECKPOINT');
  spawnSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
