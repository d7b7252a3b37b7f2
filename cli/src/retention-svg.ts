import type { RetentionSimulationResult, RetentionType } from 'odoo-backup-sdk';

/** The GFS tiers drawn, one row each, in this order. */
export const SVG_TIERS: readonly RetentionType[] = ['daily', 'weekly', 'monthly', 'yearly'];

const COLORS: Record<string, string> = { daily: '#9ecae1', weekly: '#4292c6', monthly: '#2171b5', yearly: '#08306b' };
const WIDTH = 960;
const LEFT = 150;
const RIGHT = 20;
const TOP = 44;
const LANE = 3;
const LANE_GAP = 1;
const ROW_GAP = 14;
const DAY_MS = 86_400_000;

const escape = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * An SVG of what a GFS policy keeps over time, from `simulateRetention`'s lifetimes: one row per
 * tier (the tier each backup held last), each backup a bar from the day it was made to the
 * cleanup that expired it (or the end), overlapping bars on lanes of their own. Rows are
 * `<g class="tier" data-tier="...">` groups, bars `<rect class="lifetime">`.
 */
export function retentionSvg(result: RetentionSimulationResult): string {
  const lifetimes = result.lifetimes;
  const startMs = lifetimes.length > 0 ? Math.min(...lifetimes.map((l) => Date.parse(l.created_at))) : Date.parse(result.end);
  const endMs = Math.max(Date.parse(result.end), startMs + DAY_MS);
  const span = WIDTH - LEFT - RIGHT;
  const x = (ms: number) => LEFT + ((ms - startMs) / (endMs - startMs)) * span;

  const rows: string[] = [];
  let y = TOP;
  for (const tier of SVG_TIERS) {
    const bars = lifetimes
      .filter((l) => l.retention_type === tier)
      .map((l) => ({ id: l.id, from: Date.parse(l.created_at), to: l.removed_at ? Date.parse(l.removed_at) : endMs }))
      .sort((a, b) => a.from - b.from);
    // Greedy lanes: each bar on the first lane free by its start.
    const laneEnds: number[] = [];
    const placed = bars.map((bar) => {
      let lane = laneEnds.findIndex((end) => end <= bar.from);
      if (lane < 0) lane = laneEnds.push(bar.to) - 1;
      else laneEnds[lane] = bar.to;
      return { ...bar, lane };
    });
    const height = Math.max(laneEnds.length * (LANE + LANE_GAP), 16);
    const kept = result.retained[tier as keyof typeof result.retained];
    const rects = placed.map(
      (b) =>
        `<rect class="lifetime" data-id="${escape(b.id)}" x="${x(b.from).toFixed(1)}" y="${(y + b.lane * (LANE + LANE_GAP)).toFixed(1)}" width="${Math.max(x(b.to) - x(b.from), 1).toFixed(1)}" height="${LANE}" fill="${COLORS[tier]}"/>`,
    );
    rows.push(
      `<g class="tier" data-tier="${tier}">` +
        `<text x="8" y="${y + 12}" font-size="12">${tier} (${bars.length} made, ${kept} kept)</text>` +
        `<line x1="${LEFT}" y1="${y + height + ROW_GAP / 2}" x2="${WIDTH - RIGHT}" y2="${y + height + ROW_GAP / 2}" stroke="#ddd"/>` +
        rects.join('') +
        `</g>`,
    );
    y += height + ROW_GAP;
  }

  // Month ticks along the bottom, labelled each January and July.
  const ticks: string[] = [];
  const first = new Date(startMs);
  for (
    let m = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1));
    m.getTime() < endMs;
    m.setUTCMonth(m.getUTCMonth() + 1)
  ) {
    const tx = x(m.getTime()).toFixed(1);
    const labelled = m.getUTCMonth() % 6 === 0;
    ticks.push(`<line x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${y}" stroke="${labelled ? '#bbb' : '#eee'}"/>`);
    if (labelled) ticks.push(`<text x="${tx}" y="${y + 14}" font-size="11" text-anchor="middle">${m.toISOString().slice(0, 7)}</text>`);
  }
  const p = result.policy;
  const title = `GFS retention: ${p.daily_retention} daily, ${p.weekly_retention} weekly, ${p.monthly_retention} monthly, ${p.yearly_retention} yearly (${p.timezone}), ${result.days} days of daily backups`;
  const height = y + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<title>${escape(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="20" font-size="14">${escape(title)}</text>`,
    ...ticks,
    ...rows,
    `</svg>`,
    '',
  ].join('\n');
}
