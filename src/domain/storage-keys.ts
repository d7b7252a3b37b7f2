import { ValidationError } from '../errors/errors.js';

/** Ids that may appear in a storage key: letters, digits, `_` and `-`; no dots, slashes or spaces. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** The ids that place a backup in the key layout. */
export interface BackupKeyParts {
  organization_id: string;
  project_id: string;
  environment_id: string;
  backup_id: string;
}

/**
 * The product's key layout: `organizations/{org}/projects/{project}/environments/{env}/{backup_id}.zip`.
 * Rejects any id that could escape its prefix (`..`, `/`, `\`, NUL, spaces) with a {@link ValidationError}.
 */
export function backupStorageKey(parts: BackupKeyParts): string {
  const issues = (Object.entries(parts) as [keyof BackupKeyParts, string][])
    .filter(([, value]) => typeof value !== 'string' || !SAFE_ID.test(value))
    .map(([field]) => ({ field, message: 'must be 1-128 letters, digits, "_" or "-" (it becomes part of a storage key)' }));
  if (issues.length > 0) throw new ValidationError(issues);
  return `organizations/${parts.organization_id}/projects/${parts.project_id}/environments/${parts.environment_id}/${parts.backup_id}.zip`;
}

/** The key prefix under which every backup of one environment lives (ends with `/`). */
export function environmentStoragePrefix(parts: Omit<BackupKeyParts, 'backup_id'>): string {
  return backupStorageKey({ ...parts, backup_id: 'x' }).slice(0, -'x.zip'.length);
}

/**
 * Where a file uploaded for an import is staged while its import runs:
 * `organizations/{org}/imports/{task_id}`. Removed when the import ends, whichever way.
 */
export function importStorageKey(organizationId: string, taskId: string): string {
  const issues = (
    [
      ['organization_id', organizationId],
      ['task_id', taskId],
    ] as const
  )
    .filter(([, value]) => typeof value !== 'string' || !SAFE_ID.test(value))
    .map(([field]) => ({ field, message: 'must be 1-128 letters, digits, "_" or "-" (it becomes part of a storage key)' }));
  if (issues.length > 0) throw new ValidationError(issues);
  return `organizations/${organizationId}/imports/${taskId}`;
}
