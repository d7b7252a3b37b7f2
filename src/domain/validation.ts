import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../errors/errors.js';
import { BACKUP_STATUSES, BACKUP_TYPES, RETENTION_TYPES } from './enums.js';
import { isValidTimeZone } from './zoned-time.js';

/**
 * Input schemas of the product, as zod schemas. Hosts may reuse them in their own HTTP layer;
 * services validate with {@link parseInput}, which throws a {@link ValidationError} naming
 * every bad field before any side effect.
 */

/** A UUID (any version), as the product's ids are. */
export const UuidSchema = z.uuid({ message: 'must be a UUID' });

/** True when `expr` is a standard 5-field cron expression that fires. */
export function isValidCron(expr: string): boolean {
  return cronProblem(expr) === null;
}

/** One standard cron field: `*`, numbers or names, ranges, lists and `/step`; no `?`, `L`, `W`, `#` or `H`. */
const CRON_ITEM = String.raw`(?:\*|(?:[0-9]+|[A-Za-z]{3})(?:-(?:[0-9]+|[A-Za-z]{3}))?)(?:/[0-9]+)?`;
const STANDARD_CRON_FIELD = new RegExp(`^${CRON_ITEM}(?:,${CRON_ITEM})*$`);
const CRON_FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
/** Lowest and highest value of each field (day of week 7 is Sunday, as 0). */
const CRON_RANGES = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
] as const;
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTH_WORDS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
/** Longest month lengths (February has 29 days in leap years). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A field's token as a number: digits, or a month or day name in its own field; NaN otherwise. */
function cronValue(token: string, field: number): number {
  if (/^[0-9]+$/.test(token)) return Number(token);
  const names = field === 3 ? MONTH_NAMES : field === 4 ? DAY_NAMES : [];
  const at = names.indexOf(token.toLowerCase());
  return at < 0 ? Number.NaN : field === 3 ? at + 1 : at;
}

/**
 * The values a field matches, or why it is wrong, in our own words (cron-parser's messages do not
 * say which field they mean).
 */
function expandCronField(text: string, field: number): number[] | string {
  const name = CRON_FIELD_NAMES[field]!;
  const [min, max] = CRON_RANGES[field]!;
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step === 0) return `${name} "${item}" has a step of 0`;
    const [from, last] = range === '*' ? [min, max] : range.split('-').map((t) => cronValue(t, field));
    if (from === undefined || Number.isNaN(from) || (last !== undefined && Number.isNaN(last)))
      return `${name} "${item}" holds an unknown name (months are JAN-DEC, days SUN-SAT)`;
    // `a/n` runs from a to the field's end, as in every cron.
    const to = last ?? (stepText === undefined ? from : max);
    for (const v of [from, to]) if (v < min || v > max) return `${name} ${v} is outside ${min}-${max}`;
    if (from > to) return `${name} range "${range}" runs backwards`;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values];
}

function cronProblem(expr: string): string | null {
  if (typeof expr !== 'string') return 'must be a string';
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '')
    return `must have exactly 5 fields (minute hour day-of-month month day-of-week), got ${fields[0] === '' ? 0 : fields.length}`;
  const expanded: number[][] = [];
  for (const [i, field] of fields.entries()) {
    // Names (JAN, MON) belong to the month and day-of-week fields only.
    const syntaxOk = STANDARD_CRON_FIELD.test(field) && (i >= 3 || /^[0-9*,/-]+$/.test(field));
    if (!syntaxOk)
      return `has a non-standard ${CRON_FIELD_NAMES[i]} field "${field}" (use numbers, names, *, ranges a-b, lists a,b and steps /n; ? L W # H are not supported)`;
    const values = expandCronField(field, i);
    if (typeof values === 'string') return values;
    expanded.push(values);
  }
  // With day-of-week `*`, only the days of the month count: they must fall in some month named.
  const [, , days, months] = expanded as [number[], number[], number[], number[], number[]];
  if (fields[4] === '*' && !months.some((m) => days.some((d) => d <= DAYS_IN_MONTH[m - 1]!))) {
    const monthWords = months.map((m) => MONTH_WORDS[m - 1]).join(' or ');
    return `never fires: day-of-month ${fields[2]} never falls in ${monthWords}`;
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { tz: 'UTC' });
    return null;
  } catch {
    // Every fault cron-parser knows is caught above; its own words (which name no field) stay out.
    return 'is not a valid cron expression';
  }
}

