import { describe, expect, it } from 'vitest';
import { SourceError, parseManifest } from '../../../src/index.js';
import { buildManifest, manifestOdooOf, odooPgVersion, odooSeriesOf } from '../../../src/domain/manifest.js';
import { openBackupArchive } from '../../../src/pipeline/backup-archive-reader.js';
import { FAKE_DATABASE_FACTS } from '../../../src/testing/index.js';
import { harness, type Harness } from './harness.js';

async function manifestOf(h: Harness, key: string) {
  const archive = await openBackupArchive(h.storage, key, { signal: new AbortController().signal });
  archive.close();
  return archive.manifest;
}

describe("Odoo's facts in the manifest", () => {
  it("writes Odoo's forms: the series from base's latest_version, pg_version as dump_db_manifest does", () => {
    expect(odooSeriesOf('17.0.1.3')).toBe('17.0');
    expect(odooSeriesOf('saas~17.2.1.0')).toBe('saas~17.2');
    expect(odooSeriesOf('1.3')).toBeNull();
    expect(odooSeriesOf(null)).toBeNull();
    expect(odooPgVersion(150018)).toBe('15.0');
    expect(odooPgVersion(170006)).toBe('17.0');
    expect(odooPgVersion(90624)).toBe('9.6');
    expect(manifestOdooOf({ serverVersionNum: 160004, modules: { base: '16.0.1.3', web: '16.0.1.0' } })).toEqual({
      base_version: '16.0.1.3',
      major_version: '16.0',
      pg_version: '16.0',
      modules: { base: '16.0.1.3', web: '16.0.1.0' },
    });
    expect(manifestOdooOf({ serverVersionNum: 160004, modules: null })).toBeNull();
    expect(manifestOdooOf({ serverVersionNum: 160004, modules: { web: '16.0.1.0' } })).toMatchObject({
      base_version: null,
      major_version: null,
    });
  });

  it('old manifests without odoo still read; odoo null and odoo with row counts read too; a malformed odoo is refused', () => {
    const base = {
      backup_id: 'b',
      environment_id: 'e',
      backup_type: 'manual' as const,
      created_at: '2026-03-10T02:00:00.000Z',
      database: { name: 'db', key: 'k', size: 1, checksum: 'a'.repeat(64) },
      filestore: null,
      include_filestore: false,
      environment_snapshot: null,
      retention: { type: 'daily' as const, expires_at: null },
    };
    const old = buildManifest(base);
    expect(old).not.toHaveProperty('odoo');
    expect(parseManifest(JSON.stringify(old))).not.toHaveProperty('odoo');
    expect(parseManifest(JSON.stringify({ ...old, odoo: null })).odoo).toBeNull();
    const odoo = manifestOdooOf({ ...FAKE_DATABASE_FACTS, modules: { ...FAKE_DATABASE_FACTS.modules }, rowCounts: { t: 3 } })!;
    expect(parseManifest(JSON.stringify(buildManifest({ ...base, odoo }))).odoo).toEqual(odoo);
    expect(() => parseManifest(JSON.stringify({ ...old, odoo: { ...odoo, row_counts: { t: -1 } } }))).toThrow(/odoo\.row_counts/);
  });
});

describe('BackupRunner: the snapshot session', () => {
  it('dumps in the snapshot it opened, closes it, and records the facts (row counts only when asked)', async () => {
    const h = await harness();
    const done = await h.runner.run((await h.pending()).id);
    expect(h.source.snapshots).toEqual([{ id: '00000003-00000001-1', recordRowCounts: false, closed: true }]);
    expect(h.source.dumpSnapshots).toEqual(['00000003-00000001-1']);
    expect((await manifestOf(h, done.database_key!)).odoo).toEqual({
      base_version: '17.0.1.3',
      major_version: '17.0',
      pg_version: '15.0',
      modules: FAKE_DATABASE_FACTS.modules,
    });

    const counting = await harness({ deps: { recordRowCounts: true } });
    const counted = await counting.runner.run((await counting.pending()).id);
    expect(counting.source.snapshots[0]).toMatchObject({ recordRowCounts: true, closed: true });
    expect((await manifestOf(counting, counted.database_key!)).odoo?.row_counts).toEqual(FAKE_DATABASE_FACTS.rowCounts);
  });

  it('a database that is not Odoo: odoo null and a W_NOT_ODOO_DATABASE warning', async () => {
    const h = await harness({ source: { facts: { serverVersionNum: 150018, modules: null } } });
    const done = await h.runner.run((await h.pending()).id);
    expect((await manifestOf(h, done.database_key!)).odoo).toBeNull();
    expect(h.events.ofType('warning').map((e) => e.data.code)).toEqual(['W_NOT_ODOO_DATABASE']);
  });

  it("a source without openSnapshot (a host's own) backs up as before: no snapshot, no odoo in the manifest", async () => {
    const h = await harness({ source: { facts: null } });
    expect(h.source.openSnapshot).toBeUndefined();
    const done = await h.runner.run((await h.pending()).id);
    expect(done.status).toBe('completed');
    expect(h.source.dumpSnapshots).toEqual([undefined]);
    expect(await manifestOf(h, done.database_key!)).not.toHaveProperty('odoo');
  });

  it('a snapshot that cannot be opened fails the backup before pg_dump starts; a failed dump still closes the snapshot', async () => {
    const h = await harness();
    h.source.injectFault({ part: 'snapshot' });
    const error = await h.runner.run((await h.pending()).id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(h.source.started.dump).toBe(0);
    expect(h.storage.keys()).toEqual([]);

    const d = await harness();
    d.source.injectFault({ part: 'dump', afterBytes: 0 });
    await expect(d.runner.run((await d.pending()).id)).rejects.toMatchObject({ code: 'E_SOURCE_PG_DUMP' });
    expect(d.source.openSnapshots).toBe(0);
    expect(d.source.snapshots).toHaveLength(1);
  });
});
