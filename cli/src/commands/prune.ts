import type { RetentionCleanupResult, RetentionPlan } from 'odoo-backup-sdk';
import { table } from '../output.js';
import { openCommandSession } from '../session.js';
import { retentionSettings, type ConfigFile, type RetentionFlags } from '../settings.js';
import type { CommandContext } from './context.js';

/** The flags of `prune`. */
export interface PruneFlags extends RetentionFlags {
  storageRoot?: string;
  env?: string;
  apply?: boolean;
}

/** What `prune --apply --json` prints: the plans it acted on and what each cleanup did. */
export interface PruneApplied {
  plans: RetentionPlan[];
  cleanup: RetentionCleanupResult[];
}

/**
 * `odoo-backup prune`: the GFS retention plan of each environment (`sdk.retention.planEnvironment`:
 * every completed backup kept, promoted or expired, with the reason), a dry run that changes
 * nothing. `--apply` runs the cleanup of each environment at the same instant
 * (`sdk.retention.runCleanup` with its `environment_id`): expired backups' ZIPs and state files are
 * deleted, promotions are written to the state files. `--json`: `RetentionPlan[]`, or with
 * `--apply` `{ plans, cleanup }`.
 */
export async function pruneCommand(flags: PruneFlags, config: ConfigFile, ctx: CommandContext): Promise<number> {
  const session = await openCommandSession(flags.storageRoot, config, ctx, { retention: retentionSettings(flags, config) });
  try {
    const { sdk, catalogue } = session;
    // One instant for the plan and the cleanup, so --apply does exactly what the plan shows.
    const now = new Date();
    const environments = flags.env ? [flags.env] : await catalogue.listEnvironmentIds({ status: 'completed' });
    const plans: RetentionPlan[] = [];
    for (const environmentId of environments) plans.push(await sdk.retention.planEnvironment(environmentId, now));
    if (!flags.apply) {
      ctx.out.result(plans, () => `${describePlans(plans)}\n\ndry run: nothing changed; run with --apply to act`);
      return 0;
    }
    const cleanup: RetentionCleanupResult[] = [];
    for (const environmentId of environments) cleanup.push(await sdk.retention.runCleanup(now, { environment_id: environmentId }));
    const errors = cleanup.flatMap((c) => c.errors);
    for (const e of errors) ctx.out.warn(`${e.step} ${e.backup_id ?? ''}: ${e.code} ${e.message}`);
    const applied: PruneApplied = { plans, cleanup };
    const sum = (k: 'expired' | 'deleted_storage' | 'promoted') => cleanup.reduce((n, c) => n + c[k], 0);
    ctx.out.result(
      applied,
      () =>
        `${describePlans(plans)}\n\napplied: ${sum('expired')} expired, ${sum('deleted_storage')} deleted from storage, ${sum('promoted')} promoted, ${errors.length} errors`,
    );
    if (errors.length > 0) {
      const first = errors[0]!;
      throw Object.assign(new Error(`prune: ${errors.length} step(s) failed, first: ${first.message}`), {
        code: first.code,
        details: { errors },
      });
    }
    return 0;
  } finally {
    await session.close();
  }
}

/** One row per backup: what the plan does to it and why. */
function describePlans(plans: RetentionPlan[]): string {
  const rows = plans.flatMap((p) => [
    ...p.keep.map((k) => [k.backup_id.slice(0, 8), p.environment_id ?? '-', 'keep', k.retention_type, k.reason]),
    ...p.promote.map((k) => [k.backup_id.slice(0, 8), p.environment_id ?? '-', `promote -> ${k.to}`, k.from, k.reason]),
    ...p.expire.map((k) => [k.backup_id.slice(0, 8), p.environment_id ?? '-', 'expire', k.retention_type, k.reason]),
  ]);
  return rows.length === 0 ? 'no completed backups' : table(['ID', 'ENVIRONMENT', 'ACTION', 'TIER', 'REASON'], rows);
}
