import { ValidationError, type BackupCreateInput, type BackupDetail, type SdkEvent } from 'odoo-backup-sdk';
import { formatBytes } from '../output.js';
import { startProgress } from '../progress.js';
import { openCommandSession } from '../session.js';
import { retentionSettings, sourceConfig, type ConfigFile, type RetentionFlags } from '../settings.js';
import { recordedFailure, singleEnvironment, type CommandContext } from './context.js';

/** The flags of `backup`. */
export interface BackupFlags extends RetentionFlags {
  storageRoot?: string;
  org: string;
  project: string;
  env?: string;
  db?: string;
  pgHost?: string;
  pgPort?: number;
  pgUser?: string;
  pgBinDir?: string;
  filestore?: string | false;
  type: BackupCreateInput['backup_type'];
  retentionType?: BackupCreateInput['retention_type'];
}

/**
 * `odoo-backup backup`: one backup of a database and its filestore into the storage, run in this
 * process by the SDK's pipeline (dump and tarball streamed into one ZIP, checksums in flight,
 * read back and verified). Prints the backup's `BackupDetail`. Ctrl-C cancels it: the partial
 * object is removed, nothing is left in storage, the exit status is 130.
 */
export async function backupCommand(flags: BackupFlags, config: ConfigFile, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  if (!flags.db)
    throw new ValidationError([{ field: 'db', message: 'is required: the database to back up (--db NAME or ODOO_BACKUP_DB)' }]);
  const environmentId = flags.env ?? flags.db;
  const source = sourceConfig({ ...flags, db: flags.db }, config, ctx.env);
  const includeFilestore = flags.filestore !== false && (source.kind !== 'local' || source.filestore_path !== null);
  const progress = startProgress(out, `backup ${environmentId}`);
  const onEvent = (event: SdkEvent) => {
    if (event.type !== 'backup.progress') return;
    const d = event.data;
    const part = d.part ? `${d.part} ${formatBytes(d.part_bytes ?? 0)}` : formatBytes(d.bytes);
    progress.update(d.phase, `${part} (${formatBytes(d.rate_bytes_per_second)}/s)`);
  };
  const session = await openCommandSession(flags.storageRoot, config, ctx, {
    organizationId: flags.org,
    retention: retentionSettings(flags, config),
    environments: singleEnvironment({
      environmentId,
      organizationId: flags.org,
      projectId: flags.project,
      database: flags.db,
      source,
    }),
    events: { emit: onEvent },
  });
  let ok = false;
  try {
    const { sdk } = session;
    sdk.backups.startWorker({ concurrency: 1 });
    const created = await sdk.backups.createBackup(environmentId, {
      backup_type: flags.type,
      include_filestore: includeFilestore,
      ...(flags.retentionType ? { retention_type: flags.retentionType } : {}),
    });
    out.info(`backup ${created.id} started (${environmentId})`);
    const cancel = () => void sdk.backups.cancelBackup(created.id).catch(() => undefined);
    if (ctx.signal.aborted) cancel();
    else ctx.signal.addEventListener('abort', cancel, { once: true });
    const ended = await sdk.backups.waitForBackup(created.id);
    ctx.signal.removeEventListener('abort', cancel);
    if (ended.status !== 'completed') {
      const { code, ...details } = ended.error_details ?? {};
      throw recordedFailure(code, ended.error_message ?? `backup ${ended.id} ended ${ended.status}`, { ...details, backup_id: ended.id });
    }
    ok = true;
    const detail = await sdk.backups.getBackup(created.id);
    await progress.end(true);
    out.result(detail, () => describeBackup(detail));
    return 0;
  } finally {
    if (!ok) await progress.end(false);
    await session.close();
  }
}

/** A few lines about a completed backup, for a person. */
function describeBackup(b: BackupDetail): string {
  const rate = b.duration_seconds ? ` in ${b.duration_seconds.toFixed(1)} s` : '';
  return [
    `backup ${b.id} completed${rate}`,
    `  environment  ${b.environment_id}`,
    `  database     ${formatBytes(b.database_size)}  sha256 ${b.database_checksum ?? '-'}`,
    `  filestore    ${b.filestore_checksum ? `${formatBytes(b.filestore_size)}  sha256 ${b.filestore_checksum}` : 'not included'}`,
    `  stored       ${formatBytes(b.compressed_size)}`,
    `  retention    ${b.retention_type ?? '-'}, expires ${b.expires_at ?? 'never'}`,
    `  verified     ${b.is_verified ? 'yes' : 'no'}`,
  ].join('\n');
}
