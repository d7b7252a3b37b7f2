import { spawnSync } from 'node:child_process';

/**
 * The first line `<tool> --version` prints (pigz 2.x on stdout, older ones on stderr), or null
 * when the tool is not on this machine's PATH. The benches record it beside their figures.
 */
export function toolVersion(tool: string): string | null {
  const found = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) return null;
  return (found.stdout || found.stderr).trim().split('\n')[0] || tool;
}
