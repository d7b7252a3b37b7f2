/**
 * What a Backup record says of its stored object, cross-checked with the object and its manifest
 * before a restore or an export creates or sends anything. `size` is the bytes stored
 * (`compressed_size`); non-empty `encryption_recipients` say the object is age-encrypted.
 *
 * Its own module so that the public declarations of the restore runner do not reach the archive
 * reader's, whose types come from a dev-only declaration package a host's build does not have.
 */
export interface ArchiveExpectation {
  size?: number | null;
  database_checksum?: string | null;
  filestore_checksum?: string | null;
  encryption_recipients?: readonly string[] | null;
}
