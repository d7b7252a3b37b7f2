import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  BackupRunner,
  ChecksumMismatchError,
  SourceError,
  StorageError,
  TimeoutError,
  ValidationError,
  parseManifest,
  type BackupSource,
  type SourceStream,
  type StorageProvider,
} from '../../../src/index.js';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DEFAULT_FILESTORE_COMPRESSION_LEVEL } from '../../../src/sources/gzip-tool.js';
import { FakeClock } from '../../../src/testing/index.js';
import { fakeBytes, fakeBytesChecksum } from '../../../src/testing/fake-backup-source.js';
import { SteppingClock, harness } from './harness.js';

async function download(storage: StorageProvider, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await storage.download(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function unzip(buf: Buffer): Promise<Map<string, { data: Buffer; method: number }>> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) => yauzl.fromBuffer(buf, { lazyEntries: true }, (e, z) => (e ? rej(e) : res(z))));
  const out = new Map<string, { data: Buffer; method: number }>();
  const order: string[] = [];
  for await (const entry of zip.eachEntry()) {
    const s = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    out.set(entry.fileName, { data: Buffer.concat(chunks), method: entry.compressionMethod });
    order.push(entry.fileName);
  }
  (out as unknown as { order: string[] }).order = order;
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('BackupRunner: success', () => {
  it('streams dump and filestore into one ZIP, records sizes, checksums, key, retention and usage', async () => {
    const h = await harness({ source: { dumpSize: 300_000, filestoreSize: 200_000 } });
    const pending = await h.pending();
    const done = await h.runner.run(pending.id);
    const expected = await h.source.expectedChecksums();

    expect(done.status).toBe('completed');
    expect(done.database_key).toBe(
      `organizations/${h.env.organization_id}/projects/${h.env.project_id}/environments/${h.env.environment_id}/${pending.id}.zip`,
    );
    expect(h.storage.keys()).toEqual([done.database_key]);
    expect(done.database_size).toBe(300_000);
    expect(done.filestore_size).toBe(200_000);
    expect(done.total_size).toBe(500_000);
    expect(done.database_checksum).toBe(expected.dump);
    expect(done.filestore_checksum).toBe(expected.filestore);
    const zipBytes = await download(h.storage, done.database_key!);
    expect(done.compressed_size).toBe(zipBytes.length);
    expect(done.started_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();
    expect(done.duration_seconds).toBeGreaterThanOrEqual(0);
    // created_at 2026-03-10 is a Tuesday, not the 1st: daily, kept 7 days.
    expect(done.retention_type).toBe('daily');
    expect(done.expires_at).toBe('2026-03-17T02:00:00.000Z');
    expect(done.environment_snapshot?.environment.id).toBe(h.env.environment_id);
    expect(done.environment_snapshot?.timestamp).toBe(done.started_at);
    expect(done.is_verified).toBe(true); // read back after upload by default, whatever the type

    const entries = await unzip(zipBytes);
    expect((entries as unknown as { order: string[] }).order).toEqual(['filestore.tar.gz', 'dump.sql', 'manifest.json']);
    expect(entries.get('dump.sql')!.method).toBe(0); // STORED
    expect(entries.get('filestore.tar.gz')!.method).toBe(0);
    expect(entries.get('manifest.json')!.method).toBe(8); // deflated
    expect(sha(entries.get('dump.sql')!.data)).toBe(expected.dump);
    const manifest = parseManifest(entries.get('manifest.json')!.data);
    expect(manifest).toMatchObject({
      version: '1.0',
      backup_id: pending.id,
      environment_id: h.env.environment_id,
      backup_type: 'manual',
      created_at: pending.created_at,
      database: { name: h.env.db_name, key: done.database_key, size: 300_000, checksum: expected.dump, format: 'pg_dump_custom' },
      filestore: { key: null, size: 200_000, checksum: expected.filestore, format: 'tar.gz' },
      retention: { type: 'daily', expires_at: done.expires_at },
      odoo_version: '18.0',
    });
    expect(manifest.environment_snapshot).toEqual(done.environment_snapshot);

    const config = await h.storageConfigs.get(h.storageConfig.id);
    expect(config?.total_size_bytes).toBe(done.compressed_size);
    expect(config?.object_count).toBe(1);
    expect(config?.last_used_at).toBe(done.completed_at);

    const statuses = h.events.ofType('backup.status').map((e) => `${e.data.previous_status}->${e.data.status}`);
    expect(statuses).toEqual(['pending->in_progress', 'in_progress->uploading', 'uploading->completed']);
    expect(h.source.running).toBe(0);
    expect(h.source.closeCount).toBe(1);
    expect(h.source.compressionLevels).toEqual([1]);
    expect(h.source.filestoreCompressionLevels).toEqual([DEFAULT_FILESTORE_COMPRESSION_LEVEL]);
  });

  it("gzips the filestore at the runner's level, or at the environment's when it sets one", async () => {
    const h = await harness({ deps: { filestoreCompressionLevel: 3 } });
    await h.runner.run((await h.pending()).id);
    h.environments.set({ ...h.env, filestore_compression_level: 6 });
    await h.runner.run((await h.pending()).id);
    expect(h.source.filestoreCompressionLevels).toEqual([3, 6]);
  });

  it('refuses an environment filestore level outside 1-9 before any tool starts', async () => {
    const h = await harness();
    h.environments.set({ ...h.env, filestore_compression_level: 0 });
    const pending = await h.pending();
    await expect(h.runner.run(pending.id)).rejects.toBeInstanceOf(ValidationError);
    expect(h.source.started).toEqual({ dump: 0, filestore: 0 });
    expect((await h.backups.get(pending.id))?.status).toBe('failed');
  });

  it('uses the retention type given on the record, else the policy calendar', async () => {
    const h = await harness();
    const given = await h.runner.run((await h.pending({ retention_type: 'monthly' })).id);
    expect(given.retention_type).toBe('monthly');
    expect(given.expires_at).toBe(new Date(Date.parse('2026-03-10T02:00:00.000Z') + 12 * 30 * 86_400_000).toISOString());

    // 2026-03-10 is a Tuesday: with weekly_backup_day 1 (Tuesday) and 3 weeks it is weekly.
    await h.policies.create({
      id: crypto.randomUUID(),
      environment_id: h.env.environment_id,
      is_enabled: true,
      schedule_cron: '0 2 * * *',
      timezone: 'UTC',
      daily_retention: 3,
      weekly_retention: 3,
      monthly_retention: 1,
      yearly_retention: 1,
      weekly_backup_day: 1,
      storage_config_id: null,
      notify_on_success: false,
      notify_on_failure: true,
      last_backup_at: null,
      last_backup_status: null,
      next_backup_at: null,
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
    });
    const classified = await h.runner.run((await h.pending()).id);
    expect(classified.retention_type).toBe('weekly');
    expect(classified.expires_at).toBe('2026-03-31T02:00:00.000Z');
  });

  it('uses the organisation default storage when the record names none', async () => {
    const h = await harness();
    const done = await h.runner.run((await h.pending({ storage_config_id: null })).id);
    expect(done.storage_config_id).toBe(h.storageConfig.id);
  });

  it('pg_dump runs while the filestore tarball streams: its output is read ahead, 16 MiB at most, until the tarball is in', async () => {
    // A dump of 64 MiB that counts what was read of it, and a filestore that stalls after a few
    // bytes until the test lets it go on.
    let dumpRead = 0;
    let releaseFilestore!: () => void;
    const released = new Promise<void>((resolve) => (releaseFilestore = resolve));
    const dumpBytes = fakeBytes('dump', 64 * 1024 * 1024, 64 * 1024);
    dumpBytes.on('data', (chunk: Buffer) => (dumpRead += chunk.length));
    const stream = (readable: Readable): SourceStream => ({ stream: readable, done: finished(readable), abort: () => readable.destroy() });
    const source: BackupSource = {
      kind: 'test',
      dumpDatabase: async () => stream(dumpBytes.pipe(new PassThrough())),
      archiveFilestore: async () =>
        stream(
          Readable.from(
            (async function* () {
              yield Buffer.from('first bytes of the tarball');
              await released;
              yield Buffer.from('the rest');
            })(),
          ),
        ),
      close: async () => undefined,
    };
    const h = await harness({ deps: { sources: () => source } });
    const running = h.runner.run((await h.pending()).id, { verify: false });
    // Let the dump run until it is held back.
    let before = -1;
    while (dumpRead !== before) {
      before = dumpRead;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(dumpRead).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(dumpRead).toBeLessThan(20 * 1024 * 1024); // 16 MiB, plus a stream buffer or two
    releaseFilestore();
    const done = await running;
    expect(done.status).toBe('completed');
    expect(done.database_size).toBe(64 * 1024 * 1024);
    expect(done.database_checksum).toBe(await fakeBytesChecksum('dump', 64 * 1024 * 1024));
    const zipBytes = await download(h.storage, done.database_key!);
    expect((await unzip(zipBytes)).get('filestore.tar.gz')!.data.toString()).toBe('first bytes of the tarballthe rest');
  });

  it('include_filestore false: no filestore entry, manifest filestore null, tar never started', async () => {
    const h = await harness();
    const done = await h.runner.run((await h.pending({ include_filestore: false })).id);
    expect(done.filestore_size).toBe(0);
    expect(done.filestore_checksum).toBeNull();
    const entries = await unzip(await download(h.storage, done.database_key!));
    expect([...entries.keys()]).toEqual(['dump.sql', 'manifest.json']);
    const manifest = parseManifest(entries.get('manifest.json')!.data);
    expect(manifest.filestore).toBeNull();
    expect(manifest.include_filestore).toBe(false);
    expect(h.source.started.filestore).toBe(0);
    expect(h.events.ofType('warning')).toEqual([]);
  });

  it('missing filestore folder: completed with filestore_size 0 and a warning', async () => {
    const h = await harness({ source: { filestoreSize: null } });
    const done = await h.runner.run((await h.pending()).id);
    expect(done.status).toBe('completed');
    expect(done.filestore_size).toBe(0);
    expect(done.total_size).toBe(done.database_size);
    const warnings = h.events.ofType('warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.data.code).toBe('W_FILESTORE_MISSING');
    const entries = await unzip(await download(h.storage, done.database_key!));
    expect([...entries.keys()]).toEqual(['dump.sql', 'manifest.json']);
    const manifest = parseManifest(entries.get('manifest.json')!.data);
    expect(manifest.filestore).toBeNull();
    expect(manifest.include_filestore).toBe(true);
  });

  it('emits progress at least once a second of clock time while bytes flow', async () => {
    // Every clock reading is 100 ms later: a 4 MiB dump in 64 KiB chunks spans several seconds.
    const h = await harness({
      clock: new SteppingClock(undefined, 100),
      source: { dumpSize: 4 * 1024 * 1024, filestoreSize: 1024 * 1024 },
    });
    await h.runner.run((await h.pending()).id);
    const progress = h.events.ofType('backup.progress');
    const dumping = progress.filter((e) => e.data.phase === 'dumping');
    expect(dumping.length).toBeGreaterThan(3);
    const times = progress.map((e) => Date.parse(e.data.timestamp));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(1000);
    const bytes = progress.map((e) => e.data.bytes);
    expect([...bytes].sort((a, b) => a - b)).toEqual(bytes); // never goes backwards
    expect(Math.max(...bytes)).toBeGreaterThan(5 * 1024 * 1024);
    expect(dumping.some((e) => e.data.rate_bytes_per_second > 0)).toBe(true);
    expect(new Set(progress.map((e) => e.data.phase))).toEqual(new Set(['dumping', 'uploading', 'verifying', 'finalizing']));
  });

  it("names the part it counts: the last event of each part carries that part's own size", async () => {
    // What a progress line shows (examples/demo.ts prints each part's last event): a part's name
    // with the archive total at the moment it began read 0 for the first part and the first
    // part's size for the second.
    const h = await harness({ source: { dumpSize: 300_000, filestoreSize: 100_000 } });
    const done = await h.runner.run((await h.pending()).id);
    const progress = h.events.ofType('backup.progress').map((e) => e.data);
    const parts = progress.map((d) => d.part ?? null).filter((p, i, all) => p !== all[i - 1]);
    expect(parts).toEqual(['filestore.tar.gz', 'dump.sql', 'manifest.json', null]);
    const lastOf = (part: string) => progress.filter((d) => d.part === part).at(-1)!;
    expect(lastOf('filestore.tar.gz')).toMatchObject({ phase: 'dumping', part_bytes: done.filestore_size });
    expect(lastOf('dump.sql')).toMatchObject({ phase: 'dumping', part_bytes: done.database_size });
    expect(lastOf('manifest.json').part_bytes).toBeGreaterThan(100);
    expect(progress.filter((d) => d.part === undefined).every((d) => d.part_bytes === undefined)).toBe(true);
  });

  it('verifies scheduled backups by default and records is_verified/verified_at', async () => {
    const h = await harness();
    const done = await h.runner.run((await h.pending({ backup_type: 'scheduled' })).id);
    expect(done.is_verified).toBe(true);
    expect(done.verified_at).not.toBeNull();
    expect(done.verification_error).toBeNull();
    expect(h.events.ofType('backup.progress').some((e) => e.data.phase === 'verifying')).toBe(true);
  });

  it('records a verification error (backup still completed) when the dump cannot be listed', async () => {
    const h = await harness({
      deps: {
        dumpLister: async (dump) => {
          dump.resume();
          throw new SourceError('E_SOURCE_PG_RESTORE', 'pg_restore --list could not read the dump: not a valid archive');
        },
      },
    });
    const done = await h.runner.run((await h.pending()).id, { verify: true });
    expect(done.status).toBe('completed');
    expect(done.is_verified).toBe(false);
    expect(done.verification_error).toMatch(/pg_restore --list could not read the dump/);
    expect(h.events.ofType('warning').map((w) => w.data.code)).toContain('W_VERIFICATION_FAILED');
  });

  it('refuses to run a backup that is not pending, without touching it', async () => {
    const h = await harness();
    const b = await h.pending({ status: 'completed' });
    await expect(h.runner.run(b.id)).rejects.toMatchObject({ code: 'E_INVALID_TRANSITION' });
    expect((await h.backups.get(b.id))?.status).toBe('completed');
    expect(h.source.started.dump).toBe(0);
  });
});

describe('BackupRunner: failures leave nothing behind', () => {
  async function expectCleanFailure(h: Awaited<ReturnType<typeof harness>>, id: string) {
    const rec = await h.backups.get(id);
    expect(rec?.status).toBe('failed');
    expect(h.storage.keys()).toEqual([]);
    expect(h.storage.activeUploads).toBe(0);
    expect(h.source.running).toBe(0);
    const config = await h.storageConfigs.get(h.storageConfig.id);
    expect(config?.object_count).toBe(0);
    return rec!;
  }

  it('pg_dump exiting non-zero after some bytes', async () => {
    const h = await harness();
    h.source.injectFault({ part: 'dump', afterBytes: 100_000, exitCode: 1, stderr: 'pg_dump: error: connection to server lost' });
    const b = await h.pending();
    const error = await h.runner.run(b.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('E_SOURCE_PG_DUMP');
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_message).toMatch(/dumping the database.*pg_dump failed.*connection to server lost/);
    expect(rec.error_details).toMatchObject({
      code: 'E_SOURCE_PG_DUMP',
      exit_code: 1,
      stderr_tail: 'pg_dump: error: connection to server lost',
      phase: 'dump',
    });
    expect(h.events.ofType('backup.status').at(-1)?.data.status).toBe('failed');
  });

  it('pg_dump failing while the filestore tarball still streams fails the run at once, as the dump, and stops tar', async () => {
    const h = await harness();
    h.source.injectFault({ part: 'filestore', mode: 'hang', afterBytes: 10_000 });
    h.source.injectFault({ part: 'dump', afterBytes: 1000, exitCode: 1, stderr: 'pg_dump: error: query failed' });
    const b = await h.pending();
    const error = (await h.runner.run(b.id).catch((e: unknown) => e)) as SourceError;
    expect(error.code).toBe('E_SOURCE_PG_DUMP');
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_message).toMatch(/dumping the database.*query failed/);
    expect(rec.error_details).toMatchObject({ code: 'E_SOURCE_PG_DUMP', phase: 'dump' });
  });

  it('tar failing: transient flag is passed through', async () => {
    const h = await harness();
    h.source.injectFault({
      part: 'filestore',
      afterBytes: 10_000,
      transient: true,
      exitCode: 2,
      stderr: 'tar: 3f/abc: Cannot open: Permission denied',
    });
    const b = await h.pending();
    const error = (await h.runner.run(b.id).catch((e: unknown) => e)) as SourceError;
    expect(error.code).toBe('E_SOURCE_TAR');
    expect(error.transient).toBe(true);
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_message).toMatch(/archiving the filestore/);
    expect(rec.error_details).toMatchObject({ exit_code: 2, phase: 'filestore' });
  });

  it('storage rejecting mid-upload kills the tools', async () => {
    const h = await harness({ source: { dumpSize: 2 * 1024 * 1024 } });
    h.storage.injectUploadFault({ afterBytes: 256 * 1024, transient: true });
    const b = await h.pending();
    const error = (await h.runner.run(b.id).catch((e: unknown) => e)) as StorageError;
    expect(error).toBeInstanceOf(StorageError);
    expect(error.transient).toBe(true);
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_message).toMatch(/uploading the archive/);
    expect(rec.error_details).toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', phase: 'upload' });
  });

  it('AbortSignal while a tool hangs', async () => {
    const h = await harness();
    h.source.injectFault({ part: 'dump', mode: 'hang', afterBytes: 64 * 1024 });
    const b = await h.pending();
    const ac = new AbortController();
    const running = h.runner.run(b.id, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 20));
    expect(h.source.running).toBe(1);
    ac.abort(new Error('user cancelled'));
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_details).toMatchObject({ code: 'E_ABORTED', phase: 'dump' });
  });

  it('timeout on the injected clock', async () => {
    const clock = new FakeClock('2026-03-10T02:00:00.000Z');
    const h = await harness({ clock });
    h.source.injectFault({ part: 'filestore', mode: 'hang' });
    const b = await h.pending();
    const running = h.runner.run(b.id, { timeoutMs: 3_600_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    await clock.advance(3_599_999);
    expect(h.source.running).toBe(1); // not yet
    await clock.advance(1);
    const error = (await running) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.transient).toBe(true);
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_message).toMatch(/did not finish within 3600 s/);
  });

  it('unknown environment fails the record before anything starts', async () => {
    const h = await harness();
    const b = await h.pending();
    h.environments.delete(h.env.environment_id);
    await expect(h.runner.run(b.id)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    const rec = await expectCleanFailure(h, b.id);
    expect(rec.error_details).toMatchObject({ phase: 'prepare' });
    expect(h.source.started.dump).toBe(0);
  });

  it('a record deleted by someone else mid-run: the run stops, the deletion stands, no object', async () => {
    const h = await harness({ source: { dumpSize: 1024 * 1024 } });
    const b = await h.pending();
    h.events.subscribe((e) => {
      // A concurrent writer (the host deleting it) wins the race against the runner.
      if (e.type === 'backup.status' && e.data.status === 'in_progress') void h.backups.update(b.id, { status: 'deleted' });
    });
    const error = await h.runner.run(b.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CONFLICT' });
    expect((await h.backups.get(b.id))?.status).toBe('deleted');
    expect(h.storage.keys()).toEqual([]);
    expect(h.source.running).toBe(0);
    expect(h.events.ofType('warning').map((w) => w.data.code)).toContain('W_RECORD_FAILED');
  });
});

describe('BackupRunner: construction', () => {
  it('rejects an invalid compression level', () => {
    expect(
      () => new BackupRunner({ backups: {} as never, storageConfigs: {} as never, environments: {} as never, compressionLevel: 12 }),
    ).toThrow(/compressionLevel/);
    expect(
      () =>
        new BackupRunner({ backups: {} as never, storageConfigs: {} as never, environments: {} as never, filestoreCompressionLevel: 0 }),
    ).toThrow(/filestoreCompressionLevel/);
  });
  it('a checksum mismatch error is transient', () => {
    expect(new ChecksumMismatchError('dump.sql', 'a', 'b').transient).toBe(true);
  });
});
