import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ValidationError, type ImportRequestInput } from '../../../src/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
import { makeRestoreHarness, type RestoreHarness } from './harness.js';

/** A stand-in for a `pg_dump -Fc` file: its magic, then bytes (the fake target stores what it is given). */
const DUMP = Buffer.concat([Buffer.from('PGDMP'), Buffer.alloc(64, 7)]);

async function uploads(h: RestoreHarness): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of h.storage.list(`organizations/${h.env.organization_id}/imports/`)) keys.push(o.key);
  return keys;
}

/** Asks for an import, runs its job to the end, and returns the task. */
async function runImport(
  h: RestoreHarness,
  source: Parameters<RestoreHarness['restores']['importOdooArchive']>[0],
  request: ImportRequestInput,
) {
  const worker = h.restores.startWorker();
  try {
    const task = await h.restores.importOdooArchive(source, request, { id: 'user-1' });
    await h.restoreQueue.idle();
    return (await h.tasks.get(task.id))!;
  } finally {
    await worker.close();
  }
}

describe('RestoreService.importOdooArchive', () => {
  it('imports an uploaded pg_dump -Fc file as a restore task with no backup, then removes the upload', async () => {
    const h = await makeRestoreHarness();
    const task = await runImport(h, Readable.from([DUMP]), {
      mode: 'new_database',
      database_name: 'imported',
      target_environment_id: h.env.environment_id,
      as_copy: false,
    });
    expect(task).toMatchObject({ status: 'completed', task_type: 'restore', backup_id: null, environment_id: h.env.environment_id });
    const journal = journalOf(task)!;
    expect(journal.source).toMatchObject({ storage_config_id: h.config.id, format: 'pg_custom', uploaded: true });
    expect(journal.source!.key).toBe(`organizations/${h.env.organization_id}/imports/${task.id}`);
    expect(h.target.databases.get('imported')!.content.equals(DUMP)).toBe(true);
    // A bare dump has no filestore: no folder is made for it.
    expect(h.target.folders.has('/var/lib/odoo/filestore/imported')).toBe(false);
    expect(h.leftovers()).toEqual({ databases: [], folders: [] });
    expect(await uploads(h)).toEqual([]);
    expect(h.events.ofType('restore.status').filter((e) => e.data.task_id === task.id)[0]!.data.backup_id).toBeNull();
  });

  it('reads a file already in storage and leaves it there', async () => {
    const h = await makeRestoreHarness();
    await h.storage.upload('uploads/customer.dump', Readable.from([DUMP]));
    const task = await runImport(
      h,
      { storage_config_id: h.config.id, key: 'uploads/customer.dump' },
      { mode: 'replace', target_environment_id: h.env.environment_id, as_copy: true },
    );
    expect(task.status, task.error_message ?? '').toBe('completed');
    expect(journalOf(task)!.source).toMatchObject({ format: 'pg_custom', uploaded: false });
    expect(journalOf(task)!.done).toContain('copy_identity');
    expect((await h.storage.head('uploads/customer.dump')).exists).toBe(true);
  });

  it('refuses before any task exists: bad input, an unknown format (upload removed), a busy environment', async () => {
    const h = await makeRestoreHarness();
    const request = { mode: 'new_database', database_name: 'x', target_environment_id: h.env.environment_id, as_copy: true } as const;
    const before = (await h.tasks.find({})).length;
    for (const bad of [
      { ...request, as_copy: undefined },
      { ...request, target_environment_id: undefined },
      { ...request, allow_privileged_role: 'yes' },
    ]) {
      await expect(h.restores.importOdooArchive(Readable.from([DUMP]), bad as never), JSON.stringify(bad)).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    await expect(h.restores.importOdooArchive(Readable.from([Buffer.from('plain text')]), request)).rejects.toMatchObject({
      code: 'E_IMPORT_FORMAT',
    });
    await expect(h.restores.importOdooArchive({ storage_config_id: h.config.id, key: '' }, request)).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await uploads(h)).toEqual([]);
    expect((await h.tasks.find({})).length).toBe(before);

    const first = await h.restores.restoreBackup(h.backup.id, { mode: 'replace' });
    await expect(h.restores.importOdooArchive(Readable.from([DUMP]), request)).rejects.toMatchObject({
      code: 'E_RESTORE_IN_PROGRESS',
      details: { task_id: first.id },
    });
    expect(await uploads(h)).toEqual([]);
  });

  it('a storage config of another organisation is refused; a cancelled queued import still removes its upload', async () => {
    const h = await makeRestoreHarness();
    const other = await h.storageConfigs.create({ ...h.config, id: crypto.randomUUID(), organization_id: h.otherEnv.organization_id });
    await expect(
      h.restores.importOdooArchive(
        { storage_config_id: other.id, key: 'x.dump' },
        { mode: 'replace', target_environment_id: h.env.environment_id, as_copy: false },
      ),
    ).rejects.toMatchObject({ code: 'E_VALIDATION', issues: [{ field: 'source.storage_config_id' }] });

    const queued = await h.restores.importOdooArchive(Readable.from([DUMP]), {
      mode: 'replace',
      target_environment_id: h.env.environment_id,
      as_copy: false,
    });
    expect(await uploads(h)).toHaveLength(1);
    await h.restores.cancelRestore(queued.id);
    const worker = h.restores.startWorker();
    await h.restoreQueue.idle();
    await worker.close();
    expect((await h.tasks.get(queued.id))!.status).toBe('failed');
    expect(await uploads(h)).toEqual([]);
    expect(h.target.databaseHash(h.env.db_name)).toBe(h.before.db);
  });
});
