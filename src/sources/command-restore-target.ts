import type { Readable } from 'node:stream';
import { SourceError, ValidationError } from '../errors/errors.js';
import type { CommandRunner, CommandSpec } from '../ports/command-runner.js';
import type {
  RestoreDumpOptions,
  RestoreStepOptions,
  RestoreTarget,
  RestoreTargetFacts,
  RunSqlScriptOptions,
} from '../ports/restore-target.js';
import { psqlHonoursRestrict, restrictedScript } from './psql-restrict.js';
import { quoteConninfoValue } from './pg-dump-command.js';
import { checkAbsolutePath, checkInsideRoot, checkRestoreDatabaseName } from './restore-names.js';
import { runTool, runToolCommand, type ToolRun } from './run-tool.js';
import { quoteSqlIdentifier, quoteSqlLiteral } from './sql-quote.js';
import type { SourcePhase, SourceTool } from './tool-errors.js';

/** Where a restore target's commands run: this host or a VM (argv as is), or a container (`docker exec`). */
export interface CommandPlace {
  /** The product running `argv` there; `env` values are secrets (docker gets `-e NAME` and the value in its own environment). */
  spec(argv: readonly string[], options?: { input?: boolean; env?: Readonly<Record<string, string>> }): CommandSpec;
  /** For messages: `in container x_db`, `on odoo@vm:22`. */
  where?: string;
}

/** A PostgreSQL client program and how it connects. */
export interface PgClient {
  /** `psql` or `pg_restore`, with its folder when configured. */
  program: string;
  /** `--host`, `--port`, `--username`, `--no-password` (no database). */
  connection: string[];
  /** `PGPASSWORD`, when there is a password. */
  env?: Record<string, string>;
  /** Values to redact from messages. */
  secrets: string[];
}

/** How a {@link CommandRestoreTarget} builds its commands; the local, docker and ssh targets differ only here. */
export interface RestoreCommands {
  kind: string;
  runner: CommandRunner;
  /** Close the runner with the target (true when the target created it). */
  ownsRunner?: boolean;
  database: string;
  filestorePath: string | null;
  /** The folder holding the filestore folder: the only place folders are created, renamed or removed. */
  filestoreRoot: string | null;
  /** Where psql and pg_restore run, and where a `jobs > 1` dump is staged. */
  db: CommandPlace;
  /** Where the filestore lives. */
  files: CommandPlace;
  pgClient(program: 'psql' | 'pg_restore'): Promise<PgClient>;
}

/** Admin statements connect here: the database always exists and is never the one restored. */
const MAINTENANCE_DATABASE = 'postgres';
/** `DROP DATABASE ... WITH (FORCE)` exists from PostgreSQL 13. */
const FORCE_DROP_VERSION = 130000;
const MAX_JOBS = 64;

/**
 * A {@link RestoreTarget} that runs `psql`, `pg_restore`, `tar -x` and file utilities through a
 * {@link CommandRunner}. Every argument is one argv element; SQL identifiers are double-quoted
 * and literals escape-quoted; the password travels in PGPASSWORD.
 */
export class CommandRestoreTarget implements RestoreTarget {
  readonly kind: string;
  readonly database: string;
  readonly filestorePath: string | null;
  private serverVersion: number | null = null;
  private closed = false;

  constructor(private readonly c: RestoreCommands) {
    this.kind = c.kind;
    this.database = c.database;
    this.filestorePath = c.filestorePath;
  }

  async inspect(options: RestoreStepOptions = {}): Promise<RestoreTargetFacts> {
    const row = await this.sql(
      MAINTENANCE_DATABASE,
      [
        `SELECT current_setting('server_version_num'), current_user, r.rolcreatedb OR r.rolsuper, ` +
          `(SELECT r.rolsuper OR pg_has_role(current_user, d.datdba, 'MEMBER') FROM pg_database d WHERE d.datname = ${quoteSqlLiteral(this.database)}), ` +
          `r.rolsuper OR pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') ` +
          `FROM pg_roles r WHERE r.rolname = current_user`,
      ],
      'restore_inspect',
      options.signal,
    );
    const [version = '', role = '', create = '', owns = '', privileged = ''] = row.replace(/\n$/, '').split('\0');
    this.serverVersion = Number(version);
    const restore = await this.c.pgClient('pg_restore');
    const versionText = await this.run('pg_restore', this.c.db, [restore.program, '--version'], 'restore_inspect', options.signal);
    return {
      serverVersionNum: Number(version),
      pgRestoreVersion: /(\d+(?:\.\d+)*)/.exec(versionText)?.[1] ?? versionText.trim(),
      role,
      canCreateDatabase: create === 't',
      ownsDatabase: owns === '' ? null : owns === 't',
      odooVersion: owns === '' ? null : await this.odooVersion(options.signal),
      filestoreFreeBytes: await this.freeBytes(options.signal),
      privilegedRole: privileged !== 'f',
    };
  }

