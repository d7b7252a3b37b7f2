import { BackupSdkError } from '../errors/backup-sdk-error.js';
import { AbortedError, ValidationError } from '../errors/errors.js';
import type { CommandRunner } from '../ports/command-runner.js';

/**
 * The filestore's gzip level when neither the runner nor the environment sets one. Chosen from
 * `npm run bench` (time and size at levels 1, 3 and 6 on an Odoo-shaped filestore, whose PDFs
 * and images are already compressed): see docs/pipeline.md ("Filestore compression").
 */
export const DEFAULT_FILESTORE_COMPRESSION_LEVEL = 1;

/** The highest level ISA-L's `igzip` has (its levels are 0-3). */
export const IGZIP_MAX_LEVEL = 3;

/**
 * The gzip compressor chosen where a source's `tar` runs, fastest first:
 *
 * - `igzip` (ISA-L, Debian package `isal`): at levels 1-3 it compresses the bench filestore about
 *   3x faster than pigz on two cores while using a twelfth of the CPU, on one core, with output
 *   within half a percent of pigz's size;
 * - `pigz` (parallel gzip, one thread per core of that host);
 * - plain `gzip` (one core).
 *
 * All three write one standard gzip stream. `version` is the tool's own first line, for reports.
 */
export type GzipTool = { tool: 'igzip'; version: string } | { tool: 'pigz'; version: string } | { tool: 'gzip' };

/** Throws a `ValidationError` unless `level` is a whole number 1-9 (or undefined): gzip has no level 0. */
export function checkFilestoreCompressionLevel(level: number | undefined, field = 'filestoreCompressionLevel'): void {
  if (level !== undefined && !(Number.isInteger(level) && level >= 1 && level <= 9)) {
    throw new ValidationError([{ field, message: `must be a whole number from 1 to 9, got ${String(level)}` }]);
  }
}

/**
 * Runs `<program> --version` where `runner` runs (`prefix` is `docker exec -- <container>` for a
 * container) and returns its first output line, or `null` when the program is not there (exit
 * other than 0, 127 from a shell, ENOENT locally). A lost SSH connection or an abort is rethrown,
 * not read as "not installed".
 */
export async function probeVersion(
  runner: CommandRunner,
  program: 'igzip' | 'pigz',
  prefix: readonly string[] = [],
  options: { signal?: AbortSignal } = {},
): Promise<string | null> {
  const { signal } = options;
  let command;
  try {
    command = await runner.start({ argv: [...prefix, program, '--version'] }, { signal });
  } catch (error) {
    if (signal?.aborted) throw new AbortedError('tar', signal.reason);
    if (error instanceof BackupSdkError && error.code.startsWith('E_SOURCE_SSH')) throw error;
    return null;
  }
  let out = '';
  command.stdout.on('data', (chunk: Buffer) => {
    if (out.length < 256) out += chunk.toString('utf8');
  });
  const exit = await command.wait();
  if (signal?.aborted) throw new AbortedError('tar', signal.reason);
  if (exit.code !== 0) return null;
  // pigz 2.x prints its version on stdout, older ones on stderr.
  return (out.trim() || exit.stderrTail.trim()).split(/\r?\n/)[0] || program;
}

/**
 * The fastest compressor for `level` where `runner` runs: `igzip` for levels 1-3 when installed,
 * else `pigz` when installed, else `gzip`. Probes only what it needs (`igzip --version` first for
 * levels 1-3, then `pigz --version`).
 */
export async function detectGzipTool(
  runner: CommandRunner,
  level: number,
  prefix: readonly string[] = [],
  options: { signal?: AbortSignal } = {},
): Promise<GzipTool> {
  return gzipToolOnce(runner, prefix)(level, options.signal);
}

/** One memoized probe: a probe that failed (connection lost, aborted) is not kept. */
function probeOnce(probe: (signal?: AbortSignal) => Promise<string | null>): (signal?: AbortSignal) => Promise<string | null> {
  let found: Promise<string | null> | null = null;
  return (signal) => {
    if (!found) {
      const running = probe(signal);
      found = running;
      running.catch(() => {
        if (found === running) found = null;
      });
    }
    return found;
  };
}

/**
 * {@link detectGzipTool} memoized for one source instance: each tool is probed at most once (the
 * first filestore archive that needs the answer asks, later ones reuse it).
 */
export function gzipToolOnce(
  runner: CommandRunner,
  prefix: readonly string[] = [],
): (level: number, signal?: AbortSignal) => Promise<GzipTool> {
  const igzip = probeOnce((signal) => probeVersion(runner, 'igzip', prefix, { signal }));
  const pigz = probeOnce((signal) => probeVersion(runner, 'pigz', prefix, { signal }));
  return async (level, signal) => {
    if (level <= IGZIP_MAX_LEVEL) {
      const version = await igzip(signal);
      if (version !== null) return { tool: 'igzip', version };
    }
    const version = await pigz(signal);
    return version !== null ? { tool: 'pigz', version } : { tool: 'gzip' };
  };
}
