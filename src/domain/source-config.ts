/**
 * How the database and filestore of an environment are reached. Returned by the host's
 * `EnvironmentResolver`; secrets are {@link Secret}s resolved at call time and never copied
 * into a record, a snapshot, an error or a log.
 */

/** A secret value, or a function that fetches it when needed (from a vault, say). */
export type Secret = string | (() => string | Promise<string>);

/** Resolves a {@link Secret} to its value. */
export async function resolveSecret(secret: Secret | undefined | null): Promise<string | undefined> {
  if (secret === undefined || secret === null) return undefined;
  return typeof secret === 'function' ? await secret() : secret;
}

/** A PostgreSQL connection for `pg_dump` / `pg_restore`. The password travels as PGPASSWORD. */
export interface PgConnection {
  host?: string;
  port?: number;
  user?: string;
  password?: Secret;
  /** Database name: passed as one argument, never through a shell unquoted. */
  database: string;
}

/** Database and filestore on this host. */
export interface LocalSource {
  kind: 'local';
  connection: PgConnection;
  /** Folder holding the filestore of this database (e.g. `/var/lib/odoo/filestore/<db>`); null for none. */
  filestore_path: string | null;
  /** Folder of `pg_dump` / `pg_restore` when not on PATH (e.g. `/usr/lib/postgresql/16/bin`). */
  pg_bin_dir?: string;
}

/** The product's way: `docker exec {env}_db pg_dump ...` and `docker exec {env}_odoo tar ...`. */
export interface DockerSource {
  kind: 'docker';
  /** Container running PostgreSQL, by default `{environment_id}_db`. */
  db_container: string;
  /** Container holding the filestore, by default `{environment_id}_odoo`. */
  odoo_container: string;
  /** PostgreSQL user inside the container (default `odoo`). */
  db_user?: string;
  /** Database name. */
  database: string;
  /**
   * Password of `db_user`, when the container's PostgreSQL asks for one. Passed with
   * `docker exec -e PGPASSWORD` (docker copies the value from the client's environment), never
   * on a command line.
   */
  password?: Secret;
  /** Filestore root inside the Odoo container (default `/var/lib/odoo/filestore`). */
  filestore_root?: string;
  /** The docker executable (default `docker`). */
  docker_bin?: string;
}

/** An SSH endpoint. The host key is always verified. */
export interface SshTarget {
  host: string;
  port?: number;
  username: string;
  password?: Secret;
  private_key?: Secret;
  passphrase?: Secret;
  /**
   * The expected host key: an OpenSSH fingerprint (`SHA256:...`) or a known_hosts line.
   * Unknown keys are refused.
   */
  host_key: string;
  /** Connection timeout in ms (default 20000). */
  ready_timeout_ms?: number;
}

/** The same commands run on a remote VM over SSH, directly or through docker on the far side. */
export interface SshSource {
  kind: 'ssh';
  ssh: SshTarget;
  /** What runs on the far side. */
  remote: LocalSource | DockerSource;
}

/** Any way of reaching an environment's database and filestore. */
export type SourceConfig = LocalSource | DockerSource | SshSource;

/**
 * The product's Docker layout for an environment: containers `{environment_id}_db` and
 * `{environment_id}_odoo`, user `odoo`, filestore under `/var/lib/odoo/filestore`.
 */
export function defaultDockerSource(
  environmentId: string,
  database: string,
  overrides: Partial<Omit<DockerSource, 'kind'>> = {},
): DockerSource {
  return {
    kind: 'docker',
    db_container: `${environmentId}_db`,
    odoo_container: `${environmentId}_odoo`,
    db_user: 'odoo',
    database,
    filestore_root: '/var/lib/odoo/filestore',
    ...overrides,
  };
}
