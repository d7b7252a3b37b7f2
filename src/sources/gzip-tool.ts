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
 * What gzips the filestore tarball. The sources choose, per source instance:
 *
 * - `igzip` (ISA-L, Debian package `isal`) on the source host, at levels 1-3, when it is installed:
 *   the fastest backup and the least CPU on the Odoo host;
 * - otherwise `zlib-adaptive`: the host's `tar` writes a plain tar and this process gzips it
 *   (`AdaptiveGzipStream`: stored blocks for what does not compress, zlib at the level for the
 *   rest, off the main thread). On the bench data it beat `pigz` on two cores in time and in the
 *   source host's CPU, and `gzip -1` by 3-5x, over SSH too (docs/pipeline.md).
 *
 * `pigz` and `gzip` are kept for callers of {@link tarArgs} that name them. All of them write one
 * standard gzip stream. `version` is the tool's own first line (for `zlib-adaptive`, Node's and
 * zlib's versions), for the manifest and reports.
 */
export type GzipTool =
  { tool: 'igzip'; version: string } | { tool: 'pigz'; version: string } | { tool: 'gzip' } | { tool: 'zlib-adaptive'; version: string };

/** The in-process compressor's {@link GzipTool}: Node's and its zlib's versions. */
export const IN_PROCESS_GZIP: GzipTool = { tool: 'zlib-adaptive', version: `node ${process.version}, zlib ${process.versions.zlib}` };

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
 * The compressor for `level` where `runner` runs: `igzip` for levels 1-3 when installed there,
 * else {@link IN_PROCESS_GZIP}. Probes `igzip --version` only for levels 1-3.
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
 * {@link detectGzipTool} memoized for one source instance: igzip is probed at most once (the
 * first filestore archive that needs the answer asks, later ones reuse it).
 */
export function gzipToolOnce(
  runner: CommandRunner,
  prefix: readonly string[] = [],
): (level: number, signal?: AbortSignal) => Promise<GzipTool> {
  const igzip = probeOnce((signal) => probeVersion(runner, 'igzip', prefix, { signal }));
  return async (level, signal) => {
    if (level <= IGZIP_MAX_LEVEL) {
      const version = await igzip(signal);
      if (version !== null) return { tool: 'igzip', version };
    }
    return IN_PROCESS_GZIP;
  };
}
