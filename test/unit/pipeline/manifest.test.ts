import { describe, expect, it } from 'vitest';
import { type ArchiveError, parseManifest } from '../../../src/index.js';
import { buildManifest, manifestMajor, serializeManifest } from '../../../src/domain/manifest.js';

const input = {
  backup_id: '550e8400-e29b-41d4-a716-446655440000',
  environment_id: '660e8400-e29b-41d4-a716-446655440000',
  backup_type: 'manual' as const,
  created_at: '2024-12-11T10:30:00Z',
  database: {
    name: 'prod_db_main',
    key: 'organizations/o/projects/p/environments/e/550e8400.zip',
    size: 52428800,
    checksum: 'a'.repeat(64),
    compression_level: 1,
  },
  filestore: { size: 104857600, checksum: 'b'.repeat(64) },
  include_filestore: true,
  environment_snapshot: {
    environment: { id: '660e8400-e29b-41d4-a716-446655440000', name: 'Production', db_name: 'prod_db_main' },
    project: { id: '770e8400-e29b-41d4-a716-446655440000', name: 'E-commerce Platform', odoo_version: '18.0' },
    timestamp: '2024-12-11T10:30:00Z',
  },
  retention: { type: 'daily' as const, expires_at: '2024-12-18T10:30:00Z' },
  odoo_version: '18.0',
};

describe('manifest', () => {
  it("carries every field of the product's example and round-trips", () => {
    const m = buildManifest(input);
    expect(m).toMatchObject({
      version: '1.0',
      backup_id: input.backup_id,
      environment_id: input.environment_id,
      backup_type: 'manual',
      created_at: input.created_at,
      database: {
        name: 'prod_db_main',
        key: input.database.key,
        size: 52428800,
        checksum: 'a'.repeat(64),
        format: 'pg_dump_custom',
        compression_level: 1,
      },
      filestore: { key: null, size: 104857600, checksum: 'b'.repeat(64), format: 'tar.gz' },
      environment_snapshot: input.environment_snapshot,
      retention: { type: 'daily', expires_at: '2024-12-18T10:30:00Z' },
    });
    expect(parseManifest(serializeManifest(m))).toEqual(m);
  });

  it('records what gzipped the filestore (filestore.compressor); manifests of earlier releases have none and still parse', () => {
    const compressor = { tool: 'zlib-adaptive', level: 1, version: 'node v20.20.2, zlib 1.3' };
    const m = buildManifest({ ...input, filestore: { ...input.filestore, compressor } });
    expect(m.filestore?.compressor).toEqual(compressor);
    expect(parseManifest(serializeManifest(m)).filestore?.compressor).toEqual(compressor);
    const earlier = buildManifest(input);
    expect(earlier.filestore).not.toHaveProperty('compressor');
    expect(parseManifest(serializeManifest(earlier)).filestore).toEqual(earlier.filestore);
    const bad = { ...m, filestore: { ...m.filestore, compressor: { tool: '', level: 'fast' } } };
    expect(() => parseManifest(JSON.stringify(bad))).toThrow(
      expect.objectContaining({ code: 'E_MANIFEST_INVALID', message: expect.stringContaining('filestore.compressor.level') }),
    );
  });

  it('filestore is null when the archive holds none', () => {
    expect(buildManifest({ ...input, filestore: null, include_filestore: false }).filestore).toBeNull();
  });

  it('keeps unknown fields and accepts newer minor versions', () => {
    const m = { ...buildManifest(input), version: '1.7', future_field: { x: 1 } };
    expect(parseManifest(JSON.stringify(m))).toMatchObject({ version: '1.7', future_field: { x: 1 } });
  });

  it.each(['2.0', '0.9', 'one', null])('refuses version %s', (version) => {
    const m = { ...buildManifest(input), version };
    expect(() => parseManifest(JSON.stringify(m))).toThrow(expect.objectContaining({ code: 'E_MANIFEST_VERSION' }));
  });

  it('names every bad field', () => {
    const m = { ...buildManifest(input), database: { ...buildManifest(input).database, checksum: 'XYZ', size: -1 } };
    const error = (() => {
      try {
        parseManifest(JSON.stringify(m));
      } catch (e) {
        return e as ArchiveError;
      }
      return null;
    })();
    expect(error?.code).toBe('E_MANIFEST_INVALID');
    expect(error?.message).toMatch(/database\.size/);
    expect(error?.message).toMatch(/database\.checksum/);
  });

  it('refuses non-JSON', () => {
    expect(() => parseManifest('{nope')).toThrow(expect.objectContaining({ code: 'E_MANIFEST_INVALID' }));
  });

  it('manifestMajor', () => {
    expect(manifestMajor('1.0')).toBe(1);
    expect(manifestMajor('10.2.3')).toBe(10);
    expect(manifestMajor('x')).toBeNaN();
  });
});
