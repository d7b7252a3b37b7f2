import type { BackupListItem } from 'odoo-backup-sdk';
import { formatBytes, table } from '../output.js';
import { openCommandSession } from '../session.js';
import type { ConfigFile } from '../settings.js';
import type { CommandContext } from './context.js';

/** The flags of `list`. */
export interface ListFlags {
  storageRoot?: string;
  env?: string;
  status?: string;
}

/** Newest first, as the SDK pages them: `created_at`, then `id`, descending. */
const newestFirst = (a: BackupListItem, b: BackupListItem) =>
  a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

/**
 * `odoo-backup list`: the backups in the storage (one environment with `--env`), newest first, as
 * the SDK's `listBackups` gives them (`BackupListItem[]` with `--json`).
 */
export async function listCommand(flags: ListFlags, config: ConfigFile, ctx: CommandContext): Promise<number> {
  const session = await openCommandSession(flags.storageRoot, config, ctx);
  try {
    const environments = flags.env ? [flags.env] : await session.catalogue.listEnvironmentIds();
    const items: BackupListItem[] = [];
    for (const environmentId of environments) {
      for (let page = 1; ; page++) {
        const got = await session.sdk.backups.listBackups(environmentId, {
          page,
          page_size: 100,
          ...(flags.status ? { status: flags.status } : {}),
        });
        items.push(...got.items);
        if (page >= got.pages) break;
      }
    }
    items.sort(newestFirst);
    ctx.out.result(items, () =>
      items.length === 0
        ? 'no backups'
        : table(
            ['ID', 'ENVIRONMENT', 'CREATED', 'TYPE', 'TIER', 'STORED', 'VERIFIED', 'EXPIRES'],
            items.map((b) => [
              b.id.slice(0, 8),
              b.environment_id,
              b.created_at.slice(0, 19).replace('T', ' '),
              b.backup_type,
              b.retention_type ?? '-',
              formatBytes(b.compressed_size),
              b.is_verified ? 'yes' : 'no',
              b.expires_at ? b.expires_at.slice(0, 10) : 'never',
            ]),
          ),
    );
    return 0;
  } finally {
    await session.close();
  }
}
