import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, createBackupSource, SourceError, type LocalSource, type SshSource, type SshTarget } from '../../../src/index.js';
import { SshCommandRunner } from '../../../src/sources/ssh-command-runner.js';
import { createOdooFixture, tableDigests, type OdooFixture } from '../../fixtures/odoo-fixture.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import {
  collect,
  comm,
  eventually,
  extractedDigests,
  hostileName,
  isPgDump,
  noMarkers,
  pgRestoreInto,
  pgRestoreList,
  processesMatching,
} from './helpers.js';

const marker = randomBytes(3).toString('hex');
const { name: dbName, markers } = hostileName(marker);
const fakeDocker = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/fake-docker/docker');

let pg: PgServer;
let sshd: SshServer;
let fixture: OdooFixture;
let work: string;

function keyTarget(overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    private_key: sshd.privateKey,
    host_key: sshd.knownHostsLine,
    ...overrides,
  };
}

function passwordTarget(overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    password: sshd.password,
    host_key: sshd.hostKeyFingerprint,
    ...overrides,
  };
}

function remoteLocal(overrides: Partial<LocalSource['connection']> = {}, filestore: string | null = fixture.filestorePath): LocalSource {
  return {
    kind: 'local',
    connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: dbName, ...overrides },
    filestore_path: filestore,
    pg_bin_dir: pg.binDir,
  };
}

function sshSource(target: SshTarget, remote: SshSource['remote'] = remoteLocal()): SshSource {
  return { kind: 'ssh', ssh: target, remote };
}

/**
 * Remote processes of this test file: the wrapper shell and pg_dump carry the marker in their
 * arguments (PostgreSQL's own backends, titled with the database name, are not ours).
 */
const remoteProcesses = () => processesMatching(marker).filter((pid) => comm(pid) !== 'postgres');

beforeAll(async () => {
  [pg, sshd] = await Promise.all([startPostgres(), startSshd()]);
  // Big enough that an unread pg_dump -Z0 fills the SSH window and pipes and stays blocked.
  fixture = await createOdooFixture(pg, { dbName, scale: 12, filestoreMb: 2 });
  work = await mkdtemp(join(tmpdir(), 'obsdk-src-ssh-'));
  chmodSync(work, 0o755);
});

