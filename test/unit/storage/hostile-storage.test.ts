// Adversarial storage input: provider names that would reach Object.prototype, keys that name a
// folder, hide from list() or escape the root, symbolic links planted inside a local root, and
// property-based runs of the key validator and of the local and memory providers.
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createStorageProvider,
  LocalStorageProvider,
  MemoryStorageProvider,
  ValidationError,
  type StorageConfig,
  type StorageProvider,
} from '../../../src/index.js';
import { assertSafeKey } from '../../../src/storage/safe-key.js';
import { checkGeneratedKey, codeOf, hostileKey } from '../../fixtures/hostile-keys.js';

const RUNS = 1000;
const PROVIDER_RUNS = 50;
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'obsdk-hostile-local-'));
  roots.push(root);
  return root;
}

const config = (provider: string, settings: Record<string, unknown> = {}): StorageConfig =>
  ({
    id: '00000000-0000-4000-8000-000000000001',
    organization_id: 'org',
    name: 'c',
    provider,
    settings,
    credentials: {},
    is_default: false,
    is_active: true,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  }) as unknown as StorageConfig;

async function text(p: StorageProvider, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await p.download(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function listed(p: StorageProvider, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of p.list(prefix)) keys.push(o.key);
  return keys;
}

describe('createStorageProvider', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'S3', ' local', ''])(
    'refuses provider %j with a ValidationError naming the field',
    (provider) => {
      let error: unknown;
      try {
        createStorageProvider(config(provider, { root: '/tmp/x' }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual(['provider']);
    },
  );

  it('reads only own settings: an inherited root is no root', () => {
    const settings = Object.create({ root: '/etc' }) as Record<string, unknown>;
    expect(() => createStorageProvider(config('local', settings))).toThrow(ValidationError);
    const parsed = JSON.parse('{"__proto__": {"root": "/etc"}, "namespace": "n"}') as Record<string, unknown>;
    expect(createStorageProvider(config('memory', parsed)).name).toBe('memory');
    expect(() => createStorageProvider(config('local', JSON.parse('{"__proto__": {"root": "/etc"}}') as never))).toThrow(ValidationError);
  });

  it(`property (${RUNS} runs): any provider string gives a provider, a ValidationError or E_UNSUPPORTED, never a TypeError`, () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('constructor', '__proto__', 'toString', '__defineGetter__', 'memory')),
        (provider) => {
          try {
            const p = createStorageProvider(config(provider, { root: '/tmp/obsdk-never-used', namespace: 'n' }));
            expect(typeof p.upload).toBe('function');
          } catch (error) {
            expect((error as { code?: string }).code).toMatch(/^E_VALIDATION$|^E_UNSUPPORTED$/);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('assertSafeKey', () => {
  const segment = fc.oneof(
    fc.constantFrom('..', '.', '', '.obsdk-partial-x', 'a', 'dump.zip', '\\', '\0', 'é', ' ', '-rf', '~', '%2e%2e'),
    fc.string({ maxLength: 6 }),
  );
  const key = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/'));

  it(`property (${RUNS} runs): an accepted key joined to a root stays strictly inside it and is listable`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          key,
          key.map((k) => `/${k}`),
        ),
        (k) => {
          let ok = true;
          try {
            assertSafeKey(k);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            ok = false;
          }
          if (!ok) return;
          const root = '/srv/storage';
          expect(resolve(root, k).startsWith(`${root}/`)).toBe(true);
          expect(k.split('/').some((s) => s === '..' || s === '.' || s === '' || s.startsWith('.obsdk-partial-'))).toBe(false);
          // eslint-disable-next-line no-control-regex
          expect(/[\u0000-\u001f\u007f\\]/.test(k)).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('local provider', () => {
  it('a key naming a folder is no object: head says missing, download E_STORAGE_NOT_FOUND, delete a no-op', async () => {
    const p = new LocalStorageProvider({ root: tempRoot() });
    await p.upload('a/b/c.zip', Readable.from([Buffer.from('x')]));
    expect(await p.head('a/b')).toEqual({ exists: false, key: 'a/b' });
    expect(await codeOf(p.download('a/b'))).toBe('E_STORAGE_NOT_FOUND');
    await p.delete('a/b');
    expect(await text(p, 'a/b/c.zip')).toBe('x');
    // A key below a file is missing too, not a storage failure.
    expect(await p.head('a/b/c.zip/d')).toEqual({ exists: false, key: 'a/b/c.zip/d' });
    expect(await codeOf(p.download('a/b/c.zip/d'))).toBe('E_STORAGE_NOT_FOUND');
  });

  it('a key with a temp-upload marker segment is refused, not stored unlisted', async () => {
    const p = new LocalStorageProvider({ root: tempRoot() });
    for (const key of ['.obsdk-partial-1', 'a/.obsdk-partial-x/b.zip'])
      for (const call of [p.upload(key, Readable.from([Buffer.from('x')])), p.head(key), p.delete(key), p.download(key)])
        expect(await codeOf(call)).toBe('E_VALIDATION');
    expect(await listed(p)).toEqual([]);
  });

  it('head and delete report an invalid key as E_VALIDATION, as upload and download do', async () => {
    const p = new LocalStorageProvider({ root: tempRoot() });
    for (const key of ['../x', '/etc/passwd', 'a//b', 'a\\b'])
      expect([await codeOf(p.head(key)), await codeOf(p.delete(key)), await codeOf(p.download(key))]).toEqual([
        'E_VALIDATION',
        'E_VALIDATION',
        'E_VALIDATION',
      ]);
  });

  it('never follows a symbolic link planted inside the root, for reads, writes, heads or deletes', async () => {
    const root = tempRoot();
    const outside = tempRoot();
    writeFileSync(join(outside, 'secret.txt'), 'outside secret');
    symlinkSync(outside, join(root, 'linked'));
    mkdirSync(join(root, 'b'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'b', 'file.zip'));
    const p = new LocalStorageProvider({ root });
    expect(await codeOf(p.download('linked/secret.txt'))).toBe('E_STORAGE_PERMISSION');
    expect(await codeOf(p.download('b/file.zip'))).toBe('E_STORAGE_PERMISSION');
    expect(await codeOf(p.head('linked/secret.txt'))).toBe('E_STORAGE_PERMISSION');
    expect(await codeOf(p.upload('linked/new.zip', Readable.from([Buffer.from('planted')])))).toBe('E_STORAGE_PERMISSION');
    expect(await codeOf(p.upload('linked/deep/new.zip', Readable.from([Buffer.from('planted')])))).toBe('E_STORAGE_PERMISSION');
    expect(await codeOf(p.delete('linked/secret.txt'))).toBe('E_STORAGE_PERMISSION');
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside secret');
    expect(await listed(p)).toEqual([]);
    expect(() => readFileSync(join(outside, 'new.zip'))).toThrow();
  });
});

describe(`providers against generated keys (${PROVIDER_RUNS} runs each)`, () => {
  for (const [name, make] of [
    ['memory', () => new MemoryStorageProvider()],
    ['local', () => new LocalStorageProvider({ root: tempRoot() })],
  ] as const) {
    it(`${name}: every method refuses a bad key with E_VALIDATION; a good key round-trips and is listed`, async () => {
      const p = make();
      await fc.assert(
        fc.asyncProperty(hostileKey(), (k) => checkGeneratedKey(p, k)),
        { numRuns: PROVIDER_RUNS },
      );
    });
  }
});
