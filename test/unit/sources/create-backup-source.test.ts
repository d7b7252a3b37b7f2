import { describe, expect, it } from 'vitest';
import { createBackupSource, ValidationError, type SourceConfig } from '../../../src/index.js';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);

function issuesOf(config: unknown): string[] {
  try {
    createBackupSource(config as SourceConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => i.field);
  }
  throw new Error('expected a ValidationError');
}

describe('createBackupSource', () => {
  it('builds local, docker and ssh sources', async () => {
    const local = createBackupSource({ kind: 'local', connection: { database: 'db' }, filestore_path: null });
    const docker = createBackupSource({ kind: 'docker', db_container: 'e_db', odoo_container: 'e_odoo', database: 'db' });
    const ssh = createBackupSource({
      kind: 'ssh',
      ssh: { host: 'vm', username: 'odoo', password: 'pw', host_key: HOST_KEY },
      remote: { kind: 'local', connection: { database: 'db' }, filestore_path: '/var/lib/odoo/filestore/db' },
    });
    expect([local.kind, docker.kind, ssh.kind]).toEqual(['local', 'docker', 'ssh']);
    // No connection is opened before use; closing is idempotent.
    await ssh.close();
    await ssh.close();
    await local.close();
  });

  it('a local source without a filestore folder archives nothing', async () => {
    const local = createBackupSource({ kind: 'local', connection: { database: 'db' }, filestore_path: null });
    expect(await local.archiveFilestore()).toBeNull();
  });

  it('names every bad field before anything runs', () => {
    expect(
      issuesOf({ kind: 'local', connection: { database: '', port: 70000 }, filestore_path: 'relative/path', pg_bin_dir: 'bin' }),
    ).toEqual(['connection.database', 'connection.port', 'filestore_path', 'pg_bin_dir']);
    expect(issuesOf({ kind: 'docker', db_container: '', odoo_container: 'x', database: 'd', filestore_root: 'fs' })).toEqual([
      'db_container',
      'filestore_root',
    ]);
    expect(issuesOf({ kind: 'ftp' })).toEqual(['kind']);
  });

  it('requires an SSH host key (a fingerprint or known_hosts line) and a credential', () => {
    const remote = { kind: 'local', connection: { database: 'db' }, filestore_path: null };
    expect(issuesOf({ kind: 'ssh', ssh: { host: 'vm', username: 'u' }, remote })).toEqual(['ssh.password', 'ssh.host_key']);
    expect(issuesOf({ kind: 'ssh', ssh: { host: 'vm', username: 'u', password: 'p', host_key: 'yes' }, remote })).toEqual(['ssh.host_key']);
    expect(
      issuesOf({ kind: 'ssh', ssh: { host: 'vm', username: 'u', password: 'p', host_key: HOST_KEY }, remote: { kind: 'ssh' } }),
    ).toEqual(['remote.kind']);
    expect(() =>
      createBackupSource({
        kind: 'ssh',
        ssh: {
          host: 'vm',
          username: 'u',
          private_key: 'k',
          host_key: '[vm]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        },
        remote: { kind: 'docker', db_container: 'a', odoo_container: 'b', database: 'c' },
      }),
    ).not.toThrow();
  });

  it('refuses a bad compression level with a ValidationError', async () => {
    const local = createBackupSource({ kind: 'local', connection: { database: 'db' }, filestore_path: null });
    await expect(local.dumpDatabase({ compressionLevel: 12 })).rejects.toBeInstanceOf(ValidationError);
  });
});
