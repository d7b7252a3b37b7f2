import { InProcessJobQueue, type InProcessJobQueueOptions } from '../adapters/in-process-job-queue.js';

/** Options of {@link InMemoryJobQueue}: those of the production `InProcessJobQueue`. */
export type InMemoryJobQueueOptions = InProcessJobQueueOptions;

/**
 * The in-process job queue for unit tests: the production `InProcessJobQueue` (same behaviour,
 * same contract suite), remembering every finished job so tests can list them (`jobsInfo()`).
 * Drive it with a `FakeClock`; `settle()` and `idle()` wait for the queue between clock advances.
 */
export class InMemoryJobQueue extends InProcessJobQueue {
  constructor(options: InMemoryJobQueueOptions = {}) {
    super({ keepFinished: Number.POSITIVE_INFINITY, ...options });
  }
}
