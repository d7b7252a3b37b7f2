import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { checkGeneratedKeys } from '../../fixtures/hostile-keys.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorageProvider, type StorageConfig, type StorageProvider } from '../../../src/index.js';
import { runStorageProviderContract } from '../../../src/testing/index.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';

// OpenSSH sshd (Debian) with its own host key, started by the lead's harness.
const server: SshServer = await startSshd();
afterAll(() => server.stop());

const root = join(server.homeDir, 'backups');
mkdirSync(root);
// The SFTP account (not root) must own the folder it writes to.
const { uid, gid } = statSync(server.homeDir);
chownSync(root, uid, gid);

const config = (settings: Record<string, unknown> = {}, credentials?: Record<string, string>): StorageConfig => ({
  id: '00000000-0000-4000-8000-00000000005f',
  organization_id: 'org',
  name: 'sftp',
  provider: 'sftp',
  is_default: true,
  settings: {
    host: server.host,
    port: server.port,
    root,
    host_key: server.hostKeyFingerprint,
    max_connections: 4,
    retries: 2,
    retry_min_delay_ms: 20,
    ...settings,
  },
  credentials: credentials ?? { username: server.username, private_key: server.privateKey },
  storage_class: null,
  total_size_bytes: 0,
  object_count: 0,
  last_used_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});
const provider = (settings?: Record<string, unknown>, credentials?: Record<string, string>): StorageProvider =>
  createStorageProvider(config(settings, credentials));

const tempFiles = () =>
  readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.split('/').some((s) => s.startsWith('.obsdk-partial-')));

await runStorageProviderContract('sftp (key login) on OpenSSH', () => provider(), {
  largeObjectBytes: 64 * 1024 * 1024,
  // OpenSSH answers a READDIR with at most 100 names: 600 keys take six of them.
  listKeyCount: 600,
  leftovers: async () => tempFiles(),
  // sshd's listener survives; the per-connection processes die like a dropped network link.
  serverCrash: { kill: async () => server.dropConnections(), restart: async () => undefined, provider: () => provider({ retries: 0 }) },
  wrongCredentials: {
    provider: () => provider({}, { username: server.username, password: 'wrong-secret-value' }),
    secret: 'wrong-secret-value',
  },
  missingContainer: () => provider({ root: join(server.homeDir, 'no-such-folder') }),
});

describe('SFTP provider details against OpenSSH', () => {
  it('50 generated hostile keys are refused with E_VALIDATION by every method, or round-trip and list', () =>
    checkGeneratedKeys(provider()));

  it('logs in with a password too, and the connection test leaves no file or folder on the server', async () => {
    const p = provider({}, { username: server.username, password: server.password });
    try {
      const result = await p.testConnection();
      expect(result.ok, result.message).toBe(true);
    } finally {
      await p.close();
    }
    expect(readdirSync(root).filter((name) => name.includes('odoo-backup-sdk-probe'))).toEqual([]);
  });

  it('accepts the host key given as a known_hosts line', async () => {
    const p = provider({ host_key: server.knownHostsLine });
    try {
      await p.upload('kh/ok.txt', Readable.from([Buffer.from('ok')]));
      expect((await p.head('kh/ok.txt')).exists).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('refuses a server whose host key is not the configured one, with E_STORAGE_HOST_KEY', async () => {
    const p = provider({ host_key: 'SHA256:' + 'A'.repeat(43) });
    try {
      await expect(p.upload('x.txt', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
        code: 'E_STORAGE_HOST_KEY',
        transient: false,
      });
      expect(tempFiles()).toEqual(expect.not.arrayContaining([expect.stringContaining('x.txt')]));
    } finally {
      await p.close();
    }
  });

  it('refuses a config without a host key (no trust on first use) before connecting', () => {
    expect(() => provider({ host_key: '' })).toThrow(/settings\.host_key/);
    expect(() => provider({ host_key: 'not a key' })).toThrow(/settings\.host_key/);
  });

  it('replaces an existing object (posixRename) and keeps server paths out of errors', async () => {
    const p = provider();
    try {
      await p.upload('re/obj.txt', Readable.from([Buffer.from('first')]));
      await p.upload('re/obj.txt', Readable.from([Buffer.from('second, longer')]));
      const chunks: Buffer[] = [];
      for await (const c of await p.download('re/obj.txt')) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('second, longer');
      const error = await p.download('re/missing.txt').then(
        () => undefined,
        (e: unknown) => e as Error & { toJSON(): unknown },
      );
      expect(error).toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
      expect(JSON.stringify({ json: error!.toJSON(), cause: String(error!.cause) })).not.toContain(server.homeDir);
    } finally {
      await p.close();
    }
  });

  it('reads a large object through two channels of one connection: whole and odd ranges come back byte for byte, again and again', async () => {
    const p = provider({ max_connections: 1 });
    const body = randomBytes(11 * 1024 * 1024 + 12_345);
    const read = async (range?: { start: number; end?: number }) => {
      const chunks: Buffer[] = [];
      for await (const c of await p.download('big/two-channels.bin', range ? { range } : {})) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    try {
      await p.upload('big/two-channels.bin', Readable.from([body]));
      expect((await read()).equals(body)).toBe(true);
      expect((await read({ start: 261_121, end: 9_999_999 })).equals(body.subarray(261_121, 10_000_000))).toBe(true);
      expect((await read({ start: body.length - 8_400_000 })).equals(body.subarray(body.length - 8_400_000))).toBe(true);
      // Repeated large downloads on the one pooled connection.
      for (let i = 0; i < 3; i++) expect((await read({ start: 5, end: 9_000_004 })).equals(body.subarray(5, 9_000_005))).toBe(true);
    } finally {
      await p.delete('big/two-channels.bin');
      await p.close();
    }
  });
});
