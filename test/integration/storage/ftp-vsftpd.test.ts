// The FTP provider against Debian's vsftpd (C, OpenSSL), plain and explicit FTPS: a real,
// non-Node server beside ftp-srv, whose TLS stack is the client's own.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { StorageProvider } from '../../../src/index.js';
import { checkGeneratedKeys } from '../../fixtures/hostile-keys.js';
import { runStorageProviderContract } from '../../../src/testing/index.js';
import type { FtpServer } from '../../servers/ftp.js';
import { startVsftpd } from '../../servers/vsftpd.js';
import { provider } from './ftp-config.js';

const plain: FtpServer = await startVsftpd();
const secure: FtpServer = await startVsftpd({ tls: true });
afterAll(async () => {
  await plain.stop();
  await secure.stop();
});

for (const [label, server] of [
  ['plain', plain],
  ['explicit FTPS', secure],
] as const) {
  await runStorageProviderContract(`ftp (${label}, passive) on vsftpd`, () => provider(server), {
    largeObjectBytes: 16 * 1024 * 1024,
    listKeyCount: 300,
    leftovers: async () => server.tempFiles(),
    serverCrash: {
      kill: () => server.kill(),
      restart: () => server.restart(),
      provider: () => provider(server, { retries: 1, retry_min_delay_ms: 50 }),
    },
    missingContainer: () => provider(server, { root: '/no-such-folder' }),
  });
}

async function text(p: StorageProvider, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await p.download(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('FTP provider details against vsftpd', () => {
  it('stores and reads back a 0-byte object over FTPS (TLS data connection with no data)', async () => {
    const p = provider(secure);
    try {
      await expect(p.upload('zero/empty.bin', Readable.from([]))).resolves.toEqual({ key: 'zero/empty.bin', size: 0 });
      expect(await p.head('zero/empty.bin')).toMatchObject({ exists: true, size: 0 });
      expect(await text(p, 'zero/empty.bin')).toBe('');
      await p.delete('zero/empty.bin');
    } finally {
      await p.close();
    }
  });

  it('testConnection leaves nothing behind on the server, plain or FTPS', async () => {
    for (const server of [plain, secure]) {
      const root = join(server.ftpRoot, 'backups');
      const p = provider(server);
      try {
        await expect(p.testConnection()).resolves.toMatchObject({ ok: true });
        await expect(p.testConnection()).resolves.toMatchObject({ ok: true });
      } finally {
        await p.close();
      }
      // No probe file and no probe folder (FTP keeps a folder once made).
      expect(readdirSync(root).filter((name) => name.includes('odoo-backup-sdk-probe'))).toEqual([]);
    }
  });

  it('a TLS failure that is not about the certificate is not reported as one', async () => {
    // FTPS asked of a plain-only server: the server refuses AUTH TLS; nothing is wrong with a certificate.
    const p = provider(plain, { secure: true, retries: 0 });
    try {
      const error = (await p.head('x').catch((e: unknown) => e)) as { code?: string; message: string };
      expect(error.code).toBeDefined();
      expect(error.code).not.toBe('E_STORAGE_TLS');
    } finally {
      await p.close();
    }
  });

  for (const [label, server] of [
    ['plain', plain],
    ['FTPS', secure],
  ] as const) {
    it(`${label}: 50 generated hostile keys are refused with E_VALIDATION or round-trip and list`, () =>
      checkGeneratedKeys(provider(server)));
  }
});
