// examples/postgres-job-queue.ts, a JobQueue a host could write itself, passes the SDK's job queue
// contract on a real PostgreSQL: each check gets a table of its own.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresJobQueue } from '../../../examples/postgres-job-queue.js';
import { runJobQueueContract } from '../../../src/testing/index.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';

let server: PgServer;
let pool: pg.Pool;
beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.connectionString('postgres'), max: 20 });
});
afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

let n = 0;
await runJobQueueContract(
  'PostgresJobQueue (examples/postgres-job-queue.ts)',
  async () => {
    const queue = new PostgresJobQueue({ pool, table: `jobs_${++n}`, pollMs: 10 });
    await queue.migrate();
    return queue;
  },
  { tick: () => new Promise((resolve) => setTimeout(resolve, 10)) },
);

describe('PostgresJobQueue leases (examples/postgres-job-queue.ts)', () => {
  const waitUntil = async (condition: () => Promise<boolean>) => {
    for (let i = 0; i < 1000 && !(await condition()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it('a job left active by a worker that died is tried again; on its last try it becomes a dead letter E_WORKER_LOST', async () => {
    const table = `jobs_lease_${++n}`;
    const queue = new PostgresJobQueue({ pool, table, pollMs: 10 });
    await queue.migrate();
    await queue.enqueue('backup', { n: 1 }, { jobId: 'again', attempts: 2 });
    await queue.enqueue('backup', { n: 2 }, { jobId: 'last', attempts: 1 });
    // What a process that died during try 1 leaves: the row active, its lease run out.
    await pool.query(`UPDATE ${table} SET state = 'active', attempt = 1, locked_until = clock_timestamp() - interval '1 second'`);
    const tries: [string, number][] = [];
    const worker = queue.process('backup', async (_payload, ctx) => void tries.push([ctx.jobId, ctx.attempt]));
    await waitUntil(async () => (await queue.getJob('again'))?.state === 'completed' && (await queue.getJob('last'))?.state === 'failed');
    await worker.close();
    expect(tries).toEqual([['again', 2]]);
    expect(await queue.deadLetters()).toMatchObject([{ jobId: 'last', attempts: 1, error: { code: 'E_WORKER_LOST' } }]);
  });

  it('a running job keeps its lease: a worker of another process does not take it', async () => {
    const table = `jobs_lease_${++n}`;
    const first = new PostgresJobQueue({ pool, table, pollMs: 10, leaseMs: 150 });
    const second = new PostgresJobQueue({ pool, table, pollMs: 10, leaseMs: 150 });
    await first.migrate();
    let calls = 0;
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const a = first.process('backup', async () => {
      calls++;
      await slow;
    });
    await first.enqueue('backup', {}, { jobId: 'long', attempts: 3 }); // a taken-over job would run again
    await waitUntil(async () => calls === 1);
    const b = second.process('backup', async () => void calls++);
    await new Promise((resolve) => setTimeout(resolve, 600)); // four leases long, renewed every 50 ms
    release();
    await waitUntil(async () => (await first.getJob('long'))?.state === 'completed');
    await Promise.all([a.close(), b.close()]);
    expect(calls).toBe(1);
    expect(await first.getJob('long')).toMatchObject({ state: 'completed', attempt: 1 });
  });
});
