import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  DEFAULT_RETENTION,
  StorageConfigService,
  ValidationError,
  type DockerSource,
  type LocalSource,
  type RetentionSettings,
  type SourceConfig,
  type SshSource,
  type StorageConfigSettings,
} from 'odoo-backup-sdk';

/**
 * Where a command's settings come from, in this order: its flags, then `ODOO_BACKUP_*` variables
 * (both through commander's `Option.env`), then the JSON file named by `--config`. Secrets come
 * only from variables or files: a secret in the config file is a usage error.
 */

/** The config file (`--config FILE`): every key optional. */
export interface ConfigFile {
  /** Where backups are stored; `credentials` come from `ODOO_BACKUP_STORAGE_CREDENTIALS[_FILE]`. */
  storage?: { provider: string; settings: Record<string, unknown> };
  /** A `docker` or `ssh` source (`local` comes from the flags); SSH keys by file (`private_key_file`). */
  source?: Record<string, unknown>;
  /** GFS settings: `daily_retention`, `weekly_retention`, `monthly_retention`, `yearly_retention`, `weekly_backup_day`, `timezone`. */
  retention?: Partial<RetentionSettings>;
  /** Any flag by its long name (`"org": "acme"`, `"pg-host": "db1"`), used when neither the flag nor its variable is set. */
  [flag: string]: unknown;
}

/** Keys that hold secrets: refused anywhere in the config file. */
const SECRET_KEYS = new Set([
  'credentials',
  'password',
  'passphrase',
  'private_key',
  'secret',
  'secret_access_key',
  'access_key_id',
  'session_token',
  'token',
  'pgpassword',
]);

/** Paths (`storage.credentials`, `source.ssh.password`) of the secrets in a parsed config file. */
function secretPaths(value: unknown, path: string[] = []): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
    SECRET_KEYS.has(key.toLowerCase()) ? [[...path, key].join('.')] : secretPaths(inner, [...path, key]),
  );
}

/** Reads and checks the config file; a missing file, bad JSON or a secret in it is a usage error. */
export function readConfigFile(file: string | undefined): ConfigFile {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError([{ field: 'config', message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{ field: 'config', message: `is not JSON: ${(error as Error).message}` }]);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ValidationError([{ field: 'config', message: 'must hold one JSON object' }]);
  const secrets = secretPaths(parsed);
  if (secrets.length > 0)
    throw new ValidationError(
      secrets.map((field) => ({
        field: `config.${field}`,
        message:
          'is a secret: secrets are read from variables or files only (PGPASSWORD, ODOO_BACKUP_STORAGE_CREDENTIALS or ODOO_BACKUP_STORAGE_CREDENTIALS_FILE, SSH key files)',
      })),
      `The config file ${file} holds a secret (${secrets.join(', ')}); move it to a variable or a file`,
    );
  return parsed as ConfigFile;
}

/** The storage credentials from `ODOO_BACKUP_STORAGE_CREDENTIALS` (JSON) or the file `ODOO_BACKUP_STORAGE_CREDENTIALS_FILE` names. */
function storageCredentials(env: NodeJS.ProcessEnv): Record<string, string> | null {
  const file = env.ODOO_BACKUP_STORAGE_CREDENTIALS_FILE;
  const text = env.ODOO_BACKUP_STORAGE_CREDENTIALS ?? (file ? readSecretFile(file, 'ODOO_BACKUP_STORAGE_CREDENTIALS_FILE') : undefined);
  if (text === undefined || text.trim() === '') return null;
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, string>;
  } catch {
    // The message below must not echo the text: it is a secret.
  }
  throw new ValidationError([
    {
      field: 'ODOO_BACKUP_STORAGE_CREDENTIALS',
      message: 'must be a JSON object such as {"access_key_id":"...","secret_access_key":"..."}',
    },
  ]);
}

