/**
 * A worker process for the restore crash test: it asks for one restore and runs its job against
 * the PostgreSQL records, local storage and PostgreSQL server the parent also uses, holding (a
 * hook that never returns) at one journaled step, so the parent can SIGKILL it there.
 *
 * Run as: node --import tsx test/integration/restore-service/restore-crash-worker.ts, with
 * RESTORE_CRASH_WORKER set to the JSON of {@link RestoreCrashWorkerConfig}. Prints one JSON line
 * `{ task_id, step }` once held.
 */
import pg from 'pg';
import { RestoreService, type ResolvedEnvironment, type RestoreStep } from '../../../src/index.js';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { InMemoryJobQueue, StaticEnvironmentResolver } from '../../../src/testing/index.js';

/** What the parent passes. */
export interface RestoreCrashWorkerConfig {
  connectionString: string;
  environments: ResolvedEnvironment[];
  backupId: string;
  targetEnvironmentId: string;
  /** The step the worker holds at (before the step's work). */
  holdAt: RestoreStep;
}

const config = JSON.parse(process.env.RESTORE_CRASH_WORKER ?? '{}') as RestoreCrashWorkerConfig;
const pool = new pg.Pool({ connectionString: config.connectionString, max: 4 });
const repos = createPostgresRepositories({ client: pool });
const service = new RestoreService({
  backups: repos.backups,
  tasks: repos.tasks,
  storageConfigs: repos.storageConfigs,
  policies: repos.policies,
  environments: new StaticEnvironmentResolver(config.environments),
  queue: new InMemoryJobQueue(),
  hooks: {
    onStep: async (step, { task_id }) => {
      if (step !== config.holdAt) return;
      process.stdout.write(`${JSON.stringify({ task_id, step })}\n`);
      await new Promise(() => undefined); // held until killed
    },
  },
});
service.startWorker({ concurrency: 1 });
await service.restoreBackup(config.backupId, { mode: 'replace', target_environment_id: config.targetEnvironmentId }, null);
// Stay alive until killed.
setInterval(() => undefined, 60_000);
