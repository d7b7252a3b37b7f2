import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupRunner, BackupService, type Backup, type KeyProvider, type LocalSource } from '../../../src/index.js';
import {
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { requireBinary } from '../../servers/binaries.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { descendantTools, fileDigests, tableDigests } from './pipeline-helpers.js';
import { miniOdoo } from './mini-odoo.js';

const run = promisify(execFile);

// What Odoo's restore_db does with a ZIP (odoo/service/db.py): extract only dump.sql and
// filestore/**, then `psql -q -f dump.sql` (no ON_ERROR_STOP). Python's zipfile, as Odoo's.
const RESTORE_DB_EXTRACT = `
import json, sys, zipfile
path, dest = sys.argv[1], sys.argv[2]
assert zipfile.is_zipfile(path)
with zipfile.ZipFile(path, 'r') as z:
    assert z.testzip() is None
    filestore = [m for m in z.namelist() if m.startswith('filestore/')]
    z.extractall(dest, ['dump.sql'] + filestore)
    infos = [[i.filename, i.compress_type, i.is_dir()] for i in z.infolist()]
    print(json.dumps({'infos': infos, 'manifest': json.loads(z.read('manifest.json'))}))
`;

let server: PgServer;
let work: string;
let filestore: string;
let service: BackupService;
let backup: Backup;
let encrypted: Backup;
let keys: KeyProvider;
let services: (keys?: KeyProvider) => BackupService;
const DB = 'odoo_export_src';

beforeAll(async () => {
  await requireBinary('python3');
  await requireBinary('unzip');
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'obsdk-export-'));
  // One file above 1 MiB: stored and streamed; the others deflated whole when that pays.
  ({ filestore } = await miniOdoo(server, DB, join(work, 'filestore'), { attachments: 30, bigFileBytes: 1536 * 1024 }));
  const source: LocalSource = {
    kind: 'local',
    connection: { host: server.host, port: server.port, user: server.user, password: server.password, database: DB },
    filestore_path: filestore,
    pg_bin_dir: server.binDir,
  };
  const env = makeResolvedEnvironment({ db_name: DB, source });
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const config = await storageConfigs.create(
    makeStorageConfig(env.organization_id, { provider: 'local', settings: { root: mkdtempSync(join(work, 'storage-')) } }),
  );
  const environments = new StaticEnvironmentResolver([env]);
  const runner = new BackupRunner({ backups, storageConfigs, environments });
  backup = await runner.run((await backups.create(makeBackup(env, config.id))).id, { verify: false });
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  keys = { recipients: () => [recipient], identities: () => [identity] };
  const sealing = new BackupRunner({ backups, storageConfigs, environments, keys });
  encrypted = await sealing.run((await backups.create(makeBackup(env, config.id))).id, { verify: false });
  services = (k) =>
    new BackupService({
      backups,
      tasks: new InMemoryTaskRepository(),
      storageConfigs,
      environments,
      queue: new InMemoryJobQueue(),
      ...(k ? { keys: k } : {}),
    });
  service = services();
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function psqlFile(database: string, file: string, onErrorStop: boolean): Promise<{ stderr: string }> {
  await server.createDatabase(database);
  const args = ['-X', '-q', '-h', server.host, '-p', String(server.port), '-U', server.user, `--dbname=${database}`, '-f', file];
  if (onErrorStop) args.splice(2, 0, '-v', 'ON_ERROR_STOP=1');
  const { stderr } = await run(join(server.binDir, 'psql'), args, { env: { ...process.env, PGPASSWORD: server.password } });
  return { stderr };
}

describe('openOdooExport: a ZIP that Odoo restores', () => {
  it("restores the way restore_db does (and with ON_ERROR_STOP=1, clean): tables and files equal the source's", async () => {
    const exported = await service.openOdooExport(backup.id, { pgBinDir: server.binDir }, null);
    expect(exported).toMatchObject({ backup_id: backup.id, content_type: 'application/zip', size: null });
    expect(exported.filename).toMatch(/^odoo_export_src_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.zip$/);
    const zipPath = join(work, 'export.zip');
    await pipeline(exported.stream, createWriteStream(zipPath));
    await exported.done;
    expect(descendantTools()).toEqual([]);

    await run('unzip', ['-t', '-q', zipPath]);
    const dest = mkdtempSync(join(work, 'restore-db-'));
    const { stdout } = await run('python3', ['-c', RESTORE_DB_EXTRACT, zipPath, dest]);
    const { infos, manifest } = JSON.parse(stdout) as { infos: [string, number, boolean][]; manifest: Record<string, unknown> };
    // dump.sql first and deflated, Odoo's manifest.json next, then one member per file; no folder entries.
    expect(infos[0]).toEqual(['dump.sql', 8, false]);
    expect(infos[1]![0]).toBe('manifest.json');
    expect(infos.slice(2).every(([name, , dir]) => name.startsWith('filestore/') && !dir)).toBe(true);
    expect(infos).toHaveLength(2 + 30);
    // The big random file is stored; small text files are deflated.
    expect(new Set(infos.slice(2).map(([, method]) => method))).toEqual(new Set([0, 8]));
    const [{ v }] = (await server.query<{ v: string }>(DB, "SELECT current_setting('server_version_num') AS v")) as [{ v: string }];
    expect(manifest).toEqual({
      odoo_dump: '1',
      db_name: DB,
      version: '17.0',
      version_info: [17, 0, 0, 'final', 0, ''],
      major_version: '17.0',
      pg_version: `${Math.floor(Number(v) / 10000)}.0`,
      modules: { base: '17.0.1.3', mail: '17.0.1.15', web: '17.0.1.0' },
    });

    const source = await tableDigests(server, DB);
    expect(await fileDigests(join(dest, 'filestore'))).toEqual(await fileDigests(filestore));
    await psqlFile('odoo_from_export', join(dest, 'dump.sql'), false);
    expect(await tableDigests(server, 'odoo_from_export')).toEqual(source);
    const strict = await psqlFile('odoo_from_export_strict', join(dest, 'dump.sql'), true);
    expect(strict.stderr).toBe('');
    expect(await tableDigests(server, 'odoo_from_export_strict')).toEqual(source);
    const sql = readFileSync(join(dest, 'dump.sql'), 'utf8');
    expect(sql).not.toMatch(/OWNER TO|^GRANT /m); // --no-owner --no-privileges
  });

  it("an encrypted backup is opened with the key provider's identities, as a restore opens it; without them E_ENCRYPTION_KEY", async () => {
    expect(encrypted.encryption_recipients).toHaveLength(1);
    await expect(service.openOdooExport(encrypted.id, { pgBinDir: server.binDir }, null)).rejects.toMatchObject({
      code: 'E_ENCRYPTION_KEY',
    });
    const exported = await services(keys).openOdooExport(encrypted.id, { pgBinDir: server.binDir }, null);
    const zipPath = join(work, 'encrypted-export.zip');
    await pipeline(exported.stream, createWriteStream(zipPath));
    await exported.done;
    await run('unzip', ['-t', '-q', zipPath]);
  });

  it('a reader that goes away stops pg_restore and the export fails with E_ABORTED', async () => {
    const exported = await service.openOdooExport(backup.id, { pgBinDir: server.binDir }, null);
    for await (const chunk of exported.stream) {
      void chunk;
      break; // destroys the stream
    }
    await expect(exported.done).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(descendantTools()).toEqual([]);
  });

  it('refuses what a download refuses: an unknown backup, a bad level', async () => {
    await expect(service.openOdooExport('no-such-backup', {}, null)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(service.openOdooExport(backup.id, { compressionLevel: 0 }, null)).rejects.toMatchObject({ code: 'E_VALIDATION' });
  });
});
