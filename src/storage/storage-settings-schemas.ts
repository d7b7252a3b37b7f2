import { isAbsolute } from 'node:path';
import { z } from 'zod';
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
const S3CredentialsSchema = z.strictObject({ access_key_id: nonEmpty, secret_access_key: nonEmpty, session_token: nonEmpty.optional() });
const FtpCredentialsSchema = z.strictObject({ username: nonEmpty, password: z.string().optional() });
const SftpCredentialsSchema = z
  .strictObject({ username: nonEmpty, password: nonEmpty.optional(), private_key: nonEmpty.optional(), passphrase: nonEmpty.optional() })
  .refine((c) => c.password !== undefined || c.private_key !== undefined, {
    path: ['password'],
    message: "provider 'sftp' needs password or private_key",
  });

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
