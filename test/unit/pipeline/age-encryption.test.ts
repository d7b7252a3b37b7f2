import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { MemoryStorageProvider } from '../../../src/index.js';
import { ageStoredSize } from '../../../src/pipeline/age-chunks.js';
import { AgeEncryptStream, AgePrefixGuard } from '../../../src/pipeline/age-encrypt-stream.js';
import { sealAgeHeader } from '../../../src/pipeline/age-header.js';
import { openAgeObject } from '../../../src/pipeline/age-range-reader.js';
import { checkAgeRecipients } from '../../../src/domain/age-keys.js';

const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);

async function encrypt(plain: Buffer, recipients = [recipient]): Promise<{ stored: Buffer; headerBytes: number }> {
  const sealed = await sealAgeHeader(recipients);
  // Feed in uneven pieces, as a ZIP writer does.
  const pieces: Buffer[] = [];
  for (let i = 0; i < plain.length;) {
    const n = 1 + ((i * 7919) % 100_000);
    pieces.push(plain.subarray(i, i + n));
    i += n;
  }
  const stored = await buffer(Readable.from(pieces).pipe(new AgeEncryptStream(sealed)));
  return { stored, headerBytes: sealed.header.length };
}

async function readRange(reader: { createReadStream(o: { start: number; end: number }): Readable }, start: number, end: number) {
  return buffer(reader.createReadStream({ start, end }));
}

describe('age encryption stage and decrypting range reader', () => {
  it('stored size = header + 16 + n + 16 × max(1, ⌈n/65536⌉); random ranges read back equal the plaintext; age-encryption decrypts it', async () => {
    const storage = new MemoryStorageProvider();
    const sizes = fc.oneof(fc.constantFrom(0, 1, 65535, 65536, 65537, 131072), fc.integer({ min: 0, max: 8 * 1024 * 1024 }));
    await fc.assert(
      fc.asyncProperty(
        sizes,
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 6,
        }),
        async (n, ranges) => {
          const plain = randomBytes(n);
          const { stored, headerBytes } = await encrypt(plain);
          expect(stored.length).toBe(headerBytes + 16 + n + 16 * Math.max(1, Math.ceil(n / 65536)));
          expect(stored.length).toBe(ageStoredSize(headerBytes, n));
          await storage.upload('o.zip.age', Readable.from([stored]));
          const opened = await openAgeObject(storage, 'o.zip.age', stored.length, { identities: [identity] }, new AbortController().signal);
          expect(opened.plaintextBytes).toBe(n);
          for (const [x, y] of ranges) {
            const a = Math.floor(Math.min(x, y) * n);
            const b = Math.floor(Math.max(x, y) * n);
            expect((await readRange(opened.reader, a, b)).equals(plain.subarray(a, b))).toBe(true);
          }
          // Another implementation (age-encryption's own stream decrypter) reads the same bytes.
          const d = new Decrypter();
          d.addIdentity(identity);
          expect(Buffer.from(await d.decrypt(stored)).equals(plain)).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('the prefix guard lets an age file through and refuses plaintext with E_ENCRYPTION_REQUIRED', async () => {
    const { stored } = await encrypt(randomBytes(100));
    expect((await buffer(Readable.from([stored.subarray(0, 3), stored.subarray(3)]).pipe(new AgePrefixGuard()))).equals(stored)).toBe(true);
    await expect(
      buffer(Readable.from([Buffer.from('PK\x03\x04 a plain zip that is long enough')]).pipe(new AgePrefixGuard())),
    ).rejects.toMatchObject({
      code: 'E_ENCRYPTION_REQUIRED',
    });
    await expect(buffer(Readable.from([]).pipe(new AgePrefixGuard()))).rejects.toMatchObject({ code: 'E_ENCRYPTION_REQUIRED' });
  });

  it('accepts X25519 recipients only', () => {
    expect(checkAgeRecipients([recipient])).toEqual([recipient]);
    for (const bad of ['age1pq1' + 'q'.repeat(100), 'age1tag1' + 'q'.repeat(60), 'ssh-ed25519 AAAAC3Nza', 'age1short', 42])
      expect(() => checkAgeRecipients([bad])).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
    expect(() => checkAgeRecipients([recipient, recipient])).toThrow(/twice/);
  });
});