/**
 * A standard 5-field cron expression (0 and 7 are Sunday) that fires. Its issues carry
 * `params.code: 'E_INVALID_CRON'`, which {@link parseInput} reports as that code.
 */
export const CronSchema = z.string().superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { code: 'E_INVALID_CRON' } });
});

function timeZoneProblem(timeZone: string): string | null {
  if (!isValidTimeZone(timeZone)) return 'must be an IANA time zone name such as "UTC" or "Europe/Brussels"';
  // Intl accepts any letter case; other systems (zoneinfo files, PostgreSQL on some platforms) do not.
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  if (resolved !== timeZone && resolved.toLowerCase() === timeZone.toLowerCase()) return `must be spelled "${resolved}"`;
  return null;
}

/** An IANA time zone name such as `Europe/Brussels` or `UTC`, spelled with its proper letter case. */
export const TimezoneSchema = z.string().superRefine((value, ctx) => {
  const problem = timeZoneProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const BackupTypeSchema = z.enum(BACKUP_TYPES as [string, ...string[]]) as z.ZodType<(typeof BACKUP_TYPES)[number]>;
const RetentionTypeSchema = z.enum(RETENTION_TYPES as [string, ...string[]]) as z.ZodType<(typeof RETENTION_TYPES)[number]>;
const BackupStatusSchema = z.enum(BACKUP_STATUSES as [string, ...string[]]) as z.ZodType<(typeof BACKUP_STATUSES)[number]>;

const intIn = (min: number, max: number) =>
  z
    .number()
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be >= ${min}` })
    .max(max, { message: `must be <= ${max}` });

/** The product's `BackupCreate` request body. */
export const BackupCreateSchema = z.strictObject({
  backup_type: BackupTypeSchema.default('manual'),
  storage_config_id: UuidSchema.nullish().transform((v) => v ?? null),
  include_filestore: z.boolean().default(true),
  retention_type: RetentionTypeSchema.nullish().transform((v) => v ?? null),
});
/** A validated {@link BackupCreateSchema} with defaults applied. */
export type BackupCreate = z.output<typeof BackupCreateSchema>;
/** What callers may send as a {@link BackupCreate}. */
export type BackupCreateInput = z.input<typeof BackupCreateSchema>;

const policyFields = {
  is_enabled: z.boolean(),
  schedule_cron: CronSchema,
  timezone: TimezoneSchema,
  daily_retention: intIn(0, 365),
  weekly_retention: intIn(0, 52),
  monthly_retention: intIn(0, 60),
  yearly_retention: intIn(0, 10),
  weekly_backup_day: intIn(0, 6),
  storage_config_id: UuidSchema.nullable(),
  notify_on_success: z.boolean(),
  notify_on_failure: z.boolean(),
  require_encryption: z.boolean(),
  secondary_storage_config_id: UuidSchema.nullable(),
};

/** The product's `BackupPolicyCreate`, with the default settings for omitted fields. */
export const BackupPolicyCreateSchema = z.strictObject({
  is_enabled: policyFields.is_enabled.default(true),
  schedule_cron: policyFields.schedule_cron.default('0 2 * * *'),
  timezone: policyFields.timezone.default('UTC'),
  daily_retention: policyFields.daily_retention.default(7),
  weekly_retention: policyFields.weekly_retention.default(4),
  monthly_retention: policyFields.monthly_retention.default(12),
  yearly_retention: policyFields.yearly_retention.default(2),
  weekly_backup_day: policyFields.weekly_backup_day.default(6),
  storage_config_id: policyFields.storage_config_id.optional().transform((v) => v ?? null),
  notify_on_success: policyFields.notify_on_success.default(false),
  notify_on_failure: policyFields.notify_on_failure.default(true),
  require_encryption: policyFields.require_encryption.default(false),
  secondary_storage_config_id: policyFields.secondary_storage_config_id.optional().transform((v) => v ?? null),
});
/** A validated {@link BackupPolicyCreateSchema} with defaults applied. */
export type BackupPolicyCreate = z.output<typeof BackupPolicyCreateSchema>;
/** What callers may send as a {@link BackupPolicyCreate}. */
export type BackupPolicyCreateInput = z.input<typeof BackupPolicyCreateSchema>;

/** The product's PATCH body for a policy: any subset of the create fields; only given fields change. */
export const BackupPolicyUpdateSchema = z.strictObject({
  is_enabled: policyFields.is_enabled.optional(),
  schedule_cron: policyFields.schedule_cron.optional(),
  timezone: policyFields.timezone.optional(),
  daily_retention: policyFields.daily_retention.optional(),
  weekly_retention: policyFields.weekly_retention.optional(),
  monthly_retention: policyFields.monthly_retention.optional(),
  yearly_retention: policyFields.yearly_retention.optional(),
  weekly_backup_day: policyFields.weekly_backup_day.optional(),
  storage_config_id: policyFields.storage_config_id.optional(),
  notify_on_success: policyFields.notify_on_success.optional(),
  notify_on_failure: policyFields.notify_on_failure.optional(),
  require_encryption: policyFields.require_encryption.optional(),
  secondary_storage_config_id: policyFields.secondary_storage_config_id.optional(),
});
/** A validated policy update. */
export type BackupPolicyUpdate = z.output<typeof BackupPolicyUpdateSchema>;

/** Query numbers may arrive as strings from a URL: accept "2" as 2, refuse "2.5" and "abc". */
const queryInt = (min: number, max: number, dflt: number) =>
  z
    .preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), intIn(min, max))
    .default(dflt) as unknown as z.ZodDefault<z.ZodNumber>;

/** Filters and paging of the product's list endpoint: page >= 1, page_size 1..100 (default 20). */
export const BackupListQuerySchema = z.strictObject({
  status: BackupStatusSchema.optional(),
  backup_type: BackupTypeSchema.optional(),
  page: queryInt(1, Number.MAX_SAFE_INTEGER, 1),
  page_size: queryInt(1, 100, 20),
});
/** A validated list query. */
export type BackupListQuery = z.output<typeof BackupListQuerySchema>;

/** The download endpoint's query: expires_in 300..86400 seconds, default 3600. */
export const DownloadQuerySchema = z.strictObject({
  expires_in: queryInt(300, 86_400, 3600),
});
/** A validated download query. */
export type DownloadQuery = z.output<typeof DownloadQuerySchema>;

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  string: 'a string',
  object: 'an object',
  array: 'an array',
};

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Converts zod's issues into {@link ValidationIssue}s with dotted field paths. Pass the parsed
 * `input` so a missing field ("is required") is told apart from one of the wrong type.
 */
export function toValidationIssues(error: z.ZodError, input?: unknown): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const prefix = issue.path.map(String);
    const field = prefix.join('.');
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ field: [...prefix, key].join('.'), message: 'is not a known field' }));
    if (issue.code === 'invalid_type') {
      const value = issue.input !== undefined ? issue.input : valueAt(input, issue.path);
      if (value === undefined) return [{ field, message: 'is required' }];
      return [{ field, message: `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(value)}` }];
    }
    if (issue.code === 'invalid_value')
      return [{ field, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    return [{ field, message: issue.message }];
  });
}

/**
 * Validates `input` against `schema` and returns the parsed value with defaults applied.
 * Throws a {@link ValidationError} naming every bad field (code `E_INVALID_CRON` when the only
 * fault is a cron expression, else `E_VALIDATION`). This is how an HTTP layer turns a request
 * body into a service's typed input: `createBackup(id, parseInput(BackupCreateSchema, body), actor)`.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw new ValidationError(toValidationIssues(result.error, input ?? {}), undefined, validationCodeOf(result.error));
  return result.data;
}

/**
 * The code of a failed parse: `E_INVALID_CRON` when every issue is a cron expression's (one
 * fault, one code, wherever a cron is checked), else `E_VALIDATION`, whose issues name every bad
 * field, the cron included.
 */
export function validationCodeOf(error: z.ZodError): 'E_VALIDATION' | 'E_INVALID_CRON' {
  const cronOnly = error.issues.every((issue) => issue.code === 'custom' && issue.params?.['code'] === 'E_INVALID_CRON');
  return cronOnly ? 'E_INVALID_CRON' : 'E_VALIDATION';
}

/** Throws a {@link ValidationError} unless `id` is a UUID; `field` names it in the error. */
export function assertUuid(id: unknown, field = 'id'): asserts id is string {
  if (!UuidSchema.safeParse(id).success) throw new ValidationError([{ field, message: 'must be a UUID' }]);
}
