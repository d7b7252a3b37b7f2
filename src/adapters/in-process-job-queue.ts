import { AbortedError, ConflictError, TimeoutError } from '../errors/errors.js';
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import type { DeadLetter, JobHandler, JobInfo, JobOptions, JobQueue, JobState, Worker } from '../ports/job-queue.js';
import { nullLogger, type Logger } from '../ports/logger.js';
import { scrubSecrets } from '../logging/log-lines.js';

/** Options of {@link InProcessJobQueue}. */
export interface InProcessJobQueueOptions {
  /** Time source for delays, retry backoff and timeouts (default: the system clock). Pass a `FakeClock` to drive them without waiting. */
  clock?: Clock;
  /**
   * Time limit of one try, in ms of the clock (default: none). When it passes, the try's `signal`
   * aborts with a `TimeoutError` (`E_TIMEOUT`, transient: retried per the job's backoff); the
   * queue waits for the handler to settle, so a job never runs twice at once (handlers must
   * honour their signal).
   */
  jobTimeoutMs?: number;
  /**
   * Finished jobs (completed or dead) remembered for `getJob` and `enqueue`'s idempotency, and dead
   * letters kept, oldest dropped first (default 1000), so a long-running process does not grow.
   */
  keepFinished?: number;
  /** Where dead letters and failed tries are logged (default: nowhere). */
  logger?: Logger;
}

/** Options of {@link InProcessJobQueue.close}. */
export interface InProcessJobQueueCloseOptions {
  /**
   * How long running jobs may take to finish, in ms of the clock, before their `signal` aborts
   * with an `AbortedError` (`E_ABORTED`: the host's own shutdown). Default: they are waited for.
   */
  graceMs?: number;
}

interface StoredJob {
  jobId: string;
  name: string;
  payload: unknown;
  state: JobState;
  /** Tries started so far. */
  attempt: number;
  maxAttempts: number;
  backoffMs: readonly number[];
  /** Aborts the running try (see {@link InProcessJobQueue.cancel}). */
  controller: AbortController | null;
  /** Set when the job was cancelled: it is not retried. */
  cancelled: boolean;
}

interface WorkerState {
  name: string;
  handler: JobHandler;
  concurrency: number;
  running: Set<Promise<void>>;
  closed: boolean;
}

/** The last error of a job as JSON (`code`, `message`, `details`), as dead letters keep it. */
function jobErrorJson(error: unknown): DeadLetter['error'] {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown; details?: unknown };
    return {
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      message: typeof e.message === 'string' ? e.message : String(error),
      ...(e.details && typeof e.details === 'object' ? { details: serialize(e.details) as Record<string, unknown> } : {}),
    };
  }
  return { message: String(error) };
}

/** Payloads travel as JSON, as on a real queue, so a payload that would not survive Redis fails here too. */
function serialize(payload: unknown): unknown {
  return payload === undefined ? undefined : JSON.parse(JSON.stringify(payload));
}

/**
 * A production {@link JobQueue} inside one process, for hosts with a single Node process (no
 * Redis): jobs live in memory, so jobs not finished when the process stops are lost (the backup
 * service's `recoverStale` repairs their records at the next start). It behaves like the BullMQ
 * adapter and passes the same contract suite: handlers run concurrently up to each worker's `concurrency`; a job is tried
 * up to `attempts` times, waiting `backoffMs` on the clock between tries, and only when the thrown
 * error has `transient === true`; a job that failed for good is a dead letter. `jobId` makes
 * `enqueue` idempotent and `delayMs` holds a job back on the clock.
 *
 * With a `FakeClock`, delays and retries happen when the test advances time:
 * ```ts
 * const clock = new FakeClock();
 * const queue = new InProcessJobQueue({ clock });
 * queue.process('backup', handler);
 * await queue.enqueue('backup', { id }, { jobId: id, attempts: 3, backoffMs: [60_000] });
 * await queue.settle();           // first try ran and failed transiently; retry waits on the clock
 * await clock.advance(60_000);
 * await queue.idle();             // second try done
 * ```
 * Payloads are copied through JSON on enqueue, like a real queue would store them.
 */
export class InProcessJobQueue implements JobQueue {
  private readonly clock: Clock;
  private readonly jobs = new Map<string, StoredJob>();
  /** Ready jobs per job name, in the order they became ready. */
  private readonly ready = new Map<string, StoredJob[]>();
  private readonly workers: WorkerState[] = [];
  private readonly dead: DeadLetter[] = [];
  /** Aborts the clock sleeps of delayed jobs when the queue closes. */
  private readonly lifetime = new AbortController();
  private readonly watchers = new Set<() => void>();
  private closed = false;
  private pumpScheduled = false;
  private readonly jobTimeoutMs: number | undefined;
  private readonly keepFinished: number;
  private readonly logger: Logger;
  /** Finished job ids, oldest first, for the `keepFinished` bound. */
  private readonly finished: string[] = [];

