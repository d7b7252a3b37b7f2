// docs/sources.md shows the worked resolvers of examples/environment-resolvers.ts (type-checked
// with the project): the page must show that code, and the SDK must accept what each resolver
// answers, as a backup source and as a restore target, before any command runs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  dockerResolver,
  localResolver,
  sshResolver,
  type EnvironmentRow,
  type FindEnvironment,
} from '../../../examples/environment-resolvers.js';
import { createBackupSource, createRestoreTarget, type EnvironmentResolver, type SshSource } from '../../../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const EXAMPLE = 'examples/environment-resolvers.ts';

/** The `// docs:start NAME` ... `// docs:end` regions of the example, with the package's import name. */
function exampleRegions(): Map<string, string> {
  const source = readFileSync(join(root, EXAMPLE), 'utf8');
  const regions = new Map<string, string>();
  for (const m of source.matchAll(/^\/\/ docs:start (\S+)\n([\s\S]*?)^\/\/ docs:end\n/gm)) {
    regions.set(m[1]!, m[2]!.replace("'../src/index.js'", "'odoo-backup-sdk'"));
  }
  return regions;
}

/** The ```ts blocks of docs/sources.md that start with `// examples/environment-resolvers.ts: NAME`. */
function pageBlocks(): Map<string, string> {
  const page = readFileSync(join(root, 'docs/sources.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of page.matchAll(/^```ts\n\/\/ examples\/environment-resolvers\.ts: (\S+)\n([\s\S]*?)^```$/gm)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

const FINGERPRINT = 'SHA256:' + 'A'.repeat(43);
const row: EnvironmentRow = {
  id: 'env-1',
  organization_id: 'org-1',
  project_id: 'project-1',
  project_name: 'Main project',
  name: 'production',
  db_name: 'prod_db',
  odoo_version: '18.0',
  vm: { id: 'vm-1', name: 'vm one', ip_address: '192.0.2.10', ssh_host_key: FINGERPRINT },
};
const find: FindEnvironment = async (id) => (id === row.id ? row : null);

/** Builds the backup source and the restore target of `resolver`'s answer (validation only: nothing connects). */
async function acceptedBySdk(resolver: EnvironmentResolver) {
  const env = (await resolver.resolve(row.id))!;
  const source = createBackupSource(env.source);
  const target = createRestoreTarget(env.source);
  await source.close();
  await target.close();
  return env;
}

describe('docs/sources.md worked resolvers', () => {
  it('shows the code of examples/environment-resolvers.ts, every region of it', () => {
    const regions = exampleRegions();
    expect([...regions.keys()]).toEqual(['row', 'local', 'docker', 'ssh']);
    expect(pageBlocks()).toEqual(regions);
  });

  it('local: a connection whose password is read when a tool starts, and the filestore folder', async () => {
    const env = await acceptedBySdk(localResolver(find));
    expect(env).toMatchObject({ environment_id: 'env-1', organization_id: 'org-1', db_name: 'prod_db', odoo_version: '18.0' });
    expect(env.source).toMatchObject({
      kind: 'local',
      connection: { database: 'prod_db' },
      filestore_path: '/var/lib/odoo/filestore/prod_db',
    });
    expect(env.source.kind === 'local' && typeof env.source.connection.password).toBe('function');
    expect(env.snapshot).toEqual({
      environment: { id: 'env-1', name: 'production', db_name: 'prod_db' },
      project: { id: 'project-1', name: 'Main project', odoo_version: '18.0' },
      vm: { id: 'vm-1', name: 'vm one', ip_address: '192.0.2.10' },
    });
    expect(await localResolver(find).resolve('nope')).toBeNull();
  });

  it("docker: the product's containers", async () => {
    const env = await acceptedBySdk(dockerResolver(find));
    expect(env.source).toEqual({
      kind: 'docker',
      db_container: 'env-1_db',
      odoo_container: 'env-1_odoo',
      db_user: 'odoo',
      database: 'prod_db',
      filestore_root: '/var/lib/odoo/filestore',
    });
  });

  it("ssh: the VM's containers behind a verified host key and a key read at connection time; docker here without a VM", async () => {
    const env = await acceptedBySdk(sshResolver(find, '/nonexistent/key'));
    const source = env.source as SshSource;
    expect(source).toMatchObject({ kind: 'ssh', ssh: { host: '192.0.2.10', username: 'backup', host_key: FINGERPRINT } });
    expect(source.remote).toMatchObject({ kind: 'docker', db_container: 'env-1_db', database: 'prod_db' });
    // The key is a function: nothing was read while resolving (the file does not exist).
    expect(typeof source.ssh.private_key).toBe('function');
    await expect((source.ssh.private_key as () => Promise<string>)()).rejects.toThrow(/ENOENT/);

    const noVm = await sshResolver(async () => ({ ...row, vm: null })).resolve(row.id);
    expect(noVm!.source.kind).toBe('docker');
  });
});
