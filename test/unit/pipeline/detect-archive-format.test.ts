import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { detectArchiveFormat, MemoryStorageProvider } from '../../../src/index.js';

async function zipOf(entries: { name: string; data: string | Buffer; deflate: boolean }[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(Buffer.from(e.data), e.name, { compress: e.deflate });
  zip.end();
  return buffer(zip.outputStream as Readable);
}

async function detect(bytes: Buffer | null): Promise<unknown> {
  const storage = new MemoryStorageProvider();
  if (bytes) await storage.upload('imports/x', Readable.from([bytes]));
  return detectArchiveFormat(storage, 'imports/x').catch((e: { code: string; details: { reason?: string } }) => ({
    code: e.code,
    reason: e.details.reason,
  }));
}

describe('detectArchiveFormat', () => {
  it('reads a bare pg_dump -Fc dump', async () => {
    expect(await detect(Buffer.from('PGDMP\x01\x0f\x00rest of a custom-format dump'))).toBe('pg_custom');
  });

  it("reads Odoo's backup ZIP (plain dump.sql deflated, filestore/ files, manifest.json)", async () => {
    const zip = await zipOf([
      { name: 'dump.sql', data: '--\n-- PostgreSQL database dump\n--\nSELECT 1;\n', deflate: true },
      { name: 'filestore/ab/abcdef', data: 'file', deflate: true },
      { name: 'manifest.json', data: '{"odoo_dump": "1"}', deflate: true },
    ]);
    expect(await detect(zip)).toBe('odoo_zip');
  });

  it('reads an archive of this SDK (custom-format dump.sql stored, filestore.tar.gz, manifest.json)', async () => {
    const zip = await zipOf([
      { name: 'dump.sql', data: 'PGDMP\x01\x0f\x00', deflate: false },
      { name: 'filestore.tar.gz', data: Buffer.from([0x1f, 0x8b]), deflate: false },
      { name: 'manifest.json', data: '{"version": "1.0"}', deflate: true },
    ]);
    expect(await detect(zip)).toBe('obsdk');
  });

  it.each([
    ['a text file', Buffer.from('hello, this is not an archive')],
    ['an empty file', Buffer.alloc(0)],
    ['an encrypted archive', Buffer.from('age-encryption.org/v1\n-> X25519 abc\n')],
    ['a truncated ZIP', Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00')],
  ])('refuses %s with E_IMPORT_FORMAT', async (_name, bytes) => {
    expect(await detect(bytes)).toMatchObject({ code: 'E_IMPORT_FORMAT' });
  });

  it('refuses a ZIP without dump.sql with E_IMPORT_FORMAT', async () => {
    expect(await detect(await zipOf([{ name: 'readme.txt', data: 'hi', deflate: true }]))).toMatchObject({ code: 'E_IMPORT_FORMAT' });
  });

  it('says E_STORAGE_NOT_FOUND for a missing object', async () => {
    expect(await detect(null)).toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
  });
});
