import { RestoreError } from '../../errors/restore-error.js';
import type { RestoreTargetFacts } from '../../ports/restore-target.js';

/** The first number of a version string (`17.0` -> 17, `saas~17.2` -> 17, `PostgreSQL 16.4` -> 16), or null. */
export function majorOf(version: string | null | undefined): number | null {
  const m = /(\d+)/.exec(version ?? '');
  return m ? Number(m[1]) : null;
}

/** The versions a restored dump carries: the manifest's, or what an imported file says. */
export interface DumpVersions {
  odoo_version?: string | null;
  /** The manifest's Odoo facts at backup time: their `major_version` wins over `odoo_version`. */
  odoo?: { major_version?: string | null } | null;
  /** `plain_sql`: the dump went through psql, not pg_restore (its server version was checked when it was read). */
  database: { pg_dump_version?: string | null; plain_sql?: boolean };
}

/** What the privilege and space checks need besides the target's facts. */
export interface TargetCheckInput {
  mode: 'new_database' | 'replace';
  /** The database `replace` mode swaps (for messages). */
  database: string;
  /** Bytes of the filestore tarball to restore, or 0 when the filestore is skipped. */
  filestoreBytes: number;
}

/**
 * The privilege and disk checks of the compatibility step, before anything is written: the role
 * must be able to create databases (the temporary one); in `replace` mode it must own the
 * database it swaps (to rename it); and where the target can tell its free space, the filestore
 * tarball must fit (a lower bound: files are usually stored compressed already).
 */
export function checkTargetFacts(facts: RestoreTargetFacts, input: TargetCheckInput): void {
  if (!facts.canCreateDatabase) {
    throw new RestoreError(
      'E_RESTORE_PRIVILEGES',
      `The role ${facts.role} may not create databases (it needs CREATEDB): a restore first fills a temporary database`,
      { details: { role: facts.role, needs: 'CREATEDB' } },
    );
  }
  if (input.mode === 'replace' && facts.ownsDatabase === false) {
    throw new RestoreError(
      'E_RESTORE_PRIVILEGES',
      `The role ${facts.role} does not own database ${input.database}: replacing it renames it, which only its owner (or a superuser) may do`,
      { details: { role: facts.role, database: input.database, needs: 'owner' } },
    );
  }
  if (facts.filestoreFreeBytes !== null && input.filestoreBytes > facts.filestoreFreeBytes) {
    throw new RestoreError(
      'E_RESTORE_DISK_SPACE',
      `The target has ${facts.filestoreFreeBytes} bytes free where the filestore goes; the filestore needs at least ${input.filestoreBytes}`,
      { details: { free_bytes: facts.filestoreFreeBytes, needed_bytes: input.filestoreBytes } },
    );
  }
}

/**
 * The version checks, once the manifest is read: the dump's `pg_dump` major must not be newer
 * than the target's `pg_restore` major (minor releases of one major write the same archive
 * format), and the backup's Odoo major must equal the target's unless `force`. An unknown
 * version on either side is not refused: the caller reports it as a warning.
 * Returns the warnings (unknown versions) for the caller to emit.
 */
export function checkVersions(
  manifest: DumpVersions,
  facts: Pick<RestoreTargetFacts, 'pgRestoreVersion' | 'odooVersion'>,
  targetOdooVersion: string | null,
  force: boolean,
): string[] {
  const warnings: string[] = [];
  const dumpMajor = manifest.database.plain_sql ? null : majorOf(manifest.database.pg_dump_version);
  const restoreMajor = majorOf(facts.pgRestoreVersion);
  if (dumpMajor !== null && restoreMajor !== null && restoreMajor < dumpMajor) {
    throw new RestoreError(
      'E_RESTORE_INCOMPATIBLE',
      `The dump was written by pg_dump ${manifest.database.pg_dump_version}; the target's pg_restore ${facts.pgRestoreVersion} is older and cannot read it`,
      { details: { pg_dump_version: manifest.database.pg_dump_version, pg_restore_version: facts.pgRestoreVersion } },
    );
  }
  if (dumpMajor === null && !manifest.database.plain_sql)
    warnings.push('The pg_dump version of the dump is unknown; pg_restore may refuse it');
  // What the database said at backup time (odoo.major_version) wins over what the host told the SDK (odoo_version).
  const backupVersion = manifest.odoo?.major_version ?? manifest.odoo_version ?? null;
  const backupOdoo = majorOf(backupVersion);
  const target = facts.odooVersion ?? targetOdooVersion;
  const targetOdoo = majorOf(target);
  if (backupOdoo !== null && targetOdoo !== null && backupOdoo !== targetOdoo && !force) {
    throw new RestoreError(
      'E_RESTORE_INCOMPATIBLE',
      `The backup is of Odoo ${backupVersion}; the target runs Odoo ${target}. Pass force: true to restore across major versions (Odoo will need a migration)`,
      { details: { backup_odoo_version: backupVersion, target_odoo_version: target } },
    );
  }
  if (backupOdoo === null || targetOdoo === null)
    warnings.push('The Odoo version of the backup or of the target is unknown; it was not compared');
  return warnings;
}
