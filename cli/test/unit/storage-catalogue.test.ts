import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { MemoryStorageProvider } from 'odoo-backup-sdk';
import { makeBackup, runBackupRepositoryContract } from 'odoo-backup-sdk/testing';
import { describe, expect, it } from 'vitest';
import { INDEX_KEY, parseBackupKey, parseState, stateKeyOf, stateOf } from '../../src/catalogue/catalogue-records.js';
import { StorageCatalogue } from '../../src/catalogue/storage-catalogue.js';

const open = (provider = new MemoryStorageProvider()) => StorageCatalogue.open(provider, { storageConfigId: 'cli' });

async function text(provider: MemoryStorageProvider, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await provider.download(key)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

await runBackupRepositoryContract('StorageCatalogue over memory storage', () => open());

describe('StorageCatalogue', () => {
  it('reads ids from the key layout and ignores every other key', () => {
    expect(parseBackupKey('organizations/acme/projects/web/environments/prod/0f0e.zip')).toEqual({
      organization_id: 'acme',
      project_id: 'web',
      environment_id: 'prod',
      backup_id: '0f0e',
    });
    for (const foreign of [
      'notes.txt',
      'organizations/acme/x.zip',
      'organizations/a/projects/b/environments/c/d.zip.age',
      'organizations/a/projects/b/environments/../d.zip',
    ])
      expect(parseBackupKey(foreign)).toBeNull();
    expect(stateKeyOf('a/b.zip')).toBe('a/b.state.json');
  });

  it('writes the state file of a completed backup and removes it once its keys are cleared', async () => {
    const provider = new MemoryStorageProvider();
    const catalogue = await open(provider);
    const id = randomUUID();
    const key = `organizations/o/projects/p/environments/e/${id}.zip`;
    await catalogue.create(makeBackup({ id, status: 'pending', database_key: null, completed_at: null }));
    expect((await provider.head(key.replace('.zip', '.state.json'))).exists).toBe(false);
    await catalogue.update(id, {
      status: 'completed',
      database_key: key,
      completed_at: '2026-01-01T00:00:00.000Z',
      retention_type: 'weekly',
    });
    const state = parseState(await text(provider, key.replace('.zip', '.state.json')), id);
    expect(state).toMatchObject({ retention_type: 'weekly', completed_at: '2026-01-01T00:00:00.000Z' });
    expect(state).toEqual(stateOf((await catalogue.get(id))!));
    await catalogue.update(id, { status: 'expired' });
    await catalogue.update(id, { database_key: null });
    expect((await provider.head(key.replace('.zip', '.state.json'))).exists).toBe(false);
  });

  it('reports a ZIP it cannot read and skips it, never deletes it; foreign objects are ignored; the index remembers', async () => {
    const provider = new MemoryStorageProvider();
    const junk = `organizations/o/projects/p/environments/e/${randomUUID()}.zip`;
    await provider.upload(junk, Readable.from([Buffer.from('not a zip at all')]));
    await provider.upload('organizations/o/readme.txt', Readable.from([Buffer.from('hello')]));
    const catalogue = await open(provider);
    expect(await catalogue.find({})).toEqual([]);
    expect(catalogue.reconciliation.skipped.map((s) => s.key)).toEqual([junk]);
    expect(catalogue.reconciliation.skipped[0]!.code).toMatch(/^E_(ARCHIVE|MANIFEST)/);
    expect(catalogue.reconciliation.index).toBe('missing');
    expect((await provider.head(junk)).exists).toBe(true);
    expect(JSON.parse(await text(provider, INDEX_KEY)).skipped).toHaveLength(1);

    const again = await open(provider);
    expect(again.reconciliation).toMatchObject({ index: 'fresh', reads: 0 });
    expect(again.reconciliation.skipped.map((s) => s.key)).toEqual([junk]);
  });

  it('rewrites a corrupt index', async () => {
    const provider = new MemoryStorageProvider();
    await provider.upload(INDEX_KEY, Readable.from([Buffer.from('{"format":"odoo-backup-index","version":1,"backups":[1]}')]));
    const catalogue = await open(provider);
    expect(catalogue.reconciliation.index).toBe('corrupt');
    expect(JSON.parse(await text(provider, INDEX_KEY))).toMatchObject({ format: 'odoo-backup-index', backups: [], skipped: [] });
  });
});
