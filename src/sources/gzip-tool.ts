import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { AbortedError, ValidationError } from '../errors/errors.js';
import type { CommandRunner } from '../ports/command-runner.js';

/**
 * The filestore's gzip level when neither the runner nor the environment sets one. Chosen from
 * `npm run bench` (time and size at levels 1, 3 and 6 on an Odoo-shaped filestore, whose PDFs
 * and images are already compressed): see docs/pipeline.md ("Filestore compression").
 */
export const DEFAULT_FILESTORE_COMPRESSION_LEVEL = 1;

/**
 * The gzip compressor found where a source's `tar` runs: `pigz` (parallel, one thread per core of
 * that host, same `.tar.gz` format) or plain `gzip` (one core). `version` is pigz's own line
 * (`pigz 2.6`), for reports.
 */
export type GzipTool = { tool: 'pigz'; version: string } | { tool: 'gzip' };

/** Throws a `ValidationError` unless `level` is a whole number 1-9 (or undefined): gzip has no level 0. */
export function checkFilestoreCompressionLevel(level: number | undefined, field = 'filestoreCompressionLevel'): void {
  if (level !== undefined && !(Number.isInteger(level) && level >= 1 && level <= 9)) {
    throw new ValidationError([{ field, message: `must be a whole number from 1 to 9, got ${String(level)}` }]);
  }
}

/**
 * Finds out whether `pigz` runs where `runner` runs (`prefix` is `docker exec <container>` for a
 * container) by running `pigz --version`: exit 0 means pigz, anything else (not installed, exit
 * 127 from a shell, ENOENT locally) means gzip. A lost SSH connection or an abort is rethrown,
 * not read as "no pigz". Restore can use it the same way for `pigz -d`.
 */
export async function detectGzipTool(
  runner: CommandRunner,
  prefix: readonly string[] = [],
  options: { signal?: AbortSignal } = {},
): Promise<GzipTool> {
  const { signal } = options;
  let command;
  try {
    command = await runner.start({ argv: [...prefix, 'pigz', '--version'] }, { signal });
  } catch (error) {
    if (signal?.aborted) throw new AbortedError('tar', signal.reason);
    if (error instanceof BackupSdkError && error.code.startsWith('E_SOURCE_SSH')) throw error;
    return { tool: 'gzip' };
  }
  let out = '';
  command.stdout.on('data', (chunk: Buffer) => {
    if (out.length < 256) out += chunk.toString('utf8');
  });
  const exit = await command.wait();
  if (signal?.aborted) throw new AbortedError('tar', signal.reason);
  if (exit.code !== 0) return { tool: 'gzip' };
  // pigz 2.x prints its version on stdout, older ones on stderr.
  const version = (out.trim() || exit.stderrTail.trim()).split(/\r?\n/)[0] || 'pigz';
  return { tool: 'pigz', version };
}

/**
 * Memoizes {@link detectGzipTool} for one source instance: the first filestore archive probes,
 * later ones reuse the answer. A probe that failed (connection lost, aborted) is not kept.
 */
export function gzipToolOnce(runner: CommandRunner, prefix: readonly string[] = []): (signal?: AbortSignal) => Promise<GzipTool> {
  let found: Promise<GzipTool> | null = null;
  return (signal) => {
    if (!found) {
      const probe = detectGzipTool(runner, prefix, { signal });
      found = probe;
      probe.catch(() => {
        if (found === probe) found = null;
      });
    }
    return found;
  };
}
