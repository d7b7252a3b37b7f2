/**
 * `npm run demo`: the SDK's main job, end to end, on this machine.
 *
 * 1. PostgreSQL: the server named by `DATABASE_URL` when set (the demo creates, then drops, the
 *    databases `odoo_demo` and `odoo_demo_copy`, and refuses to start if either exists), else a
 *    throwaway server started from the machine's PostgreSQL programs (examples/support/postgres.ts).
 *    It fills a small Odoo-shaped database (res_partner, res_users, ir_attachment) and its
 *    filestore folder.
 * 2. Wires the SDK as a host would, importing only the package's entry points (`createBackupSdk`
 *    with in-memory repositories and queue, the local source and a local storage folder) and asks
 *    for a manual backup, showing each part's bytes as they stream.
 * 3. Verifies it once, through the SDK (`sdk.backups.verifyBackup`): the archive read back from
 *    storage, its ZIP structure and manifest, the SHA-256 of both parts, `pg_restore --list`.
 * 4. Restores it into a new database `odoo_demo_copy` (its filestore beside the original's, as
 *    Odoo lays them out) through `sdk.restores` and its worker.
 * 5. Compares the copy with the original: row count and a hash of the ordered rows of every
 *    table, and the SHA-1 of every filestore file.
 * 6. Ends with a short table (sizes, checksums, times, throughput), then removes everything it
 *    created. Piped (not a terminal), each step prints its final figures only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackupSdk, type Actor, type SdkEvent } from 'odoo-backup-sdk';
import {
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
  makeStorageConfig,
} from 'odoo-backup-sdk/testing';
import { connectPostgres, startPostgres, type PgConnection } from './support/postgres.js';

const SOURCE_DB = 'odoo_demo';
const COPY_DB = 'odoo_demo_copy';

const INSTALL_HINT = [
  'The demo needs the PostgreSQL server and client programs (initdb, pg_ctl, pg_dump, pg_restore),',
  'or DATABASE_URL naming a server you run (a role that may create databases). Then run `npm run demo` again:',
  '  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y postgresql',
  '  Fedora/RHEL:    sudo dnf install -y postgresql-server postgresql',
  '  macOS:          brew install postgresql@16   (and put its bin folder on PATH)',
  '  or:             DATABASE_URL=postgresql://user:password@host:5432/postgres npm run demo',
].join('\n');

// On a terminal a step shows live progress on one rewritten line; piped (or TERM=dumb) it prints
// only its final line, so a log holds figures and no escape codes.
const live = process.stdout.isTTY === true && process.env.TERM !== 'dumb';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (bytes: number, ms: number) => `${mib((bytes * 1000) / Math.max(ms, 1))}/s`;
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

/** One step of the demo: a live line on a terminal, then its final line. */
function step(title: string) {
  let shown = false;
  return {
    progress(text: string) {
      if (!live) return;
      process.stdout.write(`\r\x1b[K  ${title}: ${text}`);
      shown = true;
    },
    done(text: string) {
      if (shown) process.stdout.write('\r\x1b[K');
      console.log(`  ${title}: ${text}`);
    },
  };
}

