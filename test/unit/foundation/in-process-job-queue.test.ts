// The production in-process queue: the job-queue contract suite, then what it adds (time limits,
// bounded memory, graceful close, log lines).
import { describe, expect, it } from 'vitest';
import { BackupSdkError, InProcessJobQueue, type JobContext, type LogFields, type Logger } from '../../../src/index.js';
import { FakeClock, runJobQueueContract } from '../../../src/testing/index.js';

{
  let clock = new FakeClock();
  await runJobQueueContract(
    'in-process on a FakeClock',
    () => {
      clock = new FakeClock();
      return new InProcessJobQueue({ clock });
    },
    { tick: () => clock.advance(10), now: () => clock.now().getTime(), dispose: (q) => (q as InProcessJobQueue).close() },
  );
}
await runJobQueueContract('in-process on the system clock', () => new InProcessJobQueue(), {
  backoffMs: [20, 40],
  delayMs: 50,
  dispose: (q) => (q as InProcessJobQueue).close(),
});

const transient = (message: string) => new BackupSdkError('E_STORAGE_UNAVAILABLE', message, { transient: true });

class Lines implements Logger {
  readonly lines: string[] = [];
  readonly fields: LogFields[] = [];
  private push = (level: string) => (fields: LogFields, message: string) => {
    this.lines.push(`${level} ${message}`);
    this.fields.push(fields);
  };
  debug = this.push('debug');
  info = this.push('info');
  warn = this.push('warn');
  error = this.push('error');
}

describe('InProcessJobQueue', () => {
  it('retries transient failures after each backoff wait on its clock, then dead-letters the job with its last error', async () => {
    const clock = new FakeClock();
    const logger = new Lines();
    const queue = new InProcessJobQueue({ clock, logger });
    const tries: number[] = [];
    queue.process('job', async (_payload, ctx) => {
      tries.push(ctx.attempt);
      throw transient(`try ${ctx.attempt} failed, password=hunter2`);
    });
    await queue.enqueue('job', {}, { jobId: 'j1', attempts: 3, backoffMs: [1000, 5000] });
    await queue.settle();
    expect(tries).toEqual([1]);
    await clock.advance(999);
    await queue.settle();
    expect(tries).toEqual([1]);
    await clock.advance(1);
    await queue.settle();
    expect(tries).toEqual([1, 2]);
    await clock.advance(5000);
    await queue.idle();
    expect(tries).toEqual([1, 2, 3]);
    expect(await queue.getJob('j1')).toMatchObject({ state: 'failed', attempt: 3 });
    expect(await queue.deadLetters()).toEqual([
      expect.objectContaining({ jobId: 'j1', attempts: 3, error: expect.objectContaining({ code: 'E_STORAGE_UNAVAILABLE' }) }),
    ]);
    expect(logger.lines).toEqual([
      'warn job try failed; it will be retried',
      'warn job try failed; it will be retried',
      'error job failed for good (dead letter)',
    ]);
    expect(JSON.stringify(logger.fields)).not.toContain('hunter2');
    await queue.close();
  });

  it('aborts a try past jobTimeoutMs with E_TIMEOUT (transient: retried), waiting for the handler to stop first', async () => {
    const clock = new FakeClock();
    const queue = new InProcessJobQueue({ clock, jobTimeoutMs: 60_000 });
    const seen: { attempt: number; reason: unknown }[] = [];
    let running = 0;
    let overlap = false;
    queue.process('job', (_payload, ctx: JobContext) => {
      if (running > 0) overlap = true;
      running++;
      if (ctx.attempt === 2) return Promise.resolve('done').finally(() => running--);
      return new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          seen.push({ attempt: ctx.attempt, reason: ctx.signal.reason });
          running--;
          reject(ctx.signal.reason);
        }),
      );
    });
    await queue.enqueue('job', {}, { jobId: 'slow', attempts: 2, backoffMs: [0] });
    await queue.settle();
    await clock.advance(59_999);
    expect(seen).toEqual([]);
    await clock.advance(1);
    await queue.idle();
    expect(seen).toEqual([{ attempt: 1, reason: expect.objectContaining({ code: 'E_TIMEOUT' }) }]);
    expect(await queue.getJob('slow')).toMatchObject({ state: 'completed', attempt: 2 });
    expect(overlap).toBe(false);
  });

  it('keeps at most keepFinished finished jobs and dead letters, so a long-lived process does not grow', async () => {
    const queue = new InProcessJobQueue({ keepFinished: 2 });
    queue.process('ok', async () => 'fine');
    queue.process('bad', async () => {
      throw new Error('no');
    });
    for (const id of ['a', 'b', 'c']) await queue.enqueue('ok', {}, { jobId: id });
    for (const id of ['x', 'y', 'z']) await queue.enqueue('bad', {}, { jobId: id });
    await queue.idle();
    expect(await queue.getJob('a')).toBeNull();
    expect(await queue.getJob('z')).toMatchObject({ state: 'failed' });
    expect((await queue.deadLetters()).map((d) => d.jobId)).toEqual(['y', 'z']);
    expect(queue.jobsInfo().length).toBeLessThanOrEqual(2);
    await queue.close();
  });

  it('close() waits for running jobs; with graceMs it aborts them (E_ABORTED) after that time on its clock', async () => {
    const clock = new FakeClock();
    const queue = new InProcessJobQueue({ clock });
    let reason: unknown = null;
    queue.process(
      'job',
      (_p, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve((reason = ctx.signal.reason)))),
    );
    await queue.enqueue('job', {}, { jobId: 'long' });
    await queue.settle();
    let closed = false;
    const closing = queue.close({ graceMs: 30_000 }).then(() => (closed = true));
    await clock.advance(29_999);
    expect(closed).toBe(false);
    await clock.advance(1);
    await closing;
    expect(reason).toMatchObject({ code: 'E_ABORTED' });
    await expect(queue.enqueue('job', {}, { jobId: 'late' })).rejects.toMatchObject({ code: 'E_QUEUE_CLOSED' });
  });
});
