// Typed inputs: the `@ts-expect-error` lines and `expectTypeOf` assertions below are checked by
// `npm run typecheck` (tsconfig includes test/); a line that starts to compile fails the build.
// The runtime half shows untyped (JavaScript) callers still get the same ValidationError.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  BackupCreateSchema,
  parseInput,
  RestoreRequestSchema,
  ValidationError,
  type BackupCreateInput,
  type BackupService,
  type EnvironmentSnapshotInput,
  type ResolvedEnvironment,
  type RestoreRequest,
  type RestoreRequestInput,
  type RestoreService,
} from '../../../src/index.js';
import { makeResolvedEnvironment, StaticEnvironmentResolver } from '../../../src/testing/index.js';
import { makeHarness } from '../backup-service/harness.js';

// Only called inside the type checks below (never run): the calls are what is being checked.
declare const backups: BackupService;
declare const restores: RestoreService;
declare const body: unknown;

describe('typed inputs (compile-time)', () => {
  it('createBackup refuses a misspelt field and accepts a parsed body', () => {
    expectTypeOf<Parameters<BackupService['createBackup']>[1]>().toEqualTypeOf<BackupCreateInput | undefined>();
    const typo = () =>
      // @ts-expect-error include_filestor is not a field of BackupCreateInput
      backups.createBackup('env', { include_filestor: false });
    const wrongType = () =>
      // @ts-expect-error include_filestore is a boolean
      backups.createBackup('env', { include_filestore: 'no' });
    const parsed = () => backups.createBackup('env', parseInput(BackupCreateSchema, body));
    expect([typo, wrongType, parsed].length).toBe(3);
  });

  it('restoreBackup takes one shape per mode', () => {
    expectTypeOf<Parameters<RestoreService['restoreBackup']>[1]>().toEqualTypeOf<RestoreRequestInput | RestoreRequest>();
    const calls = [
      () => restores.restoreBackup('b', { mode: 'replace' }),
      () => restores.restoreBackup('b', { mode: 'new_database', database_name: 'copy', as_copy: true }),
      // @ts-expect-error a new database is a copy or a move: as_copy has no default
      () => restores.restoreBackup('b', { mode: 'new_database', database_name: 'copy' }),
      // @ts-expect-error replace restores over the environment's own database: no database_name
      () => restores.restoreBackup('b', { mode: 'replace', database_name: 'x' }),
      // @ts-expect-error nor a filestore_path
      () => restores.restoreBackup('b', { mode: 'replace', filestore_path: '/srv/x' }),
      // @ts-expect-error new_database needs its database_name
      () => restores.restoreBackup('b', { mode: 'new_database', as_copy: true }),
      // @ts-expect-error a new database has nothing to back up first
      () => restores.restoreBackup('b', { mode: 'new_database', database_name: 'x', as_copy: true, pre_restore_backup: true }),
      // @ts-expect-error the mode is required
      () => restores.restoreBackup('b', {}),
      // @ts-expect-error a misspelt field
      () => restores.restoreBackup('b', { mode: 'replace', keep_previus: true }),
      // An HTTP layer's way in: parse the body, then the typed call.
      () => restores.restoreBackup('b', parseInput(RestoreRequestSchema, body)),
    ];
    expect(calls.length).toBe(10);
  });

  it('the typed inputs are ones the schemas accept, and a parsed request narrows by mode', () => {
    expectTypeOf<RestoreRequestInput>().toExtend<z.input<typeof RestoreRequestSchema>>();
    expectTypeOf<BackupCreateInput>().toExtend<z.input<typeof BackupCreateSchema>>();
    const name = (r: RestoreRequest) => (r.mode === 'new_database' ? r.database_name : null);
    expectTypeOf(name).returns.toEqualTypeOf<string | null>();
  });

  it('a resolved environment needs a real snapshot', () => {
    const base = makeResolvedEnvironment();
    // @ts-expect-error an empty snapshot
    const empty: ResolvedEnvironment = { ...base, snapshot: {} };
    // @ts-expect-error environment and project are objects
    const nonsense: ResolvedEnvironment = { ...base, snapshot: { environment: 'nonsense', project: 42 } };
    // @ts-expect-error environment.db_name and project.name are required
    const partial: EnvironmentSnapshotInput = { environment: { id: 'e', name: 'n' }, project: { id: 'p' } };
    const extra: EnvironmentSnapshotInput = {
      environment: { id: 'e', name: 'n', db_name: 'd', region: 'eu' },
      project: { id: 'p', name: 'P' },
      cluster: 'c1',
    };
    expect([empty, nonsense, partial, extra].length).toBe(4);
  });
});

describe('typed inputs (run time, for untyped callers)', () => {
  it('createBackup still names a misspelt field before writing anything', async () => {
    const h = await makeHarness();
    const untyped: Record<string, unknown> = { include_filestor: false };
    const error = await h.service.createBackup(h.env.environment_id, untyped as BackupCreateInput).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ field: 'include_filestor', message: 'is not a known field' }]);
    expect(h.tasks.created).toHaveLength(0);
  });

  it('an HTTP handler parses its body with the exported schema, then makes the typed call', async () => {
    const h = await makeHarness();
    const request = JSON.parse('{"backup_type":"manual","include_filestore":false}') as unknown;
    const created = await h.service.createBackup(h.env.environment_id, parseInput(BackupCreateSchema, request));
    expect((await h.backups.get(created.id))?.include_filestore).toBe(false);
    expect(() => parseInput(RestoreRequestSchema, { mode: 'replace', database_name: 'x' })).toThrow(
      /database_name: is refused in replace mode/,
    );
  });

  it('a resolver that returns an empty or wrong snapshot is refused before anything is written', async () => {
    for (const snapshot of [{}, { environment: 'nonsense', project: 42 }, { environment: { id: 'e', name: '' }, project: { id: 'p' } }]) {
      const env = { ...makeResolvedEnvironment(), snapshot } as unknown as ResolvedEnvironment;
      const h = await makeHarness({ service: { environments: new StaticEnvironmentResolver([env]) } });
      const error = await h.service.createBackup(env.environment_id, {}).catch((e: unknown) => e);
      expect(error, JSON.stringify(snapshot)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('E_VALIDATION');
      expect((error as ValidationError).issues.map((i) => i.field)).toContain('snapshot.environment.name');
      expect((error as ValidationError).message).toMatch(/environment resolver/);
      expect(h.tasks.created).toHaveLength(0);
    }
  });
});