/** Creates the Odoo-shaped database and its filestore (files named by their SHA-1, in folders named by its first two digits). */
async function seed(pg: PgConnection, db: string, filestore: string): Promise<void> {
  await pg.createDatabase(db);
  await pg.query(
    db,
    `CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar NOT NULL, email varchar, is_company boolean DEFAULT false, comment text)`,
  );
  await pg.query(
    db,
    `CREATE TABLE res_users (id serial PRIMARY KEY, login varchar UNIQUE NOT NULL, partner_id int REFERENCES res_partner(id))`,
  );
  await pg.query(
    db,
    `CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar, res_model varchar, res_id int, store_fname varchar, checksum varchar(40), file_size int, mimetype varchar)`,
  );
  // Odoo's module registry: the backup's manifest records the installed modules and base's version from it.
  await pg.query(
    db,
    `CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar, latest_version varchar)`,
  );
  await pg.query(
    db,
    `INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', '17.0.1.3'), ('web', 'installed', '17.0.1.0'), ('contacts', 'installed', '17.0.1.0')`,
  );
  await pg.query(
    db,
    `INSERT INTO res_partner (name, email, is_company, comment) SELECT 'Partner ' || g, 'p' || g || '@example.com', g % 7 = 0, repeat('Loyal customer. ', 1 + g % 20) FROM generate_series(1, 20000) g`,
  );
  await pg.query(db, `INSERT INTO res_users (login, partner_id) SELECT 'user' || g, g FROM generate_series(1, 100) g`);
  const rows: string[] = [];
  for (let i = 0; i < 200; i++) {
    const data = Buffer.from(`%PDF-1.4 demo invoice ${i}\n`.repeat(200 + i * 10));
    const name = sha1(data);
    mkdirSync(join(filestore, name.slice(0, 2)), { recursive: true });
    writeFileSync(join(filestore, name.slice(0, 2), name), data);
    rows.push(
      `('invoice-${i}.pdf', 'account.move', ${i + 1}, '${name.slice(0, 2)}/${name}', '${name}', ${data.length}, 'application/pdf')`,
    );
  }
  await pg.query(
    db,
    `INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype) VALUES ${rows.join(',')}`,
  );
}

