/** Which backup a {@link KeyProvider} is asked recipients for. */
export interface RecipientScope {
  organization_id: string;
  environment_id: string;
  /** The storage config the backup goes to. */
  storage_config_id: string;
}

/** Which backup a {@link KeyProvider} is asked identities for: the recipients its record names. */
export interface IdentityScope {
  organization_id: string;
  environment_id: string;
  /** The `age1…` recipients the backup was encrypted to (its record's `encryption_recipients`). */
  recipients: readonly string[];
}

/**
 * The host's keys for encrypting backups with age (v1, X25519). Only `age1…` X25519 recipients and
 * `AGE-SECRET-KEY-1…` identities are accepted: post-quantum (`age1pq1…`), tag and ssh recipients
 * are refused with `E_VALIDATION` (Debian's age 1.1.1 cannot decrypt them).
 *
 * A provider that throws fails the backup: it never means "store unencrypted". A break-glass key
 * is one more recipient. Workers that only back up need `recipients`; `identities` is asked for by
 * verification, restores and downloads of encrypted backups.
 */
export interface KeyProvider {
  /** The recipients a new backup is encrypted to; `[]` stores it unencrypted (refused where encryption is required). */
  recipients(scope: RecipientScope): Promise<readonly string[]> | readonly string[];
  /**
   * The identities that may open a backup encrypted to `scope.recipients`. Return every identity
   * still held (old ones too, after a rotation); those for other recipients are ignored.
   */
  identities(scope: IdentityScope): Promise<readonly string[]> | readonly string[];
}
