import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { SecretRef } from '../domain/entities.js';
import type { StorageProviderType } from '../domain/enums.js';
import { ValidationError } from '../errors/errors.js';
import { parseExpectedHostKey } from '../ssh/host-key.js';

/*
 * Strict schemas of each provider's `settings` and `credentials`, checked when a config is saved
 * (StorageConfigService) so a stored config cannot fail on a misspelt key or an out-of-range
 * number at backup time. They mirror what the provider builders read (s3-presets.ts,
 * ftp-options.ts, sftp-options.ts, registry.ts), and are stricter in two ways: unknown keys are
 * refused, and numbers and booleans must be JSON numbers and booleans (the builders also accept
 * the strings "16" or "true" of configs stored before these schemas existed).
 */

const hasDotDot = (path: string) => path.split('/').some((segment) => segment === '..');
const nonEmpty = z.string().trim().min(1, { message: 'must not be empty' });
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const between = (min: number, max: number) => z.number().min(min).max(max);
const httpUrl = z.string().refine(
  (value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);
const port = int(1, 65535).optional();
const retrySettings = { retries: int(0, 20).optional(), retry_min_delay_ms: between(0, 60_000).optional() };
const noDotDot = (what: string) => nonEmpty.refine((v) => !hasDotDot(v), { message: `${what} must not contain ".." segments` });
const hostKey = nonEmpty.superRefine((value, ctx) => {
  try {
    parseExpectedHostKey(value, 'settings.host_key');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  }
});

/** `memory` settings: `namespace` shares objects between instances (default: the config id). */
export const MemoryStorageSettingsSchema = z.strictObject({ namespace: nonEmpty.optional() });

/** `local` settings: `root`, an absolute folder on the machine running the SDK. */
export const LocalStorageSettingsSchema = z.strictObject({
  root: noDotDot('the path').refine((v) => isAbsolute(v), { message: 'must be an absolute path' }),
});

const s3Common = {
  bucket: nonEmpty,
  endpoint: httpUrl.optional(),
  force_path_style: z.boolean().optional(),
  prefix: z
    .string()
    .refine((v) => !hasDotDot(v), { message: 'must not contain ".." segments' })
    .optional(),
  part_size_mb: between(5, 5120).optional(),
  queue_size: int(1, 32).optional(),
  server_side_encryption: z.enum(['AES256', 'aws:kms', 'aws:kms:dsse']).optional(),
  sse_kms_key_id: nonEmpty.optional(),
  connect_timeout_ms: between(100, 600_000).optional(),
  socket_timeout_ms: between(100, 3_600_000).optional(),
  ...retrySettings,
};

/** `s3` settings (AWS, or another S3-compatible service through `endpoint`). */
export const S3StorageSettingsSchema = z.strictObject({ ...s3Common, region: nonEmpty.optional() });

/** `r2` settings: `account_id` (32 hex characters) unless `endpoint` is given; `jurisdiction` `eu` or `fedramp`. */
export const R2StorageSettingsSchema = z
  .strictObject({
    ...s3Common,
    account_id: z
      .string()
      .regex(/^[a-f0-9]{32}$/i, { message: 'must be the 32-character Cloudflare account id' })
      .optional(),
    jurisdiction: z.enum(['eu', 'fedramp']).optional(),
  })
  .refine((s) => s.account_id !== undefined || s.endpoint !== undefined, {
    path: ['account_id'],
    message: "is required for provider 'r2' unless endpoint is set",
  });

/** `b2` settings: `region` such as `us-west-004`, unless `endpoint` is given. */
export const B2StorageSettingsSchema = z
  .strictObject({
    ...s3Common,
    region: z
      .string()
      .regex(/^[a-z]+-[a-z]+-\d{3}$/, { message: 'must be a Backblaze region such as us-west-004' })
      .optional(),
  })
  .refine((s) => s.region !== undefined || s.endpoint !== undefined, {
    path: ['region'],
    message: "is required for provider 'b2' (e.g. us-west-004) unless endpoint is set",
  });

/** `minio` settings: `endpoint` is required. */
export const MinioStorageSettingsSchema = z.strictObject({ ...s3Common, endpoint: httpUrl, region: nonEmpty.optional() });

/** `ftp` settings: explicit FTPS with `secure: true`. */
export const FtpStorageSettingsSchema = z.strictObject({
  host: nonEmpty,
  port,
  root: noDotDot('the path'),
  secure: z.boolean().optional(),
  reject_unauthorized: z.boolean().optional(),
  ca: nonEmpty.optional(),
  max_connections: int(1, 16).optional(),
  timeout_ms: between(100, 600_000).optional(),
  ...retrySettings,
});

/** `sftp` settings: an absolute `root` and the server's `host_key` (`SHA256:...` or a known_hosts line). */
export const SftpStorageSettingsSchema = z.strictObject({
  host: nonEmpty,
  port,
  root: noDotDot('the path').refine((v) => v.startsWith('/'), { message: 'must be an absolute path on the server' }),
  host_key: hostKey,
  max_connections: int(1, 16).optional(),
  timeout_ms: between(100, 600_000).optional(),
  ...retrySettings,
});

/**
 * The strict `settings` schema of each provider, by provider: one entry per
 * {@link StorageProviderType}, so a new provider cannot ship without one.
 */
export const STORAGE_SETTINGS_SCHEMAS = {
  memory: MemoryStorageSettingsSchema,
  local: LocalStorageSettingsSchema,
  s3: S3StorageSettingsSchema,
  r2: R2StorageSettingsSchema,
  b2: B2StorageSettingsSchema,
  minio: MinioStorageSettingsSchema,
  ftp: FtpStorageSettingsSchema,
  sftp: SftpStorageSettingsSchema,
} as const satisfies Record<StorageProviderType, z.ZodType>;

const NoCredentialsSchema = z.union([z.null(), z.strictObject({})]).optional();

/** `{ ref }`: a credential kept in the host's secret store (see `SecretResolver`). */
const SecretRefSchema = z.strictObject({ ref: nonEmpty });

/**
 * A credential field: its value, checked by `plain`, or a `{ ref }` to it. Not a `z.union`, whose
 * failure would read "Invalid input": a bad value gets `plain`'s own message, a bad object the
 * reference's. A refinement (not a transform), so the schema still converts to JSON Schema.
 */
function orRef<T extends z.ZodType<string | undefined>>(plain: T): z.ZodType<z.output<T> | SecretRef> {
  return z.unknown().superRefine((value, ctx) => {
    const checked = (typeof value === 'object' && value !== null ? SecretRefSchema : plain).safeParse(value);
    if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ ...issue, input: value } as never);
  }) as unknown as z.ZodType<z.output<T> | SecretRef>;
}

