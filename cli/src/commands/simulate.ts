import { writeFileSync } from 'node:fs';
import { simulateRetention, ValidationError } from 'odoo-backup-sdk';
import { formatBytes, table } from '../output.js';
import { retentionSvg, SVG_TIERS } from '../retention-svg.js';
import { retentionSettings, type ConfigFile, type RetentionFlags } from '../settings.js';
import type { CommandContext } from './context.js';

/** The flags of `simulate`. */
export interface SimulateFlags extends RetentionFlags {
  days: number;
  start: string;
  svg?: string;
}

/**
 * `odoo-backup simulate`: `--days` of daily 02:00 backups under the GFS settings with a cleanup
 * every day (the SDK's `simulateRetention`), and what is kept: per tier at the end and its
 * steady-state range, the storage saved against keeping a year of backups. `--svg FILE` draws each
 * backup's lifetime, one row per tier. `--json`: the `RetentionSimulationResult`.
 */
export function simulateCommand(flags: SimulateFlags, config: ConfigFile, ctx: CommandContext): number {
  const start = new Date(flags.start);
  if (Number.isNaN(start.getTime())) throw new ValidationError([{ field: 'start', message: 'must be an ISO 8601 date, e.g. 2026-01-01' }]);
  const result = simulateRetention({ policy: retentionSettings(flags, config), start, days: flags.days });
  if (flags.svg) {
    writeFileSync(flags.svg, retentionSvg(result));
    ctx.out.info(`wrote ${flags.svg}`);
  }
  ctx.out.result(result, () => {
    const rows = [...SVG_TIERS, 'permanent' as const, 'total' as const].map((tier) => [
      tier,
      String(result.retained[tier]),
      `${result.steady_state.min[tier]}-${result.steady_state.max[tier]}`,
    ]);
    return [
      `${result.days} days from ${start.toISOString().slice(0, 10)}: ${result.backups_completed} backups, ${result.expired} expired, ${result.promoted} promoted`,
      '',
      table(['TIER', 'KEPT AT END', 'KEPT OVER THE LAST YEAR'], rows),
      '',
      `kept ${formatBytes(result.retained_bytes)} of 1 GB backups instead of ${formatBytes(result.baseline_bytes)} (a year of them): ${(result.reduction * 100).toFixed(1)}% less`,
    ].join('\n');
  });
  return 0;
}