/** Every table of the public schema: its row count and the MD5 of its rows in a fixed order. */
async function tableFingerprints(pg: PgConnection, db: string): Promise<Map<string, { rows: number; md5: string }>> {
  const tables = await pg.query<{ name: string }>(
    db,
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const result = new Map<string, { rows: number; md5: string }>();
  for (const { name } of tables) {
    // The rows as text, sorted bytewise: the same rows give the same hash whatever their physical order.
    const [row] = await pg.query<{ rows: number; md5: string }>(
      db,
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE "C"), '')) AS md5 FROM public.${name} t`,
    );
    result.set(name, row!);
  }
  return result;
}

/** Every file of a filestore folder (relative path) with the SHA-1 of its contents. */
function filestoreFingerprints(folder: string): Map<string, string> {
  const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(
    files
      .map((e) => join(e.parentPath, e.name))
      .sort()
      .map((path) => [path.slice(folder.length + 1), sha1(readFileSync(path))]),
  );
}

/** PostgreSQL from DATABASE_URL, else a throwaway server; null (with the reason printed) when neither works. */
async function openPostgres(): Promise<{ pg: PgConnection; label: string; owned: boolean } | null> {
  const url = process.env.DATABASE_URL;
  try {
    if (url) {
      const pg = await connectPostgres(url);
      const taken = await pg.query<{ datname: string }>(pg.maintenanceDb, 'SELECT datname FROM pg_database WHERE datname = ANY($1)', [
        [SOURCE_DB, COPY_DB],
      ]);
      if (taken.length > 0) {
        await pg.stop();
        console.error(`DATABASE_URL's server already has ${taken.map((r) => r.datname).join(' and ')}: the demo will not touch it.`);
        return null;
      }
      return { pg, label: `the server of DATABASE_URL (${pg.host}:${pg.port}, client programs from PATH)`, owned: false };
    }
    const pg = await startPostgres();
    return { pg, label: `a throwaway server on ${pg.host}:${pg.port} (${pg.binDir}, data in a temp folder)`, owned: true };
  } catch (error) {
    console.error(
      `Could not ${url ? 'connect to DATABASE_URL' : 'start PostgreSQL'}: ${(error as Error).message.split('\n')[0]}\n\n${INSTALL_HINT}`,
    );
    return null;
  }
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'odoo-backup-demo-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  const queue = new InMemoryJobQueue();
  const server = await openPostgres();
  if (!server) return 1;
  const { pg } = server;
  const created: string[] = [];
  try {
    console.log(`PostgreSQL: ${server.label}`);
    const filestoreRoot = join(work, 'filestore');
    const filestore = join(filestoreRoot, SOURCE_DB);
    created.push(SOURCE_DB);
    await seed(pg, SOURCE_DB, filestore);
    console.log(`Source: database ${SOURCE_DB} (20,000 partners, 100 users, 200 attachments) and its filestore ${filestore}\n`);

    // The host's side: repositories, queue and environments (here in memory), and a storage
    // config: a local folder, which the host creates (the local provider never creates its root:
    // a typo must not become a new folder).
    const storageRoot = join(work, 'storage');
    mkdirSync(storageRoot);
    const env = makeResolvedEnvironment({
      db_name: SOURCE_DB,
      name: 'Demo',
      source: {
        kind: 'local',
        connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: SOURCE_DB },
        filestore_path: filestore,
        ...(pg.binDir ? { pg_bin_dir: pg.binDir } : {}),
      },
    });
    const storageConfigs = new InMemoryStorageConfigRepository();
    await storageConfigs.create(
      makeStorageConfig({
        organization_id: env.organization_id,
        name: 'Local folder',
        provider: 'local',
        is_default: true,
        settings: { root: storageRoot },
        credentials: null,
      }),
    );
    let onEvent: (event: SdkEvent) => void = () => undefined;
    const sdk = createBackupSdk(
      {
        backups: new InMemoryBackupRepository(),
        tasks: new InMemoryTaskRepository(),
        storageConfigs,
        policies: new InMemoryBackupPolicyRepository(),
        environments: new StaticEnvironmentResolver([env]),
        queue,
        events: { emit: (event) => onEvent(event) },
      },
      // One try (a failure is shown, not retried), and no read-back inside the backup job: the
      // demo verifies once, as its own step, with sdk.backups.verifyBackup.
      { backup: { retry: { attempts: 1, backoffMs: [] }, verifyAfterUpload: false } },
    );
    const workers = [sdk.backups.startWorker({ concurrency: 1 }), sdk.restores.startWorker({ concurrency: 1 })];
    const actor: Actor = { id: randomUUID(), rate_limit_key: 'demo' };

    // 1. Backup: pg_dump -Fc and the filestore tarball stream into one ZIP, straight into storage.
    const backupStep = step('backup ');
    onEvent = (event) => {
      if (event.type === 'backup.progress' && event.data.part)
        backupStep.progress(
          `${event.data.phase} ${event.data.part} ${mib(event.data.part_bytes ?? 0)} at ${mib(event.data.rate_bytes_per_second)}/s`,
        );
      else if (event.type === 'warning') console.log(`\n  warning ${event.data.code}: ${event.data.message}`);
    };
    let t0 = Date.now();
    const requested = await sdk.backups.createBackup(env.environment_id, { backup_type: 'manual', include_filestore: true }, actor);
    const backup = await sdk.backups.waitForBackup(requested.id, {}, actor);
    const backupMs = Date.now() - t0;
    if (backup.status !== 'completed') {
      backupStep.done(`FAILED: ${backup.error_message}`);
      return 1;
    }
    backupStep.done(
      `${mib(backup.compressed_size)} ZIP in ${seconds(backupMs)} (dump.sql ${mib(backup.database_size)}, filestore.tar.gz ${mib(backup.filestore_size)})`,
    );

    // 2. Verify: read back from storage and checked, the outcome recorded on the backup by the SDK.
    const verifyStep = step('verify ');
    verifyStep.progress('reading the archive back from storage ...');
    t0 = Date.now();
    const check = await sdk.backups.verifyBackup(backup.id, actor);
    const verifyMs = Date.now() - t0;
    if (!check.ok || !check.verification) {
      verifyStep.done(`FAILED: ${String(check.error?.message)}`);
      return 1;
    }
    const listing = check.verification.dump_listing;
    verifyStep.done(
      `ok in ${seconds(verifyMs)}: ZIP structure, manifest, SHA-256 of both parts, pg_restore --list (${listing?.entries} entries, ${listing?.table_data} with table data)`,
    );

    // 3. Restore into a new database beside the original, its filestore beside the original's.
    const restoreStep = step('restore');
    onEvent = (event) => {
      if (event.type === 'restore.progress' && event.data.phase !== 'verify')
        restoreStep.progress(`${event.data.phase} ${mib(event.data.bytes_done)} of ${mib(event.data.bytes_total)}`);
      else if (event.type === 'restore.status' && event.data.state === 'begun') restoreStep.progress(`${event.data.step} ...`);
    };
    t0 = Date.now();
    created.push(COPY_DB);
    // as_copy: false keeps Odoo's identity (database.uuid, secret), so every table compares equal
    // below; a copy served beside its original takes as_copy: true (docs/restore.md, "Copy or move").
    const task = await sdk.restores.restoreBackup(backup.id, { mode: 'new_database', database_name: COPY_DB, as_copy: false }, actor);
    const restored = await sdk.restores.waitForRestore(task.id, {}, actor);
    const restoreMs = Date.now() - t0;
    if (restored.status !== 'completed') {
      restoreStep.done(`FAILED: ${restored.error_message}`);
      return 1;
    }
    const copyFilestore = join(filestoreRoot, COPY_DB);
    restoreStep.done(`${COPY_DB} and ${copyFilestore} in ${seconds(restoreMs)}`);
    await Promise.all(workers.map((w) => w.close()));

    // 4. Compare: every table's rows and every filestore file, original against copy.
    const [before, after] = await Promise.all([tableFingerprints(pg, SOURCE_DB), tableFingerprints(pg, COPY_DB)]);
    let same = before.size === after.size;
    console.log('\nCompare (original and copy):');
    for (const [table, a] of before) {
      const b = after.get(table);
      const equal = b !== undefined && b.rows === a.rows && b.md5 === a.md5;
      same &&= equal;
      console.log(
        `  ${table.padEnd(16)} ${String(a.rows).padStart(6)} rows  md5 ${a.md5}  ${equal ? 'equal' : `DIFFERENT (copy: ${b?.rows} rows, md5 ${b?.md5})`}`,
      );
    }
    const files = filestoreFingerprints(filestore);
    const copies = filestoreFingerprints(copyFilestore);
    const filesEqual = files.size === copies.size && [...files].every(([path, digest]) => copies.get(path) === digest);
    const namedBySha1 = [...copies].filter(([path, digest]) => path.endsWith(digest)).length;
    same &&= filesEqual && namedBySha1 === copies.size;
    console.log(
      `  ${'filestore'.padEnd(16)} ${String(copies.size).padStart(6)} files SHA-1 of each ${filesEqual ? 'equal' : 'DIFFERENT'}; ${namedBySha1} of ${copies.size} named by their SHA-1`,
    );

    // 5. The figures.
    const stored = backup.compressed_size;
    console.log('\nSummary:');
    const table = [
      ['', 'size', 'SHA-256', 'time', 'throughput'],
      ['dump.sql', mib(backup.database_size), backup.database_checksum ?? '', '', ''],
      ['filestore.tar.gz', mib(backup.filestore_size), backup.filestore_checksum ?? '', '', ''],
      ['backup (ZIP)', mib(stored), '', seconds(backupMs), rate(stored, backupMs)],
      ['verify', mib(stored), '', seconds(verifyMs), rate(stored, verifyMs)],
      ['restore', mib(stored), '', seconds(restoreMs), rate(stored, restoreMs)],
    ];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
    console.log(`\n${same ? 'The copy equals the original.' : 'The copy DIFFERS from the original.'}`);
    return same ? 0 : 1;
  } finally {
    await queue.close().catch(() => undefined);
    // A throwaway server goes with all its databases; on DATABASE_URL's, drop what the demo made.
    if (!server.owned) for (const db of created) await pg.dropDatabase(db).catch(() => undefined);
    await pg.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    console.log(
      `Cleaned up: ${server.owned ? 'PostgreSQL stopped' : `${created.join(' and ')} dropped`}, filestores and storage folder removed.`,
    );
  }
}

// Ctrl-C: exit through process.exit, so the exit hooks stop the throwaway server and remove the temp folder.
process.once('SIGINT', () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