// The credentials as the provider reads them, each a value (what a SecretResolver's answer is checked against).
const s3Credentials = { access_key_id: nonEmpty, secret_access_key: nonEmpty, session_token: nonEmpty.optional() };
const ftpCredentials = { username: nonEmpty, password: z.string().optional() };
const sftpCredentials = {
  username: nonEmpty,
  password: nonEmpty.optional(),
  private_key: nonEmpty.optional(),
  passphrase: nonEmpty.optional(),
};
const sftpNeedsOne = (c: { password?: unknown; private_key?: unknown }) => c.password !== undefined || c.private_key !== undefined;
const sftpNeedsOneIssue = { path: ['password'], message: "provider 'sftp' needs password or private_key" };

/** Each field of `shape` as a value or a `{ ref }` (an optional field stays optional). */
function refsAllowed<S extends Record<string, z.ZodType<string | undefined>>>(shape: S) {
  return Object.fromEntries(
    Object.entries(shape).map(([k, v]) => {
      const inner = v instanceof z.ZodOptional ? (v.unwrap() as z.ZodType<string>) : v;
      return [k, v instanceof z.ZodOptional ? orRef(inner).optional() : orRef(inner)];
    }),
  ) as {
    [K in keyof S]: S[K] extends z.ZodOptional<infer I>
      ? z.ZodOptional<z.ZodType<z.output<I> | SecretRef>>
      : z.ZodType<z.output<S[K]> | SecretRef>;
  };
}

const S3CredentialsSchema = z.strictObject(refsAllowed(s3Credentials));
const FtpCredentialsSchema = z.strictObject(refsAllowed(ftpCredentials));
const SftpCredentialsSchema = z.strictObject(refsAllowed(sftpCredentials)).refine(sftpNeedsOne, sftpNeedsOneIssue);

/**
 * The credentials of each provider with every value resolved (no `{ ref }` left): what the values
 * a `SecretResolver` returned are checked against before a provider is built.
 */
export const RESOLVED_CREDENTIALS_SCHEMAS = {
  memory: NoCredentialsSchema,
  local: NoCredentialsSchema,
  s3: z.strictObject(s3Credentials),
  r2: z.strictObject(s3Credentials),
  b2: z.strictObject(s3Credentials),
  minio: z.strictObject(s3Credentials),
  ftp: z.strictObject(ftpCredentials),
  sftp: z.strictObject(sftpCredentials).refine(sftpNeedsOne, sftpNeedsOneIssue),
} as const satisfies Record<StorageProviderType, z.ZodType>;

const member = <P extends string, S extends z.ZodType, C extends z.ZodType>(provider: P, settings: S, credentials: C) =>
  z.strictObject({ provider: z.literal(provider), settings, credentials });

/**
 * The provider, its settings and its credentials, one strict shape per provider (discriminated on
 * `provider`). A host can validate a form with it; {@link StorageConfigService} does on every save.
 */
export const StorageConfigSettingsSchema = z.discriminatedUnion('provider', [
  member('memory', MemoryStorageSettingsSchema, NoCredentialsSchema),
  member('local', LocalStorageSettingsSchema, NoCredentialsSchema),
  member('s3', S3StorageSettingsSchema, S3CredentialsSchema),
  member('r2', R2StorageSettingsSchema, S3CredentialsSchema),
  member('b2', B2StorageSettingsSchema, S3CredentialsSchema),
  member('minio', MinioStorageSettingsSchema, S3CredentialsSchema),
  member('ftp', FtpStorageSettingsSchema, FtpCredentialsSchema),
  member('sftp', SftpStorageSettingsSchema, SftpCredentialsSchema),
]);

/** `provider` + `settings` + `credentials` of one provider; `settings` is typed by `provider`. */
export type StorageConfigSettings = z.output<typeof StorageConfigSettingsSchema>;
/** The settings of `memory` configs. */
export type MemoryStorageSettings = z.output<typeof MemoryStorageSettingsSchema>;
/** The settings of `local` configs. */
export type LocalStorageSettings = z.output<typeof LocalStorageSettingsSchema>;
/** The settings of `s3` configs. */
export type S3StorageSettings = z.output<typeof S3StorageSettingsSchema>;
/** The settings of `r2` configs. */
export type R2StorageSettings = z.output<typeof R2StorageSettingsSchema>;
/** The settings of `b2` configs. */
export type B2StorageSettings = z.output<typeof B2StorageSettingsSchema>;
/** The settings of `minio` configs. */
export type MinioStorageSettings = z.output<typeof MinioStorageSettingsSchema>;
/** The settings of `ftp` configs. */
export type FtpStorageSettings = z.output<typeof FtpStorageSettingsSchema>;
/** The settings of `sftp` configs. */
export type SftpStorageSettings = z.output<typeof SftpStorageSettingsSchema>;
