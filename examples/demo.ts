/**
 * `npm run demo`: the SDK's main job, end to end, on this machine.
 *
 * 1. Starts a throwaway PostgreSQL on 127.0.0.1 (from the machine's PostgreSQL binaries, in a
 *    temp folder; as the `postgres` user when run as root) and fills a small Odoo-shaped
 *    database (res_partner, res_users, ir_attachment) plus its filestore folder.
 * 2. Wires the SDK (`createBackupSdk`) with in-memory repositories and queue, the local source
 *    and a local storage folder, and asks for a manual backup, showing progress as it streams.
 * 3. Reads the archive back from storage and verifies it (ZIP structure, SHA-256 of both parts,
 *    `pg_restore --list` of the dump), and prints the backup record and the manifest.
 * 4. Restores that backup into a new database `odoo_demo_copy` (its filestore beside the
 *    original's, as Odoo lays them out) through `sdk.restores` and its worker, showing the steps
 *    and progress, then proves the copy: same row count in every table, and every filestore file
 *    still named by the SHA-1 of its contents.
 * 5. Removes everything it created (both databases with the server, both filestores, storage).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  createBackupSdk,
  createStorageProvider,
  verifyBackupArchive,
  type RestoreProgress,
  type SdkEvent,
  type StorageConfig,
} from '../src/index.js';
import {
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../src/testing/index.js';
import { startPostgres, type PgServer } from '../test/servers/postgres.js';

const INSTALL_HINT = [
  'The demo needs the PostgreSQL server and client programs (initdb, pg_ctl, pg_dump, pg_restore).',
  'Install them, then run `npm run demo` again:',
  '  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y postgresql',
  '  Fedora/RHEL:    sudo dnf install -y postgresql-server postgresql',
  '  macOS:          brew install postgresql@16   (and put its bin folder on PATH)',
].join('\n');

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');
/** A filestore's files as Odoo lays them out: `<first two hex digits>/<sha1>`. */
const filestoreFiles = (folder: string) => readdirSync(folder).flatMap((d) => readdirSync(join(folder, d)).map((f) => join(d, f)));

