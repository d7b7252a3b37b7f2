import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import yauzl from 'yauzl';
import { describe, expect, it } from 'vitest';
import { verifyBackupArchive, type KeyProvider, type StorageProvider } from '../../../src/index.js';
import { harness } from './harness.js';

const idA = await generateX25519Identity();
const idB = await generateX25519Identity();
const idBreakGlass = await generateX25519Identity();
const recA = await identityToRecipient(idA);
const recBreakGlass = await identityToRecipient(idBreakGlass);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const keysFor = (recipients: string[]): KeyProvider => ({ recipients: () => recipients, identities: () => [] });
const noLister = { lister: null };

async function entries(zipBytes: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.fromBuffer(zipBytes, { lazyEntries: true }, (e, z) => (e ? rej(e) : res(z))),
  );
  const out = new Map<string, Buffer>();
  for await (const entry of zip.eachEntry()) out.set(entry.fileName, await buffer(await zip.openReadStreamPromise(entry)));
  return out;
}

/** A provider over `inner` that counts reads (to prove a refusal came before any). */
function counting(inner: StorageProvider): StorageProvider & { reads: number } {
  const p = Object.create(inner) as StorageProvider & { reads: number };
  p.reads = 0;
  p.download = (key, o) => (p.reads++, inner.download(key, o));
  p.head = (key) => (p.reads++, inner.head(key));
  return p;
}

async function encryptedBackup(recipients = [recA, recBreakGlass]) {
  const h = await harness({ source: { dumpSize: 300_000, filestoreSize: 150_000 }, deps: { keys: keysFor(recipients) } });
  const done = await h.runner.run((await h.pending()).id);
  const key = done.database_key!;
  const stored = await buffer(await h.storage.download(key));
  return { h, done, key, stored };
}

describe('BackupRunner with a KeyProvider: age-encrypted objects', () => {
  it('stores an age file at {id}.zip.age that each recipient opens into the ZIP; records recipients, stored size and checksum; verifies', async () => {
    const { h, done, key, stored } = await encryptedBackup();
    expect(key.endsWith(`/${done.id}.zip.age`)).toBe(true);
    expect(h.storage.keys()).toEqual([key]);
    expect(done).toMatchObject({ status: 'completed', is_verified: true, encryption_recipients: [recA, recBreakGlass] });
    expect(done.compressed_size).toBe(stored.length);
    expect(done.stored_checksum).toBe(sha(stored));
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    for (const identity of [idA, idBreakGlass]) {
      const d = new Decrypter();
      d.addIdentity(identity);
      const parts = await entries(Buffer.from(await d.decrypt(stored)));
      expect(sha(parts.get('dump.sql')!)).toBe(done.database_checksum);
      expect(sha(parts.get('filestore.tar.gz')!)).toBe(done.filestore_checksum);
    }
    const expected = {
      encryption_recipients: done.encryption_recipients,
      size: done.compressed_size,
      database_checksum: done.database_checksum,
    };
    const ok = await verifyBackupArchive(h.storage, key, { ...noLister, expected, identities: [idBreakGlass] });
    expect(ok.database.checksum).toBe(done.database_checksum);
  });

  it('E_ENCRYPTION_KEY before any read without an identity for a recorded recipient; rotation opens with [B, A]', async () => {
    const { h, done, key } = await encryptedBackup([recA]);
    const expected = { encryption_recipients: done.encryption_recipients, size: done.compressed_size };
    const spy = counting(h.storage);
    await expect(verifyBackupArchive(spy, key, { ...noLister, expected, identities: [idB] })).rejects.toMatchObject({
      code: 'E_ENCRYPTION_KEY',
    });
    await expect(verifyBackupArchive(spy, key, { ...noLister, expected })).rejects.toMatchObject({ code: 'E_ENCRYPTION_KEY' });
    expect(spy.reads).toBe(0);
    await expect(verifyBackupArchive(h.storage, key, { ...noLister, expected, identities: [idB, idA] })).resolves.toBeTruthy();
  });

  it('tampering and truncation give their codes, never E_ARCHIVE', async () => {
    const { h, done, key, stored } = await encryptedBackup([recA]);
    const headerEnd = stored.indexOf('\n--- ') + 1;
    const macLineEnd = stored.indexOf(0x0a, headerEnd) + 1;
    const payloadStart = macLineEnd + 16;
    const chunk = 65536 + 16;
    const put = async (bytes: Buffer) => h.storage.upload(key, Readable.from([bytes]));
    const check = (code: string, size: number | null = done.compressed_size) =>
      expect(
        verifyBackupArchive(h.storage, key, {
          ...noLister,
          expected: { encryption_recipients: [recA], size },
          identities: [idA],
        }),
      ).rejects.toMatchObject({ code });
    const flip = (at: number) => {
      const copy = Buffer.from(stored);
      copy[at] = copy[at]! ^ 1;
      return copy;
    };
    await put(flip(payloadStart + chunk + 100)); // inside the dump's second chunk
    await check('E_ENCRYPTION_TAMPERED');
    await put(flip(stored.length - 20)); // the last chunk
    await check('E_ENCRYPTION_TAMPERED');
    await put(flip(headerEnd + 6)); // the header MAC
    await check('E_ENCRYPTION_TAMPERED');
    await put(stored.subarray(0, payloadStart + 2 * chunk)); // at a chunk boundary
    await check('E_ENCRYPTION_TRUNCATED');
    await check('E_ENCRYPTION_TRUNCATED', null); // without the record's size: the last chunk is not final
    await put(stored.subarray(0, payloadStart + 2 * chunk + 999)); // mid-chunk
    await check('E_ENCRYPTION_TRUNCATED');
    // The record says plaintext, the object is age: tampering, not a corrupt ZIP.
    await put(stored);
    await expect(verifyBackupArchive(h.storage, key, { ...noLister })).rejects.toMatchObject({ code: 'E_ENCRYPTION_TAMPERED' });
  });

  it('refuses non-X25519 recipients and a throwing key provider before anything is uploaded', async () => {
    for (const [keys, code] of [
      [keysFor(['age1pq1' + 'q'.repeat(1900)]), 'E_VALIDATION'],
      [{ recipients: () => Promise.reject(new Error('vault sealed')), identities: () => [] }, 'E_ADAPTER'],
    ] as const) {
      const h = await harness({ deps: { keys } });
      const pending = await h.pending();
      await expect(h.runner.run(pending.id)).rejects.toMatchObject({ code });
      expect(h.storage.keys()).toEqual([]);
      expect(h.source.started).toEqual({ dump: 0, filestore: 0 });
      expect(await h.backups.get(pending.id)).toMatchObject({ status: 'failed' });
    }
  });
});