afterAll(async () => {
  await sshd?.stop();
  await pg?.stop();
  if (fixture) await rm(fixture.filestoreRoot, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ssh source', () => {
  it('dumps a database with a hostile name on the far side (key login, known_hosts line); the password is on no command line', async () => {
    const source = createBackupSource(sshSource(keyTarget()));
    try {
      const dump = await source.dumpDatabase({ compressionLevel: 1 });
      // While pg_dump runs, no process anywhere carries the password in its arguments.
      expect(await eventually(() => remoteProcesses().length > 0)).toBe(true);
      expect(processesMatching(pg.password)).toEqual([]);
      const file = join(work, 'dump.bin');
      await pipeline(dump.stream, createWriteStream(file));
      await dump.done;
      expect(await pgRestoreList(pg, file)).toContain('TABLE DATA public mail_message');
      await pgRestoreInto(pg, file, 'restored_ssh');
      expect(await tableDigests(pg, 'restored_ssh')).toEqual(await fixture.databaseDigest());
      expect(noMarkers(markers)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('archives a filestore with a hostile path (password login, fingerprint); a missing one is null', async () => {
    const source = createBackupSource(sshSource(passwordTarget()));
    try {
      const tarball = await source.archiveFilestore();
      expect(tarball).not.toBeNull();
      expect(await extractedDigests(tarball!, work, fixture.filestorePath.split('/').pop()!)).toEqual(await fixture.filestoreDigest());
      // Above igzip's levels the remote sends a plain tar and this process gzips it: the same files.
      const adaptive = await source.archiveFilestore({ compressionLevel: 6 });
      expect(adaptive!.compressor).toMatchObject({ tool: 'zlib-adaptive', level: 6 });
      expect(await extractedDigests(adaptive!, work, fixture.filestorePath.split('/').pop()!)).toEqual(await fixture.filestoreDigest());
      expect(
        await createBackupSource(sshSource(passwordTarget(), remoteLocal({}, join(work, `missing ${marker}`)))).archiveFilestore(),
      ).toBeNull();
      expect(noMarkers(markers)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it("a folder the remote user cannot read is E_SOURCE_TAR with tar's message", async () => {
    const locked = join(work, 'locked-fs');
    await mkdir(join(locked, 'ab'), { recursive: true });
    await writeFile(join(locked, 'ab', 'abcdef'), 'x');
    chmodSync(join(locked, 'ab'), 0o000);
    const source = createBackupSource(sshSource(keyTarget(), remoteLocal({}, locked)));
    try {
      const tarball = await source.archiveFilestore();
      await collect(tarball!.stream);
      await expect(tarball!.done).rejects.toMatchObject({
        code: 'E_SOURCE_TAR',
        message: expect.stringContaining('Permission denied'),
        details: { phase: 'filestore', exit_code: 2 },
      });
    } finally {
      chmodSync(join(locked, 'ab'), 0o755);
      await source.close();
    }
  });

  it('refuses an unknown host key with a typed error naming the offered fingerprint', async () => {
    const wrong = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const source = createBackupSource(sshSource(passwordTarget({ host_key: wrong })));
    const error = (await source.dumpDatabase().catch((e: unknown) => e)) as SourceError;
    expect(error).toBeInstanceOf(SourceError);
    expect(error.code).toBe('E_SOURCE_SSH_HOST_KEY');
    expect(error.transient).toBe(false);
    expect(error.details.offered_fingerprint).toBe(sshd.hostKeyFingerprint);
    expect(error.message).toContain(sshd.hostKeyFingerprint);
    expect(JSON.stringify(error.toJSON())).not.toContain(sshd.password);
    await source.close();
  });

  it('a wrong password is E_SOURCE_SSH_AUTH, never showing the password', async () => {
    const bad = `bad-${marker}`;
    const source = createBackupSource(sshSource(passwordTarget({ password: bad })));
    const error = (await source.dumpDatabase().catch((e: unknown) => e)) as SourceError;
    expect(error).toMatchObject({ code: 'E_SOURCE_SSH_AUTH', transient: false });
    expect(JSON.stringify(error.toJSON())).not.toContain(bad);
    await source.close();
  });

  it("a nonexistent database is E_SOURCE_PG_DUMP with pg_dump's message and where it ran", async () => {
    const source = createBackupSource(sshSource(keyTarget(), remoteLocal({ database: `nope ${marker}` })));
    try {
      const dump = await source.dumpDatabase();
      await collect(dump.stream);
      const error = (await dump.done.catch((e: unknown) => e)) as SourceError;
      expect(error.code).toBe('E_SOURCE_PG_DUMP');
      expect(error.message).toContain(
        `pg_dump failed (on ${sshd.username}@${sshd.host}:${sshd.port}): database "nope ${marker}" does not exist`,
      );
      expect(error.details).toMatchObject({ exit_code: 1, phase: 'dump' });
    } finally {
      await source.close();
    }
  });

  it('abort kills the remote pg_dump and its wrapper', async () => {
    const source = createBackupSource(sshSource(keyTarget()));
    try {
      const controller = new AbortController();
      const dump = await source.dumpDatabase({ compressionLevel: 0, signal: controller.signal });
      // Unread, pg_dump fills the window and blocks: it is alive when the abort comes.
      expect(await eventually(() => remoteProcesses().some(isPgDump))).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(remoteProcesses().some(isPgDump)).toBe(true);
      controller.abort();
      await expect(dump.done).rejects.toBeInstanceOf(AbortedError);
      expect(await eventually(() => remoteProcesses().length === 0)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('a dropped connection mid-stream is a transient E_SOURCE_SSH, and no remote process is left', async () => {
    const source = createBackupSource(sshSource(keyTarget()));
    try {
      const dump = await source.dumpDatabase({ compressionLevel: 0 });
      // Read the first bytes, then stop reading so pg_dump is mid-stream when the link dies.
      await new Promise<void>((resolve) => dump.stream.once('data', () => resolve()));
      dump.stream.pause();
      expect(await eventually(() => remoteProcesses().some(isPgDump))).toBe(true);
      sshd.dropConnections();
      const error = (await dump.done.catch((e: unknown) => e)) as SourceError;
      expect(error).toBeInstanceOf(SourceError);
      expect(error).toMatchObject({ code: 'E_SOURCE_SSH', transient: true, details: { phase: 'stream' } });
      await expect(collect(dump.stream)).rejects.toMatchObject({ code: 'E_SOURCE_SSH' });
      expect(await eventually(() => remoteProcesses().length === 0)).toBe(true);
      // The runner reconnects for the next command.
      const again = await source.dumpDatabase({ compressionLevel: 1 });
      expect((await collect(again.stream)).subarray(0, 5).toString()).toBe('PGDMP');
      await again.done;
    } finally {
      await source.close();
    }
  });

  it('runs the docker commands on the far side, the password passed from stdin to docker -e', async () => {
    const containers = join(work, 'containers');
    await mkdir(containers, { recursive: true });
    await writeFile(
      join(containers, 'env7_db.json'),
      JSON.stringify({ env: { PATH: `${pg.binDir}:/usr/bin:/bin`, PGHOST: pg.host, PGPORT: String(pg.port) } }),
    );
    await writeFile(join(containers, 'env7_odoo.json'), JSON.stringify({ env: { PATH: '/usr/bin:/bin' } }));
    const log = join(work, 'docker-ssh.log');
    await writeFile(log, '');
    chmodSync(log, 0o666);
    // The remote login has its own environment: a small launcher points the fake docker at the containers.
    const launcher = join(work, 'docker');
    await writeFile(launcher, `#!/bin/sh\nFAKE_DOCKER_CONTAINERS='${containers}' FAKE_DOCKER_LOG='${log}' exec '${fakeDocker}' "$@"\n`, {
      mode: 0o755,
    });
    const source = createBackupSource(
      sshSource(keyTarget(), {
        kind: 'docker',
        db_container: 'env7_db',
        odoo_container: 'env7_odoo',
        database: dbName,
        db_user: pg.user,
        password: pg.password,
        filestore_root: fixture.filestoreRoot,
        docker_bin: launcher,
      }),
    );
    try {
      const dump = await source.dumpDatabase({ compressionLevel: 1 });
      const bytes = await collect(dump.stream);
      await dump.done;
      expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
      const tarball = await source.archiveFilestore();
      const tgz = await collect(tarball!.stream);
      await tarball!.done;
      expect(tgz.length).toBeGreaterThan(fixture.filestoreBytes * 0.9);
      const calls = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[]);
      expect(calls.map((c) => c.slice(0, 6))).toEqual([
        ['exec', '-e', 'PGPASSWORD', '--', 'env7_db', 'pg_dump'],
        ['exec', '--', 'env7_odoo', 'test', '-d', `${fixture.filestoreRoot}/${dbName}`],
        ['exec', '--', 'env7_odoo', 'igzip', '--version'],
        ['exec', '--', 'env7_odoo', 'tar', '-I', 'igzip -1'],
      ]);
      expect(readFileSync(log, 'utf8')).not.toContain(pg.password);
      expect(noMarkers(markers)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('a remote command that writes nothing still dies with a dropped connection (the wrapper watches the channel)', async () => {
    const runner = new SshCommandRunner(keyTarget());
    const tag = `98${parseInt(marker, 16) % 1000}.5`;
    try {
      // `sleep` never writes, so no broken pipe would ever stop it: only the wrapper can.
      const command = await runner.start({ argv: ['sleep', tag] });
      expect(await eventually(() => processesMatching(`sleep ${tag}`).some((pid) => comm(pid) === 'sleep'))).toBe(true);
      sshd.dropConnections();
      await expect(command.wait()).rejects.toMatchObject({ code: 'E_SOURCE_SSH', transient: true });
      expect(await eventually(() => processesMatching(`sleep ${tag}`).length === 0)).toBe(true);
    } finally {
      await runner.close();
    }
  });

  it('SshCommandRunner runs argv verbatim and reports exit codes and stderr', async () => {
    const runner = new SshCommandRunner(keyTarget());
    try {
      const command = await runner.start({
        argv: ['sh', '-c', 'printf "%s|" "$@"; printf "%s" "$X_SECRET" >&2; exit 7', 'sh', dbName, '', "'"],
        env: { X_SECRET: `s'$(id)` },
      });
      expect((await collect(command.stdout)).toString()).toBe(`${dbName}||'|`);
      expect(await command.wait()).toEqual({ code: 7, signal: null, stderrTail: `s'$(id)` });
      expect(noMarkers(markers)).toBe(true);
    } finally {
      await runner.close();
    }
  });
});
