/** The environment part of an {@link EnvironmentSnapshot}. */
export interface SnapshotEnvironment {
  id: string;
  name: string;
  type?: string | null;
  status?: string | null;
  container_name?: string | null;
  db_name: string;
  domain?: string | null;
  [extra: string]: unknown;
}

/** The project part of an {@link EnvironmentSnapshot}. */
export interface SnapshotProject {
  id: string;
  name: string;
  slug?: string | null;
  odoo_version?: string | null;
  [extra: string]: unknown;
}

/** The machine part of an {@link EnvironmentSnapshot}, when the environment runs on one. */
export interface SnapshotVm {
  id: string;
  name: string;
  ip_address?: string | null;
  [extra: string]: unknown;
}

/**
 * What the host's resolver gives as `ResolvedEnvironment.snapshot`: an {@link EnvironmentSnapshot}
 * without its `timestamp`, which the SDK sets when the backup starts. Written out rather than
 * `Omit<EnvironmentSnapshot, 'timestamp'>`: `Omit` over a type with an index signature keeps only
 * the index signature, so `{}` would pass for a snapshot.
 */
export interface EnvironmentSnapshotInput {
  environment: SnapshotEnvironment;
  project: SnapshotProject;
  vm?: SnapshotVm | null;
  [extra: string]: unknown;
}

/**
 * The product's `environment_snapshot`: the state of an environment when it was backed up.
 * Never holds a secret (no passwords, keys or tokens): hosts build it from public fields only.
 */
export interface EnvironmentSnapshot extends EnvironmentSnapshotInput {
  /** When the snapshot was taken (ISO 8601, UTC). */
  timestamp: string;
}

const REQUIRED_TEXT = [
  ['environment', 'id'],
  ['environment', 'name'],
  ['environment', 'db_name'],
  ['project', 'id'],
  ['project', 'name'],
] as const;

/**
 * The required fields a resolver's snapshot lacks (or holds as something else than a non-empty
 * string), as dotted paths under `snapshot`: the run-time twin of {@link EnvironmentSnapshotInput}
 * for resolvers written in JavaScript or typed loosely.
 */
export function missingSnapshotFields(snapshot: unknown): string[] {
  const missing: string[] = [];
  for (const [part, field] of REQUIRED_TEXT) {
    const holder = (snapshot as Record<string, unknown> | null | undefined)?.[part];
    const value = holder !== null && typeof holder === 'object' ? (holder as Record<string, unknown>)[field] : undefined;
    if (typeof value !== 'string' || value === '') missing.push(`snapshot.${part}.${field}`);
  }
  return missing;
}
