// Restore requests racing for one environment, on PostgreSQL 15 task records: in one process
// (every query 20 ms late) and in two processes, 2 and 10 requests at once: exactly one is
// accepted, the others get E_RESTORE_IN_PROGRESS, and nothing is written or enqueued for them.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresRepositories, type PostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { fire, raceService, slowClient, type RaceOutcome } from './restore-race-helpers.js';

const WORKER = fileURLToPath(new URL('./restore-race-worker.ts', import.meta.url));
const PREFIX = 'race_';

let server: PgServer;
let pool: pg.Pool;
let repos: PostgresRepositories;

beforeAll(async () => {
  server = await startPostgres();
  await server.createDatabase('records');
  pool = new pg.Pool({ connectionString: server.connectionString('records'), max: 10 });
  repos = createPostgresRepositories({ client: pool, tablePrefix: PREFIX });
  await repos.migrate();
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

/** Every task row of the environment, straight from the table. */
async function taskRows(environmentId: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM ${repos.tables.tasks} WHERE data->>'environment_id' = $1`, [
    environmentId,
  ]);
  return rows.map((r) => r.id);
}

function expectOneWinner(outcomes: RaceOutcome[], count: number, rows: string[]): void {
  const accepted = outcomes.flatMap((o) => o.accepted);
  const refused = outcomes.flatMap((o) => o.refused);
  expect(accepted, 'accepted requests').toHaveLength(1);
  expect(refused).toEqual(Array.from({ length: count - 1 }, () => 'E_RESTORE_IN_PROGRESS'));
  expect(outcomes.flatMap((o) => o.enqueued)).toEqual(accepted);
  expect(rows).toEqual(accepted);
}

describe('one restore per environment, decided atomically', () => {
  it.each([2, 10])('%i requests in one process (PostgreSQL records, every query 20 ms late): one accepted', async (count) => {
    const environmentId = randomUUID();
    const slow = createPostgresRepositories({ client: slowClient(pool, 20), tablePrefix: PREFIX });
    const { service, queue, backup } = await raceService(slow.tasks, environmentId, randomUUID());
    const outcome = await fire(service, queue, backup.id, count);
    await queue.close();
    expectOneWinner([outcome], count, await taskRows(environmentId));
  });

  it('2 and 10 requests split over two processes (PostgreSQL records): one accepted', async () => {
    const workers = await Promise.all([startWorker(), startWorker()]);
    try {
      for (const count of [2, 10]) {
        const environmentId = randomUUID();
        const round = JSON.stringify({ environmentId, backupId: randomUUID(), count: count / 2 });
        const outcomes = await Promise.all(workers.map((w) => w.ask(round)));
        expectOneWinner(outcomes, count, await taskRows(environmentId));
      }
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
    }
  }, 60_000);
});

/** A racer process, once it said `ready`; `ask` sends one round and reads its outcome. */
async function startWorker(): Promise<{ child: ChildProcess; ask(line: string): Promise<RaceOutcome> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, RACE_WORKER: JSON.stringify({ connectionString: server.connectionString('records'), tablePrefix: PREFIX }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Interface = createInterface({ input: child.stdout! });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`race worker exited with ${code}`)));
    });
  expect(await next()).toBe('ready');
  return {
    child,
    ask: async (line) => {
      const answer = next();
      child.stdin!.write(`${line}\n`);
      return JSON.parse(await answer) as RaceOutcome;
    },
  };
}
