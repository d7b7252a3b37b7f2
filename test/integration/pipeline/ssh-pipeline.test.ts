import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupRunner, createStorageProvider, readBackupManifest, type SshSource, type StorageProvider } from '../../../src/index.js';
import {
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  StaticEnvironmentResolver,
  makeResolvedEnvironment,
} from '../../../src/testing/index.js';
import { makeBackup, makeStorageConfig } from '../../unit/pipeline/harness.js';
import { startPostgres, type PgServer } from '../../servers/postgres.js';
import { startSshd, type SshServer } from '../../servers/sshd.js';
import { descendantTools, filesUnder } from './pipeline-helpers.js';
import { miniOdoo } from './mini-odoo.js';

let pg: PgServer;
let ssh: SshServer;
let filestore: string;
const DB = 'odoo_over_ssh';

beforeAll(async () => {
  [pg, ssh] = await Promise.all([startPostgres(), startSshd()]);
  // The filestore lives where the SSH account can read it, with one 16 MiB incompressible file
  // so the tarball streams long enough to be cut mid-way.
  ({ filestore } = await miniOdoo(pg, DB, join(ssh.homeDir, 'filestore'), { attachments: 20, bigFileBytes: 16 * 1024 * 1024 }));
  execFileSync('chmod', ['-R', 'a+rX', join(ssh.homeDir, 'filestore')]);
});

afterAll(async () => {
  await ssh?.stop();
  await pg?.stop();
});

function source(): SshSource {
  return {
    kind: 'ssh',
    ssh: { host: ssh.host, port: ssh.port, username: ssh.username, private_key: ssh.privateKey, host_key: ssh.hostKeyFingerprint },
    remote: {
      kind: 'local',
      connection: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: DB },
      filestore_path: filestore,
      pg_bin_dir: pg.binDir,
    },
  };
}

/** Processes anywhere on the machine whose command line mentions `needle` (remote tools run under sshd, not under us). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && !cmd.includes('vitest')) found.push(`${d}: ${cmd.slice(0, 120)}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

async function setup(wrap?: (p: StorageProvider) => StorageProvider) {
  const env = makeResolvedEnvironment({ db_name: DB, source: source() });
  const backups = new InMemoryBackupRepository();
  const storageConfigs = new InMemoryStorageConfigRepository();
  const root = join(ssh.homeDir, '..', `storage-${Math.random().toString(36).slice(2)}`);
  mkdirSync(root); // the local provider never creates its root
  const config = await storageConfigs.create(makeStorageConfig(env.organization_id, { provider: 'local', settings: { root } }));
  const runner = new BackupRunner({
    backups,
    storageConfigs,
    environments: new StaticEnvironmentResolver([env]),
    storageProviders: (c) => (wrap ? wrap(createStorageProvider(c)) : createStorageProvider(c)),
  });
  const backup = await backups.create(makeBackup(env, config.id));
  return { backups, runner, backup, root, config };
}

describe('backup pipeline over SSH (real sshd, real PostgreSQL)', () => {
  it('backs up and verifies through the ssh source', async () => {
    const ctx = await setup();
    try {
      const done = await ctx.runner.run(ctx.backup.id, { verify: true });
      expect(done.status).toBe('completed');
      expect(done.is_verified).toBe(true);
      expect(done.filestore_size).toBeGreaterThan(16 * 1024 * 1024);
      expect(filesUnder(ctx.root)).toEqual([done.database_key]);
      // The snapshot session ran over SSH too, and is gone.
      const manifest = await readBackupManifest(createStorageProvider(ctx.config), done.database_key!);
      expect(manifest.odoo).toMatchObject({ base_version: '17.0.1.3', major_version: '17.0', modules: { base: '17.0.1.3' } });
      expect(processesMentioning(`dbname='${DB}'`)).toEqual([]);
      expect(JSON.stringify(done)).not.toContain(pg.password);
    } finally {
      rmSync(ctx.root, { recursive: true, force: true });
    }
  });

  it('an SSH connection dropped mid-stream fails the backup and leaves nothing, here or there', async () => {
    let dropped = false;
    let remoteBeforeDrop: string[] = [];
    // tar runs as `tar -czf - -C <parent> -- <db>`: its command line names the parent folder.
    const parent = join(ssh.homeDir, 'filestore');
    const ctx = await setup((p) =>
      Object.assign(Object.create(p) as StorageProvider, {
        upload: (key: string, body: Readable, options: object) => {
          let seen = 0;
          const spy = new Transform({
            transform(chunk: Buffer, _e, cb) {
              seen += chunk.length;
              // Well into filestore.tar.gz (the dump is a few hundred KiB).
              if (!dropped && seen >= 4 * 1024 * 1024) {
                dropped = true;
                remoteBeforeDrop = processesMentioning(parent);
                ssh.dropConnections();
              }
              cb(null, chunk);
            },
          });
          body.on('error', (e) => spy.destroy(e));
          return p.upload(key, body.pipe(spy), options);
        },
      }),
    );
    try {
      const error = await ctx.runner.run(ctx.backup.id).catch((e: unknown) => e);
      expect(dropped).toBe(true);
      expect(remoteBeforeDrop.some((p) => /\btar\b/.test(p))).toBe(true); // the check below can see them
      expect((error as { code?: string }).code).toMatch(/^E_SOURCE/);
      const rec = (await ctx.backups.get(ctx.backup.id))!;
      expect(rec.status).toBe('failed');
      expect(rec.error_message).toMatch(/archiving the filestore/);
      expect(JSON.stringify(rec)).not.toContain(pg.password);
      expect(filesUnder(ctx.root)).toEqual([]);
      expect(descendantTools()).toEqual([]);
      // The remote tar (and its gzip) end with the session.
      let left = processesMentioning(parent);
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = processesMentioning(parent);
      }
      expect(left).toEqual([]);
    } finally {
      rmSync(ctx.root, { recursive: true, force: true });
    }
  });
});
