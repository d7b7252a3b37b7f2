import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createStorageProvider,
  LocalStorageProvider,
  MemoryStorageProvider,
  redactStorageConfig,
  type StorageConfig,
} from '../../../src/index.js';
import { failingChecks, runStorageProviderContract, storageProviderChecks } from '../../../src/testing/index.js';
import { tempName } from '../../../src/storage/temp-name.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function tempFilesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.includes('.obsdk-partial-'));
}

await runStorageProviderContract('memory', () => new MemoryStorageProvider(), { largeObjectBytes: 8 * 1024 * 1024, listKeyCount: 600 });

let localRoot = '';
await runStorageProviderContract(
  'local',
  () => {
    localRoot = mkdtempSync(join(tmpdir(), 'obsdk-local-'));
    roots.push(localRoot);
    return new LocalStorageProvider({ root: localRoot });
  },
  {
    largeObjectBytes: 64 * 1024 * 1024,
    listKeyCount: 2500,
    leftovers: async () => tempFilesUnder(localRoot),
    missingContainer: () => new LocalStorageProvider({ root: join(tmpdir(), `obsdk-missing-${process.pid}`, 'root') }),
  },
);

describe('local storage root', () => {
  it('is never created: a missing root fails upload, list and the connection test, and leaves the disk as it was', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'obsdk-local-'));
    roots.push(parent);
    const p = new LocalStorageProvider({ root: join(parent, 'not', 'there') });
    await expect(p.upload('a/b.txt', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
      code: 'E_STORAGE_NOT_FOUND',
      details: { missing: 'root' },
    });
    await expect(p.list('')[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
    expect(await p.testConnection()).toMatchObject({ ok: false, steps: [{ step: 'write', ok: false }] });
    expect(readdirSync(parent)).toEqual([]);
  });

  it('may be a symbolic link to a folder (a mounted volume), and its connection test leaves nothing in it', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'obsdk-local-'));
    roots.push(parent);
    mkdirSync(join(parent, 'volume'));
    symlinkSync(join(parent, 'volume'), join(parent, 'root'));
    const p = new LocalStorageProvider({ root: join(parent, 'root') });
    expect(await p.testConnection()).toMatchObject({ ok: true });
    expect(readdirSync(join(parent, 'volume'))).toEqual([]);
  });
});

const config = (over: Partial<StorageConfig>): StorageConfig => ({
  id: '00000000-0000-4000-8000-000000000001',
  organization_id: 'org',
  name: 'c',
  provider: 'memory',
  is_default: true,
  settings: {},
  credentials: { secret_access_key: 'TOPSECRET' },
  storage_class: null,
  total_size_bytes: 0,
  object_count: 0,
  last_used_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('storage contract catches broken adapters', () => {
  it('flags a provider whose upload publishes partial objects and whose delete throws on missing keys', async () => {
    class Broken extends MemoryStorageProvider {
      override async upload(key: string, body: NodeJS.ReadableStream | Readable) {
        const chunks: Buffer[] = [];
        try {
          for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
        } finally {
          // Publishes whatever arrived, even when the source failed.
          await super.upload(key, Readable.from([Buffer.concat(chunks)]));
        }
        return { key, size: Buffer.concat(chunks).length };
      }
      override async delete(key: string) {
        if (!(await this.head(key)).exists) throw new Error('no such key');
        await super.delete(key);
      }
    }
    const failed = await failingChecks(storageProviderChecks(() => new Broken(), { largeObjectBytes: 1024, listKeyCount: 10 }));
    expect(failed).toContain('delete is idempotent and head reports a missing object');
    expect(failed).toContain('a source stream that fails mid-upload leaves no object');
  });
});

describe('abortPartialUploads on local storage', () => {
  it("removes the temp files a killed upload of the key left, and no other key's", async () => {
    const root = mkdtempSync(join(tmpdir(), 'obsdk-local-'));
    roots.push(root);
    const provider = new LocalStorageProvider({ root });
    const key = 'organizations/o/environments/e/b1.zip';
    await provider.upload(key, Readable.from([Buffer.from('done')]));
    const folder = dirname(join(root, key));
    mkdirSync(folder, { recursive: true });
    // As a worker SIGKILLed mid-upload leaves them: two tries of this key, one of a sibling.
    const sibling = tempName('organizations/o/environments/e/b2.zip');
    for (const name of [tempName(key), tempName(key), sibling]) writeFileSync(join(folder, name), 'partial');
    expect(await provider.abortPartialUploads(key)).toBe(2);
    expect(tempFilesUnder(root).map((f) => f.split('/').at(-1))).toEqual([sibling]);
    expect((await provider.head(key)).exists).toBe(true);
    expect(await provider.abortPartialUploads('organizations/o/environments/none/b.zip')).toBe(0);
  });

  it("the contract flags a provider that removes every temp file of the folder (another key's upload in flight breaks)", async () => {
    let root = '';
    class Greedy extends LocalStorageProvider {
      override async abortPartialUploads(key: string): Promise<number> {
        const folder = dirname(join(root, key));
        const temps = readdirSync(folder).filter((f) => f.startsWith('.obsdk-partial-'));
        for (const f of temps) rmSync(join(folder, f));
        return temps.length;
      }
    }
    const checks = storageProviderChecks(
      () => {
        root = mkdtempSync(join(tmpdir(), 'obsdk-local-'));
        roots.push(root);
        return new Greedy({ root });
      },
      { largeObjectBytes: 1024, listKeyCount: 10 },
    ).filter((c) => c.name.startsWith('abortPartialUploads'));
    expect(await failingChecks(checks)).toHaveLength(1);
  });
});

describe('createStorageProvider', () => {
  it('maps memory and local configs to their adapters and shares a memory namespace', async () => {
    const a = createStorageProvider(config({ settings: { namespace: 'shared-ns' } }));
    const b = createStorageProvider(config({ settings: { namespace: 'shared-ns' } }));
    await a.upload('k/x.txt', Readable.from([Buffer.from('hi')]));
    expect((await b.head('k/x.txt')).exists).toBe(true);
    const root = mkdtempSync(join(tmpdir(), 'obsdk-local-'));
    roots.push(root);
    expect(createStorageProvider(config({ provider: 'local', settings: { root } })).name).toBe('local');
  });

  it('refuses a local config without a root before touching the disk', () => {
    expect(() => createStorageProvider(config({ provider: 'local', settings: {} }))).toThrow(/settings\.root/);
  });

  it('never shows credentials in a redacted config', () => {
    const json = JSON.stringify(redactStorageConfig(config({})));
    expect(json).not.toContain('TOPSECRET');
    expect(json).toContain('[redacted]');
  });

  it('injected faults fail uploads and leave nothing', async () => {
    const p = new MemoryStorageProvider();
    p.injectUploadFault({ afterBytes: 3, transient: true });
    await expect(p.upload('a/b', Readable.from([Buffer.from('hello')]))).rejects.toMatchObject({
      code: 'E_STORAGE_UNAVAILABLE',
      transient: true,
    });
    expect(p.keys()).toEqual([]);
    await p.upload('a/b', Readable.from([Buffer.from('hello')]));
    expect(p.keys()).toEqual(['a/b']);
  });
});
