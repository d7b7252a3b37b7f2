/**
 * A custom `JobQueue`: jobs in a PostgreSQL table, for a host that runs several processes and has
 * PostgreSQL but no Redis (the SDK ships `BullMqJobQueue` for Redis and `InProcessJobQueue` for a
 * single process). It passes the SDK's contract suite, `runJobQueueContract` from
 * `odoo-backup-sdk/testing` (test/integration/foundation/postgres-job-queue-example.test.ts).
 *
 * How it works: each job is a row. Workers poll for a due row and claim it with
 * `FOR UPDATE SKIP LOCKED`, so each try runs in exactly one worker across processes. A claimed
 * job holds a lease that its worker renews while the handler runs; a job whose worker died (its
 * lease ran out) is claimed again as a new try, as BullMQ does with a stalled job. Times are the
 * database's clock, the one clock every process shares.
 *
 * Wire it like any queue: `createBackupSdk({ ...repos, environments, queue: new PostgresJobQueue({ pool }) })`,
 * after `await queue.migrate()`.
 */
import type pg from 'pg';
import type { DeadLetter, JobContext, JobHandler, JobInfo, JobOptions, JobQueue, JobState, Worker } from 'odoo-backup-sdk';

/** Options of {@link PostgresJobQueue}. */
export interface PostgresJobQueueOptions {
  pool: pg.Pool;
  /** The jobs table (default `odoo_backup_jobs`): letters, digits and underscores. */
  table?: string;
  /** How often an idle worker looks for due jobs, in ms (default 1000). */
  pollMs?: number;
  /** How long a claimed job stays its worker's without a renewal, in ms (default 60 000; renewed every third of it). */
  leaseMs?: number;
}

type JobRow = {
  job_id: string;
  name: string;
  payload: unknown;
  state: JobState;
  attempt: number;
  max_attempts: number;
  backoff_ms: number[];
  error: DeadLetter['error'] | null;
  failed_at: Date | null;
};

/** A job queue on a PostgreSQL table; see the file's header. */
export class PostgresJobQueue implements JobQueue {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(options: PostgresJobQueueOptions) {
    const table = options.table ?? 'odoo_backup_jobs';
    // The name goes into SQL text: only a plain identifier is accepted.
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new Error(`table must be a plain lowercase identifier, got ${JSON.stringify(table)}`);
    this.pool = options.pool;
    this.table = table;
    this.pollMs = options.pollMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 60_000;
  }

