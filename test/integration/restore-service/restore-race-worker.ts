/**
 * One process of the two-process restore race. It prints `ready` once connected to the
 * PostgreSQL task records the parent names; then, for every line `{ environmentId, backupId,
 * count }` on stdin (the parent writes it to both processes at once), fires `count` restore
 * requests for that environment at once and prints a {@link RaceOutcome} line.
 *
 * Run as: node --import tsx restore-race-worker.ts with RACE_WORKER = JSON of `{ connectionString, tablePrefix }`.
 */
import { createInterface } from 'node:readline';
import pg from 'pg';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { fire, raceService } from './restore-race-helpers.js';

const config = JSON.parse(process.env.RACE_WORKER ?? '{}') as { connectionString: string; tablePrefix: string };
const pool = new pg.Pool({ connectionString: config.connectionString, max: 10 });
const repos = createPostgresRepositories({ client: pool, tablePrefix: config.tablePrefix });
await Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT 1'))); // connect before the start line, not after it
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const round = JSON.parse(line) as { environmentId: string; backupId: string; count: number };
  const { service, queue } = await raceService(repos.tasks, round.environmentId, round.backupId);
  const outcome = await fire(service, queue, round.backupId, round.count);
  await queue.close();
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}
await pool.end();