  async databaseExists(name: string, options: RestoreStepOptions = {}): Promise<boolean> {
    if (typeof name !== 'string' || name === '') throw new ValidationError([{ field: 'name', message: 'is required' }]);
    const out = await this.sql(
      MAINTENANCE_DATABASE,
      [`SELECT 1 FROM pg_database WHERE datname = ${quoteSqlLiteral(name)}`],
      'restore_sql',
      options.signal,
    );
    return out.trim() === '1';
  }

  async databaseIdentity(name: string, options: RestoreStepOptions = {}): Promise<string | null> {
    if (typeof name !== 'string' || name === '') throw new ValidationError([{ field: 'name', message: 'is required' }]);
    // The OID: ALTER DATABASE ... RENAME keeps it, a new database never reuses a live one's.
    const out = await this.sql(
      MAINTENANCE_DATABASE,
      [`SELECT oid FROM pg_database WHERE datname = ${quoteSqlLiteral(name)}`],
      'restore_sql',
      options.signal,
    );
    return out.trim() === '' ? null : `oid:${out.trim()}`;
  }

  async createDatabase(name: string, options: RestoreStepOptions = {}): Promise<void> {
    checkRestoreDatabaseName(name, 'name');
    // template0: an empty database whatever was added to template1; UTF8 as Odoo creates its own.
    await this.sql(
      MAINTENANCE_DATABASE,
      [`CREATE DATABASE ${quoteSqlIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`],
      'restore_sql',
      options.signal,
    );
  }

  async dropDatabase(name: string, options: RestoreStepOptions = {}): Promise<void> {
    checkRestoreDatabaseName(name, 'name');
    const version = this.serverVersion ?? (await this.version(options.signal));
    const ident = quoteSqlIdentifier(name);
    // Before 13 there is no FORCE: end the sessions first (a reconnect in between fails the drop, which is retried by the caller).
    const statements =
      version >= FORCE_DROP_VERSION
        ? [`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`]
        : [terminateSessions(name), `DROP DATABASE IF EXISTS ${ident}`];
    await this.sql(MAINTENANCE_DATABASE, statements, 'restore_sql', options.signal);
  }

  async renameDatabase(from: string, to: string, options: RestoreStepOptions = {}): Promise<void> {
    checkRestoreDatabaseName(from, 'from');
    checkRestoreDatabaseName(to, 'to');
    await this.sql(
      MAINTENANCE_DATABASE,
      [`ALTER DATABASE ${quoteSqlIdentifier(from)} RENAME TO ${quoteSqlIdentifier(to)}`],
      'restore_sql',
      options.signal,
    );
  }

  async setAllowConnections(name: string, allow: boolean, options: RestoreStepOptions = {}): Promise<void> {
    checkRestoreDatabaseName(name, 'name');
    const statements = [`ALTER DATABASE ${quoteSqlIdentifier(name)} ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`];
    if (!allow) statements.push(terminateSessions(name));
    await this.sql(MAINTENANCE_DATABASE, statements, 'restore_sql', options.signal);
  }

  async listDump(dump: Readable, options: RestoreStepOptions = {}): Promise<string> {
    const client = await this.c.pgClient('pg_restore');
    // No connection: --list only reads the dump's header and table of contents, then exits.
    return this.run('pg_restore', this.c.db, [client.program, '--list'], 'restore_list', options.signal, { input: dump });
  }

