import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupRunner,
  createBackupSource,
  createStorageProvider,
  parseManifest,
  type BackupSource,
  type LocalSource,
} from '../../../src/index.js';
import {
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  MemoryEventSink,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { descendantTools, openArchiveEntry, runWithInput, tableDigests } from './pipeline-helpers.js';
import { miniOdoo } from './mini-odoo.js';

// Odoo's facts at backup time, on a real PostgreSQL: the snapshot session, the manifest's odoo,
// and pg_dump --snapshot dumping exactly what the facts describe.
let server: PgServer;
let work: string;
let filestore: string;
const DB = 'odoo_facts';

beforeAll(async () => {
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'obsdk-facts-'));
  ({ filestore } = await miniOdoo(server, DB, join(work, 'filestore'), { attachments: 10 }));
  await server.createDatabase('plain_db');
  await server.query('plain_db', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)');
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function localSource(database: string): LocalSource {
  return {
    kind: 'local',
    connection: { host: server.host, port: server.port, user: server.user, password: server.password, database },
    filestore_path: database === DB ? filestore : null,
    pg_bin_dir: server.binDir,
  };
}

async function backUp(database: string, options: { recordRowCounts: boolean; wrap?: (s: BackupSource) => BackupSource }) {
  const env = makeResolvedEnvironment({ db_name: database, source: localSource(database) });
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const root = mkdtempSync(join(work, 'storage-'));
  const config = await storageConfigs.create(makeStorageConfig(env.organization_id, { provider: 'local', settings: { root } }));
  const events = new MemoryEventSink();
  const runner = new BackupRunner({
    backups,
    storageConfigs,
    environments: new StaticEnvironmentResolver([env]),
    events,
    recordRowCounts: options.recordRowCounts,
    sources: (c) => (options.wrap ?? ((s) => s))(createBackupSource(c)),
  });
  const backup = await backups.create(makeBackup(env, config.id));
  const done = await runner.run(backup.id, { verify: false });
  const provider = createStorageProvider(config);
  const chunks: Buffer[] = [];
  for await (const c of await openArchiveEntry(provider, done.database_key!, 'manifest.json')) chunks.push(c as Buffer);
  return { done, provider, events, manifest: parseManifest(Buffer.concat(chunks)) };
}

describe("Odoo's facts at backup time", () => {
  it('rows inserted while a backup runs are not in it: the restored counts equal odoo.row_counts, and no psql is left', async () => {
    const before = await tableDigests(server, DB);
    // Rows committed after the snapshot was exported and before pg_dump starts: a dump taken
    // without --snapshot would hold them.
    const { done, provider, manifest } = await backUp(DB, {
      recordRowCounts: true,
      wrap: (source) => ({
        kind: source.kind,
        dumpDatabase: (o) => source.dumpDatabase(o),
        archiveFilestore: (o) => source.archiveFilestore(o),
        close: () => source.close(),
        openSnapshot: async (o) => {
          const snapshot = await source.openSnapshot!(o);
          await server.query(
            DB,
            `INSERT INTO res_partner (name) SELECT 'late ' || g FROM generate_series(1, 25) g;
             INSERT INTO ir_cron (ir_actions_server_id, cron_name) VALUES (1, 'late cron')`,
          );
          return snapshot;
        },
      }),
    });
    expect(descendantTools()).toEqual([]);
    const [{ v }] = (await server.query<{ v: string }>(DB, "SELECT current_setting('server_version_num') AS v")) as [{ v: string }];
    expect(manifest.odoo).toEqual({
      base_version: '17.0.1.3',
      major_version: '17.0',
      pg_version: `${Math.floor(Number(v) / 10000)}.0`,
      modules: { base: '17.0.1.3', mail: '17.0.1.15', web: '17.0.1.0' },
      row_counts: Object.fromEntries(Object.entries(before).map(([t, d]) => [t, d.rows])),
    });

    await server.createDatabase('facts_restored');
    await runWithInput(
      [
        join(server.binDir, 'pg_restore'),
        '--no-owner',
        '--exit-on-error',
        '-h',
        server.host,
        '-p',
        String(server.port),
        '-U',
        server.user,
        '-d',
        'facts_restored',
      ],
      await openArchiveEntry(provider, done.database_key!, 'dump.sql'),
      { PGPASSWORD: server.password },
    );
    const restored = await tableDigests(server, 'facts_restored');
    expect(Object.fromEntries(Object.entries(restored).map(([t, d]) => [t, d.rows]))).toEqual(manifest.odoo!.row_counts);
    // The live database moved on meanwhile.
    const live = await tableDigests(server, DB);
    expect(live.res_partner!.rows).toBe(manifest.odoo!.row_counts!.res_partner! + 25);
  });

  it('without row counts the manifest has modules and no row_counts', async () => {
    const { manifest, events } = await backUp(DB, { recordRowCounts: false });
    expect(manifest.odoo?.modules).toMatchObject({ base: '17.0.1.3' });
    expect(manifest.odoo).not.toHaveProperty('row_counts');
    expect(events.events.filter((e) => e.type === 'warning')).toEqual([]);
  });

  it('a database without ir_module_module: odoo is null and W_NOT_ODOO_DATABASE is emitted', async () => {
    const { manifest, events, done } = await backUp('plain_db', { recordRowCounts: true });
    expect(done.status).toBe('completed');
    expect(manifest.odoo).toBeNull();
    const warnings = events.events.filter((e) => e.type === 'warning').map((e) => (e.data as { code: string }).code);
    expect(warnings).toContain('W_NOT_ODOO_DATABASE');
    expect(descendantTools()).toEqual([]);
  });
});
