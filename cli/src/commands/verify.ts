import type { BackupVerificationResult } from 'odoo-backup-sdk';
import { startProgress } from '../progress.js';
import { openCommandSession } from '../session.js';
import type { ConfigFile } from '../settings.js';
import { EXIT } from '../exit-codes.js';
import { resolveBackupId, type CommandContext } from './context.js';

/** The flags of `verify`. */
export interface VerifyFlags {
  storageRoot?: string;
}

/**
 * `odoo-backup verify ID`: reads the backup back from storage and checks it whole (ZIP structure,
 * manifest, SHA-256 of each part, the dump's table of contents), records the outcome in its state
 * file and prints the SDK's `BackupVerificationResult`. Exit 5 when the check fails.
 */
export async function verifyCommand(id: string, flags: VerifyFlags, config: ConfigFile, ctx: CommandContext): Promise<number> {
  const session = await openCommandSession(flags.storageRoot, config, ctx);
  try {
    const backupId = await resolveBackupId(session.catalogue, id);
    const progress = startProgress(ctx.out, `verify ${backupId.slice(0, 8)}`);
    progress.update('reading', 'archive, manifest, checksums, dump listing');
    let result: BackupVerificationResult | undefined;
    try {
      result = await session.sdk.backups.verifyBackup(backupId, null, { signal: ctx.signal });
    } finally {
      await progress.end(result?.ok ?? false);
    }
    const verified = result;
    ctx.out.result(verified, () =>
      verified.ok
        ? `backup ${backupId} verified: archive, manifest and both SHA-256 sums match`
        : `backup ${backupId} FAILED verification: ${String(verified.error?.code ?? '')} ${String(verified.error?.message ?? verified.backup.verification_error ?? '')}`,
    );
    return verified.ok ? EXIT.OK : EXIT.ARCHIVE;
  } finally {
    await session.close();
  }
}
