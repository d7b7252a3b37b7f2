import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AbortedError, SourceError, type EnvironmentSnapshot } from '../../../src/index.js';
import {
  FakeBackupSource,
  StaticEnvironmentResolver,
  fakeBackupSourceFactory,
  fakeBytes,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('FakeBackupSource', () => {
  it('produces deterministic bytes of the configured size, independent of chunk size', async () => {
    const a = await drain(fakeBytes('s', 200_000, 4096));
    const b = await drain(fakeBytes('s', 200_000, 65536));
    const c = await drain(fakeBytes('t', 200_000));
    expect(a.length).toBe(200_000);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    // Blocks repeat the base pattern but are stamped, so 64 KiB blocks differ.
    expect(a.subarray(0, 65536).equals(a.subarray(65536, 131072))).toBe(false);
  });

  it('streams dump and filestore matching expectedChecksums, then done resolves', async () => {
    const source = new FakeBackupSource({ dumpSize: 100_000, filestoreSize: 50_000 });
    const dump = await source.dumpDatabase({ compressionLevel: 6 });
    const bytes = await drain(dump.stream);
    await dump.done;
    const fs = await source.archiveFilestore();
    const fsBytes = await drain(fs!.stream);
    await fs!.done;
    const expected = await source.expectedChecksums();
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(expected.dump);
    expect(createHash('sha256').update(fsBytes).digest('hex')).toBe(expected.filestore);
    expect(source.compressionLevels).toEqual([6]);
    expect(source.running).toBe(0);
  });

  it('a missing filestore resolves null', async () => {
    const source = new FakeBackupSource({ filestoreSize: null });
    expect(await source.archiveFilestore()).toBeNull();
    expect((await source.expectedChecksums()).filestore).toBeNull();
  });

  it('fails the next N dumps after some bytes, with exit code and stderr', async () => {
    const source = new FakeBackupSource({ dumpSize: 100_000 }).injectFault({
      afterBytes: 1000,
      times: 2,
      transient: true,
      exitCode: 3,
      stderr: 'boom',
    });
    for (let i = 0; i < 2; i++) {
      const dump = await source.dumpDatabase();
      const bytes = await drain(dump.stream);
      expect(bytes.length).toBe(1000);
      const error = (await dump.done.catch((e: unknown) => e)) as SourceError;
      expect(error).toBeInstanceOf(SourceError);
      expect(error.transient).toBe(true);
      expect(error.details).toMatchObject({ exit_code: 3, stderr_tail: 'boom', phase: 'dump' });
    }
    const ok = await source.dumpDatabase();
    expect((await drain(ok.stream)).length).toBe(100_000);
    await expect(ok.done).resolves.toBeUndefined();
  });

  it('hangs until aborted through the signal', async () => {
    const source = new FakeBackupSource().injectFault({ mode: 'hang', afterBytes: 10 });
    const ac = new AbortController();
    const dump = await source.dumpDatabase({ signal: ac.signal });
    dump.stream.resume();
    await new Promise((r) => setTimeout(r, 10));
    expect(source.running).toBe(1);
    ac.abort();
    await expect(dump.done).rejects.toBeInstanceOf(AbortedError);
    expect(source.running).toBe(0);
  });

  it('factory shares one source or builds one per call', () => {
    const shared = new FakeBackupSource();
    const f = fakeBackupSourceFactory(shared);
    const env = makeResolvedEnvironment();
    expect(f(env.source)).toBe(shared);
    expect(f.configs).toEqual([env.source]);
    const g = fakeBackupSourceFactory({ dumpSize: 5 });
    expect(g(env.source)).not.toBe(g(env.source));
    expect(g.sources).toHaveLength(2);
  });
});

describe('StaticEnvironmentResolver', () => {
  it('answers known environments (copies) and null for unknown ones', async () => {
    const env = makeResolvedEnvironment({ db_name: 'shop', name: 'Staging' });
    const r = new StaticEnvironmentResolver([env]);
    const got = await r.resolve(env.environment_id);
    expect(got).toEqual(env);
    (got!.snapshot as EnvironmentSnapshot).environment.name = 'changed';
    expect(((await r.resolve(env.environment_id))!.snapshot as EnvironmentSnapshot).environment.name).toBe('Staging');
    expect(await r.resolve('nope')).toBeNull();
    expect(r.lookups).toEqual([env.environment_id, env.environment_id, 'nope']);
  });

  it('plausible environments hold no secrets in their snapshot', () => {
    const env = makeResolvedEnvironment({
      source: { kind: 'local', connection: { database: 'db', password: 'hunter2' }, filestore_path: null },
    });
    expect(JSON.stringify(env.snapshot)).not.toContain('hunter2');
    expect((env.snapshot as EnvironmentSnapshot).project.odoo_version).toBe('18.0');
  });
});
