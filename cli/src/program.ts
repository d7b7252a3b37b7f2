import { Command, Option } from 'commander';
import { BACKUP_TYPES, RETENTION_TYPES } from 'odoo-backup-sdk';
import { backupCommand, type BackupFlags } from './commands/backup.js';
import type { CommandContext } from './commands/context.js';
import { listCommand, type ListFlags } from './commands/list.js';
import { pruneCommand, type PruneFlags } from './commands/prune.js';
import { restoreCommand, type RestoreFlags } from './commands/restore.js';
import { scheduleCommand, type ScheduleFlags } from './commands/schedule.js';
import { simulateCommand, type SimulateFlags } from './commands/simulate.js';
import { storageTestCommand, type StorageTestFlags } from './commands/storage-test.js';
import { verifyCommand, type VerifyFlags } from './commands/verify.js';
import {
  addOutputOptions,
  addRetentionOptions,
  addScopeOptions,
  addSourceOptions,
  addStorageOptions,
  defaultStateDir,
  integer,
  resolveOptions,
} from './options.js';
import { Output } from './output.js';

/** What a command's action gives back: its exit status. */
type Run = (cmd: Command, ctx: CommandContext) => Promise<number> | number;

const example = (lines: string[]) => `\nExample:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

/**
 * The `odoo-backup` program: every command, flag, variable and default, parsed by commander.
 * `run` receives each action's exit status (actions never call `process.exit` themselves).
 */
export function buildProgram(version: string, context: Omit<CommandContext, 'out'>, done: (status: number, out: Output) => void): Command {
  const program = new Command('odoo-backup')
    .description('Back up, list, verify, restore and prune Odoo backups (PostgreSQL + filestore) with nothing but a storage target.')
    .version(version, '-V, --version')
    .showHelpAfterError('(add --help for the flags)')
    .configureHelp({ sortOptions: false, showGlobalOptions: false })
    .configureOutput({
      writeOut: (s) => void process.stdout.write(s),
      writeErr: (s) => void process.stderr.write(s),
    })
    .exitOverride();

  const action =
    (run: Run) =>
    async (...args: unknown[]) => {
      // commander passes the command itself last.
      const cmd = args[args.length - 1] as Command;
      // --json from the flag or ODOO_BACKUP_JSON: known before the config file is read, so even
      // a bad config file is reported as one JSON document.
      const out = new Output(Boolean(cmd.opts().json), { stdout: process.stdout, stderr: process.stderr, env: context.env });
      try {
        done(await run(cmd, { ...context, out }), out);
      } catch (error) {
        done(out.fail(error), out);
      }
    };

  addOutputOptions(
    addRetentionOptions(
      addSourceOptions(
        addScopeOptions(addStorageOptions(program.command('backup'))),
        'database to back up (also the environment id unless --env)',
      ),
    ),
  )
    .description('Back up a database and its filestore into the storage: one ZIP with a manifest and SHA-256 sums, read back and verified.')
    .addOption(new Option('--env <id>', 'environment id in the storage key (default: the database name)').env('ODOO_BACKUP_ENV'))
    .addOption(new Option('--type <type>', 'backup type').choices(BACKUP_TYPES).default('manual').env('ODOO_BACKUP_TYPE'))
    .addOption(new Option('--retention-type <tier>', 'GFS tier (default: by date under the retention settings)').choices(RETENTION_TYPES))
    .addHelpText(
      'after',
      example([
        'PGPASSWORD=... odoo-backup backup --db prod --pg-host 127.0.0.1 --pg-user odoo --filestore /var/lib/odoo/filestore/prod --storage-root /srv/backups',
      ]),
    )
    .action(
      action((cmd, ctx) => {
        const { opts, config } = resolveOptions<BackupFlags>(cmd);
        return backupCommand(opts, config, ctx);
      }),
    );

  addOutputOptions(addStorageOptions(program.command('list')))
    .description('List the backups in the storage, newest first (reads the index, reconciled with the objects).')
    .addOption(new Option('--env <id>', 'only this environment').env('ODOO_BACKUP_ENV'))
    .addOption(new Option('--status <status>', 'only backups in this status').env('ODOO_BACKUP_STATUS'))
    .addHelpText('after', example(['odoo-backup list --storage-root /srv/backups', 'odoo-backup list --storage-root /srv/backups --json']))
    .action(action(withContext<ListFlags>(listCommand)));

  addOutputOptions(addStorageOptions(program.command('verify').argument('<id>', 'backup id, or a prefix of 8+ characters')))
    .description('Read a backup back from storage and check it whole: ZIP structure, manifest, both SHA-256 sums, the dump listing.')
    .addHelpText('after', example(['odoo-backup verify 3f2a9c1e --storage-root /srv/backups']))
    .action(
      action((cmd, ctx) => {
        const { opts, config } = resolveOptions<VerifyFlags>(cmd);
        return verifyCommand(cmd.args[0]!, opts, config, ctx);
      }),
    );

  addOutputOptions(
    addSourceOptions(
      addStorageOptions(program.command('restore').argument('[id]', 'backup id, or a prefix of 8+ characters')),
      "the environment's database (default: the one backed up)",
    ),
  )
    .description('Restore a backup into a new database, or over its environment (--replace --yes); verified as it is written.')
    .addOption(new Option('--new-database <name>', 'restore into this new database (filestore beside the original)'))
    .addOption(new Option('--replace', "restore over the environment's database and filestore (pre-restore backup, journaled swap)"))
    .addOption(new Option('--yes', 'confirm --replace'))
    .addOption(new Option('--jobs <n>', 'pg_restore -j').argParser(integer(1, 32)).default(1))
    .addOption(
      new Option('--state-dir <dir>', 'where replace restores keep their task and journal')
        .env('ODOO_BACKUP_STATE_DIR')
        .default(defaultStateDir(context.env), '$XDG_STATE_HOME/odoo-backup'),
    )
    .addOption(new Option('--recover', 'roll back or finish replace restores a crash interrupted'))
    .addHelpText(
      'after',
      example([
        'odoo-backup restore 3f2a9c1e --new-database prod_copy --pg-host 127.0.0.1 --filestore /var/lib/odoo/filestore/prod --storage-root /srv/backups',
        'odoo-backup restore 3f2a9c1e --replace --yes --storage-root /srv/backups',
      ]),
    )
    .action(
      action((cmd, ctx) => {
        const { opts, config } = resolveOptions<RestoreFlags>(cmd);
        return restoreCommand(cmd.args[0], opts, config, ctx);
      }),
    );

  addOutputOptions(addRetentionOptions(addStorageOptions(program.command('prune'))))
    .description('GFS retention: what to keep, promote and expire, with a reason per backup. A dry run unless --apply.')
    .addOption(new Option('--env <id>', 'only this environment').env('ODOO_BACKUP_ENV'))
    .addOption(new Option('--apply', 'expire and delete, promote: do what the plan says'))
    .addHelpText(
      'after',
      example(['odoo-backup prune --storage-root /srv/backups', 'odoo-backup prune --storage-root /srv/backups --daily 14 --apply']),
    )
    .action(action(withContext<PruneFlags>(pruneCommand)));

  addOutputOptions(program.command('schedule').argument('<cron>', '5-field cron expression, e.g. "0 2 * * *"'))
    .description('The next times a cron expression fires in a time zone (DST gaps shifted forward, repeated hours run once).')
    .addOption(new Option('--timezone <zone>', 'IANA time zone').default('UTC').env('ODOO_BACKUP_TIMEZONE'))
    .addOption(new Option('--count <n>', 'how many times').argParser(integer(1, 1000)).default(5))
    .addOption(new Option('--after <iso>', 'start after this time (default: now)'))
    .addHelpText('after', example(['odoo-backup schedule "0 2 * * *" --timezone Europe/Brussels --count 5 --after 2027-03-26T00:00:00Z']))
    .action(
      action((cmd, ctx) => {
        const { opts } = resolveOptions<ScheduleFlags>(cmd);
        return scheduleCommand(cmd.args[0]!, opts, ctx);
      }),
    );

  addOutputOptions(addRetentionOptions(program.command('simulate')))
    .description('Simulate daily backups under the GFS settings: what is kept per tier, and the storage saved.')
    .addOption(new Option('--days <n>', 'days to simulate').argParser(integer(1, 36_500)).default(730))
    .addOption(new Option('--start <date>', 'first simulated day').default('2026-01-01'))
    .addOption(new Option('--svg <file>', "draw each backup's lifetime, one row per tier, into this SVG file"))
    .addHelpText('after', example(['odoo-backup simulate --days 730 --svg retention.svg']))
    .action(
      action((cmd, ctx) => {
        const { opts, config } = resolveOptions<SimulateFlags>(cmd);
        return simulateCommand(opts, config, ctx);
      }),
    );

  const storage = program.command('storage').description('Storage checks.');
  addOutputOptions(addStorageOptions(storage.command('test')))
    .description('Write, read back and delete a probe object in the storage, reporting each step.')
    .addHelpText('after', example(['odoo-backup storage test --storage-root /srv/backups', 'odoo-backup storage test --config s3.json']))
    .action(action(withContext<StorageTestFlags>(storageTestCommand)));

  return program;

  function withContext<F extends object>(
    run: (flags: F, config: ReturnType<typeof resolveOptions>['config'], ctx: CommandContext) => Promise<number>,
  ): Run {
    return (cmd, ctx) => {
      const { opts, config } = resolveOptions<F>(cmd);
      return run(opts, config, ctx);
    };
  }
}
