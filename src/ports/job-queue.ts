/**
 * The host's job runner (BullMQ, pg-boss, SQS...). Retries are data, as in BullMQ: the queue
 * runs a job up to `attempts` times, waiting `backoffMs[try - 1]` before each retry, and only
 * when the handler's error is transient (`error.transient === true`). After the last try, or
 * on a non-transient error, the job goes to the dead-letter list.
 */
export interface JobOptions {
  /** Unique job id; enqueueing an id that exists is a no-op returning the existing job. */
  jobId: string;
  /** Wait before the first run, in ms. */
  delayMs?: number;
  /** Tries in all, including the first (default 1). */
  attempts?: number;
  /** Wait before try 2, 3, ... in ms; the last value repeats if there are more tries. */
  backoffMs?: readonly number[];
}

/** What a handler gets besides the payload. */
export interface JobContext {
  jobId: string;
  /** This try's number, from 1. */
  attempt: number;
  /** Tries in all. A handler uses `attempt === maxAttempts` to know this is the last one. */
  maxAttempts: number;
  /** Fires when the queue or host cancels the job (shutdown, cancel request). */
  signal: AbortSignal;
}

/** Runs one job; throwing fails this try. */
export type JobHandler<P = unknown, R = unknown> = (payload: P, ctx: JobContext) => Promise<R>;

/** States a job goes through. */
export type JobState = 'delayed' | 'waiting' | 'active' | 'completed' | 'failed';

/** What the queue knows of a job. */
export interface JobInfo {
  jobId: string;
  name: string;
  state: JobState;
  attempt: number;
  maxAttempts: number;
  payload: unknown;
}

/** A job that failed for good. */
export interface DeadLetter {
  jobId: string;
  name: string;
  payload: unknown;
  attempts: number;
  /** The last error as JSON (code, message, details). */
  error: { code?: string; message: string; details?: Record<string, unknown> };
  failed_at: string;
}

/** A worker started by {@link JobQueue.process}. */
export interface Worker {
  /** Stops taking jobs and waits for running ones to finish. */
  close(): Promise<void>;
}

/** The job queue port. */
export interface JobQueue {
  /** Adds a job (idempotent per `jobId`). */
  enqueue(name: string, payload: unknown, options: JobOptions): Promise<JobInfo>;
  /** Runs jobs of `name` with `handler`, at most `concurrency` at once. */
  process(name: string, handler: JobHandler, options?: { concurrency?: number }): Worker;
  /**
   * The job, or null when the queue no longer knows it (finished and removed, or lost). With
   * `name`, only a job of that name counts, and null means "the queue looked where jobs of that
   * name live and none has this id": crash recovery passes the job's own name and treats a job
   * of another name as unknown, never as lost. A queue that cannot answer for a name must throw
   * rather than return null.
   */
  getJob(jobId: string, name?: string): Promise<JobInfo | null>;
  /** Jobs that failed for good, oldest first. */
  deadLetters(): Promise<DeadLetter[]>;
}
