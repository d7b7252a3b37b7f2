import { describe, expect, it } from 'vitest';
import {
  BackupCreateSchema,
  BackupListQuerySchema,
  BackupPolicyCreateSchema,
  BackupPolicyUpdateSchema,
  DownloadQuerySchema,
  ValidationError,
  isValidCron,
  parseInput,
} from '../../../src/index.js';
import { assertUuid } from '../../../src/domain/validation.js';

const UUID = '550e8400-e29b-41d4-a716-446655440000';

/** Parses and returns the ValidationError, failing the test if the input was accepted. */
function rejection(schema: Parameters<typeof parseInput>[0], input: unknown): ValidationError {
  try {
    parseInput(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

type Row = [description: string, input: Record<string, unknown>, field: string];

/** Each row must be rejected with exactly one issue, on `field`, with a message, and `code`. */
function rejects(schema: Parameters<typeof parseInput>[0], rows: Row[], code: 'E_VALIDATION' | 'E_INVALID_CRON' = 'E_VALIDATION') {
  it.each(rows)('rejects %s', (_d, input, field) => {
    const error = rejection(schema, input);
    expect(error.code).toBe(code);
    expect(error.issues.map((i) => i.field)).toEqual([field]);
    expect(error.issues[0]!.message.length).toBeGreaterThan(3);
    expect(error.message).toContain(field);
    expect(error.details).toEqual({ issues: error.issues });
  });
}

describe('BackupCreate', () => {
  it('applies the default settings to an empty body (and to a missing one)', () => {
    const expected = { backup_type: 'manual', storage_config_id: null, include_filestore: true, retention_type: null };
    expect(parseInput(BackupCreateSchema, {})).toEqual(expected);
    expect(parseInput(BackupCreateSchema, undefined)).toEqual(expected);
  });
  it.each([
    [{ backup_type: 'pre_upgrade' }, { backup_type: 'pre_upgrade' }],
    [{ backup_type: 'scheduled' }, { backup_type: 'scheduled' }],
    [{ storage_config_id: UUID }, { storage_config_id: UUID }],
    [{ storage_config_id: UUID.toUpperCase() }, { storage_config_id: UUID.toUpperCase() }],
    [{ storage_config_id: null }, { storage_config_id: null }],
    [{ include_filestore: false }, { include_filestore: false }],
    [{ retention_type: 'permanent' }, { retention_type: 'permanent' }],
    [{ retention_type: null }, { retention_type: null }],
  ])('accepts %j', (input, expected) => {
    expect(parseInput(BackupCreateSchema, input)).toMatchObject(expected);
  });
  rejects(BackupCreateSchema, [
    ['an unknown backup_type', { backup_type: 'hourly' }, 'backup_type'],
    ['a backup_type of the wrong case', { backup_type: 'MANUAL' }, 'backup_type'],
    ['a null backup_type', { backup_type: null }, 'backup_type'],
    ['a storage_config_id that is not a UUID', { storage_config_id: 'uuid-of-storage-config' }, 'storage_config_id'],
    ['a storage_config_id without dashes', { storage_config_id: UUID.replaceAll('-', '') }, 'storage_config_id'],
    ['a storage_config_id in braces', { storage_config_id: `{${UUID}}` }, 'storage_config_id'],
    ['a storage_config_id with a trailing newline', { storage_config_id: `${UUID}\n` }, 'storage_config_id'],
    ['a numeric storage_config_id', { storage_config_id: 42 }, 'storage_config_id'],
    ['include_filestore as a string', { include_filestore: 'true' }, 'include_filestore'],
    ['include_filestore as 1', { include_filestore: 1 }, 'include_filestore'],
    ['an unknown retention_type', { retention_type: 'hourly' }, 'retention_type'],
    ['an unknown field', { environment_id: UUID }, 'environment_id'],
  ]);
  it('names every bad field at once', () => {
    const error = rejection(BackupCreateSchema, { backup_type: 'x', include_filestore: 'no', retention_type: 5 });
    expect(error.issues.map((i) => i.field).sort()).toEqual(['backup_type', 'include_filestore', 'retention_type']);
  });
  it('rejects a body that is not an object', () => {
    for (const body of [[], 'manual', 7, true]) expect(rejection(BackupCreateSchema, body).issues[0]!.message).toMatch(/must be an object/);
  });
});

describe('BackupPolicyCreate', () => {
  it('applies the default settings (daily 02:00 UTC, 7/4/12/2, Sunday, notify on failure)', () => {
    expect(parseInput(BackupPolicyCreateSchema, {})).toEqual({
      is_enabled: true,
      schedule_cron: '0 2 * * *',
      timezone: 'UTC',
      daily_retention: 7,
      weekly_retention: 4,
      monthly_retention: 12,
      yearly_retention: 2,
      weekly_backup_day: 6,
      storage_config_id: null,
      notify_on_success: false,
      notify_on_failure: true,
      require_encryption: false,
      secondary_storage_config_id: null,
    });
  });
  const edges: [string, number, number][] = [
    ['daily_retention', 0, 365],
    ['weekly_retention', 0, 52],
    ['monthly_retention', 0, 60],
    ['yearly_retention', 0, 10],
    ['weekly_backup_day', 0, 6],
  ];
  it.each(edges)('accepts %s at both edges of %i..%i and in between', (field, min, max) => {
    for (const value of [min, max, Math.floor((min + max) / 2)])
      expect(parseInput(BackupPolicyCreateSchema, { [field]: value })[field as 'daily_retention']).toBe(value);
  });
  rejects(
    BackupPolicyCreateSchema,
    edges.flatMap(([field, min, max]): Row[] => [
      [`${field} ${min - 1}`, { [field]: min - 1 }, field],
      [`${field} ${max + 1}`, { [field]: max + 1 }, field],
      [`${field} 1.5`, { [field]: 1.5 }, field],
      [`${field} as a string`, { [field]: String(max) }, field],
      [`${field} null`, { [field]: null }, field],
      [`${field} NaN`, { [field]: Number.NaN }, field],
      [`${field} Infinity`, { [field]: Number.POSITIVE_INFINITY }, field],
    ]),
  );
  it('rejects the product example edges exactly: daily_retention 366, -1 and 1.5', () => {
    for (const v of [366, -1, 1.5])
      expect(rejection(BackupPolicyCreateSchema, { daily_retention: v }).issues).toEqual([
        { field: 'daily_retention', message: expect.any(String) },
      ]);
    expect(rejection(BackupPolicyCreateSchema, { daily_retention: 366 }).issues[0]!.message).toBe('must be <= 365');
    expect(rejection(BackupPolicyCreateSchema, { daily_retention: -1 }).issues[0]!.message).toBe('must be >= 0');
    expect(rejection(BackupPolicyCreateSchema, { daily_retention: 1.5 }).issues[0]!.message).toMatch(/whole number/);
  });

  const goodCrons = [
    '0 2 * * *',
    '30 8 * * 1-5',
    '0 3 * * 0',
    '0 3 * * 7',
    '*/15 * * * *',
    '0 0 1 * *',
    '0 4 1 1 *',
    '0 2 * * MON-FRI',
    '0 2 1 JAN,JUL *',
    '5,35 0-23/2 * * *',
    '  0 2 * * *  ',
    '59 23 31 12 6',
  ];
  it.each(goodCrons)('accepts the 5-field cron %j', (cron) => {
    expect(parseInput(BackupPolicyCreateSchema, { schedule_cron: cron }).schedule_cron).toBe(cron);
    expect(isValidCron(cron)).toBe(true);
  });
  const badCrons: [string, string][] = [
    ['six fields (seconds)', '0 0 2 * * *'],
    ['four fields', '0 2 * *'],
    ['a macro', '@daily'],
    ['empty', ''],
    ['blank', '   '],
    ['minute 60', '60 * * * *'],
    ['hour 24', '0 24 * * *'],
    ['day of month 0', '0 2 0 * *'],
    ['day of month 32', '0 2 32 * *'],
    ['month 13', '0 2 * 13 *'],
    ['day of week 8', '0 2 * * 8'],
    ['a date that never occurs', '0 2 31 2 *'],
    ['a zero step', '*/0 * * * *'],
    ['a reversed range', '0 5-1 * * *'],
    ['Quartz ?', '0 2 ? * *'],
    ['Quartz L', '0 2 L * *'],
    ['Quartz W', '0 2 15W * *'],
    ['Quartz #', '0 2 * * 5#3'],
    ['Quartz 1L', '0 2 * * 1L'],
    ['Jenkins H', 'H 2 * * *'],
    ['a name in the hour field', '0 MON * * *'],
    ['two lines', '0 2 * * *\n0 3 * * *'],
    ['garbage', 'every day at two'],
  ];
  rejects(
    BackupPolicyCreateSchema,
    badCrons.map(([d, cron]): Row => [`a cron with ${d} (${JSON.stringify(cron)})`, { schedule_cron: cron }, 'schedule_cron']),
    'E_INVALID_CRON',
  );
  it('says why a cron was refused, in its own words', () => {
    const why = (cron: string) => rejection(BackupPolicyCreateSchema, { schedule_cron: cron }).issues[0]!.message;
    expect(why('0 0 2 * * *')).toMatch(/exactly 5 fields.*got 6/);
    expect(why('0 2 L * *')).toMatch(/day-of-month.*not supported/);
    expect(why('0 0 30 2 *')).toBe('never fires: day-of-month 30 never falls in February');
    expect(why('0 0 31 4,6 *')).toBe('never fires: day-of-month 31 never falls in April or June');
    expect(why('60 * * * *')).toBe('minute 60 is outside 0-59');
    expect(why('0 2 * * 8')).toBe('day-of-week 8 is outside 0-7');
    expect(why('0 5-1 * * *')).toBe('hour range "5-1" runs backwards');
    expect(why('*/0 * * * *')).toBe('minute "*/0" has a step of 0');
    expect(why('0 2 1 FOO *')).toMatch(/^month "FOO" holds an unknown name/);
    // cron-parser's own messages (which name no field) never reach the caller.
    for (const [, cron] of badCrons) expect(why(cron)).not.toMatch(/Constraint error|Invalid explicit|Validation error|Invalid range/);
  });
  it('fires on a day that some month named has, and on a day of week whatever the day of month', () => {
    for (const cron of ['0 0 29 2 *', '0 0 30 1-2 *', '0 0 30 2 1', '0 0 31 */2 *']) expect(isValidCron(cron), cron).toBe(true);
  });
  it('reports E_INVALID_CRON only when the cron is the one fault: with other bad fields, E_VALIDATION naming them all', () => {
    const error = rejection(BackupPolicyCreateSchema, { schedule_cron: '0 0 30 2 *', daily_retention: 999 });
    expect(error.code).toBe('E_VALIDATION');
    expect(error.issues.map((i) => i.field).sort()).toEqual(['daily_retention', 'schedule_cron']);
  });

  it.each([
    'UTC',
    'Europe/Brussels',
    'America/Argentina/Buenos_Aires',
    'Asia/Kolkata',
    'Etc/GMT+1',
    'Pacific/Chatham',
    'America/Port-au-Prince',
  ])('accepts the IANA zone %s', (tz) => {
    expect(parseInput(BackupPolicyCreateSchema, { timezone: tz }).timezone).toBe(tz);
  });
  rejects(
    BackupPolicyCreateSchema,
    (
      [
        ['an unknown zone', 'Mars/Olympus_Mons'],
        ['an offset', '+01:00'],
        ['a negative offset', '-05:00'],
        ['a compact offset', '+0100'],
        ['a lowercase name', 'europe/brussels'],
        ['lowercase utc', 'utc'],
        ['a name with spaces', ' UTC'],
        ['empty', ''],
        ['"local"', 'Local'],
      ] as const
    ).map(([d, tz]): Row => [`timezone: ${d}`, { timezone: tz }, 'timezone']),
  );
  it('suggests the proper spelling of a zone in the wrong case', () => {
    expect(rejection(BackupPolicyCreateSchema, { timezone: 'europe/brussels' }).issues[0]!.message).toBe(
      'must be spelled "Europe/Brussels"',
    );
  });

  rejects(BackupPolicyCreateSchema, [
    ['is_enabled as a string', { is_enabled: 'yes' }, 'is_enabled'],
    ['notify_on_success as 0', { notify_on_success: 0 }, 'notify_on_success'],
    ['notify_on_failure null', { notify_on_failure: null }, 'notify_on_failure'],
    ['a storage_config_id that is not a UUID', { storage_config_id: 'uuid-of-storage' }, 'storage_config_id'],
    ['an unknown field', { environment_id: UUID }, 'environment_id'],
    ['a numeric schedule', { schedule_cron: 2 }, 'schedule_cron'],
  ]);
  it('accepts a storage_config_id UUID or null', () => {
    expect(parseInput(BackupPolicyCreateSchema, { storage_config_id: UUID }).storage_config_id).toBe(UUID);
    expect(parseInput(BackupPolicyCreateSchema, { storage_config_id: null }).storage_config_id).toBeNull();
  });
  it('tells a missing field from a wrong type in messages', () => {
    expect(rejection(BackupPolicyCreateSchema, { daily_retention: null }).issues[0]!.message).toBe('must be a number, got null');
    expect(rejection(BackupPolicyCreateSchema, { is_enabled: 'yes' }).issues[0]!.message).toBe('must be true or false, got a string');
  });
});

describe('BackupPolicyUpdate', () => {
  it('keeps only the given fields (no defaults fill in)', () => {
    expect(parseInput(BackupPolicyUpdateSchema, {})).toEqual({});
    expect(parseInput(BackupPolicyUpdateSchema, { daily_retention: 0, is_enabled: false })).toEqual({
      daily_retention: 0,
      is_enabled: false,
    });
    expect(parseInput(BackupPolicyUpdateSchema, { storage_config_id: null })).toEqual({ storage_config_id: null });
    expect(
      parseInput(BackupPolicyUpdateSchema, {
        yearly_retention: 10,
        weekly_backup_day: 0,
        timezone: 'Asia/Tokyo',
        schedule_cron: '0 1 * * 0',
      }),
    ).toEqual({
      yearly_retention: 10,
      weekly_backup_day: 0,
      timezone: 'Asia/Tokyo',
      schedule_cron: '0 1 * * 0',
    });
  });
  rejects(BackupPolicyUpdateSchema, [
    ['daily_retention 366', { daily_retention: 366 }, 'daily_retention'],
    ['weekly_retention 53', { weekly_retention: 53 }, 'weekly_retention'],
    ['monthly_retention 61', { monthly_retention: 61 }, 'monthly_retention'],
    ['yearly_retention 11', { yearly_retention: 11 }, 'yearly_retention'],
    ['weekly_backup_day 7', { weekly_backup_day: 7 }, 'weekly_backup_day'],
    ['weekly_backup_day -1', { weekly_backup_day: -1 }, 'weekly_backup_day'],
    ['an unknown zone', { timezone: 'Nowhere/City' }, 'timezone'],
    ['a null timezone', { timezone: null }, 'timezone'],
    ['a null is_enabled', { is_enabled: null }, 'is_enabled'],
    ['an id in the body', { id: UUID }, 'id'],
    ['environment_id in the body', { environment_id: UUID }, 'environment_id'],
    ['next_backup_at in the body', { next_backup_at: '2026-01-01T00:00:00Z' }, 'next_backup_at'],
  ]);
  rejects(BackupPolicyUpdateSchema, [['a six-field cron', { schedule_cron: '0 0 2 * * *' }, 'schedule_cron']], 'E_INVALID_CRON');
});

describe('BackupListQuery', () => {
  it('defaults to page 1 of 20 and reads numbers from query strings', () => {
    expect(parseInput(BackupListQuerySchema, {})).toEqual({ page: 1, page_size: 20 });
    expect(parseInput(BackupListQuerySchema, { page: '3', page_size: '100', status: 'completed', backup_type: 'scheduled' })).toEqual({
      page: 3,
      page_size: 100,
      status: 'completed',
      backup_type: 'scheduled',
    });
  });
  it.each([
    [{ page: 1 }, { page: 1 }],
    [{ page: 1_000_000 }, { page: 1_000_000 }],
    [{ page_size: 1 }, { page_size: 1 }],
    [{ page_size: 100 }, { page_size: 100 }],
    [{ page_size: '1' }, { page_size: 1 }],
    [{ status: 'expired' }, { status: 'expired' }],
    [{ backup_type: 'pre_destroy' }, { backup_type: 'pre_destroy' }],
  ])('accepts %j', (input, expected) => {
    expect(parseInput(BackupListQuerySchema, input)).toMatchObject(expected);
  });
  rejects(BackupListQuerySchema, [
    ['page 0', { page: 0 }, 'page'],
    ['page "0"', { page: '0' }, 'page'],
    ['page -1', { page: -1 }, 'page'],
    ['page 1.5', { page: 1.5 }, 'page'],
    ['page "1.5"', { page: '1.5' }, 'page'],
    ['page "abc"', { page: 'abc' }, 'page'],
    ['page ""', { page: '' }, 'page'],
    ['page "1e3"', { page: '1e3' }, 'page'],
    ['page_size 0', { page_size: 0 }, 'page_size'],
    ['page_size 101', { page_size: 101 }, 'page_size'],
    ['page_size "101"', { page_size: '101' }, 'page_size'],
    ['page_size 20.5', { page_size: 20.5 }, 'page_size'],
    ['an unknown status', { status: 'done' }, 'status'],
    ['a status list', { status: 'completed,failed' }, 'status'],
    ['an unknown backup_type', { backup_type: 'hourly' }, 'backup_type'],
    ['an unknown parameter', { sort: 'created_at' }, 'sort'],
  ]);
});

describe('DownloadQuery', () => {
  it('defaults expires_in to 3600 and accepts 300..86400, numbers or numeric strings', () => {
    expect(parseInput(DownloadQuerySchema, {})).toEqual({ expires_in: 3600 });
    for (const v of [300, 86_400, 301, 86_399, '300', '86400'])
      expect(parseInput(DownloadQuerySchema, { expires_in: v }).expires_in).toBe(Number(v));
  });
  rejects(DownloadQuerySchema, [
    ['expires_in 299', { expires_in: 299 }, 'expires_in'],
    ['expires_in 86401', { expires_in: 86_401 }, 'expires_in'],
    ['expires_in "299"', { expires_in: '299' }, 'expires_in'],
    ['expires_in 0', { expires_in: 0 }, 'expires_in'],
    ['expires_in 3600.5', { expires_in: 3600.5 }, 'expires_in'],
    ['expires_in "1h"', { expires_in: '1h' }, 'expires_in'],
    ['expires_in null', { expires_in: null }, 'expires_in'],
    ['an unknown parameter', { filename: 'x.zip' }, 'filename'],
  ]);
  it('says the range', () => {
    expect(rejection(DownloadQuerySchema, { expires_in: 299 }).issues[0]!.message).toBe('must be >= 300');
    expect(rejection(DownloadQuerySchema, { expires_in: 86_401 }).issues[0]!.message).toBe('must be <= 86400');
  });
});

describe('UUIDs', () => {
  it.each([
    UUID,
    UUID.toUpperCase(),
    '00000000-0000-0000-0000-000000000000',
    '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    '01890a5d-ac96-774b-bcce-b302099a8057',
  ])('accepts %s', (id) => {
    expect(() => assertUuid(id, 'backup_id')).not.toThrow();
  });
  it.each([
    '',
    'not-a-uuid',
    UUID.slice(0, -1),
    `${UUID}0`,
    UUID.replaceAll('-', ''),
    `../${UUID}`,
    `${UUID}/..`,
    ' '.concat(UUID),
    42,
    null,
    undefined,
    { id: UUID },
  ])('rejects %j naming the field', (id) => {
    try {
      assertUuid(id, 'backup_id');
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([{ field: 'backup_id', message: 'must be a UUID' }]);
    }
  });
});
