import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupSource, defaultDockerSource, SourceError, ValidationError, type DockerSource } from '../../../src/index.js';
import { dockerSourceCommands } from '../../../src/sources/docker-source.js';
import { LocalCommandRunner } from '../../../src/sources/local-command-runner.js';
import { createOdooFixture, tableDigests, type OdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { collect, extractedDigests, hostileName, noMarkers, pgRestoreInto, pgRestoreList } from './helpers.js';

// There is no Docker engine on the test machines: a fake `docker` (test/fixtures/fake-docker)
// first on PATH runs `docker exec <container> <cmd>` locally with the "container's" environment.
const fakeDockerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/fake-docker');
const marker = randomBytes(3).toString('hex');
const { name: dbName, markers } = hostileName(marker);

let pg: PgServer;
let fixture: OdooFixture;
let work: string;
let logFile: string;
const saved = {
  PATH: process.env.PATH,
  FAKE_DOCKER_CONTAINERS: process.env.FAKE_DOCKER_CONTAINERS,
  FAKE_DOCKER_LOG: process.env.FAKE_DOCKER_LOG,
};

function dockerConfig(overrides: Partial<DockerSource> = {}): DockerSource {
  return defaultDockerSource('env42', dbName, {
    db_user: pg.user,
    password: pg.password,
    filestore_root: fixture.filestoreRoot,
    ...overrides,
  });
}

function loggedCalls(): string[][] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}

