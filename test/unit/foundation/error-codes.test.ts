// The catalogue of codes is the single source: docs/errors.md lists exactly its codes (both ways),
// every code literal written in src/ belongs to it, and the types refuse a code outside it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ArchiveError,
  BackupSdkError,
  ConflictError,
  ERROR_CODES,
  NotFoundError,
  SourceError,
  StorageError,
  ValidationError,
  WARNING_CODES,
  type ErrorCode,
  type WarningCode,
} from '../../../src/index.js';

const ROOT = join(import.meta.dirname, '../../..');

/** The table rows `| \`CODE\` | ... | meaning | what to do |` under one `## heading` of docs/errors.md. */
function documented(heading: string): Map<string, { meaning: string; action: string }> {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/errors.md has no "## ${heading}" section`);
  const rows = new Map<string, { meaning: string; action: string }>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`([EW]_[A-Z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!code) continue;
    rows.set(code, { meaning: cells.at(-3)!, action: cells.at(-2)! });
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('error and warning code catalogue', () => {
  it('docs/errors.md lists every error code with its meaning and action, and nothing else', () => {
    const rows = documented('Error codes');
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, info] of Object.entries(ERROR_CODES))
      expect(rows.get(code), code).toEqual({ meaning: info.meaning, action: info.action });
  });

  it('docs/errors.md lists every warning code with its meaning and action, and nothing else', () => {
    const rows = documented('Warning codes');
    expect([...rows.keys()].sort()).toEqual(Object.keys(WARNING_CODES).sort());
    for (const [code, info] of Object.entries(WARNING_CODES))
      expect(rows.get(code), code).toEqual({ meaning: info.meaning, action: info.action });
  });

  it('error codes start with E_, warning codes with W_, and no name is both', () => {
    expect(Object.keys(ERROR_CODES).filter((c) => !/^E_[A-Z0-9_]+$/.test(c))).toEqual([]);
    expect(Object.keys(WARNING_CODES).filter((c) => !/^W_[A-Z0-9_]+$/.test(c))).toEqual([]);
  });

  it('every quoted code literal in src/ is in the catalogue', () => {
    const known = new Set<string>([...Object.keys(ERROR_CODES), ...Object.keys(WARNING_CODES)]);
    const unknown: string[] = [];
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`]([EW]_[A-Z][A-Z0-9_]*)['"`]/g)) {
        if (!known.has(m[1]!)) unknown.push(`${file.slice(ROOT.length + 1)}: ${m[1]}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('the old warning names are gone from the catalogue of errors', () => {
    // Renamed in 0.x: these were emitted as warnings with an E_ prefix.
    const codes: string[] = Object.keys(ERROR_CODES);
    expect(codes).not.toContain('E_FILESTORE_MISSING');
    expect(codes).not.toContain('E_RECORD_FAILED');
    expect(Object.keys(WARNING_CODES)).toEqual(expect.arrayContaining(['W_FILESTORE_MISSING', 'W_VERIFICATION_FAILED', 'W_RECORD_FAILED']));
  });

  it('each subclass carries the code it was built with, and NotFoundError names its entity', () => {
    expect(new StorageError('E_STORAGE_AUTH', 'x').code).toBe('E_STORAGE_AUTH');
    expect(new SourceError('E_SOURCE_SSH_AUTH', 'x').code).toBe('E_SOURCE_SSH_AUTH');
    expect(new ArchiveError('x', {}, 'E_MANIFEST_VERSION').code).toBe('E_MANIFEST_VERSION');
    expect(new ConflictError('x', {}, 'E_QUEUE_CLOSED').code).toBe('E_QUEUE_CLOSED');
    expect(new ValidationError([], 'x', 'E_INVALID_CRON').code).toBe('E_INVALID_CRON');
    const missing = new NotFoundError('storage_config', 'sc-1');
    expect(missing).toMatchObject({ code: 'E_NOT_FOUND', entity: 'storage_config', details: { entity: 'storage_config', id: 'sc-1' } });
    expect(missing.message).toBe('Storage config sc-1 was not found');
    const adapter = new BackupSdkError('E_ADAPTER', 'the CRM said no', { details: { status: 503 } });
    expect(adapter.toJSON()).toMatchObject({ code: 'E_ADAPTER', details: { status: 503 } });
  });

  it('the types refuse codes outside the catalogue (checked by npm run typecheck)', () => {
    // Each line below must be a type error; an unused @ts-expect-error fails the typecheck.
    // @ts-expect-error not a catalogue code
    const bad: ErrorCode = 'E_NOT_A_CODE';
    // @ts-expect-error a warning code is not an error code
    const crossed: ErrorCode = 'W_RECORD_FAILED';
    // @ts-expect-error the old warning name is no longer a code
    const renamed: WarningCode = 'E_FILESTORE_MISSING';
    // @ts-expect-error a storage error takes only E_STORAGE_* codes of the catalogue
    const storage = new StorageError('E_STORAGE_BANANA', 'x');
    // @ts-expect-error a source error does not take a storage code
    const source = new SourceError('E_STORAGE', 'x');
    // @ts-expect-error NotFoundError names an entity from its union
    const entity = new NotFoundError('Backup', 'b-1');
    expect([bad, crossed, renamed, storage.code, source.code, entity.code]).toHaveLength(6);
  });
});
