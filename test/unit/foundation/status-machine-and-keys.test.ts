import { describe, expect, it } from 'vitest';
import {
  BACKUP_STATUSES,
  ConflictError,
  InvalidTransitionError,
  TASK_STATUSES,
  ValidationError,
  type BackupStatus,
  type TaskStatus,
} from '../../../src/index.js';
import {
  assertBackupTransition,
  assertTaskTransition,
  canTransitionBackup,
  canTransitionTask,
} from '../../../src/domain/status-machine.js';
import { backupStorageKey, environmentStoragePrefix } from '../../../src/domain/storage-keys.js';

// The lifecycle as the product describes it, written out independently of src/domain/status-machine.ts.
const LEGAL_BACKUP_MOVES = new Set([
  'pending>in_progress', // the worker starts
  'pending>failed', // resolution or quota failure before any work
  'pending>deleted', // the user deletes a queued backup
  'in_progress>uploading',
  'in_progress>failed',
  'in_progress>pending', // reset between job tries
  'uploading>completed',
  'uploading>failed',
  'uploading>pending', // reset between job tries
  'completed>expired', // retention
  'completed>deleted', // the user deletes it
  'failed>pending', // retry of a failed job
  'failed>deleted',
  'expired>deleted', // storage cleaned up
]);

const LEGAL_TASK_MOVES = new Set([
  'pending>queued',
  'pending>running',
  'pending>failed',
  'queued>running',
  'queued>failed',
  'running>completed',
  'running>failed',
  'running>queued',
  'failed>queued',
]);

const pairs = <S extends string>(all: readonly S[]) => all.flatMap((from) => all.map((to) => [from, to] as [S, S]));

describe('backup status machine', () => {
  it.each(pairs(BACKUP_STATUSES))('%s -> %s', (from, to) => {
    const legal = LEGAL_BACKUP_MOVES.has(`${from}>${to}`);
    expect(canTransitionBackup(from, to)).toBe(legal);
    if (legal) {
      expect(() => assertBackupTransition(from, to, 'b-1')).not.toThrow();
    } else {
      let error: unknown;
      try {
        assertBackupTransition(from, to, 'b-1');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect(error).toMatchObject({ code: 'E_INVALID_TRANSITION', details: { entity: 'Backup', id: 'b-1', from, to } });
      expect((error as Error).message).toBe(`Backup b-1 cannot move from '${from}' to '${to}'`);
    }
  });
  it('deleted is final and nothing returns to completed except from uploading', () => {
    for (const to of BACKUP_STATUSES) expect(canTransitionBackup('deleted', to)).toBe(false);
    expect(BACKUP_STATUSES.filter((from) => canTransitionBackup(from, 'completed'))).toEqual(['uploading']);
  });
  it('an illegal move is a conflict (E_INVALID_TRANSITION is a ConflictError)', () => {
    expect(() => assertBackupTransition('completed' as BackupStatus, 'in_progress')).toThrow(ConflictError);
    expect(() => assertBackupTransition('completed', 'in_progress')).toThrow(/cannot move from 'completed' to 'in_progress'/);
  });
});

describe('task status machine', () => {
  it.each(pairs(TASK_STATUSES))('%s -> %s', (from, to) => {
    const legal = LEGAL_TASK_MOVES.has(`${from}>${to}`);
    expect(canTransitionTask(from, to)).toBe(legal);
    if (legal) expect(() => assertTaskTransition(from, to)).not.toThrow();
    else expect(() => assertTaskTransition(from as TaskStatus, to, 't-1')).toThrow(InvalidTransitionError);
  });
});

describe('storage keys', () => {
  const parts = {
    organization_id: '11111111-1111-4111-8111-111111111111',
    project_id: '22222222-2222-4222-8222-222222222222',
    environment_id: '33333333-3333-4333-8333-333333333333',
    backup_id: '44444444-4444-4444-8444-444444444444',
  };
  it('follows the product layout', () => {
    expect(backupStorageKey(parts)).toBe(
      'organizations/11111111-1111-4111-8111-111111111111/projects/22222222-2222-4222-8222-222222222222/environments/33333333-3333-4333-8333-333333333333/44444444-4444-4444-8444-444444444444.zip',
    );
    const prefix = environmentStoragePrefix(parts);
    expect(prefix).toBe(
      'organizations/11111111-1111-4111-8111-111111111111/projects/22222222-2222-4222-8222-222222222222/environments/33333333-3333-4333-8333-333333333333/',
    );
    expect(backupStorageKey(parts).startsWith(prefix)).toBe(true);
  });
  it('accepts plain ids of letters, digits, _ and - up to 128 characters', () => {
    for (const id of ['a', 'A1', 'env_42', 'org-1', 'x'.repeat(128), '0abc'])
      expect(backupStorageKey({ ...parts, backup_id: id })).toMatch(new RegExp(`/${id}\\.zip$`));
  });
  const hostile: [string, unknown][] = [
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['a parent path', '../other-org'],
    ['an embedded parent path', 'a/../../b'],
    ['a slash', 'a/b'],
    ['a leading slash', '/etc'],
    ['a backslash', 'a\\b'],
    ['a windows parent', '..\\x'],
    ['a NUL byte', 'a\0b'],
    ['a space', 'a b'],
    ['a newline', 'abc\n'],
    ['a leading dash', '-rf'],
    ['a leading underscore', '_x'],
    ['a dot inside', 'a.zip'],
    ['percent-encoding', '%2e%2e'],
    ['a colon', 'c:x'],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['a fullwidth solidus', 'a\uff0fb'],
    ['129 characters', 'x'.repeat(129)],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ];
  for (const field of Object.keys(parts) as (keyof typeof parts)[]) {
    it.each(hostile)(`rejects ${field} with %s`, (_d, value) => {
      let error: unknown;
      try {
        backupStorageKey({ ...parts, [field]: value as string });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual([field]);
    });
  }
  it('names every bad id at once', () => {
    try {
      backupStorageKey({ organization_id: '..', project_id: 'ok', environment_id: 'a/b', backup_id: 'ok' });
      throw new Error('accepted');
    } catch (error) {
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual(['organization_id', 'environment_id']);
    }
  });
  it('the environment prefix rejects hostile ids too', () => {
    expect(() => environmentStoragePrefix({ organization_id: 'o', project_id: '..', environment_id: 'e' })).toThrow(ValidationError);
  });
});
