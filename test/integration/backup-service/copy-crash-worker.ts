/**
 * A worker process for the copy crash test: it runs copy jobs from BullMQ against the parent's
 * PostgreSQL records and local storage folders, with a secondary storage that stops taking bytes
 * part-way (so the copy is reliably mid-upload), then waits to be killed with SIGKILL. Prints one
 * line `copying` when the copy's upload has begun.
 *
 * Run as: node --import tsx test/integration/backup-service/copy-crash-worker.ts, with
 * COPY_CRASH_WORKER set to the JSON of {@link CopyCrashWorkerConfig}.
 */
import { Transform } from 'node:stream';
import pg from 'pg';
import { BackupService, createStorageProvider, type ResolvedEnvironment, type StorageProviderFactory } from '../../../src/index.js';
import { BullMqJobQueue } from '../../../src/integrations/bullmq/index.js';
import { createPostgresRepositories } from '../../../src/integrations/postgres/index.js';
import { StaticEnvironmentResolver } from '../../../src/testing/index.js';

/** What the parent passes. */
export interface CopyCrashWorkerConfig {
  connectionString: string;
  redis: { host: string; port: number };
  prefix: string;
  environment: ResolvedEnvironment;
  /** The secondary storage's folder. */
  secondaryRoot: string;
  /** Bytes the secondary takes before it stops reading. */
  hangAfterBytes: number;
}

const config = JSON.parse(process.env.COPY_CRASH_WORKER ?? '{}') as CopyCrashWorkerConfig;
const pool = new pg.Pool({ connectionString: config.connectionString, max: 4 });
const repos = createPostgresRepositories({ client: pool });
const stalling: StorageProviderFactory = (storage) => {
  const provider = createStorageProvider(storage);
  if ((storage.settings as { root?: string }).root !== config.secondaryRoot) return provider;
  const upload = provider.upload.bind(provider);
  provider.upload = (key, body, options) => {
    let seen = 0;
    const stall = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        if (seen <= config.hangAfterBytes) return callback(null, chunk);
        process.stdout.write('copying\n');
        // Never calls back: the upload waits for bytes that never come.
      },
    });
    (body as NodeJS.ReadableStream).pipe(stall);
    return upload(key, stall, options);
  };
  return provider;
};
const service = new BackupService({
  ...repos,
  environments: new StaticEnvironmentResolver([config.environment]),
  queue: new BullMqJobQueue({
    connection: { ...config.redis, maxRetriesPerRequest: null },
    prefix: config.prefix,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
  }),
  storageProviders: stalling,
});
service.startWorker({ concurrency: 1 });
// Stay alive until killed.
setInterval(() => undefined, 60_000);
