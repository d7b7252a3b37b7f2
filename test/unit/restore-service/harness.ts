import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import {
  RestoreService,
  type BackupManifest,
  type RestoreArchiveCall,
  type RestoreArchiveFn,
  type RestoreHooks,
  type RestoreRequestInput,
  type RestoreServiceOptions,
} from '../../../src/index.js';
import { FakeRestoreTarget, fakeRestoreTargetFactory, InMemoryJobQueue } from '../../../src/testing/index.js';
import { makeHarness, type HarnessOptions } from '../backup-service/harness.js';

/** What the stub archive restore writes: the dump's bytes and the filestore's files. */
export const RESTORED_DUMP = 'PGDMP restored';
export const RESTORED_FILES = { 'ab/abcdef': 'restored attachment', 'cd/cdef01': 'another one' };

function tarOf(files: Record<string, string>): Readable {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name }, body);
  p.finalize();
  return p as unknown as Readable;
}

/** Options of {@link stubRestoreArchive}. */
export interface StubArchiveOptions {
  /** Thrown after the temporaries were filled (as a failed check at the end of the pass would be); the stub drops them first. */
  fail?: Error;
  /** Never settles until the signal aborts. */
  hang?: boolean;
  manifest?: Partial<BackupManifest>;
}

/**
 * Stands in for the pipeline's `restoreArchive` with its contract: reads the object's existence
 * from storage, creates the temporary database (which must not exist) and folder, fills them,
 * and drops them on any failure.
 */
export function stubRestoreArchive(options: StubArchiveOptions = {}): RestoreArchiveFn & { calls: RestoreArchiveCall[] } {
  const calls: RestoreArchiveCall[] = [];
  const fn = (async (call: RestoreArchiveCall) => {
    calls.push(call);
    const head = await call.storage.head(call.key);
    if (!head.exists) throw new Error(`no object at ${call.key}`);
    try {
      await call.target.createDatabase(call.database, { ...(call.signal ? { signal: call.signal } : {}) });
      await call.target.restoreDump(call.database, Readable.from([Buffer.from(RESTORED_DUMP)]));
      if (call.filestoreFolder) await call.target.extractFilestore(call.filestoreFolder, tarOf(RESTORED_FILES));
      call.onProgress?.({ phase: 'database', bytes_done: 10, bytes_total: 10 });
      if (options.hang) {
        await new Promise((_, reject) => call.signal?.addEventListener('abort', () => reject(call.signal!.reason), { once: true }));
      }
      if (options.fail) throw options.fail;
    } catch (error) {
      await call.target.dropDatabase(call.database);
      if (call.filestoreFolder) await call.target.removePath(call.filestoreFolder);
      throw error;
    }
    return {
      manifest: { odoo_version: '18.0', database: { pg_dump_version: '16.4' }, ...options.manifest } as BackupManifest,
      database_bytes: RESTORED_DUMP.length,
      filestore_bytes: 100,
      filestore_entries: 2,
    };
  }) as RestoreArchiveFn & { calls: RestoreArchiveCall[] };
  fn.calls = calls;
  return fn;
}

/** Options of {@link makeRestoreHarness}. */
export interface RestoreHarnessOptions extends HarnessOptions {
  archive?: StubArchiveOptions;
  hooks?: RestoreHooks;
  restore?: Partial<RestoreServiceOptions>;
}

/**
 * A completed backup of `env` (through the real BackupService over in-memory ports), a
 * FakeRestoreTarget holding the environment's database and filestore, and a RestoreService
 * with a worker on its own queue.
 */
export async function makeRestoreHarness(options: RestoreHarnessOptions = {}) {
  const h = await makeHarness(options);
  const backupWorker = h.service.startWorker({ concurrency: 1 });
  const created = await h.service.createBackup(h.env.environment_id, {}, null);
  await h.queue.idle();
  await backupWorker.close();
  const backup = (await h.backups.get(created.id))!;
  if (backup.status !== 'completed') throw new Error(`setup backup ${backup.status}: ${backup.error_message}`);

  const filestore = `/var/lib/odoo/filestore/${h.env.db_name}`;
  const target = new FakeRestoreTarget({
    database: h.env.db_name,
    filestorePath: filestore,
    databases: { [h.env.db_name]: 'PGDMP original', postgres: '' },
    folders: { [filestore]: { 'aa/aaaa': 'original attachment' } },
    facts: { odooVersion: '18.0' },
  });
  const archive = stubRestoreArchive(options.archive);
  const restoreQueue = new InMemoryJobQueue({ clock: h.clock });
  const build = (queue: InMemoryJobQueue, extra: Partial<RestoreServiceOptions> = {}) =>
    new RestoreService({
      backups: h.backups,
      tasks: h.tasks,
      storageConfigs: h.storageConfigs,
      policies: h.policies,
      environments: h.environments,
      queue,
      clock: h.clock,
      events: h.events,
      notifier: h.notifier,
      targets: fakeRestoreTargetFactory(target),
      restoreArchive: archive,
      sources: () => h.source,
      runnerOptions: { dumpLister: null },
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.authorize ? { authorize: options.authorize } : {}),
      ...options.restore,
      ...extra,
    });
  const restores = build(restoreQueue);
  const before = { db: target.databaseHash(h.env.db_name), folder: target.folderHash(filestore) };

  /** Databases and folders other than the ones the test set up: temporaries and set-aside copies. */
  const leftovers = () => ({
    databases: [...target.databases.keys()].filter((n) => n.includes('__restore_') || n.includes('__previous_')),
    folders: [...target.folders.keys()].filter((p) => p.includes('__restore_') || p.includes('__previous_')),
  });
  /** Asks for a restore, runs its job to the end, and returns the task. */
  const run = async (request: RestoreRequestInput, service = restores, queue = restoreQueue) => {
    const worker = service.startWorker();
    const task = await service.restoreBackup(backup.id, request, { id: 'user-1' });
    await queue.idle();
    await worker.close();
    return (await h.tasks.get(task.id))!;
  };
  return { ...h, backup, target, filestore, archive, restoreQueue, restores, build, before, leftovers, run };
}

export type RestoreHarness = Awaited<ReturnType<typeof makeRestoreHarness>>;
