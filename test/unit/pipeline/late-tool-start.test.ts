import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/errors/errors.js';
import type { DumpOptions, SourceStream } from '../../../src/ports/backup-source.js';
import type { StorageProvider } from '../../../src/ports/storage-provider.js';
import { MemoryStorageProvider } from '../../../src/storage/memory/memory-provider.js';
import { harness } from './harness.js';

// A tool whose start is still under way when the run fails (storage refused the upload first)
// must not outlive the job: the runner aborts it once it starts, and waits for it to end.
describe('a tool that starts after its job failed', () => {
  it('is aborted once started, and the run waits for it before recording the failure', async () => {
    const storage = new MemoryStorageProvider();
    const refusing = Object.assign(Object.create(storage) as StorageProvider, {
      upload: async () => {
        throw new StorageError('E_STORAGE_UNAVAILABLE', 'storage refused the connection', { transient: true });
      },
    });
    const h = await harness({ storage: refusing, source: { dumpSize: 1024 * 1024 } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: SourceStream[] = [];
    const dump = h.source.dumpDatabase.bind(h.source);
    h.source.dumpDatabase = async (options?: DumpOptions) => {
      await gate; // the start is slow (an SSH login, say): the upload fails meanwhile
      const s = await dump(options);
      started.push(s);
      return s;
    };
    const backup = await h.pending();
    let settled = false;
    const run = h.runner.run(backup.id).then(
      () => new Error('the backup completed'),
      (e: unknown) => e,
    );
    void run.finally(() => (settled = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // still waiting for the tool that is starting
    release();
    const error = await run;
    expect(error).toBeInstanceOf(StorageError);
    expect(started).toHaveLength(1);
    expect(h.source.running).toBe(0);
    expect((await h.backups.get(backup.id))?.status).toBe('failed');
    expect(storage.keys()).toEqual([]);
  });
});
