import { Queue, UnrecoverableError, Worker as BullWorker, type ConnectionOptions, type Job } from 'bullmq';
import type { DeadLetter, JobHandler, JobInfo, JobOptions, JobQueue, JobState, Worker } from '../../ports/job-queue.js';

/** Options of {@link BullMqJobQueue}. */
export interface BullMqJobQueueOptions {
  /** Redis connection (an ioredis instance or its options), as BullMQ takes it. */
  connection: ConnectionOptions;
  /** Prefix of the BullMQ queue names; each job name gets its own queue `${prefix}.${name}` (default `odoo-backup-sdk`). */
  prefix?: string;
  /**
   * Job names this instance should know for {@link BullMqJobQueue.getJob} without a name and
   * {@link BullMqJobQueue.deadLetters} before it has enqueued or processed any (default
   * `['backup', 'restore', 'backup_copy']`, the SDK's own). `getJob` with a name always looks in that name's queue.
   */
  jobNames?: readonly string[];
  /**
   * How long a worker's lock on a running job lasts before BullMQ may call the job stalled, in ms
   * (BullMQ's `lockDuration`, default 30000). A worker that dies (SIGKILL, lost host) stops
   * renewing it; once it lapses, the job is delivered again to another worker.
   */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs, in ms (BullMQ's `stalledInterval`, default 30000). */
  stalledIntervalMs?: number;
}

/** The SDK's own job names (backups, restores, second copies), known to every instance from the start. */
const DEFAULT_JOB_NAMES: readonly string[] = ['backup', 'restore', 'backup_copy'];

/** What is stored as BullMQ job data: the SDK payload plus the retry schedule and the last error. */
interface StoredJob {
  payload: unknown;
  backoffMs: readonly number[];
  last_error?: DeadLetter['error'];
}

const STATE: Record<string, JobState> = {
  delayed: 'delayed',
  waiting: 'waiting',
  'waiting-children': 'waiting',
  prioritized: 'waiting',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
};

function errorJson(error: unknown): DeadLetter['error'] {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown; details?: unknown };
    return {
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      message: typeof e.message === 'string' ? e.message : String(error),
      ...(e.details && typeof e.details === 'object' ? { details: e.details as Record<string, unknown> } : {}),
    };
  }
  return { message: String(error) };
}

/** Prefix of job ids that had to be encoded for BullMQ. */
const ENCODED = 'sdk64-';

/**
 * BullMQ refuses custom ids that contain `:` or read as an integer, and treats `''` as "no id"; the
 * port allows any string. Such ids (and ids that look encoded) travel base64url-encoded.
 */
function toBullId(jobId: string): string {
  const refused = jobId === '' || jobId.includes(':') || String(Number.parseInt(jobId, 10)) === jobId || jobId.startsWith(ENCODED);
  return refused ? ENCODED + Buffer.from(jobId, 'utf8').toString('base64url') : jobId;
}

function fromBullId(id: string): string {
  return id.startsWith(ENCODED) ? Buffer.from(id.slice(ENCODED.length), 'base64url').toString('utf8') : id;
}

/**
 * The {@link JobQueue} port on BullMQ (Redis): `odoo-backup-sdk/bullmq`. Retries are BullMQ
 * attempts with a custom backoff that reads the SDK's `backoffMs` list; errors without
 * `transient: true` become BullMQ `UnrecoverableError`s so they are not retried; jobs that failed
 * for good stay in BullMQ's failed set, which is the dead-letter list.
 * `bullmq` is an optional peer dependency.
 */
export class BullMqJobQueue implements JobQueue {
  private readonly queues = new Map<string, Queue>();
  private readonly prefix: string;

  constructor(private readonly options: BullMqJobQueueOptions) {
    this.prefix = options.prefix ?? 'odoo-backup-sdk';
    for (const name of options.jobNames ?? DEFAULT_JOB_NAMES) this.queue(name);
  }

