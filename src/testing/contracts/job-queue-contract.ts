import assert from 'node:assert/strict';
import { BackupSdkError } from '../../errors/backup-sdk-error.js';
import type { JobContext, JobHandler, JobQueue, Worker } from '../../ports/job-queue.js';
import { uniqueSuffix } from './assertions.js';
import { registerChecks, type ContractCheck } from './contract-check.js';

/** How the job queue contract drives and observes the queue under test. */
export interface JobQueueContractOptions {
  /** Retry waits the checks ask for (default `[50, 100]` ms). Keep them small on a real-time queue. */
  backoffMs?: readonly [number, number];
  /** Delay of the delayed-job check (default 200 ms). */
  delayMs?: number;
  /**
   * Lets time pass while a check waits for the queue. Default: 5 ms of real time. A queue on a
   * `FakeClock` passes `() => clock.advance(10)`.
   */
  tick?: () => Promise<void>;
  /** The queue's clock in ms, to measure delays and backoff (default `Date.now`). */
  now?: () => number;
  /** Releases a queue after each check (closes connections). Workers the check started are already closed. */
  dispose?: (queue: JobQueue) => Promise<void>;
  /** Real time a check waits for an outcome before failing (default 15 s). */
  timeoutMs?: number;
  /**
   * Allowed early start of a retry or delayed job, in ms of the queue's clock, for queues whose
   * server clock rounds (default 2).
   */
  toleranceMs?: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An error the queue must retry. */
function transientError(message: string): BackupSdkError {
  return new BackupSdkError('E_STORAGE_UNAVAILABLE', message, { transient: true, details: { hint: 'retry' } });
}

/**
 * The {@link JobQueue} contract as named checks: payload and context, idempotent job ids, the
 * concurrency limit (honoured and really reached), retries of transient errors only, after the
 * backoff waits, dead letters with the last error, delays, job names kept apart, and workers that
 * finish their running job when closed. Works on real-time queues (BullMQ) and on queues driven by
 * a `FakeClock` (through `tick`).
 */
export function jobQueueChecks(factory: () => JobQueue | Promise<JobQueue>, options: JobQueueContractOptions = {}): ContractCheck[] {
  const [backoff1, backoff2] = options.backoffMs ?? [50, 100];
  const delayMs = options.delayMs ?? 200;
  const tick = options.tick ?? (() => realSleep(5));
  const now = options.now ?? (() => Date.now());
  const timeoutMs = options.timeoutMs ?? 15_000;
  const tolerance = options.toleranceMs ?? 2;

  /** Waits (ticking) until `condition` holds. */
  const waitFor = async (what: string, condition: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await condition()) return;
      if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await tick();
    }
  };
  /** Lets the queue run for a few ticks (to see that something does NOT happen). */
  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) await tick();
  };

  type Env = {
    queue: JobQueue;
    name: string;
    state: (jobId: string) => Promise<string | undefined>;
    process: (handler: JobHandler, concurrency?: number, name?: string) => Worker;
  };
  const check = (name: string, fn: (env: Env) => Promise<void>): ContractCheck => ({
    name,
    run: async () => {
      const queue = await factory();
      const workers: Worker[] = [];
      const env: Env = {
        queue,
        name: `contract_${uniqueSuffix()}`,
        state: async (jobId) => (await queue.getJob(jobId))?.state,
        process: (handler, concurrency = 1, jobName = env.name) => {
          const w = queue.process(jobName, handler, { concurrency });
          workers.push(w);
          return w;
        },
      };
      try {
        await fn(env);
      } finally {
        await Promise.all(workers.map((w) => w.close()));
        await options.dispose?.(queue);
      }
    },
  });
  const completed = (env: Env, jobId: string) => waitFor(`job ${jobId} to complete`, async () => (await env.state(jobId)) === 'completed');
  const failed = (env: Env, jobId: string) => waitFor(`job ${jobId} to fail`, async () => (await env.state(jobId)) === 'failed');

  return [
    check('runs a job once with its payload, job id and attempt numbers', async (env) => {
      const calls: { payload: unknown; ctx: Omit<JobContext, 'signal'>; aborted: boolean }[] = [];
      env.process(async (payload, ctx) => {
        calls.push({ payload, ctx: { jobId: ctx.jobId, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts }, aborted: ctx.signal.aborted });
        return { ok: true };
      });
      const payload = { backup_id: 'b-1', nested: { list: [1, 'two', null], flag: true } };
      const jobId = `${env.name}-one`;
      const info = await env.queue.enqueue(env.name, payload, { jobId, attempts: 2 });
      assert.equal(info.jobId, jobId);
      assert.equal(info.name, env.name);
      assert.deepEqual(info.payload, payload);
      assert.equal(info.maxAttempts, 2);
      await completed(env, jobId);
      assert.deepEqual(calls, [{ payload, ctx: { jobId, attempt: 1, maxAttempts: 2 }, aborted: false }]);
      assert.deepEqual(await env.queue.getJob(jobId), { jobId, name: env.name, state: 'completed', attempt: 1, maxAttempts: 2, payload });
    }),
    check('getJob of an unknown id is null', async (env) => {
      assert.equal(await env.queue.getJob(`${env.name}-missing`), null);
    }),
    check('getJob with a name finds the job under its own name only', async (env) => {
      const jobId = `${env.name}-named`;
      await env.queue.enqueue(env.name, { v: 1 }, { jobId, delayMs: 60_000 });
      assert.equal((await env.queue.getJob(jobId, env.name))?.name, env.name);
      assert.equal(await env.queue.getJob(jobId, `${env.name}-other`), null, 'a job of another name must not answer for this one');
    }),
    check('enqueue is idempotent per jobId: the first job stands and runs once', async (env) => {
      const jobId = `${env.name}-same`;
      const first = await env.queue.enqueue(env.name, { v: 1 }, { jobId });
      const second = await env.queue.enqueue(env.name, { v: 2 }, { jobId });
      assert.equal(second.jobId, first.jobId);
      assert.deepEqual(second.payload, { v: 1 }, 'a repeated enqueue returns the existing job');
      const seen: unknown[] = [];
      env.process(async (payload) => void seen.push(payload));
      await completed(env, jobId);
      const third = await env.queue.enqueue(env.name, { v: 3 }, { jobId });
      assert.deepEqual(third.payload, { v: 1 });
      await ticks(10);
      assert.deepEqual(seen, [{ v: 1 }]);
    }),
    check('accepts any job id string (colons, digits only, unicode) and hands it back unchanged', async (env) => {
      const seen: string[] = [];
      env.process(async (_payload, ctx) => void seen.push(ctx.jobId));
      const ids = [`backup:${env.name}:x:y`, String(Date.now()), `${env.name} é/ü`, `sdk64-${env.name}`];
      for (const jobId of ids) assert.equal((await env.queue.enqueue(env.name, { jobId }, { jobId })).jobId, jobId);
      for (const jobId of ids) await completed(env, jobId);
      assert.deepEqual([...seen].sort(), [...ids].sort());
      for (const jobId of ids) assert.equal((await env.queue.getJob(jobId))?.jobId, jobId);
      assert.equal((await env.queue.enqueue(env.name, {}, { jobId: ids[0]! })).state, 'completed', 'the same id again is the same job');
    }),
    check('runs at most `concurrency` jobs at once, and really runs that many together', async (env) => {
      let active = 0;
      let maxActive = 0;
      let release: () => void = () => {};
      let gate = new Promise<void>((r) => (release = r));
      env.process(async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        if (active >= 2) {
          release();
          gate = new Promise<void>((r) => (release = r));
        } else {
          // Waits for a second job to start alongside (bounded, so a serial queue fails instead of hanging).
          await Promise.race([gate, realSleep(2_000)]);
        }
        await realSleep(5);
        active--;
      }, 2);
      const ids = Array.from({ length: 6 }, (_, i) => `${env.name}-c${i}`);
      for (const jobId of ids) await env.queue.enqueue(env.name, {}, { jobId });
      for (const jobId of ids) await completed(env, jobId);
      assert.equal(maxActive, 2, `expected exactly 2 jobs at once at the peak, saw ${maxActive}`);
    }),
    check('retries a transient failure after each backoff wait, then completes', async (env) => {
      const tries: { attempt: number; maxAttempts: number; at: number }[] = [];
      env.process(async (_payload, ctx) => {
        tries.push({ attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, at: now() });
        if (ctx.attempt < 3) throw transientError(`try ${ctx.attempt}`);
        return 'done';
      });
      const jobId = `${env.name}-retry`;
      await env.queue.enqueue(env.name, {}, { jobId, attempts: 3, backoffMs: [backoff1, backoff2] });
      await completed(env, jobId);
      assert.deepEqual(
        tries.map((t) => [t.attempt, t.maxAttempts]),
        [
          [1, 3],
          [2, 3],
          [3, 3],
        ],
      );
      const gap1 = tries[1]!.at - tries[0]!.at;
      const gap2 = tries[2]!.at - tries[1]!.at;
      assert.ok(gap1 >= backoff1 - tolerance, `try 2 started ${gap1} ms after try 1; the backoff is ${backoff1} ms`);
      assert.ok(gap2 >= backoff2 - tolerance, `try 3 started ${gap2} ms after try 2; the backoff is ${backoff2} ms`);
      assert.equal((await env.queue.getJob(jobId))?.attempt, 3);
      assert.equal(
        (await env.queue.deadLetters()).some((d) => d.jobId === jobId),
        false,
      );
    }),
    check('does not retry a non-transient error: one try, then a dead letter with the error', async (env) => {
      let calls = 0;
      env.process(async (payload) => {
        calls++;
        if ((payload as { kind: string }).kind === 'sdk')
          throw new BackupSdkError('E_SOURCE_PG_DUMP', 'pg_dump: database "x" does not exist', { details: { exit_code: 1 } });
        throw new Error('plain failure');
      });
      const sdkJob = `${env.name}-perm-sdk`;
      const plainJob = `${env.name}-perm-plain`;
      await env.queue.enqueue(env.name, { kind: 'sdk' }, { jobId: sdkJob, attempts: 3, backoffMs: [0] });
      await failed(env, sdkJob);
      await env.queue.enqueue(env.name, { kind: 'plain' }, { jobId: plainJob, attempts: 3, backoffMs: [0] });
      await failed(env, plainJob);
      await ticks(10);
      assert.equal(calls, 2, `expected one try per job, saw ${calls} tries for 2 jobs`);
      const dead = (await env.queue.deadLetters()).filter((d) => d.jobId.startsWith(env.name));
      assert.deepEqual(
        dead.map((d) => d.jobId),
        [sdkJob, plainJob],
        'dead letters, oldest first',
      );
      assert.deepEqual(
        { ...dead[0], failed_at: undefined },
        {
          jobId: sdkJob,
          name: env.name,
          payload: { kind: 'sdk' },
          attempts: 1,
          error: { code: 'E_SOURCE_PG_DUMP', message: 'pg_dump: database "x" does not exist', details: { exit_code: 1 } },
          failed_at: undefined,
        },
      );
      assert.ok(!Number.isNaN(Date.parse(dead[0]!.failed_at)), 'failed_at is an ISO timestamp');
      assert.equal(dead[1]!.error.message, 'plain failure');
      assert.equal(dead[1]!.attempts, 1);
    }),
    check('dead-letters a job after its last try, with the last error', async (env) => {
      let calls = 0;
      env.process(async (_payload, ctx) => {
        calls++;
        throw transientError(`try ${ctx.attempt} of ${ctx.maxAttempts}`);
      });
      const jobId = `${env.name}-exhaust`;
      await env.queue.enqueue(env.name, { n: 1 }, { jobId, attempts: 2, backoffMs: [backoff1] });
      await failed(env, jobId);
      await ticks(10);
      assert.equal(calls, 2);
      const dead = (await env.queue.deadLetters()).find((d) => d.jobId === jobId);
      assert.ok(dead, 'the job is a dead letter');
      assert.deepEqual(
        [dead.attempts, dead.error.code, dead.error.message, dead.payload],
        [2, 'E_STORAGE_UNAVAILABLE', 'try 2 of 2', { n: 1 }],
      );
      assert.equal((await env.queue.getJob(jobId))?.attempt, 2);
    }),
    check('holds a delayed job back for delayMs', async (env) => {
      let startedAt: number | null = null;
      env.process(async () => void (startedAt = now()));
      const jobId = `${env.name}-delayed`;
      const enqueuedAt = now();
      const info = await env.queue.enqueue(env.name, {}, { jobId, delayMs });
      assert.equal(info.state, 'delayed');
      await completed(env, jobId);
      assert.ok(startedAt !== null);
      const waited = startedAt - enqueuedAt;
      assert.ok(waited >= delayMs - tolerance, `the job ran ${waited} ms after enqueue; its delay is ${delayMs} ms`);
    }),
    check('runs jobs enqueued before any worker started, and keeps job names apart', async (env) => {
      const other = `${env.name}_other`;
      await env.queue.enqueue(env.name, { to: 'a' }, { jobId: `${env.name}-a` });
      await env.queue.enqueue(other, { to: 'b' }, { jobId: `${env.name}-b` });
      await ticks(5);
      assert.equal(await env.state(`${env.name}-a`), 'waiting');
      const seenA: unknown[] = [];
      const seenB: unknown[] = [];
      env.process(async (p) => void seenA.push(p));
      env.process(async (p) => void seenB.push(p), 1, other);
      await completed(env, `${env.name}-a`);
      await completed(env, `${env.name}-b`);
      assert.deepEqual([seenA, seenB], [[{ to: 'a' }], [{ to: 'b' }]]);
    }),
    check('closing a worker waits for its running job to finish', async (env) => {
      let started = false;
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      const worker = env.process(async () => {
        started = true;
        await gate;
      });
      const jobId = `${env.name}-closing`;
      await env.queue.enqueue(env.name, {}, { jobId });
      await waitFor('the job to start', () => started);
      let closed = false;
      const closing = worker.close().then(() => (closed = true));
      await ticks(10);
      assert.equal(closed, false, 'close() returned while a job was still running');
      release();
      await closing;
      assert.equal(await env.state(jobId), 'completed');
    }),
  ];
}

/** Registers the {@link JobQueue} contract with vitest: `runJobQueueContract('bullmq', () => queue, { dispose })`. */
export function runJobQueueContract(
  name: string,
  factory: () => JobQueue | Promise<JobQueue>,
  options: JobQueueContractOptions = {},
): Promise<void> {
  return registerChecks(`JobQueue contract: ${name}`, jobQueueChecks(factory, options));
}
