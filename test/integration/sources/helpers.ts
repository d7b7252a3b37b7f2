import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import type { SourceStream } from '../../../src/index.js';
import { folderDigests } from '../../fixtures/odoo-fixture.js';
import type { PgServer } from '../../servers/postgres.js';

const run = promisify(execFile);

/** Pids whose command line (arguments joined by spaces) contains `needle`, read from /proc. */
export function processesMatching(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      /* ended while we looked */
    }
  }
  return found;
}

/** Polls until `check` is true (at most `ms`); returns its last value. */
export async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** Reads a stream to its end into one Buffer (test sizes only). */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `pg_restore --list` of a custom-format dump file: throws if the bytes are not a valid archive. */
export async function pgRestoreList(pg: PgServer, file: string): Promise<string> {
  const { stdout } = await run(join(pg.binDir, 'pg_restore'), ['--list', file]);
  return stdout;
}

/** Restores a dump file into a new database `target` on `pg`. */
export async function pgRestoreInto(pg: PgServer, file: string, target: string): Promise<void> {
  await pg.createDatabase(target);
  await run(
    join(pg.binDir, 'pg_restore'),
    ['--no-owner', `--host=${pg.host}`, `--port=${pg.port}`, `--username=${pg.user}`, `--dbname=${target}`, file],
    { env: { ...process.env, PGPASSWORD: pg.password } },
  );
}

/** Hostile names: quotes, spaces, `;`, `$()`, backticks and a newline, each injection touching a marker file. */
export function hostileName(marker: string): { name: string; markers: string[] } {
  const markers = [`/tmp/pwa${marker}`, `/tmp/pwb${marker}`];
  // PostgreSQL names are at most 63 bytes: hence the short marker paths.
  const name = `o'k "x"; $(touch ${markers[0]})\`touch ${markers[1]}\`\n${marker}`;
  if (Buffer.byteLength(name) > 63) throw new Error(`test name too long for PostgreSQL (${Buffer.byteLength(name)} bytes)`);
  return { name, markers };
}

/** True when none of the marker files exists (no injected command ran). */
export function noMarkers(markers: string[]): boolean {
  return markers.every((m) => !existsSync(m));
}

/** The program name of process `pid` (its /proc comm), or '' once it is gone. */
export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Whether process `pid` is a pg_dump. */
export const isPgDump = (pid: number): boolean => comm(pid) === 'pg_dump';

/**
 * Saves a filestore tarball under `work`, waits for its tool to exit 0, extracts it with the
 * system's tar and returns the per-file digests of `folder` inside it (as `folderDigests`).
 */
export async function extractedDigests(tarball: SourceStream, work: string, folder: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(work, 'tarball-'));
  const file = join(dir, 'fs.tar.gz');
  await pipeline(tarball.stream, createWriteStream(file));
  await tarball.done;
  await run('tar', ['-xzf', file, '-C', dir]);
  return folderDigests(join(dir, folder));
}