async function seed(pg: PgServer, db: string, filestoreRoot: string): Promise<string> {
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
  await pg.query(
    db,
    `INSERT INTO res_partner (name, email, is_company, comment) SELECT 'Partner ' || g, 'p' || g || '@example.com', g % 7 = 0, repeat('Loyal customer. ', 1 + g % 20) FROM generate_series(1, 20000) g`,
  );
  await pg.query(db, `INSERT INTO res_users (login, partner_id) SELECT 'user' || g, g FROM generate_series(1, 100) g`);
  // Odoo's filestore: files named by their SHA-1, in folders named by its first two hex digits.
  const folder = join(filestoreRoot, db);
  const rows: string[] = [];
  for (let i = 0; i < 200; i++) {
    const data = Buffer.from(`%PDF-1.4 demo invoice ${i}\n`.repeat(200 + i * 10));
    const name = sha1(data);
    mkdirSync(join(folder, name.slice(0, 2)), { recursive: true });
    writeFileSync(join(folder, name.slice(0, 2), name), data);
    rows.push(
      `('invoice-${i}.pdf', 'account.move', ${i + 1}, '${name.slice(0, 2)}/${name}', '${name}', ${data.length}, 'application/pdf')`,
    );
  }
  await pg.query(
    db,
    `INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype) VALUES ${rows.join(',')}`,
  );
  return folder;
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'odoo-backup-demo-'));
  let pg: PgServer | null = null;
  const queue = new InMemoryJobQueue();
  try {
    console.log('Starting a throwaway PostgreSQL on 127.0.0.1 ...');
    try {
      pg = await startPostgres();
    } catch (error) {
      console.error(`\nCould not start PostgreSQL: ${(error as Error).message.split('\n')[0]}\n\n${INSTALL_HINT}`);
      return 1;
    }
    console.log(`PostgreSQL ${pg.binDir} listening on ${pg.host}:${pg.port}`);

    const db = 'odoo_demo';
    const filestore = await seed(pg, db, join(work, 'filestore'));
    console.log(`Created database ${db} (20,000 partners, 200 attachments) and its filestore at ${filestore}\n`);

    // The host's side: repositories, queue, environments (here: in memory) and a storage config.
    const env = makeResolvedEnvironment({
      db_name: db,
      name: 'Demo',
      source: {
        kind: 'local',
        connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: db },
        filestore_path: filestore,
        pg_bin_dir: pg.binDir,
      },
    });
    // The local provider never creates its root folder (a typo must not become a new folder).
    mkdirSync(join(work, 'storage'));
    const storageConfigs = new InMemoryStorageConfigRepository();
    const now = new Date().toISOString();
    const storageConfig: StorageConfig = await storageConfigs.create({
      id: randomUUID(),
      organization_id: env.organization_id,
      name: 'Local folder',
      provider: 'local',
      is_default: true,
      settings: { root: join(work, 'storage') },
      credentials: null,
      storage_class: null,
      total_size_bytes: 0,
      object_count: 0,
      last_used_at: null,
      created_at: now,
      updated_at: now,
    });

    // Waiters for the event that ends a job (the SDK's events are how a host follows a job).
    const waiters = new Set<{ test: (e: SdkEvent) => boolean; resolve: (e: SdkEvent) => void }>();
    const next = (test: (e: SdkEvent) => boolean) => new Promise<SdkEvent>((resolve) => waiters.add({ test, resolve }));
    const ended = (status: unknown) => status === 'completed' || status === 'failed';
    // One line rewritten in place on a terminal. When piped, one line per step: its last state,
    // printed when the next step begins (or at the end), so each line has the step's own totals.
    let held: { key: string; line: string } | null = null;
    const progress = (key: string, line: string) => {
      if (process.stdout.isTTY) process.stdout.write(`\r\x1b[K${line}`);
      else if (held && held.key !== key) console.log(held.line);
      held = { key, line };
    };
    const endProgress = () => {
      if (process.stdout.isTTY) process.stdout.write('\n');
      else if (held) console.log(held.line);
      held = null;
    };
    const backups = new InMemoryBackupRepository();
    const sdk = createBackupSdk(
      {
        backups,
        tasks: new InMemoryTaskRepository(),
        storageConfigs,
        policies: new InMemoryBackupPolicyRepository(),
        environments: new StaticEnvironmentResolver([env]),
        queue,
        events: {
          emit(event) {
            for (const w of waiters)
              if (w.test(event)) {
                waiters.delete(w);
                w.resolve(event);
              }
            if (event.type === 'backup.progress') {
              // part_bytes: the named part's own bytes; without a part, the whole archive's.
              const d = event.data;
              const line = `  ${d.phase.padEnd(10)} ${(d.part ?? '').padEnd(17)} ${mib(d.part_bytes ?? d.bytes).padStart(12)}  ${mib(d.rate_bytes_per_second).padStart(10)}/s`;
              progress(`${d.phase} ${d.part ?? ''}`, line);
            } else if (event.type === 'restore.progress') {
              // The verify phase reads the same bytes as the others: its own line would repeat them.
              const { phase, bytes_done, bytes_total } = event.data as unknown as RestoreProgress;
              if (phase !== 'verify' && (process.stdout.isTTY || bytes_done === bytes_total))
                progress(`restore ${phase}`, `  ${phase.padEnd(10)} ${mib(bytes_done).padStart(12)} of ${mib(bytes_total)}`);
            } else if (event.type === 'restore.status' && event.data.state === 'done') {
              progress(`step ${String(event.data.step)}`, `  step done: ${String(event.data.step)}`);
            } else if (event.type === 'warning') {
              console.log(`\n  warning: ${event.data.message}`);
            }
          },
        },
      },
      { backup: { retry: { attempts: 1, backoffMs: [] } } },
    );
    const workers = [sdk.backups.startWorker({ concurrency: 1 }), sdk.restores.startWorker({ concurrency: 1 })];

    console.log('Manual backup: pg_dump -Fc and the filestore tarball stream into one ZIP, straight into storage:');
    const backupEnd = next((e) => e.type === 'backup.status' && ended(e.data.status));
    const created = await sdk.backups.createBackup(
      env.environment_id,
      { backup_type: 'manual', include_filestore: true },
      { id: randomUUID(), rate_limit_key: 'demo' },
    );
    const end = await backupEnd;
    endProgress();
    const record = (await backups.get(created.id))!;
    if (end.type === 'backup.status' && end.data.status === 'failed') {
      console.error(`\nThe backup failed: ${record.error_message ?? end.data.message}`);
      return 1;
    }

    console.log('\nVerifying: reading the archive back from storage, checking the ZIP, both SHA-256 sums and pg_restore --list ...');
    const provider = createStorageProvider(storageConfig);
    const check = await verifyBackupArchive(provider, record.database_key!);
    console.log(
      `  verified: ${mib(check.archive_size)} archive; dump ${mib(check.database.size)} sha256 ${check.database.checksum.slice(0, 16)}...; ` +
        `filestore ${mib(check.filestore?.size ?? 0)}; pg_restore lists ${check.dump_listing?.entries} TOC entries (${check.dump_listing?.table_data} with table data)`,
    );

    // Manual backups are not read back by default (scheduled ones are): record this check.
    const verified = await backups.update(record.id, { is_verified: true, verified_at: new Date().toISOString() }, { status: 'completed' });

    console.log(`\nBackup record (as stored by the host's BackupRepository; the API's view is sdk.backups.getBackup(id)):`);
    console.log(JSON.stringify(verified, null, 2));
    console.log('\nmanifest.json:');
    console.log(JSON.stringify(check.manifest, null, 2));

    // Restore: the same backup into a new database beside the original, filestore beside its folder.
    const copy = 'odoo_demo_copy';
    console.log(`\nRestore into a new database ${copy}: verified while it streams into temporaries, then renamed in:`);
    const restoreEnd = next((e) => e.type === 'task.status' && e.data.task_type === 'restore' && ended(e.data.status));
    const started = Date.now();
    const task = await sdk.restores.restoreBackup(record.id, { mode: 'new_database', database_name: copy }, { id: randomUUID() });
    await restoreEnd;
    endProgress();
    const restored = await sdk.restores.getRestore(task.id);
    if (restored.status !== 'completed') {
      console.error(`\nThe restore failed: ${restored.error_message}`);
      return 1;
    }
    await Promise.all(workers.map((w) => w.close()));

    // The proof: the same rows in every table, and every file still named by its SHA-1.
    const tables = ['res_partner', 'res_users', 'ir_attachment'];
    const server = pg;
    const count = async (database: string, table: string) =>
      (await server.query<{ n: string }>(database, `SELECT count(*) AS n FROM ${table}`))[0]!.n;
    const counts = await Promise.all(tables.map(async (t) => [t, await count(db, t), await count(copy, t)] as const));
    const copyFolder = join(work, 'filestore', copy);
    const files = filestoreFiles(copyFolder);
    const sha1Ok = files.filter((f) => sha1(readFileSync(join(copyFolder, f))) === basename(f)).length;
    const sameFiles = files.sort().join() === filestoreFiles(filestore).sort().join();
    const ok = counts.every(([, a, b]) => a === b) && sameFiles && sha1Ok === files.length;
    console.log(`\nRestore ${ok ? 'verified' : 'NOT verified'} in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
    for (const [t, a, b] of counts) console.log(`  ${t.padEnd(14)} ${a.padStart(6)} rows in ${db}, ${b.padStart(6)} in ${copy}`);
    console.log(
      `  filestore      ${sha1Ok} of ${files.length} files in ${copyFolder} match their SHA-1 names${sameFiles ? ', the same files as the original' : ''}`,
    );
    return ok ? 0 : 1;
  } finally {
    await queue.close().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    console.log('\nCleaned up: PostgreSQL stopped, both databases, both filestores and the storage folder removed.');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
