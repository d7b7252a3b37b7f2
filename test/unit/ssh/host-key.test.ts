import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, hostKeyVerifier, parseExpectedHostKey } from '../../../src/ssh/host-key.js';

// A real ed25519 public key line (the blob is what ssh2 hands to hostVerifier).
const PUB = 'AAAAC3NzaC1lZDI1NTE5AAAAIDt5G7ObDq+UN4t2e9e6b2hJb0yOq6vDWQKc2Gq6n0xu';
const blob = Buffer.from(PUB, 'base64');
const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIFxYdQ7B0ZtJx8s8kTz3lX3c0Yb9H1gY2vF7oJ8m2bRk', 'base64');

describe('host key verification', () => {
  it('computes the OpenSSH SHA256 fingerprint (unpadded base64 of the blob digest)', () => {
    const expected = 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
    expect(fingerprintOf(blob)).toBe(expected);
    expect(fingerprintOf(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('accepts the configured key given as a fingerprint, a known_hosts line or a .pub line, and refuses others', () => {
    for (const expected of [
      fingerprintOf(blob),
      `[10.0.0.5]:2222 ssh-ed25519 ${PUB}`,
      `ssh-ed25519 ${PUB} comment`,
      `|1|abc=|def= ssh-ed25519 ${PUB}`,
    ]) {
      const verify = hostKeyVerifier(expected);
      expect(verify(blob)).toBe(true);
      expect(verify(other)).toBe(false);
    }
  });

  it('reports the offered fingerprint on a mismatch', () => {
    const seen: string[] = [];
    hostKeyVerifier(fingerprintOf(blob), (fp) => seen.push(fp))(other);
    expect(seen).toEqual([fingerprintOf(other)]);
  });

  it('refuses a malformed expectation before connecting', () => {
    for (const bad of ['', 'SHA256:short', 'yes', 'ssh-ed25519', 'MD5:zz']) {
      expect(() => parseExpectedHostKey(bad)).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
    }
  });
});
