import type { StorageConfig } from '../../domain/entities.js';
import { SettingsReader } from '../settings.js';
import type { RetryOptions } from '../retry.js';

/** The S3-family kinds: they differ only in endpoint, region and checksum behaviour. */
export type S3Preset = 's3' | 'r2' | 'b2' | 'minio';

const MIB = 1024 * 1024;
/** S3's smallest part (except the last). */
export const MIN_PART_SIZE = 5 * MIB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MIB;
/** S3's most parts per upload. */
export const MAX_PARTS = 10_000;
/** Part size when `part_size_mb` is not set. */
const DEFAULT_PART_SIZE_MB = 8;

/** Everything the S3 provider needs, resolved from a preset and its settings. */
export interface S3ProviderOptions {
  preset: S3Preset;
  bucket: string;
  region: string;
  /** Custom endpoint (R2, B2, MinIO, any S3-compatible service); absent for AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by MinIO and most self-hosted servers. */
  forcePathStyle: boolean;
  /**
   * `WHEN_REQUIRED` for every S3-compatible service: the SDK's default integrity checksums
   * (aws-chunked bodies with a trailing CRC32) are rejected by R2 and B2 and silently stored as
   * framing by others. AWS itself accepts the defaults (`WHEN_SUPPORTED`).
   */
  checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Keys are stored under this prefix inside the bucket (no leading or trailing slash). */
  prefix: string;
  /**
   * Multipart part size in bytes (default 8 MiB; every part but the last has this size, as R2
   * requires). The largest object is 10,000 parts: 78 GiB at the default.
   */
  partSize: number;
  /** Parts uploaded at once (default 4). Memory held is about (queueSize + 1) x partSize. */
  queueSize: number;
  /** The product's `storage_class` (`STANDARD_IA`, `GLACIER_IR`...), passed as `StorageClass`. */
  storageClass?: string;
  /** `AES256` or `aws:kms` (`ServerSideEncryption`). */
  serverSideEncryption?: string;
  /** KMS key for `aws:kms`. */
  sseKmsKeyId?: string;
  /** Connection timeout in ms (default 10,000). */
  connectTimeoutMs: number;
  /** Socket idle timeout in ms (default 120,000). */
  socketTimeoutMs: number;
  retry: RetryOptions;
}

/**
 * Reads a StorageConfig of kind s3, r2, b2 or minio.
 *
 * Settings: `bucket` (all); `region` (s3: default `us-east-1`; b2: required, e.g. `us-west-004`;
 * minio: default `us-east-1`); `account_id` (r2, required) and `jurisdiction` (r2: `eu` or `fedramp`);
 * `endpoint` (minio: required; s3: optional, for another S3-compatible service); `force_path_style`;
 * `prefix`; `part_size_mb` (5..5120, default 8); `queue_size` (1..32, default 4);
 * `server_side_encryption`, `sse_kms_key_id`; `connect_timeout_ms`, `socket_timeout_ms`;
 * `retries`, `retry_min_delay_ms`. Credentials: `access_key_id`, `secret_access_key`, `session_token`.
 */
export function resolveS3Options(config: StorageConfig): S3ProviderOptions {
  const preset = config.provider as S3Preset;
  const r = new SettingsReader(config);
  const bucket = r.string('bucket', true);
  const accessKeyId = r.secret('access_key_id', true);
  const secretAccessKey = r.secret('secret_access_key', true);
  const sessionToken = r.secret('session_token');
  let endpoint = r.string('endpoint');
  let region = r.string('region');
  let forcePathStyle = r.boolean('force_path_style');
  switch (preset) {
    case 's3':
      region ??= 'us-east-1';
      break;
    case 'r2': {
      const account = endpoint ? r.string('account_id') : r.string('account_id', true);
      const jurisdiction = r.string('jurisdiction');
      if (account && !/^[a-f0-9]{32}$/i.test(account)) r.problem('settings.account_id', 'must be the 32-character Cloudflare account id');
      if (jurisdiction && !['eu', 'fedramp'].includes(jurisdiction)) r.problem('settings.jurisdiction', "must be 'eu' or 'fedramp'");
      endpoint ??= account ? `https://${account}${jurisdiction ? `.${jurisdiction}` : ''}.r2.cloudflarestorage.com` : undefined;
      region = 'auto';
      break;
    }
    case 'b2':
      if (!region && !endpoint) r.problem('settings.region', "is required for provider 'b2' (e.g. us-west-004)");
      if (region && !/^[a-z]+-[a-z]+-\d{3}$/.test(region)) r.problem('settings.region', 'must be a Backblaze region such as us-west-004');
      endpoint ??= region ? `https://s3.${region}.backblazeb2.com` : undefined;
      break;
    case 'minio':
      if (!endpoint) r.problem('settings.endpoint', "is required for provider 'minio' (e.g. https://minio.example.com:9000)");
      region ??= 'us-east-1';
      forcePathStyle ??= true;
      break;
    default:
      r.problem('provider', `'${String(preset)}' is not an S3-family provider`);
  }
  if (endpoint) {
    try {
      const u = new URL(endpoint);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
    } catch {
      r.problem('settings.endpoint', 'must be an http(s) URL');
    }
  }
  // 8 MiB x (4 in flight + 1 filling) keeps a backup to S3 within the 200 MB peak RSS budget: with
  // 16 MiB parts it measured 204-213 MB on the bench's quarter set (docs/storage-providers.md).
  const partSizeMb = r.number('part_size_mb', 5, 5120) ?? DEFAULT_PART_SIZE_MB;
  const queueSize = r.number('queue_size', 1, 32) ?? 4;
  if (!Number.isInteger(queueSize)) r.problem('settings.queue_size', 'must be a whole number');
  const serverSideEncryption = r.string('server_side_encryption');
  if (serverSideEncryption && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(serverSideEncryption))
    r.problem('settings.server_side_encryption', "must be 'AES256', 'aws:kms' or 'aws:kms:dsse'");
  const sseKmsKeyId = r.string('sse_kms_key_id');
  const prefix = (r.string('prefix') ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((s) => s === '..')) r.problem('settings.prefix', 'must not contain ".." segments');
  const connectTimeoutMs = r.number('connect_timeout_ms', 100, 600_000) ?? 10_000;
  const socketTimeoutMs = r.number('socket_timeout_ms', 100, 3_600_000) ?? 120_000;
  const retries = r.number('retries', 0, 20);
  const minDelayMs = r.number('retry_min_delay_ms', 0, 60_000);
  r.done();
  return {
    preset,
    bucket,
    region: region ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: forcePathStyle ?? false,
    // A custom endpoint on the `s3` kind is some other S3-compatible service: be conservative.
    checksums: preset === 's3' && !endpoint ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    prefix,
    partSize: Math.round(partSizeMb * 1024 * 1024),
    queueSize,
    ...(config.storage_class ? { storageClass: config.storage_class } : {}),
    ...(serverSideEncryption ? { serverSideEncryption } : {}),
    ...(sseKmsKeyId ? { sseKmsKeyId } : {}),
    connectTimeoutMs,
    socketTimeoutMs,
    retry: { ...(retries !== undefined ? { retries } : {}), ...(minDelayMs !== undefined ? { minDelayMs } : {}) },
  };
}
