import type { Readable } from 'node:stream';
import type { SourceConfig } from '../domain/source-config.js';

/** Options shared by the {@link RestoreTarget} operations that run a tool. */
export interface RestoreStepOptions {
  /** Aborting kills the tool; the call then rejects with `E_ABORTED`. */
  signal?: AbortSignal;
}

/** Options of {@link RestoreTarget.restoreDump}. */
export interface RestoreDumpOptions extends RestoreStepOptions {
  /**
   * `pg_restore -j N`. Above 1, pg_restore needs a seekable file: the target stages the dump in
   * its host's temp area first and removes it on every path.
   */
  jobs?: number;
}

/** Options of {@link RestoreTarget.runSqlScript}. */
export interface RunSqlScriptOptions extends RestoreStepOptions {
  /**
   * Write `\restrict <random key>` before the script when the target's psql honours it safely
   * (15.19, 16.15, 17.11, 18.6 and later): psql then refuses every meta-command the script holds.
   * Default true.
   */
  restrict?: boolean;
}

/** Facts the restore checks before it touches anything (compatibility step). */
export interface RestoreTargetFacts {
  /** `server_version_num` of the target PostgreSQL, e.g. 150018. */
  serverVersionNum: number;
  /** `pg_restore --version` on the target side, e.g. `15.18`. */
  pgRestoreVersion: string;
  /** The role the target connects as. */
  role: string;
  /** The role may create databases (CREATEDB or superuser). */
  canCreateDatabase: boolean;
  /** The role owns the target database (or is superuser), so it may rename and drop it. Null when the database does not exist. */
  ownsDatabase: boolean | null;
  /** The target's Odoo version (`ir_module_module` row of `base`, `latest_version`), when the database exists and is an Odoo database. */
  odooVersion: string | null;
  /** Free bytes where the filestore folder lives, when the tool can tell. */
  filestoreFreeBytes: number | null;
  /**
   * The role is a superuser or a member of `pg_execute_server_program`: plain SQL run as it can
   * run programs on the database host (`COPY ... FROM PROGRAM`). Imports of plain SQL refuse such
   * a role unless asked. Undefined when the target cannot tell (treated as privileged).
   */
  privilegedRole?: boolean;
}

/**
 * Where a backup is restored: the database server and filestore of an environment, reached the
 * same ways as a {@link BackupSource} (this host, Docker containers, a VM over SSH). Built from a
 * {@link SourceConfig} by a {@link RestoreTargetFactory}; `odoo-backup-sdk/testing` has a fake.
 *
 * Database names and folder paths given to these methods are checked by the restore service
 * (identifiers, no `..`, inside the filestore root) before they get here; implementations still
 * pass them as single arguments, never through a shell unquoted.
 */
export interface RestoreTarget {
  /** `local`, `docker`, `ssh`, or a test double's name: for messages. */
  readonly kind: string;
  /** The environment's own database name (the one `replace` mode swaps). */
  readonly database: string;
  /** The environment's own filestore folder, or null when the source has none. */
  readonly filestorePath: string | null;
  /** Versions, privileges and free space, for the compatibility step. */
  inspect(options?: RestoreStepOptions): Promise<RestoreTargetFacts>;
  /** True when a database of this name exists. */
  databaseExists(name: string, options?: RestoreStepOptions): Promise<boolean>;
  /** `CREATE DATABASE name TEMPLATE template0` (owned by the connecting role). */
  createDatabase(name: string, options?: RestoreStepOptions): Promise<void>;
  /** `DROP DATABASE IF EXISTS name WITH (FORCE)`. Idempotent. */
  dropDatabase(name: string, options?: RestoreStepOptions): Promise<void>;
  /** `ALTER DATABASE from RENAME TO to`. */
  renameDatabase(from: string, to: string, options?: RestoreStepOptions): Promise<void>;
  /** `ALTER DATABASE name ALLOW_CONNECTIONS allow`, and when refusing, terminates its current connections. */
  setAllowConnections(name: string, allow: boolean, options?: RestoreStepOptions): Promise<void>;
  /** Runs `pg_restore --list` over a custom-format dump; resolves with its table of contents, rejects when the dump is unreadable. */
  listDump(dump: Readable, options?: RestoreStepOptions): Promise<string>;
  /** Runs `pg_restore --no-owner -d database` with the dump on stdin (or staged to a file for `jobs > 1`). */
  restoreDump(database: string, dump: Readable, options?: RestoreDumpOptions): Promise<void>;
  /**
   * Runs a plain SQL script (pg_dump's plain format) into `database` with
   * `psql -X -v ON_ERROR_STOP=1 -f -`, client encoding UTF8, query output discarded. The script
   * must already have passed the SDK's plain-SQL guard (imports stage it only once it has): psql
   * obeys every meta-command it reads. Optional: targets without it cannot import plain SQL.
   */
  runSqlScript?(database: string, script: Readable, options?: RunSqlScriptOptions): Promise<void>;
  /**
   * Creates `folder` (which must not exist) and extracts the uncompressed tar stream into it with
   * `tar -x --no-same-owner --no-same-permissions`. The stream has already been checked entry by entry.
   */
  extractFilestore(folder: string, tar: Readable, options?: RestoreStepOptions): Promise<void>;
  /** True when the path exists on the target's host. */
  pathExists(path: string, options?: RestoreStepOptions): Promise<boolean>;
  /** Renames a folder on the target's host (same filesystem). */
  renamePath(from: string, to: string, options?: RestoreStepOptions): Promise<void>;
  /** Removes a folder tree on the target's host. Idempotent. */
  removePath(path: string, options?: RestoreStepOptions): Promise<void>;
  /**
   * What the database named `name` is, in a form a rename keeps (PostgreSQL: its OID), or null
   * when no database has that name. The swap compares it with what the restore saw earlier, so a
   * rollback or cleanup never drops or renames a database another restore put under a name.
   * Optional: without it the swap trusts names alone (docs/restore.md#ownership-checks).
   */
  databaseIdentity?(name: string, options?: RestoreStepOptions): Promise<string | null>;
  /** What stands at `path`, in a form a rename keeps (device and inode), or null when nothing does. Optional, as {@link databaseIdentity}. */
  pathIdentity?(path: string, options?: RestoreStepOptions): Promise<string | null>;
  /** Releases connections (SSH). Idempotent. */
  close(): Promise<void>;
}

/** Builds the {@link RestoreTarget} for a source config. */
export type RestoreTargetFactory = (config: SourceConfig) => RestoreTarget;
