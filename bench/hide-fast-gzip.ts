import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The compressors a stock Debian or Ubuntu server does not have. */
const FAST_GZIP_TOOLS = ['igzip', 'pigz'] as const;

/**
 * `BENCH_HIDE_FAST_GZIP=1`: the bench as on a stock server, igzip and pigz absent from the source
 * host's PATH. Puts a folder first on this process's PATH (every tool the bench and its children
 * start inherits it) holding an `igzip` and a `pigz` that exit 127, as a shell does for a command
 * it cannot find: the SDK's probe (`igzip --version`) then finds none, and a raw pipeline through
 * one would fail rather than quietly use the real tool. Returns the hidden tools, or null when
 * the option is off. The folder is removed when the process exits.
 */
export function hideFastGzip(): readonly string[] | null {
  if (!fastGzipHidden()) return null;
  const dir = mkdtempSync(join(tmpdir(), 'obsdk-bench-stock-path-'));
  for (const tool of FAST_GZIP_TOOLS) {
    writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool}: not found (hidden by BENCH_HIDE_FAST_GZIP)" >&2\nexit 127\n`, {
      mode: 0o755,
    });
  }
  process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return FAST_GZIP_TOOLS;
}

/** The results name of the pipeline or restore bench: `<name>-stock-server` while {@link fastGzipHidden}. */
export function stockServerResultsName(name: string): string {
  return fastGzipHidden() ? `${name}-stock-server` : name;
}

/** Whether `BENCH_HIDE_FAST_GZIP` asks for a stock server. */
export function fastGzipHidden(): boolean {
  return /^(1|true|yes)$/i.test(process.env.BENCH_HIDE_FAST_GZIP ?? '');
}
