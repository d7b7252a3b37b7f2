import { ValidationError, type ValidationIssue } from '../errors/errors.js';

/** Bech32's data characters. */
const BECH32 = '[02-9ac-hj-np-z]';
/** An age v1 X25519 recipient: `age1` and 58 bech32 characters (32 bytes and a checksum). */
const X25519_RECIPIENT = new RegExp(`^age1${BECH32}{58}$`);
/** An age v1 X25519 identity, upper case as age writes it. */
const X25519_IDENTITY = new RegExp(`^AGE-SECRET-KEY-1${BECH32.toUpperCase()}{58}$`);

/** Why a recipient is refused, in words: the kinds Debian's age 1.1.1 cannot decrypt are named. */
function recipientProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.startsWith('age1pq1'))
    return 'is a post-quantum recipient; only X25519 (age1…) recipients are accepted (age 1.1.1 cannot decrypt them)';
  if (value.startsWith('age1tag')) return 'is a tag recipient; only X25519 (age1…) recipients are accepted (age 1.1.1 cannot decrypt them)';
  if (value.startsWith('ssh-')) return 'is an ssh recipient; only X25519 (age1…) recipients are accepted';
  if (!X25519_RECIPIENT.test(value)) return 'is not an age X25519 recipient (age1 followed by 58 lower-case bech32 characters)';
  return null;
}

/**
 * Checks the recipients a `KeyProvider` returned: each an age v1 X25519 recipient (`age1…`), none
 * twice. Throws a `ValidationError` naming each bad one by position (never echoing a value that is
 * not a public key). Returns them in order.
 */
export function checkAgeRecipients(values: unknown, field = 'recipients'): string[] {
  if (!Array.isArray(values)) throw new ValidationError([{ field, message: 'must be an array of age1… recipients' }]);
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  values.forEach((value: unknown, i) => {
    const problem = recipientProblem(value);
    if (problem) issues.push({ field: `${field}[${i}]`, message: problem });
    else if (seen.has(value as string)) issues.push({ field: `${field}[${i}]`, message: 'is given twice' });
    else seen.add(value as string);
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return values as string[];
}

/**
 * Checks identities: each an age v1 X25519 identity (`AGE-SECRET-KEY-1…`). A `ValidationError`
 * names a bad one by position only: an identity is a secret and never appears in an error.
 */
export function checkAgeIdentities(values: unknown, field = 'identities'): string[] {
  if (!Array.isArray(values)) throw new ValidationError([{ field, message: 'must be an array of AGE-SECRET-KEY-1… identities' }]);
  const issues: ValidationIssue[] = [];
  values.forEach((value: unknown, i) => {
    if (typeof value !== 'string' || !X25519_IDENTITY.test(value))
      issues.push({
        field: `${field}[${i}]`,
        message: 'is not an age X25519 identity (AGE-SECRET-KEY-1…); only X25519 identities are accepted',
      });
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return values as string[];
}
