/**
 * A worker process for the restore crash test: it asks for one restore and runs its job against
 * the PostgreSQL records, storage and PostgreSQL server the parent also uses, holding (a hook
 * that never returns) at one journaled step, or in the middle of the pre-restore backup's upload,
 * so the parent can SIGKILL it there.
 *
 * Run as: node --import tsx test/integration/restore-service/restore-crash-worker.ts, with
 * RESTORE_CRASH_WORKER set to the JSON of {@link RestoreCrashWorkerConfig}. Prints one JSON line
 * `{ task_id, step }` once held.
 */
import { Transform } from 'node:stream';
import pg from 'pg';
import {
  createStorageProvider,
  RestoreService,
  type ResolvedEnvironment,
  type RestoreStep,
  type StorageProvider,
} from '../../../src/index.js';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { InMemoryJobQueue, StaticEnvironmentResolver } from '../../../src/testing/index.js';

/** What the parent passes. */
export interface RestoreCrashWorkerConfig {
  connectionString: string;
  environments: ResolvedEnvironment[];
  backupId: string;
  targetEnvironmentId: string;
  /** The step the worker holds at (before the step's work). */
  holdAt?: RestoreStep;
  /** Or: the upload (the pre-restore backup's) holds once this many bytes went to storage. */
  holdUploadAfterBytes?: number;
}

const config = JSON.parse(process.env.RESTORE_CRASH_WORKER ?? '{}') as RestoreCrashWorkerConfig;
const pool = new pg.Pool({ connectionString: config.connectionString, max: 4 });
const repos = createPostgresRepositories({ client: pool });
let taskId: Promise<string> = new Promise(() => undefined);
const hold = async (step: string) => {
  process.stdout.write(`${JSON.stringify({ task_id: await taskId, step })}\n`);
  await new Promise(() => undefined); // held until killed
};

/** The provider, its uploads held after `holdUploadAfterBytes` bytes. */
function holdingUploads(provider: StorageProvider): StorageProvider {
  const limit = config.holdUploadAfterBytes;
  if (limit === undefined) return provider;
  return Object.assign(Object.create(provider) as StorageProvider, {
    upload: (key: string, body: NodeJS.ReadableStream, options?: Parameters<StorageProvider['upload']>[2]) => {
      let seen = 0;
      const gate = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          seen += chunk.length;
          if (seen < limit) return cb(null, chunk);
          this.push(chunk);
          void hold('upload');
        },
      });
      return provider.upload(key, body.pipe(gate), options);
    },
  });
}

const service = new RestoreService({
  backups: repos.backups,
  tasks: repos.tasks,
  storageConfigs: repos.storageConfigs,
  policies: repos.policies,
  environments: new StaticEnvironmentResolver(config.environments),
  queue: new InMemoryJobQueue(),
  storageProviders: (c) => holdingUploads(createStorageProvider(c)),
  hooks: {
    onStep: async (step) => {
      if (step === config.holdAt) await hold(step);
    },
  },
});
service.startWorker({ concurrency: 1 });
taskId = service
  .restoreBackup(config.backupId, { mode: 'replace', target_environment_id: config.targetEnvironmentId, as_copy: false }, null)
  .then((task) => task.id);
await taskId;
// Stay alive until killed.
setInterval(() => undefined, 60_000);
