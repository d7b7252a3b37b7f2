import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

/**
 * age v1's payload (age-encryption.org/v1, "payload"): after the header, a 16-byte nonce, then the
 * plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under a key derived from the file
 * key and that nonce. A chunk's nonce is an 11-byte big-endian counter and a last-chunk flag. The
 * last chunk may be full, and is empty only when the whole payload is. Sealed here with
 * `node:crypto` (OpenSSL) rather than a JavaScript cipher: it is the one hot loop of encryption.
 */

/** Plaintext bytes per chunk. */
export const AGE_CHUNK_BYTES = 64 * 1024;
/** Poly1305 tag bytes after each chunk. */
export const AGE_TAG_BYTES = 16;
/** Bytes of one full sealed chunk. */
export const AGE_SEALED_CHUNK_BYTES = AGE_CHUNK_BYTES + AGE_TAG_BYTES;
/** Bytes of the payload nonce between the header and the first chunk. */
export const AGE_NONCE_BYTES = 16;

/** The payload key: HKDF-SHA256 of the file key, salted with the payload nonce, labelled "payload". */
export function agePayloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

/** One nonce buffer for every chunk: the cipher copies it when it is created, and sealing is synchronous. */
const nonceScratch = Buffer.alloc(12);

/** Chunk `index`'s 12-byte nonce: the index as an 11-byte big-endian counter, then 1 for the last chunk. */
function chunkNonce(index: number, last: boolean): Buffer {
  // 48 bits hold any index a real file reaches (2^48 chunks of 64 KiB is 16 EiB); bytes 0-4 stay 0.
  nonceScratch.writeUIntBE(index, 5, 6);
  nonceScratch[11] = last ? 1 : 0;
  return nonceScratch;
}

/**
 * Seals chunk `index` (at most {@link AGE_CHUNK_BYTES}) into `out` at `at`: ciphertext then tag.
 * Returns the bytes written (the chunk's length + {@link AGE_TAG_BYTES}); `out` must have room.
 */
export function sealAgeChunkInto(key: Buffer, index: number, last: boolean, plain: Uint8Array, out: Buffer, at: number): number {
  const cipher = createCipheriv('chacha20-poly1305', key, chunkNonce(index, last), { authTagLength: AGE_TAG_BYTES });
  const body = cipher.update(plain);
  cipher.final();
  body.copy(out, at);
  cipher.getAuthTag().copy(out, at + body.length);
  return body.length + AGE_TAG_BYTES;
}

/** Opens sealed chunk `index`; null when its tag does not authenticate under that index and flag. */
export function openAgeChunk(key: Buffer, index: number, last: boolean, sealed: Buffer): Buffer | null {
  if (sealed.length < AGE_TAG_BYTES) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, chunkNonce(index, last), { authTagLength: AGE_TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - AGE_TAG_BYTES));
  const plain = decipher.update(sealed.subarray(0, sealed.length - AGE_TAG_BYTES));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plain;
}

/** Sealed chunks of a payload of `plaintextBytes`: one at least (an empty payload is one empty final chunk). */
export function ageChunkCount(plaintextBytes: number): number {
  return Math.max(1, Math.ceil(plaintextBytes / AGE_CHUNK_BYTES));
}

/** Bytes of an age file whose header is `headerBytes` long and whose payload is `plaintextBytes`. */
export function ageStoredSize(headerBytes: number, plaintextBytes: number): number {
  return headerBytes + AGE_NONCE_BYTES + plaintextBytes + AGE_TAG_BYTES * ageChunkCount(plaintextBytes);
}

/** Where an age file's payload lies, worked out from its header length and stored size. */
export interface AgePayloadLayout {
  /** Offset of the first sealed chunk (header + nonce). */
  start: number;
  /** Sealed chunks. */
  chunks: number;
  /** Bytes of the plaintext. */
  plaintextBytes: number;
}

/**
 * The payload layout of an age file of `storedBytes`, or why it cannot be one: `'short'` when bytes
 * are missing (no room for a nonce and a tag, or a last chunk cut inside its tag), `'empty-last'`
 * when it ends with an empty chunk after full ones (age never writes that).
 */
export function agePayloadLayout(headerBytes: number, storedBytes: number): AgePayloadLayout | 'short' | 'empty-last' {
  const start = headerBytes + AGE_NONCE_BYTES;
  const payload = storedBytes - start;
  if (payload < AGE_TAG_BYTES) return 'short';
  const chunks = Math.ceil(payload / AGE_SEALED_CHUNK_BYTES);
  const lastSealed = payload - (chunks - 1) * AGE_SEALED_CHUNK_BYTES;
  if (lastSealed < AGE_TAG_BYTES) return 'short';
  if (lastSealed === AGE_TAG_BYTES && chunks > 1) return 'empty-last';
  return { start, chunks, plaintextBytes: payload - AGE_TAG_BYTES * chunks };
}
