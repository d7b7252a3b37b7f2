/**
 * `npm run demo`: the SDK's main job, end to end, on this machine.
 *
 * 1. Starts a throwaway PostgreSQL on 127.0.0.1 (from the machine's PostgreSQL binaries, in a
 *    temp folder; as the `postgres` user when run as root) and fills a small Odoo-shaped
 *    database (res_partner, res_users, ir_attachment) plus its filestore folder.
 * 2. Wires a BackupService with in-memory repositories and queue, the local source and a local
 *    storage folder, and asks for a manual backup, showing progress as it streams.
 * 3. Reads the archive back from storage and verifies it (ZIP structure, SHA-256 of both parts,
 *    `pg_restore --list` of the dump).
 * 4. Prints the backup record and the manifest, then removes everything it created.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupService, createStorageProvider, verifyBackupArchive, type SdkEvent, type StorageConfig } from '../src/index.js';
import {
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
    const sha1 = createHash('sha1').update(data).digest('hex');
    mkdirSync(join(folder, sha1.slice(0, 2)), { recursive: true });
    writeFileSync(join(folder, sha1.slice(0, 2), sha1), data);
    rows.push(
      `('invoice-${i}.pdf', 'account.move', ${i + 1}, '${sha1.slice(0, 2)}/${sha1}', '${sha1}', ${data.length}, 'application/pdf')`,
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

    let finished!: (e: SdkEvent) => void;
    const outcome = new Promise<SdkEvent>((resolve) => (finished = resolve));
    const backups = new InMemoryBackupRepository();
    let lastPhase = '';
    const service = new BackupService({
      backups,
      tasks: new InMemoryTaskRepository(),
      storageConfigs,
      environments: new StaticEnvironmentResolver([env]),
      queue,
      retry: { attempts: 1, backoffMs: [] },
      events: {
        emit(event) {
          if (event.type === 'backup.progress') {
            const d = event.data;
            const line = `  ${d.phase.padEnd(10)} ${(d.part ?? '').padEnd(17)} ${mib(d.bytes).padStart(12)}  ${mib(d.rate_bytes_per_second).padStart(10)}/s`;
            // One line rewritten in place on a terminal; one line per step when piped.
            if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
            else if (`${d.phase}${d.part}` !== lastPhase) console.log(line);
            lastPhase = `${d.phase}${d.part}`;
          } else if (event.type === 'backup.status') {
            if (event.data.status === 'completed' || event.data.status === 'failed') finished(event);
          } else if (event.type === 'warning') {
            console.log(`\n  warning: ${event.data.message}`);
          }
        },
      },
    });
    const worker = service.startWorker({ concurrency: 1 });

    console.log('Manual backup: pg_dump -Fc and the filestore tarball stream into one ZIP, straight into storage:');
    const created = await service.createBackup(
      env.environment_id,
      { backup_type: 'manual', include_filestore: true },
      { id: randomUUID(), rate_limit_key: 'demo' },
    );
    const end = await outcome;
    process.stdout.write('\n');
    await worker.close();
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

    console.log(`\nBackup record (as stored by the host's BackupRepository; the API's view is service.getBackup(id)):`);
    console.log(JSON.stringify(verified, null, 2));
    console.log('\nmanifest.json:');
    console.log(JSON.stringify(check.manifest, null, 2));
    return 0;
  } finally {
    await queue.close().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    console.log('\nCleaned up: PostgreSQL stopped, temp database, filestore and storage removed.');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
