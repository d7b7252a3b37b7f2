import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { StorageProvider } from '../../../src/index.js';
import type { PgServer } from '../../servers/postgres.js';

/** Every table of `public` with its row count and a content hash (rows as text, sorted). */
export async function tableDigests(pg: PgServer, db: string): Promise<Record<string, { rows: number; md5: string }>> {
  const tables = await pg.query<{ t: string }>(
    db,
    `SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const { t } of tables) {
    const [r] = await pg.query<{ n: string; h: string | null }>(
      db,
      `SELECT count(*)::text AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h FROM ${t} x`,
    );
    out[t] = { rows: Number(r!.n), md5: r!.h ?? '' };
  }
  return out;
}

/** SHA-256 of every file under `root`, keyed by path relative to it. */
export async function fileDigests(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const hash = createHash('sha256');
    for await (const c of createReadStream(path)) hash.update(c as Buffer);
    out[relative(root, path)] = hash.digest('hex');
  }
  return out;
}

/** Opens one entry of a ZIP in storage as a stream (by byte ranges, like the verifier). */
export async function openArchiveEntry(provider: StorageProvider, key: string, name: string): Promise<Readable> {
  const { openStorageRangeReader } = await import('../../../src/pipeline/storage-range-reader.js');
  const reader = await openStorageRangeReader(provider, key);
  const head = await provider.head(key);
  if (!head.exists) throw new Error(`no object ${key}`);
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.fromRandomAccessReader(reader, head.size, { lazyEntries: true, autoClose: false }, (e, z) => (e ? rej(e) : res(z))),
  );
  for await (const entry of zip.eachEntry()) if (entry.fileName === name) return zip.openReadStreamPromise(entry);
  throw new Error(`no entry ${name} in ${key}`);
}

/** Runs a command with `input` on stdin; rejects with its stderr on a non-zero exit. */
export function runWithInput(argv: string[], input: Readable, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.on('error', () => undefined);
    input.pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Descendant processes of this one whose command is one of `names` (pg_dump, tar, gzip...). */
export function descendantTools(names = ['pg_dump', 'tar', 'gzip', 'pg_restore', 'psql']): string[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      comm.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const found: string[] = [];
  for (const [pid, name] of comm) {
    if (!names.includes(name)) continue;
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        found.push(`${pid}:${name}`);
        break;
      }
    }
  }
  return found;
}

/** Files (not folders) under `root`, recursively. */
export function filesUnder(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)));
  } catch {
    return [];
  }
}
