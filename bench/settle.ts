import { spawnSync } from 'node:child_process';

/**
 * The same starting state for every timed step: the previous step's dirty pages written back
 * (`sync`), then a second for the disk to go quiet. Writeback of gigabytes left by one step slowed
 * the next one by seconds.
 */
export async function settle(): Promise<void> {
  spawnSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