  private queueName(name: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`Invalid job name ${JSON.stringify(name)}`);
    return `${this.prefix}.${name}`;
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(this.queueName(name), { connection: this.options.connection });
      this.queues.set(name, q);
    }
    return q;
  }

  async enqueue(name: string, payload: unknown, options: JobOptions): Promise<JobInfo> {
    const q = this.queue(name);
    const data: StoredJob = { payload, backoffMs: options.backoffMs ?? [] };
    // BullMQ ignores an add with an existing jobId, which is the port's idempotence; but the Job it
    // returns then carries the new call's data, so the stored job is read back.
    const job = await q.add(name, data, {
      jobId: toBullId(options.jobId),
      attempts: Math.max(1, options.attempts ?? 1),
      backoff: { type: 'sdk' },
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      removeOnComplete: false,
      removeOnFail: false,
    });
    return this.info((await q.getJob(toBullId(options.jobId))) ?? job, name);
  }

  process(name: string, handler: JobHandler, options: { concurrency?: number } = {}): Worker {
    const worker = new BullWorker<StoredJob>(
      this.queueName(name),
      async (job: Job<StoredJob>, _token?: string, signal?: AbortSignal) => {
        const maxAttempts = job.opts.attempts ?? 1;
        try {
          return await handler(job.data.payload, {
            jobId: fromBullId(String(job.id)),
            attempt: job.attemptsMade + 1,
            maxAttempts,
            signal: signal ?? new AbortController().signal,
          });
        } catch (error) {
          await job.updateData({ ...job.data, last_error: errorJson(error) });
          const transient = (error as { transient?: unknown } | null)?.transient === true;
          if (!transient) throw new UnrecoverableError(errorJson(error).message);
          throw error;
        }
      },
      {
        connection: this.options.connection,
        concurrency: Math.max(1, options.concurrency ?? 1),
        ...(this.options.lockDurationMs !== undefined ? { lockDuration: this.options.lockDurationMs } : {}),
        ...(this.options.stalledIntervalMs !== undefined ? { stalledInterval: this.options.stalledIntervalMs } : {}),
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { data?: StoredJob }) => {
            const waits = job?.data?.backoffMs ?? [];
            return waits.length === 0 ? 0 : (waits[Math.min(attemptsMade - 1, waits.length - 1)] ?? 0);
          },
        },
      },
    );
    return { close: () => worker.close() };
  }

  /**
   * With `name`, asks that name's BullMQ queue (opened on demand: any process can answer for any
   * name); without, every queue this instance knows.
   */
  async getJob(jobId: string, name?: string): Promise<JobInfo | null> {
    if (name !== undefined) {
      const job = await this.queue(name).getJob(toBullId(jobId));
      return job ? this.info(job, name) : null;
    }
    for (const [name, q] of this.queues) {
      const job = await q.getJob(toBullId(jobId));
      if (job) return this.info(job, name);
    }
    return null;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (const [name, q] of this.queues) {
      for (const job of (await q.getFailed()) as Job<StoredJob>[]) {
        out.push({
          jobId: fromBullId(String(job.id)),
          name,
          payload: job.data.payload,
          attempts: job.attemptsMade,
          error: job.data.last_error ?? { message: job.failedReason ?? 'unknown error' },
          failed_at: new Date(job.finishedOn ?? job.timestamp).toISOString(),
        });
      }
    }
    return out.sort((a, b) => a.failed_at.localeCompare(b.failed_at));
  }

  /** Closes the Redis connections of the queues (workers are closed through their own handles). */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }

  private async info(job: Job, name: string): Promise<JobInfo> {
    const state = await job.getState();
    return {
      jobId: fromBullId(String(job.id)),
      name,
      state: (Object.hasOwn(STATE, state) ? STATE[state] : undefined) ?? 'waiting',
      attempt: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      payload: (job.data as StoredJob).payload,
    };
  }
}