  constructor(options: InProcessJobQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.jobTimeoutMs = options.jobTimeoutMs;
    this.keepFinished = Math.max(0, options.keepFinished ?? 1000);
    this.logger = options.logger ?? nullLogger;
  }

  /** Adds a job; an existing `jobId` is a no-op that returns the existing job. */
  async enqueue(name: string, payload: unknown, options: JobOptions): Promise<JobInfo> {
    if (this.closed)
      throw new ConflictError(
        `The job queue is closed: cannot enqueue ${name} job ${options.jobId}`,
        { details: { job_id: options.jobId } },
        'E_QUEUE_CLOSED',
      );
    const existing = this.jobs.get(options.jobId);
    if (existing) return info(existing);
    const job: StoredJob = {
      jobId: options.jobId,
      name,
      payload: serialize(payload),
      state: 'waiting',
      attempt: 0,
      maxAttempts: Math.max(1, Math.floor(options.attempts ?? 1)),
      backoffMs: [...(options.backoffMs ?? [])],
      controller: null,
      cancelled: false,
    };
    this.jobs.set(job.jobId, job);
    const delay = options.delayMs ?? 0;
    if (delay > 0) this.delay(job, delay);
    else this.makeReady(job);
    return info(job);
  }

  /** Starts a worker running `name` jobs, at most `concurrency` (default 1) at once. */
  process(name: string, handler: JobHandler, options: { concurrency?: number } = {}): Worker {
    if (this.closed) throw new ConflictError(`The job queue is closed: cannot process ${name} jobs`, {}, 'E_QUEUE_CLOSED');
    const worker: WorkerState = {
      name,
      handler,
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 1)),
      running: new Set(),
      closed: false,
    };
    this.workers.push(worker);
    this.schedulePump();
    return {
      close: async () => {
        worker.closed = true;
        const i = this.workers.indexOf(worker);
        if (i >= 0) this.workers.splice(i, 1);
        await Promise.allSettled([...worker.running]);
        this.notify();
      },
    };
  }

  async getJob(jobId: string, name?: string): Promise<JobInfo | null> {
    const job = this.jobs.get(jobId);
    return job && (name === undefined || job.name === name) ? info(job) : null;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return structuredClone(this.dead);
  }

  /** Every job the queue knows, in enqueue order (for assertions). */
  jobsInfo(): JobInfo[] {
    return [...this.jobs.values()].map(info);
  }

  /**
   * Cancels a job: a running try sees its `signal` abort (and is not retried, whatever it throws);
   * a waiting or delayed job fails at once. Returns false for an unknown or finished job.
   */
  cancel(jobId: string, reason: unknown = new Error('Job cancelled')): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.state === 'completed' || job.state === 'failed') return false;
    job.cancelled = true;
    if (job.state === 'active') {
      job.controller?.abort(reason);
      return true;
    }
    const list = this.ready.get(job.name);
    if (list)
      this.ready.set(
        job.name,
        list.filter((j) => j !== job),
      );
    this.fail(job, reason);
    return true;
  }

  /**
   * Resolves when no job is waiting, active or delayed. A delayed job (first run or retry backoff)
   * only becomes due when the clock passes its time, so with a `FakeClock` advance it first; a
   * waiting job with no worker for its name keeps this pending.
   */
  idle(): Promise<void> {
    return this.waitFor(() => [...this.jobs.values()].every((j) => j.state === 'completed' || j.state === 'failed'));
  }

  /**
   * Resolves when the queue has started every job it can: no waiting job has a worker with a free
   * slot. Running handlers are not waited for (they may wait on the test itself); delayed jobs
   * wait on the clock. Use it between `FakeClock` advances to let retries and delayed jobs start.
   */
  settle(): Promise<void> {
    return this.waitFor(() => {
      for (const worker of this.workers) {
        if (worker.running.size < worker.concurrency && (this.ready.get(worker.name)?.length ?? 0) > 0) return false;
      }
      return true;
    });
  }

  /**
   * Stops every worker and waits for running jobs to finish. Delayed jobs stay delayed and never
   * run; `enqueue` and `process` throw afterwards.
   */
  async close(options: InProcessJobQueueCloseOptions = {}): Promise<void> {
    this.closed = true;
    this.lifetime.abort(new Error('The job queue is closed'));
    const running = this.workers.flatMap((w) => [...w.running]);
    for (const w of this.workers) w.closed = true;
    this.workers.length = 0;
    const grace = new AbortController();
    if (options.graceMs !== undefined) {
      this.clock.sleep(options.graceMs, grace.signal).then(
        () => {
          for (const job of this.jobs.values()) {
            if (job.state === 'active') job.controller?.abort(new AbortedError(`Job ${job.jobId}`, new Error('the job queue is closing')));
          }
        },
        () => undefined, // everything finished within the grace time
      );
    }
    await Promise.allSettled(running);
    grace.abort();
    this.notify();
  }

  private waitFor(done: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      // Checked after a macrotask turn so a pump scheduled by the caller's last step runs first.
      const check = () => {
        if (this.pumpScheduled) return;
        if (done()) {
          this.watchers.delete(check);
          resolve();
        }
      };
      this.watchers.add(check);
      setImmediate(check);
    });
  }

  private notify(): void {
    setImmediate(() => {
      for (const w of [...this.watchers]) w();
    });
  }

  private delay(job: StoredJob, ms: number): void {
    job.state = 'delayed';
    this.clock.sleep(ms, this.lifetime.signal).then(
      () => {
        if (job.state === 'delayed') this.makeReady(job);
      },
      () => {
        // Queue closed: the job stays delayed.
      },
    );
  }

  private makeReady(job: StoredJob): void {
    job.state = 'waiting';
    let list = this.ready.get(job.name);
    if (!list) this.ready.set(job.name, (list = []));
    list.push(job);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    for (const worker of this.workers) {
      const list = this.ready.get(worker.name);
      while (!worker.closed && list && list.length > 0 && worker.running.size < worker.concurrency) {
        const job = list.shift()!;
        const run = this.run(worker, job);
        worker.running.add(run);
        void run.finally(() => {
          worker.running.delete(run);
          this.schedulePump();
        });
      }
    }
    this.notify();
  }

  private async run(worker: WorkerState, job: StoredJob): Promise<void> {
    job.state = 'active';
    job.attempt += 1;
    const controller = new AbortController();
    job.controller = controller;
    const timer = new AbortController();
    let timedOut: TimeoutError | null = null;
    if (this.jobTimeoutMs !== undefined) {
      const limit = this.jobTimeoutMs;
      this.clock.sleep(limit, timer.signal).then(
        () => {
          timedOut = new TimeoutError(`Job ${job.jobId} (${job.name}, try ${job.attempt})`, limit);
          controller.abort(timedOut);
        },
        () => undefined, // the try ended first
      );
    }
    try {
      await Promise.resolve().then(() =>
        worker.handler(structuredClone(job.payload), {
          jobId: job.jobId,
          attempt: job.attempt,
          maxAttempts: job.maxAttempts,
          signal: controller.signal,
        }),
      );
      timer.abort();
      job.controller = null;
      if (timedOut) throw timedOut; // finished, but past its time limit: the try failed
      job.state = 'completed';
      this.remember(job);
    } catch (thrown) {
      timer.abort();
      job.controller = null;
      const error: unknown = timedOut ?? thrown;
      const transient = (error as { transient?: unknown } | null)?.transient === true;
      if (transient && !job.cancelled && job.attempt < job.maxAttempts) {
        this.logger.warn(
          { job_id: job.jobId, job_name: job.name, attempt: job.attempt, max_attempts: job.maxAttempts, ...errorFields(error) },
          'job try failed; it will be retried',
        );
        const waits = job.backoffMs;
        const wait = waits.length === 0 ? 0 : (waits[Math.min(job.attempt - 1, waits.length - 1)] ?? 0);
        if (wait > 0) this.delay(job, wait);
        else this.makeReady(job);
      } else {
        this.fail(job, error);
      }
    }
  }

  private fail(job: StoredJob, error: unknown): void {
    job.state = 'failed';
    this.logger.error(
      { job_id: job.jobId, job_name: job.name, attempts: job.attempt, ...errorFields(error) },
      'job failed for good (dead letter)',
    );
    this.remember(job);
    this.dead.push({
      jobId: job.jobId,
      name: job.name,
      payload: structuredClone(job.payload),
      attempts: job.attempt,
      error: jobErrorJson(error),
      failed_at: this.clock.now().toISOString(),
    });
    if (this.dead.length > this.keepFinished) this.dead.splice(0, this.dead.length - this.keepFinished);
    this.notify();
  }

  /** Counts a finished job against `keepFinished`, forgetting the oldest finished ones beyond it. */
  private remember(job: StoredJob): void {
    this.finished.push(job.jobId);
    while (this.finished.length > this.keepFinished) {
      const id = this.finished.shift()!;
      const old = this.jobs.get(id);
      if (old && (old.state === 'completed' || old.state === 'failed')) this.jobs.delete(id);
    }
  }
}

/** A failure's code and message for a log line (queue errors are SDK errors or the handler's own). */
function errorFields(error: unknown): Record<string, unknown> {
  const e = error as { code?: unknown; message?: unknown } | null;
  return {
    code: typeof e?.code === 'string' ? e.code : 'E_UNEXPECTED',
    error: scrubSecrets(typeof e?.message === 'string' ? e.message : String(error)),
  };
}

function info(job: StoredJob): JobInfo {
  return {
    jobId: job.jobId,
    name: job.name,
    state: job.state,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    payload: structuredClone(job.payload),
  };
}