beforeAll(async () => {
  pg = await startPostgres();
  fixture = await createOdooFixture(pg, { dbName, scale: 2 });
  work = await mkdtemp(join(tmpdir(), 'obsdk-src-docker-'));
  const containers = join(work, 'containers');
  await mkdir(containers);
  // The db container reaches PostgreSQL without a password in its environment: one can only come from `-e PGPASSWORD`.
  await writeFile(
    join(containers, 'env42_db.json'),
    JSON.stringify({ env: { PATH: `${pg.binDir}:/usr/bin:/bin`, PGHOST: pg.host, PGPORT: String(pg.port) } }),
  );
  await writeFile(join(containers, 'env42_odoo.json'), JSON.stringify({ env: { PATH: '/usr/bin:/bin' } }));
  logFile = join(work, 'docker.log');
  await writeFile(logFile, '');
  process.env.PATH = `${fakeDockerDir}:${process.env.PATH}`;
  process.env.FAKE_DOCKER_CONTAINERS = containers;
  process.env.FAKE_DOCKER_LOG = logFile;
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await pg?.stop();
  if (fixture) await rm(fixture.filestoreRoot, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('docker source (through a fake docker executable)', () => {
  it('runs the pg_dump command in the db container; the password travels by -e PGPASSWORD only; the dump restores', async () => {
    await writeFile(logFile, '');
    const source = createBackupSource(dockerConfig());
    const dump = await source.dumpDatabase({ compressionLevel: 9 });
    const file = join(work, 'dump.bin');
    await pipeline(dump.stream, createWriteStream(file));
    await dump.done;
    expect(loggedCalls()).toEqual([
      [
        'exec',
        '-e',
        'PGPASSWORD',
        '--',
        'env42_db',
        'pg_dump',
        '-Fc',
        '-Z9',
        `--username=${pg.user}`,
        '--no-password',
        `--dbname=dbname='${dbName.replace(/'/g, "\\'")}'`,
      ],
    ]);
    expect(readFileSync(logFile, 'utf8')).not.toContain(pg.password);
    expect(await pgRestoreList(pg, file)).toContain('TABLE DATA public res_partner');
    await pgRestoreInto(pg, file, 'restored_docker');
    expect(await tableDigests(pg, 'restored_docker')).toEqual(await fixture.databaseDigest());
    expect(noMarkers(markers)).toBe(true);
  });

  it('opens the snapshot session in the db container (psql by docker exec -i, the password by -e only); pg_dump --snapshot dumps in it', async () => {
    await writeFile(logFile, '');
    const source = createBackupSource(dockerConfig());
    const snapshot = await source.openSnapshot!({ recordRowCounts: true });
    const dump = await source.dumpDatabase({ snapshot: snapshot.id });
    await pipeline(dump.stream, createWriteStream(join(work, 'snapshot-dump.bin')));
    await dump.done;
    const facts = await snapshot.facts;
    await snapshot.close();
    expect(facts.modules).toEqual({ base: '17.0.1.3', contacts: '17.0.1.0', mail: '17.0.1.15', web: '17.0.1.0' });
    expect(facts.rowCounts).toMatchObject({ res_partner: fixture.counts.partners, mail_message: fixture.counts.messages, ir_cron: 2 });
    const [psql, pgDump] = loggedCalls();
    expect(psql).toEqual([
      'exec',
      '-i',
      '-e',
      'PGCLIENTENCODING',
      '-e',
      'PGPASSWORD',
      '--',
      'env42_db',
      'psql',
      '--no-psqlrc',
      '--quiet',
      '--tuples-only',
      '--no-align',
      '--set=ON_ERROR_STOP=1',
      `--username=${pg.user}`,
      '--no-password',
      `--dbname=dbname='${dbName.replace(/'/g, "\\'")}'`,
    ]);
    expect(pgDump).toContain(`--snapshot=${snapshot.id}`);
    expect(readFileSync(logFile, 'utf8')).not.toContain(pg.password);
    expect(noMarkers(markers)).toBe(true);
  });

  it('without the password pg_dump is refused: the container has none of its own', async () => {
    const dump = await createBackupSource(dockerConfig({ password: undefined })).dumpDatabase();
    await collect(dump.stream);
    await expect(dump.done).rejects.toMatchObject({
      code: 'E_SOURCE_PG_DUMP',
      message: expect.stringMatching(/^pg_dump failed \(in container env42_db\): .*no password supplied/),
    });
  });

  it('tars <filestore_root>/<db> in the odoo container after a test -d probe; the files come back intact', async () => {
    await writeFile(logFile, '');
    const tarball = await createBackupSource(dockerConfig()).archiveFilestore();
    expect(tarball).not.toBeNull();
    expect(await extractedDigests(tarball!, work, dbName)).toEqual(await fixture.filestoreDigest());
    expect(loggedCalls()).toEqual([
      ['exec', '--', 'env42_odoo', 'test', '-d', `${fixture.filestoreRoot}/${dbName}`],
      ['exec', '--', 'env42_odoo', 'igzip', '--version'],
      ['exec', '--', 'env42_odoo', 'tar', '-I', 'igzip -1', '-cf', '-', '-C', fixture.filestoreRoot, '--', dbName],
    ]);
    // Above igzip's levels the container writes a plain tar and this process gzips it.
    await writeFile(logFile, '');
    const adaptive = await createBackupSource(dockerConfig()).archiveFilestore({ compressionLevel: 6 });
    expect(adaptive!.compressor).toMatchObject({ tool: 'zlib-adaptive', level: 6 });
    expect(await extractedDigests(adaptive!, work, dbName)).toEqual(await fixture.filestoreDigest());
    expect(loggedCalls().at(-1)).toEqual(['exec', '--', 'env42_odoo', 'tar', '-cf', '-', '-C', fixture.filestoreRoot, '--', dbName]);
    expect(noMarkers(markers)).toBe(true);
  });

  it('a missing filestore folder in the container is null, not an error', async () => {
    expect(await createBackupSource(dockerConfig({ database: `other ${marker}` })).archiveFilestore()).toBeNull();
  });

  it('hostile container and database names are refused before docker runs; -- keeps a bypassed one a container name', async () => {
    await writeFile(logFile, '');
    for (const overrides of [
      { db_container: '-u0' },
      { odoo_container: '--privileged' },
      { database: '../../../../etc' },
      { database: '/etc' },
    ])
      expect(() => createBackupSource(dockerConfig(overrides))).toThrow(ValidationError);
    expect(loggedCalls()).toEqual([]);
    // Skipping the config check (a host calling the command builder itself): docker still reads "-w/" as a container.
    const commands = dockerSourceCommands(dockerConfig({ odoo_container: '-w/' }), { runner: new LocalCommandRunner() });
    await expect(commands.filestoreCommand()).rejects.toMatchObject({ message: expect.stringContaining('No such container: -w/') });
    expect(loggedCalls()).toEqual([['exec', '--', '-w/', 'test', '-d', `${fixture.filestoreRoot}/${dbName}`]]);
  });

  it("a missing container is a typed error with docker's message", async () => {
    const dump = await createBackupSource(dockerConfig({ db_container: 'gone_db' })).dumpDatabase();
    await collect(dump.stream);
    const error = (await dump.done.catch((e: unknown) => e)) as SourceError;
    expect(error).toBeInstanceOf(SourceError);
    expect(error.code).toBe('E_SOURCE_PG_DUMP');
    expect(error.message).toBe('pg_dump failed (in container gone_db): Error response from daemon: No such container: gone_db');
    await expect(createBackupSource(dockerConfig({ odoo_container: 'gone_odoo' })).archiveFilestore()).rejects.toMatchObject({
      code: 'E_SOURCE_TAR',
      details: { phase: 'filestore_probe' },
      message: expect.stringContaining('No such container: gone_odoo'),
    });
  });
});
