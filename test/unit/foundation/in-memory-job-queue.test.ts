import { describe, expect, it } from 'vitest';
import { BackupSdkError, SourceError, ValidationError } from '../../../src/index.js';
import { FakeClock, InMemoryJobQueue, flushMicrotasks } from '../../../src/testing/index.js';
import type { JobContext } from '../../../src/ports/job-queue.js';

const transient = (message = 'network reset') => new BackupSdkError('E_STORAGE_UNAVAILABLE', message, { transient: true });

/** A handler whose calls the test resolves or rejects one by one. */
function controllable() {
  const calls: { payload: unknown; ctx: JobContext; resolve: (v?: unknown) => void; reject: (e: unknown) => void }[] = [];
  let active = 0;
  let maxActive = 0;
  const handler = (payload: unknown, ctx: JobContext) =>
    new Promise<unknown>((resolve, reject) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const done = () => active--;
      calls.push({
        payload,
        ctx,
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      });
    });
  return {
    handler,
    calls,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

describe('InMemoryJobQueue', () => {
  it('runs at most `concurrency` jobs at once and starts the next as one finishes', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    const h = controllable();
    queue.process('backup', h.handler, { concurrency: 2 });
    for (let i = 0; i < 5; i++) await queue.enqueue('backup', { i }, { jobId: `j${i}` });
    await queue.settle();
    expect(h.calls.map((c) => c.payload)).toEqual([{ i: 0 }, { i: 1 }]);
    expect((await queue.getJob('j0'))?.state).toBe('active');
    expect((await queue.getJob('j2'))?.state).toBe('waiting');
    h.calls[1]!.resolve();
    await queue.settle();
    expect(h.calls.map((c) => c.payload)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect((await queue.getJob('j1'))?.state).toBe('completed');
    for (let round = 0; round < 3; round++) {
      expect(h.active).toBeLessThanOrEqual(2);
      for (const c of h.calls) c.resolve();
      await queue.settle();
    }
    for (const c of h.calls) c.resolve();
    await queue.idle();
    expect(h.maxActive).toBe(2);
    expect(h.calls).toHaveLength(5);
    expect(queue.jobsInfo().map((j) => j.state)).toEqual(Array(5).fill('completed'));
  });

  it('really runs jobs concurrently (a higher limit lets more start together)', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    const h = controllable();
    queue.process('backup', h.handler, { concurrency: 4 });
    for (let i = 0; i < 6; i++) await queue.enqueue('backup', i, { jobId: `c${i}` });
    await queue.settle();
    expect(h.active).toBe(4);
    for (let round = 0; round < 3; round++) {
      for (const c of h.calls) c.resolve();
      await queue.settle();
    }
    await queue.idle();
    expect(h.calls).toHaveLength(6);
    expect(h.maxActive).toBe(4);
  });

  it('retries a transient failure after each backoff wait on the clock, then completes', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    const attempts: { attempt: number; maxAttempts: number; at: string }[] = [];
    queue.process('backup', async (_p, ctx) => {
      attempts.push({ attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, at: clock.now().toISOString() });
      if (ctx.attempt < 3) throw transient();
      return 'ok';
    });
    await queue.enqueue('backup', {}, { jobId: 'r1', attempts: 3, backoffMs: [60_000, 300_000] });
    await queue.settle();
    expect(attempts).toHaveLength(1);
    expect((await queue.getJob('r1'))?.state).toBe('delayed');
    await clock.advance(59_999);
    await queue.settle();
    expect(attempts).toHaveLength(1);
    await clock.advance(1);
    await queue.settle();
    expect(attempts).toHaveLength(2);
    await clock.advance(299_999);
    await queue.settle();
    expect(attempts).toHaveLength(2);
    await clock.advance(1);
    await queue.idle();
    expect(attempts).toEqual([
      { attempt: 1, maxAttempts: 3, at: '2026-01-01T00:00:00.000Z' },
      { attempt: 2, maxAttempts: 3, at: '2026-01-01T00:01:00.000Z' },
      { attempt: 3, maxAttempts: 3, at: '2026-01-01T00:06:00.000Z' },
    ]);
    expect(await queue.getJob('r1')).toMatchObject({ state: 'completed', attempt: 3 });
    expect(await queue.deadLetters()).toEqual([]);
  });

  it('repeats the last backoff value when there are more tries than waits', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    const times: number[] = [];
    queue.process('backup', async () => {
      times.push(clock.now().getTime());
      throw transient();
    });
    await queue.enqueue('backup', {}, { jobId: 'r2', attempts: 4, backoffMs: [1_000] });
    for (let i = 0; i < 3; i++) {
      await queue.settle();
      await clock.advance(1_000);
    }
    await queue.idle();
    const start = Date.parse('2026-01-01T00:00:00.000Z');
    expect(times.map((t) => t - start)).toEqual([0, 1_000, 2_000, 3_000]);
  });

  it('dead-letters after the last try with the last error as JSON', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    let calls = 0;
    queue.process('backup', async () => {
      calls++;
      throw new BackupSdkError('E_STORAGE_UNAVAILABLE', `try ${calls} failed`, { transient: true, details: { try: calls } });
    });
    await queue.enqueue('backup', { backup_id: 'b1' }, { jobId: 'd1', attempts: 2, backoffMs: [10_000] });
    await queue.settle();
    await clock.advance(10_000);
    await queue.idle();
    expect(calls).toBe(2);
    expect(await queue.getJob('d1')).toMatchObject({ state: 'failed', attempt: 2 });
    expect(await queue.deadLetters()).toEqual([
      {
        jobId: 'd1',
        name: 'backup',
        payload: { backup_id: 'b1' },
        attempts: 2,
        error: { code: 'E_STORAGE_UNAVAILABLE', message: 'try 2 failed', details: { try: 2 } },
        failed_at: '2026-01-01T00:00:10.000Z',
      },
    ]);
  });

  it('never retries a non-transient error, whatever attempts says', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    let calls = 0;
    queue.process('backup', async () => {
      calls++;
      throw new SourceError('E_SOURCE_PG_DUMP', 'pg_dump: database "x" does not exist');
    });
    await queue.enqueue('backup', {}, { jobId: 'n1', attempts: 5, backoffMs: [0] });
    await queue.idle();
    expect(calls).toBe(1);
    const [dead] = await queue.deadLetters();
    expect(dead).toMatchObject({ jobId: 'n1', attempts: 1, error: { code: 'E_SOURCE_PG_DUMP' } });
  });

  it('treats plain errors and non-Error throws as permanent', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    queue.process('a', async () => {
      throw new Error('boom');
    });
    queue.process('b', async () => {
      throw 'a string';
    });
    await queue.enqueue('a', null, { jobId: 'p1', attempts: 3 });
    await queue.enqueue('b', null, { jobId: 'p2', attempts: 3 });
    await queue.idle();
    expect((await queue.deadLetters()).map((d) => [d.jobId, d.attempts, d.error.message])).toEqual([
      ['p1', 1, 'boom'],
      ['p2', 1, 'a string'],
    ]);
  });

  it('is idempotent per jobId: a second enqueue returns the first job and runs nothing more', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    const seen: unknown[] = [];
    queue.process('backup', async (p) => void seen.push(p));
    const first = await queue.enqueue('backup', { v: 1 }, { jobId: 'same' });
    const second = await queue.enqueue('backup', { v: 2 }, { jobId: 'same' });
    expect(second.jobId).toBe(first.jobId);
    expect(second.payload).toEqual({ v: 1 });
    await queue.idle();
    const third = await queue.enqueue('backup', { v: 3 }, { jobId: 'same' });
    expect(third).toMatchObject({ state: 'completed', payload: { v: 1 } });
    await queue.idle();
    expect(seen).toEqual([{ v: 1 }]);
  });

  it('holds a delayed job until the clock reaches its time', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    const ran: string[] = [];
    queue.process('backup', async () => void ran.push(clock.now().toISOString()));
    const job = await queue.enqueue('backup', {}, { jobId: 'later', delayMs: 5_000 });
    expect(job.state).toBe('delayed');
    await queue.settle();
    await clock.advance(4_999);
    await queue.settle();
    expect(ran).toEqual([]);
    expect((await queue.getJob('later'))?.state).toBe('delayed');
    await clock.advance(1);
    await queue.idle();
    expect(ran).toEqual(['2026-01-01T00:00:05.000Z']);
  });

  it('waits for a worker: jobs enqueued before process() run once one starts', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    await queue.enqueue('backup', 1, { jobId: 'early' });
    await flushMicrotasks();
    expect((await queue.getJob('early'))?.state).toBe('waiting');
    let ran = false;
    queue.process('backup', async () => void (ran = true));
    await queue.idle();
    expect(ran).toBe(true);
  });

  it('routes jobs by name and gives handlers a JSON copy of the payload', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    const got: unknown[] = [];
    queue.process('backup', async (p) => void got.push(['backup', p]));
    queue.process('restore', async (p) => void got.push(['restore', p]));
    const payload = { when: new Date('2026-02-03T04:05:06Z'), list: [1] };
    await queue.enqueue('restore', payload, { jobId: 'x1' });
    payload.list.push(2);
    await queue.idle();
    expect(got).toEqual([['restore', { when: '2026-02-03T04:05:06.000Z', list: [1] }]]);
  });

  it('idle() waits for active, waiting and delayed jobs', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    const h = controllable();
    queue.process('backup', h.handler);
    await queue.enqueue('backup', 1, { jobId: 'i1' });
    await queue.enqueue('backup', 2, { jobId: 'i2', delayMs: 1_000 });
    let idle = false;
    void queue.idle().then(() => (idle = true));
    await queue.settle();
    expect(idle).toBe(false);
    h.calls[0]!.resolve();
    await queue.settle();
    expect(idle).toBe(false);
    await clock.advance(1_000);
    await queue.settle();
    expect(idle).toBe(false);
    h.calls[1]!.resolve();
    await flushMicrotasks();
    expect(idle).toBe(true);
  });

  it('close() waits for running jobs, leaves delayed ones unrun and refuses new work', async () => {
    const clock = new FakeClock();
    const queue = new InMemoryJobQueue({ clock });
    const h = controllable();
    queue.process('backup', h.handler);
    await queue.enqueue('backup', 1, { jobId: 'k1' });
    await queue.enqueue('backup', 2, { jobId: 'k2', delayMs: 1_000 });
    await queue.settle();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await flushMicrotasks();
    expect(closed).toBe(false);
    expect(h.calls[0]!.ctx.signal.aborted).toBe(false);
    h.calls[0]!.resolve();
    await closing;
    expect((await queue.getJob('k1'))?.state).toBe('completed');
    await clock.advance(5_000);
    expect(h.calls).toHaveLength(1);
    expect((await queue.getJob('k2'))?.state).toBe('delayed');
    await expect(queue.enqueue('backup', 3, { jobId: 'k3' })).rejects.toMatchObject({ code: 'E_QUEUE_CLOSED' });
  });

  it('a worker handle closes on its own: it takes no new job and waits for its running one', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    const h = controllable();
    const worker = queue.process('backup', h.handler);
    await queue.enqueue('backup', 1, { jobId: 'w1' });
    await queue.enqueue('backup', 2, { jobId: 'w2' });
    await queue.settle();
    const closing = worker.close();
    h.calls[0]!.resolve();
    await closing;
    await flushMicrotasks();
    expect(h.calls).toHaveLength(1);
    expect((await queue.getJob('w2'))?.state).toBe('waiting');
  });

  it('cancel() aborts a running job without retrying it, and fails a waiting one', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    const seen: string[] = [];
    queue.process('backup', (_p, ctx) => {
      seen.push(ctx.jobId);
      return new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { transient: true }))),
      );
    });
    await queue.enqueue('backup', 1, { jobId: 'x1', attempts: 3 });
    await queue.enqueue('backup', 2, { jobId: 'x2', attempts: 3 });
    await queue.settle();
    expect(queue.cancel('x1')).toBe(true);
    await queue.settle();
    expect(queue.cancel('x2')).toBe(true);
    await queue.settle();
    expect(queue.cancel('nope')).toBe(false);
    expect((await queue.deadLetters()).map((d) => d.jobId).sort()).toEqual(['x1', 'x2']);
    expect((await queue.getJob('x1'))?.attempt).toBe(1);
    await queue.idle();
  });

  it('reports unknown jobs as null and validation-free errors with their code', async () => {
    const queue = new InMemoryJobQueue({ clock: new FakeClock() });
    expect(await queue.getJob('missing')).toBeNull();
    queue.process('v', async () => {
      throw new ValidationError([{ field: 'cron_expression', message: 'bad' }]);
    });
    await queue.enqueue('v', null, { jobId: 'v1', attempts: 2 });
    await queue.idle();
    expect((await queue.deadLetters())[0]?.error).toMatchObject({
      code: 'E_VALIDATION',
      details: { issues: [{ field: 'cron_expression', message: 'bad' }] },
    });
  });
});
