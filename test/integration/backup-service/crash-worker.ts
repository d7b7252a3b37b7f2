/**
 * A worker process for the crash test: it creates one backup and runs its job against the
 * PostgreSQL records and local storage the parent also uses, with a source that stops producing
 * bytes part-way (so the job is reliably mid-upload), then waits to be killed with SIGKILL.
 *
 * Run as: node --import tsx test/integration/backup-service/crash-worker.ts, with CRASH_WORKER
 * set to the JSON of {@link CrashWorkerConfig}. Prints one JSON line `{ backup_id, task_id }`.
 */
import pg from 'pg';
import { BackupService, type ResolvedEnvironment } from '../../../src/index.js';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { FakeBackupSource, InMemoryJobQueue, StaticEnvironmentResolver } from '../../../src/testing/index.js';

/** What the parent passes. */
export interface CrashWorkerConfig {
  connectionString: string;
  environment: ResolvedEnvironment;
  /** Bytes the source produces before it hangs. */
  hangAfterBytes: number;
}

const config = JSON.parse(process.env.CRASH_WORKER ?? '{}') as CrashWorkerConfig;
const pool = new pg.Pool({ connectionString: config.connectionString, max: 4 });
const repos = createPostgresRepositories({ client: pool });
const source = new FakeBackupSource({ dumpSize: config.hangAfterBytes * 4, filestoreSize: 64 * 1024 });
source.injectFault({ part: 'dump', mode: 'hang', afterBytes: config.hangAfterBytes });
const service = new BackupService({
  backups: repos.backups,
  tasks: repos.tasks,
  storageConfigs: repos.storageConfigs,
  policies: repos.policies,
  environments: new StaticEnvironmentResolver([config.environment]),
  queue: new InMemoryJobQueue(),
  sources: () => source,
});
service.startWorker({ concurrency: 1 });
const created = await service.createBackup(config.environment.environment_id, { backup_type: 'scheduled' }, null);
process.stdout.write(`${JSON.stringify({ backup_id: created.id, task_id: created.task_id })}\n`);
// Stay alive until killed.
setInterval(() => undefined, 60_000);