  async restoreDump(database: string, dump: Readable, options: RestoreDumpOptions = {}): Promise<void> {
    checkRestoreDatabaseName(database);
    const jobs = options.jobs ?? 1;
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS)
      throw new ValidationError([{ field: 'jobs', message: `must be a whole number from 1 to ${MAX_JOBS}, got ${String(jobs)}` }]);
    const client = await this.c.pgClient('pg_restore');
    // --no-owner / --no-privileges: the backup's roles and grants may not exist here; every object
    // belongs to the role the target connects as, which is the role its Odoo uses. --exit-on-error:
    // a restore that skipped a failed statement would be a different database, not a restore.
    const argv = [
      client.program,
      ...client.connection,
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      `--dbname=dbname=${quoteConninfoValue(database)}`,
    ];
    const secrets = client.secrets;
    if (jobs === 1) {
      await this.run('pg_restore', this.c.db, argv, 'restore_dump', options.signal, { input: dump, env: client.env, secrets });
      return;
    }
    // pg_restore -j needs a seekable file: stage it in the temp area where pg_restore runs, and remove it on every path.
    const staged = (await this.run('shell', this.c.db, ['mktemp'], 'restore_dump', options.signal)).trim();
    checkAbsolutePath(staged, 'mktemp');
    try {
      await this.run('shell', this.c.db, ['sh', '-c', 'cat > "$1"', 'obsdk-stage', staged], 'restore_dump', options.signal, {
        input: dump,
      });
      await this.run('pg_restore', this.c.db, [...argv, `--jobs=${jobs}`, staged], 'restore_dump', options.signal, {
        env: client.env,
        secrets,
      });
    } finally {
      // No signal: the staging file goes even when the restore was aborted.
      await this.run('shell', this.c.db, ['rm', '-f', '--', staged], 'restore_dump').catch(() => undefined);
    }
  }

  async runSqlScript(database: string, script: Readable, options: RunSqlScriptOptions = {}): Promise<void> {
    checkRestoreDatabaseName(database);
    const client = await this.c.pgClient('psql');
    let input = script;
    if (options.restrict !== false) {
      const version = await this.run('psql', this.c.db, [client.program, '--version'], 'restore_sql', options.signal);
      if (psqlHonoursRestrict(version)) input = restrictedScript(script);
    }
    // --output=/dev/null: a script's query results are not ours to hold in memory.
    const argv = [
      client.program,
      ...client.connection,
      '--no-psqlrc',
      '--quiet',
      '--set=ON_ERROR_STOP=1',
      '--output=/dev/null',
      `--dbname=dbname=${quoteConninfoValue(database)}`,
      '--file=-',
    ];
    await this.run('psql', this.c.db, argv, 'restore_sql', options.signal, {
      input,
      env: { ...client.env, PGCLIENTENCODING: 'UTF8' },
      secrets: client.secrets,
    });
  }

  async extractFilestore(folder: string, tar: Readable, options: RestoreStepOptions = {}): Promise<void> {
    checkInsideRoot(folder, this.c.filestoreRoot, 'folder');
    // mkdir without -p: the folder must not exist (a restore never extracts over files), its parent must.
    await this.run('shell', this.c.files, ['mkdir', '--', folder], 'restore_filestore', options.signal);
    await this.run(
      'tar',
      this.c.files,
      ['tar', '-x', '--no-same-owner', '--no-same-permissions', '-C', folder, '-f', '-'],
      'restore_filestore',
      options.signal,
      { input: tar },
    );
  }

  async pathExists(path: string, options: RestoreStepOptions = {}): Promise<boolean> {
    checkAbsolutePath(path);
    const argv = ['sh', '-c', '[ -e "$1" ] || [ -L "$1" ]', 'obsdk-exists', path];
    const run = this.toolRun('shell', this.c.files, argv, 'restore_files', options.signal);
    const { exit } = await runToolCommand(run);
    if (exit.code === 0) return true;
    if (exit.code === 1 && exit.stderrTail.trim() === '') return false;
    throw new SourceError('E_SOURCE_FILES', `Could not check whether ${path} exists${run.where ? ` (${run.where})` : ''}`, {
      details: { tool: 'test', phase: 'restore_files', exit_code: exit.code, signal: exit.signal, stderr_tail: exit.stderrTail, path },
    });
  }

  async pathIdentity(path: string, options: RestoreStepOptions = {}): Promise<string | null> {
    checkAbsolutePath(path);
    // Device and inode: mv within one filesystem keeps both.
    const script = 'if [ -e "$1" ] || [ -L "$1" ]; then exec stat -c %d:%i -- "$1"; fi';
    const out = await this.run('shell', this.c.files, ['sh', '-c', script, 'obsdk-identity', path], 'restore_files', options.signal);
    return out.trim() === '' ? null : `inode:${out.trim()}`;
  }

  async renamePath(from: string, to: string, options: RestoreStepOptions = {}): Promise<void> {
    checkInsideRoot(from, this.c.filestoreRoot, 'from');
    checkInsideRoot(to, this.c.filestoreRoot, 'to');
    // mv into an existing folder would move `from` inside it: refuse an existing destination instead.
    const script = 'if [ -e "$2" ] || [ -L "$2" ]; then echo "mv: $2 already exists" >&2; exit 1; fi; exec mv -- "$1" "$2"';
    await this.run('shell', this.c.files, ['sh', '-c', script, 'obsdk-mv', from, to], 'restore_files', options.signal, {
      program: 'mv',
    });
  }

  async removePath(path: string, options: RestoreStepOptions = {}): Promise<void> {
    checkInsideRoot(path, this.c.filestoreRoot);
    await this.run('shell', this.c.files, ['rm', '-rf', '--', path], 'restore_files', options.signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.c.ownsRunner) await this.c.runner.close();
  }

  private async version(signal?: AbortSignal): Promise<number> {
    const out = await this.sql(MAINTENANCE_DATABASE, [`SELECT current_setting('server_version_num')`], 'restore_sql', signal);
    this.serverVersion = Number(out.trim());
    return this.serverVersion;
  }

  private async odooVersion(signal?: AbortSignal): Promise<string | null> {
    // One statement whether or not the table exists: query_to_xml only plans the inner SELECT when it runs.
    const sql =
      `SELECT CASE WHEN to_regclass('ir_module_module') IS NULL THEN NULL ELSE ` +
      `(xpath('/row/v/text()', query_to_xml('SELECT latest_version AS v FROM ir_module_module WHERE name = ''base''', false, true, '')))[1]::text END`;
    try {
      const out = (await this.sql(this.database, [sql], 'restore_inspect', signal)).trim();
      return out === '' ? null : out;
    } catch (error) {
      // A database that refuses connections (mid-swap, or not ours to read) has no version to report.
      if (error instanceof SourceError && error.code === 'E_SOURCE_PSQL') return null;
      throw error;
    }
  }

  private async freeBytes(signal?: AbortSignal): Promise<number | null> {
    if (this.filestorePath === null) return null;
    // df on the nearest existing parent: the folder itself may not exist yet.
    const script = 'p=$1; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done; exec df -Pk -- "$p"';
    try {
      const out = await this.run('shell', this.c.files, ['sh', '-c', script, 'obsdk-df', this.filestorePath], 'restore_inspect', signal, {
        program: 'df',
      });
      const fields = out.trim().split('\n').pop()?.trim().split(/\s+/) ?? [];
      const kib = Number(fields[3]);
      return Number.isFinite(kib) ? kib * 1024 : null;
    } catch (error) {
      if (signal?.aborted) throw error;
      return null;
    }
  }

  private async sql(database: string, statements: string[], phase: SourcePhase, signal?: AbortSignal): Promise<string> {
    const client = await this.c.pgClient('psql');
    const argv = [
      client.program,
      ...client.connection,
      '--no-psqlrc',
      '--quiet',
      '--tuples-only',
      '--no-align',
      '--field-separator-zero',
      '--set=ON_ERROR_STOP=1',
      `--dbname=dbname=${quoteConninfoValue(database)}`,
      // One --command each: CREATE / DROP DATABASE cannot run inside the implicit transaction of a multi-statement string.
      ...statements.map((s) => `--command=${s}`),
    ];
    return this.run('psql', this.c.db, argv, phase, signal, { env: client.env, secrets: client.secrets });
  }

  private toolRun(
    tool: SourceTool,
    place: CommandPlace,
    argv: readonly string[],
    phase: SourcePhase,
    signal: AbortSignal | undefined,
    extra: { input?: Readable; env?: Record<string, string>; secrets?: string[]; program?: string } = {},
  ): ToolRun {
    return {
      runner: this.c.runner,
      spec: place.spec(argv, { input: extra.input !== undefined, env: extra.env }),
      tool,
      phase,
      where: place.where,
      secrets: extra.secrets,
      signal,
      input: extra.input,
      program: extra.program ?? argv[0],
    };
  }

  private run(
    tool: SourceTool,
    place: CommandPlace,
    argv: readonly string[],
    phase: SourcePhase,
    signal?: AbortSignal,
    extra: { input?: Readable; env?: Record<string, string>; secrets?: string[]; program?: string } = {},
  ): Promise<string> {
    return runTool(this.toolRun(tool, place, argv, phase, signal, extra));
  }
}

function terminateSessions(name: string): string {
  return `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${quoteSqlLiteral(name)} AND pid <> pg_backend_pid()`;
}
