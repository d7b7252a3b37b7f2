/**
 * PostgreSQL for the examples (`npm run demo`) and the repository's integration tests: a throwaway
 * cluster started from the machine's PostgreSQL binaries (`startPostgres`), or a server you already
 * run, named by a connection URL (`connectPostgres`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';

/** A PostgreSQL server reached over TCP, with a pool per database. */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Folder of this server's own PostgreSQL programs, or null when PATH should be used. */
  binDir: string | null;
  /** The database `createDatabase` and `dropDatabase` connect to (`postgres` on a throwaway server). */
  maintenanceDb: string;
  connectionString(db: string): string;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  query<R extends Record<string, unknown> = Record<string, unknown>>(db: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** Closes the pools (and stops the server when this process started it). */
  stop(): Promise<void>;
}

/** A throwaway PostgreSQL cluster on 127.0.0.1 (for integration tests and the demo). */
export interface PgServer extends PgConnection {
  binDir: string;
  dataDir: string;
  /** PGHOST/PGPORT/PGUSER/PGPASSWORD for child processes. */
  env(): Record<string, string>;
}

const INSTALL = 'apt-get update && apt-get install -y postgresql';

/** The newest PostgreSQL server binary folder (Debian's /usr/lib/postgresql/N/bin, else initdb's on PATH), or a clear error. */
export function findPgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  }
  const onPath = (process.env.PATH ?? '').split(delimiter).find((dir) => dir && existsSync(join(dir, 'initdb')));
  if (onPath) return onPath;
  throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found. Install them: ${INSTALL}`);
}

/** Quotes an SQL identifier: any name, quotes and newlines included, reaches PostgreSQL intact. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const running = new Set<() => void>();
process.once('exit', () => {
  for (const stop of running) stop();
});

/**
 * Starts PostgreSQL in a temp dir. PostgreSQL refuses to run as root, so as root the cluster
 * belongs to the `postgres` system user and its commands run through `runuser`.
 */
export async function startPostgres(): Promise<PgServer> {
  const binDir = findPgBinDir();
  const isRoot = process.getuid?.() === 0;
  const base = mkdtempSync(join(tmpdir(), 'obsdk-pg-'));
  const dataDir = join(base, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(base, 'pw');
  writeFileSync(pwfile, password + '\n');
  if (isRoot) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    }
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(base, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  chmodSync(base, 0o700);
  const run = (bin: string, args: string[]) => {
    const full = join(binDir, bin);
    return isRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', full, ...args], { stdio: 'pipe' })
      : execFileSync(full, args, { stdio: 'pipe' });
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C.UTF-8']);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${base} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB`;
  run('pg_ctl', ['-D', dataDir, '-l', join(base, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* already gone */
    }
    rmSync(base, { recursive: true, force: true });
  };
  running.add(stopSync);
  const host = '127.0.0.1';
  const user = 'postgres';
  const connection = pooled({ host, port, user, password, binDir, maintenanceDb: 'postgres' }, () => {
    stopSync();
    running.delete(stopSync);
  });
  return {
    ...connection,
    binDir,
    dataDir,
    env: () => ({ PGHOST: host, PGPORT: String(port), PGUSER: user, PGPASSWORD: password }),
  };
}

/**
 * A server you already run, from a URL such as `postgresql://user:password@host:5432/postgres`
 * (the database named is the one `createDatabase` and `dropDatabase` connect to). Its client
 * programs (pg_dump, pg_restore) are taken from PATH.
 */
export async function connectPostgres(url: string): Promise<PgConnection> {
  const u = new URL(url);
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') throw new Error(`not a PostgreSQL URL: ${u.protocol}//...`);
  const connection = pooled(
    {
      host: u.hostname || '127.0.0.1',
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username || 'postgres'),
      password: decodeURIComponent(u.password),
      binDir: null,
      maintenanceDb: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    },
    () => undefined,
  );
  await connection.query(connection.maintenanceDb, 'SELECT 1'); // fail here, with the server's own words
  return connection;
}

/** One lazily made pool per database over a server's address. */
function pooled(
  server: { host: string; port: number; user: string; password: string; binDir: string | null; maintenanceDb: string },
  afterStop: () => void,
): PgConnection {
  const { host, port, user, password } = server;
  const pools = new Map<string, pg.Pool>();
  const pool = (db: string) => {
    let p = pools.get(db);
    if (!p) {
      p = new pg.Pool({ host, port, user, password, database: db, max: 4 });
      // An idle connection ended by the server (DROP DATABASE ... WITH (FORCE), shutdown) is
      // expected here: without a listener pg would raise it as an uncaught exception.
      p.on('error', () => undefined);
      pools.set(db, p);
    }
    return p;
  };
  return {
    ...server,
    connectionString: (db) =>
      `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(db)}`,
    createDatabase: async (name) => {
      await pool(server.maintenanceDb).query(`CREATE DATABASE ${quoteIdent(name)}`);
    },
    dropDatabase: async (name) => {
      const p = pools.get(name);
      if (p) {
        pools.delete(name);
        await p.end();
      }
      await pool(server.maintenanceDb).query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    },
    query: async <R extends Record<string, unknown>>(db: string, sql: string, params?: unknown[]) =>
      (await pool(db).query(sql, params)).rows as R[],
    stop: async () => {
      await Promise.all([...pools.values()].map((p) => p.end().catch(() => undefined)));
      pools.clear();
      afterStop();
    },
  };
}
