import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/index.js';
import { journalOf } from '../../../src/services/restore/restore-journal.js';
import { makeResolvedEnvironment } from '../../../src/testing/index.js';
import { makeRestoreHarness, RESTORED_DUMP } from './harness.js';

/** The SQL a restore sent to `database` through runSqlScript (the fake appends it to the content). */
function sqlSent(h: Awaited<ReturnType<typeof makeRestoreHarness>>, database: string): string {
  return h.target.databases.get(database)!.content.toString().slice(RESTORED_DUMP.length);
}

describe('as_copy: copy or move', () => {
  it('is required for a new database and for a replace onto another environment; nothing is written without it', async () => {
    const h = await makeRestoreHarness();
    const beside = makeResolvedEnvironment({ organization_id: h.env.organization_id, source: h.env.source });
    h.environments.set(beside);
    const written = h.tasks.created.length;
    for (const request of [
      { mode: 'new_database', database_name: 'copy_db' },
      { mode: 'replace', target_environment_id: beside.environment_id },
    ]) {
      const error = await h.restores.restoreBackup(h.backup.id, request as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(request)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual(['as_copy']);
      expect((error as ValidationError).code).toBe('E_VALIDATION');
    }
    // base_url names the copy's address: a move keeps the one it had.
    await expect(
      h.restores.restoreBackup(h.backup.id, { mode: 'replace', as_copy: false, base_url: 'https://copy.example.com' }),
    ).rejects.toMatchObject({ code: 'E_VALIDATION', issues: [{ field: 'base_url' }] });
    await expect(
      h.restores.restoreBackup(h.backup.id, { mode: 'new_database', database_name: 'x', as_copy: true, base_url: 'file:///etc' }),
    ).rejects.toMatchObject({ code: 'E_VALIDATION', issues: [{ field: 'base_url' }] });
    expect(h.tasks.created.length).toBe(written);
  });

  it("a replace onto the backup's own environment is a move by default: nothing is rewritten", async () => {
    const h = await makeRestoreHarness();
    const task = await h.run({ mode: 'replace' });
    expect(task.status).toBe('completed');
    expect(journalOf(task)!.request.as_copy).toBe(false);
    expect(journalOf(task)!.done).not.toContain('copy_identity');
    expect(h.target.callsOf('runSqlScript')).toEqual([]);
    expect(h.target.databases.get(h.env.db_name)!.content.toString()).toBe(RESTORED_DUMP);
  });

  it("a copy rewrites Odoo's identity parameters in the temporary database, before the swap, and journals no secret", async () => {
    const h = await makeRestoreHarness();
    const task = await h.run({ mode: 'new_database', database_name: 'copy_db', as_copy: true, base_url: 'https://copy.example.com/' });
    expect(task.status, task.error_message ?? '').toBe('completed');
    const journal = journalOf(task)!;
    expect(journal.done.slice(0, 4)).toEqual(['compatibility', 'verify', 'restored_to_temp', 'copy_identity']);
    expect(h.target.callsOf('runSqlScript').map((args) => args[0])).toEqual([journal.names.temp_database]);
    const sql = sqlSent(h, 'copy_db');
    for (const key of [
      'database.secret',
      'database.uuid',
      'database.create_date',
      'base.login_cooldown_after',
      'base.login_cooldown_duration',
      'web.base.url',
    ])
      expect(sql).toContain(`E'${key}'`);
    expect(sql).toContain(`E'${h.clock.now().toISOString().slice(0, 19).replace('T', ' ')}'`);
    expect(sql).toContain("E'https://copy.example.com'");
    const secret = /E'database\.secret', E'([0-9a-f-]{36})'/.exec(sql)![1]!;
    expect(JSON.stringify(task)).not.toContain(secret);
    expect(JSON.stringify(h.events.events)).not.toContain(secret);
  });

  it('a copy without base_url keeps web.base.url; a move into a new database rewrites nothing', async () => {
    const h = await makeRestoreHarness();
    await h.run({ mode: 'new_database', database_name: 'copy_db', as_copy: true });
    expect(sqlSent(h, 'copy_db')).toContain("E'database.uuid'");
    expect(sqlSent(h, 'copy_db')).not.toContain('web.base.url');
    const moved = await h.run({ mode: 'new_database', database_name: 'moved_db', as_copy: false });
    expect(moved.status).toBe('completed');
    expect(sqlSent(h, 'moved_db')).toBe('');
  });
});