function readSecretFile(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError([{ field, message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
}

/**
 * The storage a command works with: `--storage-root DIR` (a local folder), else the config file's
 * `storage`, checked by `StorageConfigService.settingsSchema` with the credentials from the variables.
 */
export function storageSettings(storageRoot: string | undefined, config: ConfigFile, env: NodeJS.ProcessEnv): StorageConfigSettings {
  const candidate = storageRoot
    ? { provider: 'local', settings: { root: resolve(storageRoot) }, credentials: null }
    : config.storage
      ? { ...config.storage, credentials: storageCredentials(env) }
      : null;
  if (!candidate)
    throw new ValidationError(
      [
        {
          field: 'storage',
          message: 'is required: pass --storage-root DIR, set ODOO_BACKUP_STORAGE_ROOT, or give "storage" in --config FILE',
        },
      ],
      'No storage: pass --storage-root DIR, set ODOO_BACKUP_STORAGE_ROOT, or give "storage" in the config file',
      'E_STORAGE_CONFIG_MISSING',
    );
  const checked = StorageConfigService.settingsSchema.safeParse(candidate);
  if (!checked.success)
    throw new ValidationError(
      checked.error.issues.map((issue) => ({
        field: ['storage', ...issue.path.map(String)].join('.'),
        // Zod messages name the problem, never the value, so no credential leaks through them.
        message: issue.message,
      })),
    );
  return checked.data;
}

/** The local-source flags of `backup` and `restore`. */
export interface LocalSourceFlags {
  db: string;
  pgHost?: string;
  pgPort?: number;
  pgUser?: string;
  pgBinDir?: string;
  filestore?: string | false;
}

/**
 * How the database and filestore are reached: the config file's `docker` or `ssh` source (the
 * database name from `--db`), else a `local` source from the flags. Passwords come from
 * `PGPASSWORD`, SSH keys and passwords from the files the config names.
 */
export function sourceConfig(flags: LocalSourceFlags, config: ConfigFile, env: NodeJS.ProcessEnv): SourceConfig {
  const password = env.PGPASSWORD ? env.PGPASSWORD : undefined;
  const local = (): LocalSource => ({
    kind: 'local',
    connection: {
      database: flags.db,
      ...(flags.pgHost ? { host: flags.pgHost } : {}),
      ...(flags.pgPort !== undefined ? { port: flags.pgPort } : {}),
      ...(flags.pgUser ? { user: flags.pgUser } : {}),
      ...(password !== undefined ? { password } : {}),
    },
    filestore_path: typeof flags.filestore === 'string' ? absolute(flags.filestore) : null,
    ...(flags.pgBinDir ? { pg_bin_dir: flags.pgBinDir } : {}),
  });
  const source = config.source;
  if (!source) return local();
  const docker = (s: Record<string, unknown>): DockerSource => ({
    ...(s as unknown as DockerSource),
    kind: 'docker',
    database: flags.db,
    ...(password !== undefined ? { password } : {}),
  });
  switch (source.kind) {
    case 'local':
      return local();
    case 'docker':
      return docker(source);
    case 'ssh': {
      const target = (source.ssh ?? {}) as Record<string, unknown>;
      const remote = (source.remote ?? { kind: 'local' }) as Record<string, unknown>;
      const fromFile = (key: string) =>
        typeof target[key] === 'string'
          ? { [key.replace(/_file$/, '')]: () => readSecretFile(target[key] as string, `source.ssh.${key}`) }
          : {};
      const { private_key_file: _k, passphrase_file: _p, password_file: _w, ...plain } = target;
      const ssh: SshSource = {
        kind: 'ssh',
        ssh: {
          ...(plain as unknown as SshSource['ssh']),
          ...fromFile('private_key_file'),
          ...fromFile('passphrase_file'),
          ...fromFile('password_file'),
        },
        remote:
          remote.kind === 'docker' ? docker(remote) : { ...local(), ...(remote as object), kind: 'local', connection: local().connection },
      };
      return ssh;
    }
    default:
      throw new ValidationError([{ field: 'config.source.kind', message: "must be 'local', 'docker' or 'ssh'" }]);
  }
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** The retention flags shared by `backup`, `prune` and `simulate`. */
export interface RetentionFlags {
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  weeklyDay?: number;
  timezone?: string;
}

/** GFS settings: the flags, over the config file's `retention`, over the SDK's defaults (7/4/12/2, Sunday, UTC). */
export function retentionSettings(flags: RetentionFlags, config: ConfigFile): RetentionSettings {
  const file = config.retention ?? {};
  return {
    daily_retention: flags.daily ?? file.daily_retention ?? DEFAULT_RETENTION.daily_retention,
    weekly_retention: flags.weekly ?? file.weekly_retention ?? DEFAULT_RETENTION.weekly_retention,
    monthly_retention: flags.monthly ?? file.monthly_retention ?? DEFAULT_RETENTION.monthly_retention,
    yearly_retention: flags.yearly ?? file.yearly_retention ?? DEFAULT_RETENTION.yearly_retention,
    weekly_backup_day: flags.weeklyDay ?? file.weekly_backup_day ?? DEFAULT_RETENTION.weekly_backup_day,
    timezone: flags.timezone ?? file.timezone ?? DEFAULT_RETENTION.timezone,
  };
}
