import { createHash, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../errors/errors.js';

/**
 * SSH host-key checking shared by every SSH client of the SDK (the ssh source and the SFTP
 * storage provider). Keys arrive from ssh2's `hostVerifier` as the raw public-key blob (the SSH
 * wire format, the same bytes as the base64 part of a known_hosts line).
 */

/** The OpenSSH SHA-256 fingerprint of a raw host key: `SHA256:` + unpadded base64, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The MD5 fingerprint of a raw host key in OpenSSH's legacy form: `MD5:aa:bb:...`. */
function md5FingerprintOf(key: Buffer): string {
  const hex = createHash('md5').update(key).digest('hex');
  return `MD5:${hex.match(/../g)!.join(':')}`;
}

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/** The key blob of a known_hosts (or authorized_keys / `.pub`) line: the base64 field after the key type. */
function keyBlobOfLine(line: string): Buffer | null {
  const fields = line.trim().split(/\s+/);
  for (let i = 0; i < fields.length - 1; i++) {
    if (KEY_TYPE.test(fields[i]!)) {
      const blob = Buffer.from(fields[i + 1]!, 'base64');
      return blob.length > 0 ? blob : null;
    }
  }
  return null;
}

/**
 * Parses an expected host key as users configure it: an OpenSSH fingerprint (`SHA256:...`,
 * or legacy `MD5:aa:bb:...`), or a known_hosts / `.pub` line (`[host]:port ssh-ed25519 AAAA...`).
 * Throws a {@link ValidationError} for anything else, so a typo fails before connecting rather
 * than as a confusing "host key refused".
 */
export function parseExpectedHostKey(expected: string, field = 'host_key'): { matches(key: Buffer): boolean; description: string } {
  const value = typeof expected === 'string' ? expected.trim() : '';
  if (/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(value)) {
    const want = value.replace(/=$/, '');
    return { matches: (key) => safeEqual(fingerprintOf(key), want), description: want };
  }
  if (/^MD5:([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(value)) {
    return { matches: (key) => safeEqual(md5FingerprintOf(key), value.toLowerCase().replace(/^md5:/, 'MD5:')), description: value };
  }
  const blob = keyBlobOfLine(value);
  if (blob) return { matches: (key) => key.length === blob.length && timingSafeEqual(key, blob), description: fingerprintOf(blob) };
  throw new ValidationError([
    {
      field,
      message:
        'must be an OpenSSH fingerprint ("SHA256:...", as `ssh-keygen -lf` prints it) or a known_hosts line ("host ssh-ed25519 AAAA...")',
    },
  ]);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * An ssh2 `hostVerifier` that accepts only the configured key. Unknown keys are refused: there
 * is no trust-on-first-use. `onMismatch` receives the offered key's fingerprint (never a secret)
 * so callers can raise an error that tells the user what the server presented.
 */
export function hostKeyVerifier(expected: string, onMismatch?: (offeredFingerprint: string) => void): (key: Buffer) => boolean {
  const parsed = parseExpectedHostKey(expected);
  return (key: Buffer) => {
    const ok = parsed.matches(key);
    if (!ok) onMismatch?.(fingerprintOf(key));
    return ok;
  };
}
