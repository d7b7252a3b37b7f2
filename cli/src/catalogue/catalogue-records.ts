import type { Backup, BackupManifest, ObjectInfo } from 'odoo-backup-sdk';

/**
 * What the storage holds for each backup, and how a {@link Backup} record is rebuilt from it: the
 * ZIP (immutable, its manifest inside) and `{id}.state.json` beside it with what a manifest
 * cannot hold (written on completion, promotion and verification). See docs/cli.md#the-storage-is-the-catalogue.
 */

/** The catalogue cache at the storage root: derived from the objects, rebuilt whenever in doubt. */
export const INDEX_KEY = 'odoo-backup-index.json';

/** Every backup lives under this prefix (the SDK's key layout). */
export const BACKUPS_PREFIX = 'organizations/';

const ID = '([A-Za-z0-9][A-Za-z0-9_-]{0,127})';
const ZIP_KEY = new RegExp(`^organizations/${ID}/projects/${ID}/environments/${ID}/${ID}\\.zip$`);

/** The ids a backup's key holds: organisation, project and environment come from the key, not the manifest. */
export interface BackupKeyIds {
  organization_id: string;
  project_id: string;
  environment_id: string;
  backup_id: string;
}

/** The ids in a backup ZIP's key, or null for any other object (foreign objects are ignored). */
export function parseBackupKey(key: string): BackupKeyIds | null {
  const m = ZIP_KEY.exec(key);
  if (!m) return null;
  return { organization_id: m[1]!, project_id: m[2]!, environment_id: m[3]!, backup_id: m[4]! };
}

/** `…/{id}.zip` -> `…/{id}.state.json`; null for a key of another shape. */
export function stateKeyOf(zipKey: string): string | null {
  return zipKey.endsWith('.zip') ? `${zipKey.slice(0, -'.zip'.length)}.state.json` : null;
}

/** The record fields kept in `{id}.state.json`: what changes after the ZIP is written, or is not in its manifest. */
export const STATE_FIELDS = [
  'compressed_size',
  'started_at',
  'completed_at',
  'duration_seconds',
  'retention_type',
  'expires_at',
  'is_verified',
  'verified_at',
  'verification_error',
  'updated_at',
] as const;

/** The content of `{id}.state.json`. */
export type BackupState = Pick<Backup, (typeof STATE_FIELDS)[number]> & { format: 'odoo-backup-state'; version: 1; backup_id: string };

/** The state file of a record. */
export function stateOf(backup: Backup): BackupState {
  const state = { format: 'odoo-backup-state', version: 1, backup_id: backup.id } as BackupState;
  for (const field of STATE_FIELDS) (state as Record<string, unknown>)[field] = backup[field];
  return state;
}

const isTime = (v: unknown) => v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
const RETENTION = new Set(['daily', 'weekly', 'monthly', 'yearly', 'permanent', null]);

/** A state file's content when it is one and belongs to `backupId`; null otherwise (the manifest alone is used). */
export function parseState(text: string, backupId: string): BackupState | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const s = value as Record<string, unknown>;
  const ok =
    s.format === 'odoo-backup-state' &&
    s.version === 1 &&
    s.backup_id === backupId &&
    typeof s.compressed_size === 'number' &&
    isTime(s.started_at) &&
    isTime(s.completed_at) &&
    (s.duration_seconds === null || typeof s.duration_seconds === 'number') &&
    RETENTION.has(s.retention_type as string | null) &&
    isTime(s.expires_at) &&
    typeof s.is_verified === 'boolean' &&
    isTime(s.verified_at) &&
    (s.verification_error === null || typeof s.verification_error === 'string') &&
    typeof s.updated_at === 'string' &&
    isTime(s.updated_at);
  return ok ? (s as unknown as BackupState) : null;
}

/** Size, time and etag of a listed object: when any changes, the cached copy is read again. */
export function fingerprint(object: ObjectInfo | undefined): string | null {
  if (!object) return null;
  return `${object.size}:${object.last_modified?.getTime() ?? ''}:${object.etag ?? ''}`;
}

/**
 * The record of a completed backup, rebuilt from its key, its manifest and its state file (absent:
 * a ZIP copied in by hand, or a run that stopped between the two writes; then the manifest and
 * the listing stand in). Fields no object holds are null: `task_id` (tasks live in memory),
 * `created_by` and `write_by`.
 */
export function recordFromStorage(
  ids: BackupKeyIds,
  key: string,
  zip: ObjectInfo,
  manifest: BackupManifest,
  state: BackupState | null,
  storageConfigId: string,
): Backup {
  const filestoreSize = manifest.filestore?.size ?? 0;
  const completedAt = state?.completed_at ?? zip.last_modified?.toISOString() ?? manifest.created_at;
  return {
    id: ids.backup_id,
    environment_id: ids.environment_id,
    organization_id: ids.organization_id,
    project_id: ids.project_id,
    storage_config_id: storageConfigId,
    task_id: null,
    status: 'completed',
    backup_type: manifest.backup_type,
    include_filestore: manifest.include_filestore ?? manifest.filestore !== null,
    database_key: key,
    filestore_key: null,
    manifest_key: null,
    database_size: manifest.database.size,
    filestore_size: filestoreSize,
    total_size: manifest.database.size + filestoreSize,
    compressed_size: state?.compressed_size ?? zip.size,
    encryption_recipients: null,
    stored_checksum: null,
    started_at: state ? state.started_at : manifest.created_at,
    completed_at: completedAt,
    duration_seconds: state ? state.duration_seconds : null,
    retention_type: state ? state.retention_type : manifest.retention.type,
    expires_at: state ? state.expires_at : manifest.retention.expires_at,
    is_verified: state?.is_verified ?? false,
    verified_at: state?.verified_at ?? null,
    verification_error: state?.verification_error ?? null,
    database_checksum: manifest.database.checksum,
    filestore_checksum: manifest.filestore?.checksum ?? null,
    error_message: null,
    error_details: null,
    environment_snapshot: manifest.environment_snapshot,
    created_at: manifest.created_at,
    updated_at: state?.updated_at ?? completedAt,
    created_by: null,
    write_by: null,
    cancel_requested_at: null,
  };
}

/** A record with a new state file's fields: what a cached record becomes when only its state changed. */
export function withState(record: Backup, state: BackupState): Backup {
  const next = { ...record };
  for (const field of STATE_FIELDS) (next as Record<string, unknown>)[field] = state[field];
  return next;
}
