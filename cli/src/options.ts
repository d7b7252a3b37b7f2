import { InvalidArgumentError, Option, type Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readConfigFile, type ConfigFile } from './settings.js';

/**
 * The flags several commands share, each with its `ODOO_BACKUP_*` variable (commander's
 * `Option.env`), and the config-file fallback: a flag's value comes from the command line, else
 * its variable, else the config file's key of the same long name, else its default.
 */

/** A whole number parser for commander, within bounds. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number');
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}`);
    return n;
  };
}

/** `--json`, `--config FILE`. */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--json', 'print one JSON document on stdout (the result, or { "error": ... })').env('ODOO_BACKUP_JSON'))
    .addOption(
      new Option('--config <file>', 'JSON settings file (no secrets in it); flags and variables win over it').env('ODOO_BACKUP_CONFIG'),
    );
}

/** `--storage-root DIR` (a local folder); other storages come from the config file's `storage`. */
export function addStorageOptions(cmd: Command): Command {
  return cmd.addOption(
    new Option('--storage-root <dir>', 'local folder holding the backups (else "storage" in --config)').env('ODOO_BACKUP_STORAGE_ROOT'),
  );
}

/** `--org`, `--project`: the key prefix of new backups (`organizations/{org}/projects/{project}/...`). */
export function addScopeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--org <id>', 'organisation id in the storage key').env('ODOO_BACKUP_ORG').default('default'))
    .addOption(new Option('--project <id>', 'project id in the storage key').env('ODOO_BACKUP_PROJECT').default('default'));
}

/** `--db`, `--pg-host`, `--pg-port`, `--pg-user`, `--pg-bin-dir`, `--filestore`/`--no-filestore`. */
export function addSourceOptions(cmd: Command, dbHelp: string): Command {
  return cmd
    .addOption(new Option('--db <name>', dbHelp).env('ODOO_BACKUP_DB'))
    .addOption(new Option('--pg-host <host>', 'PostgreSQL host (password: PGPASSWORD)').env('ODOO_BACKUP_PG_HOST'))
    .addOption(new Option('--pg-port <port>', 'PostgreSQL port').env('ODOO_BACKUP_PG_PORT').argParser(integer(1, 65535)))
    .addOption(new Option('--pg-user <user>', 'PostgreSQL user').env('ODOO_BACKUP_PG_USER'))
    .addOption(new Option('--pg-bin-dir <dir>', 'folder of pg_dump / pg_restore when not on PATH').env('ODOO_BACKUP_PG_BIN_DIR'))
    .addOption(
      new Option('--filestore <dir>', "the database's filestore folder (e.g. /var/lib/odoo/filestore/DB)").env('ODOO_BACKUP_FILESTORE'),
    )
    .addOption(new Option('--no-filestore', 'leave the filestore out'));
}

/** The GFS flags of `backup`, `prune` and `simulate` (else the config's `retention`, else 7/4/12/2, Sunday, UTC). */
export function addRetentionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--daily <n>', 'days a daily backup is kept (default 7)').env('ODOO_BACKUP_DAILY').argParser(integer(0, 3650)))
    .addOption(new Option('--weekly <n>', 'weeks a weekly backup is kept (default 4)').env('ODOO_BACKUP_WEEKLY').argParser(integer(0, 520)))
    .addOption(
      new Option('--monthly <n>', 'months (x 30 days) a monthly backup is kept (default 12)')
        .env('ODOO_BACKUP_MONTHLY')
        .argParser(integer(0, 120)),
    )
    .addOption(
      new Option('--yearly <n>', 'years (x 365 days) a yearly backup is kept (default 2)')
        .env('ODOO_BACKUP_YEARLY')
        .argParser(integer(0, 100)),
    )
    .addOption(
      new Option('--weekly-day <d>', 'day of the weekly backup, 0 = Monday ... 6 = Sunday (default 6)')
        .env('ODOO_BACKUP_WEEKLY_DAY')
        .argParser(integer(0, 6)),
    )
    .addOption(new Option('--timezone <zone>', 'IANA time zone of the GFS calendar (default UTC)').env('ODOO_BACKUP_TIMEZONE'));
}

/** `--state-dir`: where restores keep their task and journal (default `$XDG_STATE_HOME/odoo-backup`). */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'odoo-backup');
}

/**
 * The command's options with the config file filled in under them: an option neither given as a
 * flag nor by its variable takes the config file's value of the same long name (`"pg-host"`).
 */
export function resolveOptions<T extends object>(cmd: Command): { opts: T; config: ConfigFile } {
  const first = cmd.opts<{ config?: string }>();
  const config = readConfigFile(first.config);
  for (const option of cmd.options) {
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source !== undefined && source !== 'default') continue;
    const name = option.long?.replace(/^--(no-)?/, '');
    if (!name || option.negate) continue;
    const value = config[name];
    if (value === undefined || (typeof value === 'object' && value !== null)) continue;
    cmd.setOptionValueWithSource(key, option.parseArg && typeof value === 'string' ? option.parseArg(value, undefined) : value, 'config');
  }
  return { opts: cmd.opts() as T, config };
}