  /** Creates the table and its index when missing. */
  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE TABLE IF NOT EXISTS ${this.table} (
        job_id       text PRIMARY KEY,
        name         text NOT NULL,
        payload      jsonb,
        state        text NOT NULL,
        attempt      integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        backoff_ms   jsonb NOT NULL,
        run_at       timestamptz NOT NULL,
        locked_until timestamptz,
        error        jsonb,
        failed_at    timestamptz,
        seq          bigserial
      );
      CREATE INDEX IF NOT EXISTS ${this.table}_due ON ${this.table} (name, run_at) WHERE state IN ('waiting', 'delayed', 'active');`);
  }

  async enqueue(name: string, payload: unknown, options: JobOptions): Promise<JobInfo> {
    const delayMs = options.delayMs ?? 0;
    const { rows } = await this.pool.query<JobRow>(
      `INSERT INTO ${this.table} (job_id, name, payload, state, max_attempts, backoff_ms, run_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb, clock_timestamp() + $7::float8 * interval '1 millisecond')
       ON CONFLICT (job_id) DO NOTHING RETURNING *`,
      [
        options.jobId,
        name,
        JSON.stringify(payload ?? null),
        delayMs > 0 ? 'delayed' : 'waiting',
        options.attempts ?? 1,
        JSON.stringify(options.backoffMs ?? []),
        delayMs,
      ],
    );
    if (rows[0]) return info(rows[0]);
    // An existing job id: that job stands, unchanged (enqueue is idempotent per jobId).
    const existing = await this.getJob(options.jobId);
    if (!existing) throw new Error(`job ${options.jobId} vanished while it was enqueued`);
    return existing;
  }

  async getJob(jobId: string, name?: string): Promise<JobInfo | null> {
    const { rows } = await this.pool.query<JobRow>(
      // A delayed job whose time has come is waiting for a worker.
      `SELECT job_id, name, payload, attempt, max_attempts,
              CASE WHEN state = 'delayed' AND run_at <= clock_timestamp() THEN 'waiting' ELSE state END AS state
         FROM ${this.table} WHERE job_id = $1 AND ($2::text IS NULL OR name = $2)`,
      [jobId, name ?? null],
    );
    return rows[0] ? info(rows[0]) : null;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const { rows } = await this.pool.query<JobRow>(`SELECT * FROM ${this.table} WHERE state = 'failed' ORDER BY failed_at, seq`);
    return rows.map((r) => ({
      jobId: r.job_id,
      name: r.name,
      payload: r.payload,
      attempts: r.attempt,
      error: r.error ?? { message: 'unknown error' },
      failed_at: (r.failed_at ?? new Date(0)).toISOString(),
    }));
  }

  process(name: string, handler: JobHandler, options: { concurrency?: number } = {}): Worker {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    const running = new Map<string, Promise<void>>();
    let closed = false;
    let wake: () => void = () => undefined;
    const nap = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const renewal = setInterval(() => {
      if (running.size === 0) return;
      this.pool
        .query(
          `UPDATE ${this.table} SET locked_until = clock_timestamp() + $2::float8 * interval '1 millisecond' WHERE job_id = ANY($1) AND state = 'active'`,
          [[...running.keys()], this.leaseMs],
        )
        .catch(() => undefined); // the next renewal tries again; the lease is long enough for a few misses
    }, this.leaseMs / 3);
    renewal.unref();

    const loop = (async () => {
      while (!closed) {
        if (running.size >= concurrency) {
          await Promise.race(running.values());
          continue;
        }
        const job = await this.claim(name).catch(() => null); // a database hiccup: try again after a nap
        if (!job) {
          await nap(this.pollMs);
          continue;
        }
        // Never rejects: an outcome that could not be recorded leaves the job active until its lease
        // runs out, and it is then tried again.
        const run = this.run(job, handler)
          .catch(() => undefined)
          .finally(() => {
            running.delete(job.job_id);
            wake(); // a slot is free: look for the next job now
          });
        running.set(job.job_id, run);
      }
    })();

    return {
      close: async () => {
        closed = true;
        wake();
        await loop;
        await Promise.all(running.values()); // running jobs finish; none is taken any more
        clearInterval(renewal);
      },
    };
  }

  /** Takes the oldest due job of `name` (or one whose worker's lease ran out) as a new try. */
  private async claim(name: string): Promise<JobRow | null> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE ${this.table} SET state = 'active', attempt = attempt + 1,
              locked_until = clock_timestamp() + $2::float8 * interval '1 millisecond'
        WHERE job_id = (
          SELECT job_id FROM ${this.table}
           WHERE name = $1
             AND ((state IN ('waiting', 'delayed') AND run_at <= clock_timestamp())
               OR (state = 'active' AND locked_until < clock_timestamp()))
           ORDER BY run_at, seq
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [name, this.leaseMs],
    );
    return rows[0] ?? null;
  }

  /** Runs one try and records its outcome: completed, a retry after its backoff, or a dead letter. */
  private async run(job: JobRow, handler: JobHandler): Promise<void> {
    if (job.attempt > job.max_attempts) {
      // Claimed again after its worker died on the last try: no try is left.
      const error = { code: 'E_WORKER_LOST', message: 'the worker running this job stopped before it finished' };
      await this.pool.query(
        `UPDATE ${this.table} SET state = 'failed', attempt = max_attempts, locked_until = NULL, error = $2::jsonb, failed_at = clock_timestamp() WHERE job_id = $1`,
        [job.job_id, JSON.stringify(error)],
      );
      return;
    }
    const ctx: JobContext = {
      jobId: job.job_id,
      attempt: job.attempt,
      maxAttempts: job.max_attempts,
      signal: new AbortController().signal, // this queue has no cancel; close() lets running jobs finish
    };
    try {
      await handler(job.payload, ctx);
      await this.pool.query(`UPDATE ${this.table} SET state = 'completed', locked_until = NULL WHERE job_id = $1`, [job.job_id]);
    } catch (error) {
      // Only errors that say so are retried (the SDK marks network drops and timeouts `transient`).
      const transient = (error as { transient?: unknown } | null)?.transient === true;
      if (transient && job.attempt < job.max_attempts) {
        const backoff = job.backoff_ms[Math.min(job.attempt - 1, job.backoff_ms.length - 1)] ?? 0;
        await this.pool.query(
          `UPDATE ${this.table} SET state = 'delayed', locked_until = NULL,
                  run_at = clock_timestamp() + $2::float8 * interval '1 millisecond' WHERE job_id = $1`,
          [job.job_id, backoff],
        );
      } else {
        await this.pool.query(
          `UPDATE ${this.table} SET state = 'failed', locked_until = NULL, error = $2::jsonb, failed_at = clock_timestamp() WHERE job_id = $1`,
          [job.job_id, JSON.stringify(errorJson(error))],
        );
      }
    }
  }
}

function info(row: JobRow): JobInfo {
  return { jobId: row.job_id, name: row.name, state: row.state, attempt: row.attempt, maxAttempts: row.max_attempts, payload: row.payload };
}

/** The error as a dead letter keeps it: `code` and `details` when it has them, and its message. */
function errorJson(error: unknown): DeadLetter['error'] {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(e.details !== null && typeof e.details === 'object' ? { details: e.details as Record<string, unknown> } : {}),
  };
}
