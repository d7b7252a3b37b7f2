import { randomBytes } from 'node:crypto';
import { loadOnce } from '../adapters/load-once.js';
import { checkAgeIdentities } from '../domain/age-keys.js';
import { encryptionKeyError, encryptionTamperedError } from './encryption-errors.js';
import { AGE_NONCE_BYTES, AGE_TAG_BYTES } from './age-chunks.js';

/** age-encryption (typage), loaded on first use: only encrypted backups need it. */
const loadAge = loadOnce(async () => import('age-encryption'));

/** The first bytes of every age v1 file. */
export const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n', 'latin1');

/** A new age file's header, its file key and payload nonce: what the payload stage seals with. */
export interface SealedAgeHeader {
  /** The header, from the magic line to the MAC line's newline. */
  header: Buffer;
  /** The random 16-byte file key (never stored or logged). */
  fileKey: Buffer;
  /** The 16-byte payload nonce that follows the header. */
  nonce: Buffer;
}

/**
 * Writes an age v1 header for `recipients` (age1… X25519, checked by the caller). age-encryption
 * wraps the file key for each recipient and MACs the header; the file key is learnt through its
 * public `Recipient` interface (one more recipient that wraps nothing and keeps the key), from an
 * empty file whose nonce and single empty chunk are cut off.
 */
export async function sealAgeHeader(recipients: readonly string[]): Promise<SealedAgeHeader> {
  const { Encrypter } = await loadAge();
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  let fileKey: Buffer | null = null;
  encrypter.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = Buffer.from(key);
      return [];
    },
  });
  const empty = Buffer.from(await encrypter.encrypt(new Uint8Array(0)));
  const header = empty.subarray(0, empty.length - AGE_NONCE_BYTES - AGE_TAG_BYTES);
  if (!fileKey || ageHeaderLength(header) !== header.length) throw new Error('age-encryption wrote a header this SDK cannot parse');
  return { header: Buffer.from(header), fileKey, nonce: randomBytes(AGE_NONCE_BYTES) };
}

/**
 * The length of the age header at the start of `bytes` (through the `--- MAC` line's newline), or
 * null when `bytes` does not start with the magic line or holds no complete MAC line.
 */
export function ageHeaderLength(bytes: Buffer): number | null {
  if (bytes.length < AGE_MAGIC.length || !bytes.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) return null;
  const macLine = bytes.indexOf('\n--- ', AGE_MAGIC.length - 1, 'latin1');
  if (macLine < 0) return null;
  const end = bytes.indexOf(0x0a, macLine + 1);
  return end < 0 ? null : end + 1;
}

/** The X25519 recipient of each identity, in order (age's own derivation). */
export async function recipientsOfIdentities(identities: readonly string[]): Promise<string[]> {
  const { identityToRecipient } = await loadAge();
  return Promise.all(identities.map((identity) => identityToRecipient(identity)));
}

/**
 * The identities among `identities` that are for one of `recipients`: throws `E_ENCRYPTION_KEY`
 * when there are none (before any byte is read), `E_VALIDATION` for one that is not an X25519
 * identity.
 */
export async function identitiesFor(key: string, recipients: readonly string[], identities: readonly string[]): Promise<string[]> {
  checkAgeIdentities(identities);
  const own = await recipientsOfIdentities(identities);
  const wanted = new Set(recipients);
  const matching = identities.filter((_, i) => wanted.has(own[i] as string));
  if (matching.length === 0) throw encryptionKeyError(key, recipients);
  return matching;
}

/** How an age header is opened: identities (checked by {@link identitiesFor}) or the file key a run still holds. */
export type AgeHeaderKey = { identities: readonly string[] } | { fileKey: Uint8Array };

/**
 * The file key of `header`, its MAC checked. Any failure is `E_ENCRYPTION_TAMPERED`: the
 * identities given are for recorded recipients, so one that does not unwrap means the header was
 * altered.
 */
export async function openAgeHeader(objectKey: string, header: Buffer, key: AgeHeaderKey): Promise<Buffer> {
  const { Decrypter } = await loadAge();
  const decrypter = new Decrypter();
  if ('fileKey' in key) {
    const fileKey = key.fileKey;
    decrypter.addIdentity({ unwrapFileKey: () => fileKey });
  } else {
    for (const identity of key.identities) decrypter.addIdentity(identity);
  }
  try {
    return Buffer.from(await decrypter.decryptHeader(header));
  } catch (error) {
    throw encryptionTamperedError(objectKey, `its age header does not open (${(error as Error).message})`, { part: 'header' });
  }
}
