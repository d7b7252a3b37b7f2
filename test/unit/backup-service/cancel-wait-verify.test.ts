import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  BackupService,
  CancelledError,
  InvalidTransitionError,
  MemoryStorageProvider,
  PermissionDeniedError,
  TimeoutError,
  type AuthorizationRequest,
  type DumpLister,
  type LogFields,
  type Logger,
} from '../../../src/index.js';
import { FakeBackupSource } from '../../../src/testing/index.js';
import { alice, backupReaches, eventually, makeHarness, outcomeAtTimeout, quiet, T0 } from './harness.js';

/** A dump lister that never answers until its signal aborts: holds a run in its verifying phase. */
const hangingLister: DumpLister = (dump: Readable, { signal }) =>
  new Promise((_, reject) => {
    dump.resume();
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

describe('cancelBackup', () => {
  it('fails a pending backup at once with E_CANCELLED, and the worker skips its job', async () => {
    const h = await makeHarness();
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    const cancelled = await h.service.cancelBackup(created.id, alice);
    expect(cancelled).toMatchObject({ status: 'failed', cancel_requested_at: T0, error_message: 'Backup cancelled on request' });
    expect(cancelled.error_details).toMatchObject({ code: 'E_CANCELLED', transient: false });
    expect(await h.tasks.get(created.task_id)).toMatchObject({ status: 'failed', error_message: 'Backup cancelled on request' });

    h.service.startWorker();
    await h.queue.idle();
    expect(h.source.started.dump).toBe(0);
    expect((await h.backups.get(created.id))!.status).toBe('failed');
    expect(h.queue.jobsInfo()[0]!.state).toBe('completed'); // skipped, not dead-lettered
    expect(await h.queue.deadLetters()).toEqual([]);
    expect(h.storage.keys()).toEqual([]);
  });

  it('stops a running backup: its tools are killed, nothing is left in storage, it ends failed with E_CANCELLED and is not retried', async () => {
    const source = new FakeBackupSource({ dumpSize: 40_000 }).injectFault({ mode: 'hang', afterBytes: 1000 });
    const h = await makeHarness({ source });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await eventually('the dump to run', () => source.started.dump === 1 && source.running === 1);
    await h.service.cancelBackup(created.id, alice);
    const ended = await h.service.waitForBackup(created.id);
    expect(ended.status).toBe('failed');
    expect(ended.error_message).toContain('cancelled on request');
    expect(ended.error_details).toMatchObject({ code: 'E_CANCELLED', phase: 'dump', transient: false });
    await h.queue.idle();
    expect(source.running).toBe(0);
    expect(source.started.dump).toBe(1);
    expect(h.storage.keys()).toEqual([]);
    expect(await h.tasks.get(created.task_id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await h.queue.deadLetters()).toEqual([]);
  });

  it('removes the object a run already uploaded when the cancel arrives while it is being verified', async () => {
    const h = await makeHarness({ service: { runnerOptions: { dumpLister: hangingLister } } });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await eventually('the archive to be stored and under verification', () => h.storage.keys().length === 1);
    await h.service.cancelBackup(created.id, alice);
    const ended = await h.service.waitForBackup(created.id);
    expect(ended.status).toBe('failed');
    expect(ended.error_details).toMatchObject({ code: 'E_CANCELLED' });
    expect(h.storage.keys()).toEqual([]);
  });

  it('is seen by a worker of another process through the repository, within cancelCheckMs of its clock', async () => {
    const source = new FakeBackupSource({ dumpSize: 40_000 }).injectFault({ mode: 'hang', afterBytes: 1000 });
    const h = await makeHarness({ source, service: { cancelCheckMs: 5000 } });
    // The "other process": a second service over the same records, with its own in-process signals.
    const elsewhere = new BackupService({
      ...h,
      environments: h.environments,
      queue: h.queue,
      clock: h.clock,
      runnerOptions: { dumpLister: null },
    });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await eventually('the dump to run', () => source.running === 1);
    await elsewhere.cancelBackup(created.id, alice);
    await new Promise<void>((r) => setTimeout(r, 50));
    expect((await h.backups.get(created.id))!.status).toBe('in_progress'); // not seen yet
    await h.clock.advance(5000);
    await backupReaches(h, created.id, 'failed');
    expect((await h.backups.get(created.id))!.error_details).toMatchObject({ code: 'E_CANCELLED' });
  });

  it('asks the delete permission and refuses a backup that already ended', async () => {
    const asked: AuthorizationRequest[] = [];
    const h = await makeHarness({
      authorize: (r) => (asked.push(r), r.permission !== 'project.backups.delete' || r.actor?.id === alice.id),
    });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    await expect(h.service.cancelBackup(created.id, { id: 'mallory' })).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(asked.at(-1)).toMatchObject({ permission: 'project.backups.delete', backup_id: created.id });
    h.service.startWorker();
    await h.queue.idle();
    await expect(h.service.cancelBackup(created.id, alice)).rejects.toBeInstanceOf(InvalidTransitionError);
    expect((await h.backups.get(created.id))!).toMatchObject({ status: 'completed', cancel_requested_at: null });
  });

  it('cancelling twice changes nothing', async () => {
    const h = await makeHarness();
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    const first = await h.service.cancelBackup(created.id, alice);
    await h.clock.advance(60_000);
    expect(await h.service.cancelBackup(created.id, alice)).toEqual(first);
  });

  it('CancelledError is typed and not transient', () => {
    const e = new CancelledError('Backup x');
    expect(e).toMatchObject({ code: 'E_CANCELLED', transient: false });
  });
});

describe('waitForBackup', () => {
  it('resolves with the completed backup', async () => {
    const h = await makeHarness();
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    const waiting = h.service.waitForBackup(created.id, { timeoutMs: 60_000 });
    h.service.startWorker();
    expect(await waiting).toMatchObject({ id: created.id, status: 'completed' });
  });

  it('resolves (does not throw) with a failed backup', async () => {
    const source = new FakeBackupSource().injectFault({ afterBytes: 100 });
    const h = await makeHarness({ source });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    const ended = await h.service.waitForBackup(created.id);
    expect(ended.status).toBe('failed');
    expect(ended.error_details).toMatchObject({ code: 'E_SOURCE_PG_DUMP' });
  });

  it('throws E_TIMEOUT after timeoutMs of the clock, and the backup goes on', async () => {
    const h = await makeHarness();
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    const outcome = await outcomeAtTimeout(h.clock, 30_000, () => h.service.waitForBackup(created.id, { timeoutMs: 30_000 }));
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(outcome).toMatchObject({ code: 'E_TIMEOUT' });
    expect((await h.backups.get(created.id))!.status).toBe('pending');
  });

  it('throws E_ABORTED when the signal aborts', async () => {
    const h = await makeHarness();
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    const controller = new AbortController();
    const waiting = h.service.waitForBackup(created.id, { signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    await expect(h.service.waitForBackup(created.id, { signal: controller.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it('sees a backup finished by another process by re-reading on the clock', async () => {
    const h = await makeHarness({ service: { completionPollMs: 1000 } });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    const waiting = h.service.waitForBackup(created.id);
    // Another process deleted it: no event reaches this one.
    await h.backups.update(created.id, { status: 'deleted' });
    await h.clock.advance(1000);
    expect((await waiting).status).toBe('deleted');
  });
});

describe('verifyBackup', () => {
  it('re-reads the stored archive and records is_verified / verified_at', async () => {
    const h = await makeHarness({ service: { verifyAfterUpload: false } });
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();
    expect(await h.backups.get(created.id)).toMatchObject({ status: 'completed', is_verified: false, verified_at: null });
    await h.clock.advance(3_600_000);
    const result = await h.service.verifyBackup(created.id, alice);
    expect(result).toMatchObject({ ok: true, error: null, backup: { is_verified: true, verified_at: '2026-03-10T11:00:00.000Z' } });
    expect(result.verification!.database.checksum).toBe((await h.backups.get(created.id))!.database_checksum);
    expect(await h.backups.get(created.id)).toMatchObject({
      is_verified: true,
      verified_at: '2026-03-10T11:00:00.000Z',
      verification_error: null,
    });
  });

  it('records a failed verification (is_verified false, the reason, a warning) and resolves ok: false', async () => {
    const h = await makeHarness();
    const created = await h.service.createBackup(h.env.environment_id, {}, alice);
    h.service.startWorker();
    await h.queue.idle();
    expect((await h.backups.get(created.id))!.is_verified).toBe(true); // verified after upload by default
    // The stored object is replaced by other bytes.
    const key = h.storage.keys()[0]!;
    const other = new MemoryStorageProvider({ namespace: h.namespace });
    const { Readable } = await import('node:stream');
    await other.upload(key, Readable.from([Buffer.alloc(5000, 7)]));
    const result = await h.service.verifyBackup(created.id, alice);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ code: expect.stringMatching(/^E_ARCHIVE/) });
    const after = (await h.backups.get(created.id))!;
    expect(after).toMatchObject({ status: 'completed', is_verified: false, verified_at: null });
    expect(after.verification_error).toEqual(expect.any(String));
    expect(h.events.ofType('warning').map((e) => e.data.code)).toContain('W_VERIFICATION_FAILED');
  });

  it('verifies every backup type after upload by default, and none when verifyAfterUpload is false (pre-operation ones always)', async () => {
    const on = await makeHarness();
    const off = await makeHarness({ service: { verifyAfterUpload: false } });
    for (const h of [on, off]) {
      h.service.startWorker();
      await h.service.createBackup(h.env.environment_id, { backup_type: 'manual' }, alice);
      await h.service.createBackup(h.env.environment_id, { backup_type: 'scheduled' }, null);
      await h.queue.idle();
      await h.service.createPreOperationBackup(h.env.environment_id, 'pre_upgrade', alice);
    }
    const verified = async (h: typeof on) => Object.fromEntries((await h.backups.find({})).map((b) => [b.backup_type, b.is_verified]));
    expect(await verified(on)).toEqual({ manual: true, scheduled: true, pre_upgrade: true });
    expect(await verified(off)).toEqual({ manual: false, scheduled: false, pre_upgrade: true });
  });
});

describe('logger', () => {
  class RecordingLogger implements Logger {
    readonly lines: { level: string; fields: LogFields; message: string }[] = [];
    debug = (fields: LogFields, message: string) => void this.lines.push({ level: 'debug', fields, message });
    info = (fields: LogFields, message: string) => void this.lines.push({ level: 'info', fields, message });
    warn = (fields: LogFields, message: string) => void this.lines.push({ level: 'warn', fields, message });
    error = (fields: LogFields, message: string) => void this.lines.push({ level: 'error', fields, message });
  }

  it('gets job start, retry, failure and end lines, and never a secret', async () => {
    const logger = new RecordingLogger();
    const secrets = ['S3-SECRET-KEY-1', 'PG-PASSWORD-2', 'TOKEN-3'];
    let calls = 0;
    const source = new FakeBackupSource({ dumpSize: 10_000 });
    const h = await makeHarness({
      service: {
        logger,
        retry: { attempts: 2, backoffMs: [1000] },
        sources: () => {
          calls++;
          // Try 1 fails transiently (retried); try 2 fails with a foreign error quoting credentials, as a driver might.
          if (calls === 1) return new FakeBackupSource().injectFault({ transient: true, afterBytes: 100 });
          if (calls > 2) return source;
          const failing = new FakeBackupSource();
          failing.dumpDatabase = () =>
            Promise.reject(new Error(`connect postgres://odoo:${secrets[1]}@db:5432/x failed; token=${secrets[2]}`));
          return failing;
        },
      },
    });
    await h.storageConfigs.update(h.config.id, { credentials: { secret_access_key: secrets[0]! } });
    h.service.startWorker();
    const failed = await h.service.createBackup(h.env.environment_id, {}, alice);
    await quiet(h);
    await h.clock.advance(1000);
    await h.queue.idle();
    const ok = await h.service.createBackup(h.env.environment_id, {}, alice);
    await h.queue.idle();

    const of = (id: string) => logger.lines.filter((l) => l.fields.backup_id === id).map((l) => `${l.level} ${l.message}`);
    expect(of(failed.id)).toEqual([
      'info backup job started',
      'warn backup job try failed; it will be retried',
      'info backup job started',
      'error backup job failed',
    ]);
    expect(of(ok.id)).toEqual(['info backup job started', 'info backup job completed']);
    const failure = logger.lines.find((l) => l.level === 'error')!;
    expect(failure.fields).toMatchObject({ backup_id: failed.id, attempt: 2, code: 'E_BACKUP' });
    expect(String(failure.fields.error)).toContain('postgres://odoo:[redacted]@db');
    const everything = JSON.stringify(logger.lines);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});
