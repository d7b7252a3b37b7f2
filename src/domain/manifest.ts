import { z } from 'zod';
import { ArchiveError } from '../errors/errors.js';
import type { BackupType, RetentionType } from './enums.js';
import { BACKUP_TYPES, RETENTION_TYPES } from './enums.js';
import type { EnvironmentSnapshot } from './environment-snapshot.js';

/**
 * The archive's `manifest.json` (see docs/decisions.md#manifest): every field of the product's example, plus added
 * fields (tool versions, `include_filestore`, `entries`). Pure: build, serialize, parse.
 */

/** The manifest version this SDK writes. */
export const MANIFEST_VERSION = '1.0';
/** Manifest major versions this SDK can read. */
export const SUPPORTED_MANIFEST_MAJORS: readonly number[] = [1];

/** ZIP entry names of the archive format (see docs/decisions.md#archive-layout). */
export const ARCHIVE_ENTRIES = {
  DUMP: 'dump.sql',
  FILESTORE: 'filestore.tar.gz',
  MANIFEST: 'manifest.json',
} as const;

/** The `database` part of a manifest. */
export interface ManifestDatabase {
  name: string;
  /** The storage key of the ZIP holding the dump. */
  key: string;
  /** Bytes of the `pg_dump -Fc` output. */
  size: number;
  /** Lowercase hex SHA-256 of the dump. */
  checksum: string;
  format: 'pg_dump_custom';
  /** Added: the `pg_dump -Z` level used. */
  compression_level?: number | null;
  /** Added: version of the PostgreSQL server dumped (from the dump's header), when known. */
  pg_version?: string | null;
  /** Added: version of the pg_dump that wrote the dump, when known. */
  pg_dump_version?: string | null;
  /** Added: custom-format archive version (`1.14`...), when known. */
  archive_version?: string | null;
}

/**
 * What gzipped the filestore tarball (`filestore.compressor` in a manifest): `igzip` on the
 * source host, or `zlib-adaptive` (the SDK's own, in the backup's process); archives of earlier
 * releases were made by `igzip`, `pigz` or `gzip` and have no such field. Any gzip reader reads
 * them all alike; the field is for reports and for restore figures (igzip's output inflates more
 * slowly than stored blocks).
 */
export interface FilestoreCompressor {
  /** `igzip`, `zlib-adaptive`, or another tool's name in archives of later releases. */
  tool: string;
  /** The gzip level (1-9). */
  level: number;
  /** The tool's version line, when known. */
  version?: string;
}

/** The `filestore` part of a manifest (null when the archive holds no filestore). */
export interface ManifestFilestore {
  /** Always null: the tarball is inside the ZIP. */
  key: null;
  /** Bytes of the tar.gz. */
  size: number;
  /** Lowercase hex SHA-256 of the tar.gz. */
  checksum: string;
  format: 'tar.gz';
  /** Added: what gzipped the tarball, at which level (absent in archives of earlier releases). */
  compressor?: FilestoreCompressor;
}

/**
 * Odoo's own facts about the database (`odoo` in a manifest), read inside the snapshot the dump
 * was taken from: what the database itself says, not what the host told the SDK.
 */
export interface ManifestOdoo {
  /** `latest_version` of the installed `base` module (`17.0.1.3`), or null when base is not installed. */
  base_version: string | null;
  /** The Odoo series from `base_version`, in Odoo's form (`17.0`, `saas~17.2`), or null. */
  major_version: string | null;
  /** The PostgreSQL server's version as Odoo writes it in its own dumps' manifest.json (`15.0`, `9.6`). */
  pg_version: string;
  /** Installed modules, name to `latest_version`. */
  modules: Record<string, string | null>;
  /** `count(*)` per table in the snapshot, when the backup recorded them (`recordRowCounts`). */
  row_counts?: Record<string, number>;
}

/** The archive manifest. Unknown extra fields are kept when parsing. */
export interface BackupManifest {
  version: string;
  backup_id: string;
  environment_id: string;
  backup_type: BackupType;
  created_at: string;
  database: ManifestDatabase;
  /** Null when the archive has no `filestore.tar.gz` (excluded, or the folder did not exist). */
  filestore: ManifestFilestore | null;
  environment_snapshot: EnvironmentSnapshot | null;
  retention: { type: RetentionType; expires_at: string | null };
  /** Added: whether a filestore was asked for (`filestore: null` with this true means it was missing). */
  include_filestore?: boolean;
  /** Added: Odoo version of the environment, when known. */
  odoo_version?: string | null;
  /**
   * Added: Odoo's facts read from the database at backup time; null when the database has no
   * `ir_module_module` (not an Odoo database); absent in archives of earlier releases and from
   * sources without snapshots.
   */
  odoo?: ManifestOdoo | null;
  /** Added: the tool that wrote the archive, e.g. `odoo-backup-sdk/0.1.0`. */
  tool?: string;
  [extra: string]: unknown;
}

/** What {@link buildManifest} needs. */
export interface ManifestInput {
  backup_id: string;
  environment_id: string;
  backup_type: BackupType;
  created_at: string;
  database: {
    name: string;
    key: string;
    size: number;
    checksum: string;
    compression_level?: number | null;
    pg_version?: string | null;
    pg_dump_version?: string | null;
    archive_version?: string | null;
  };
  filestore: { size: number; checksum: string; compressor?: FilestoreCompressor } | null;
  include_filestore: boolean;
  environment_snapshot: EnvironmentSnapshot | null;
  retention: { type: RetentionType; expires_at: string | null };
  odoo_version?: string | null;
  odoo?: ManifestOdoo | null;
  tool?: string;
}

/**
 * The Odoo series of a module's `latest_version` (`17.0.1.3` -> `17.0`, `saas~17.2.1.0` ->
 * `saas~17.2`): Odoo prefixes every module version with its series. Null when it does not start so.
 */
export function odooSeriesOf(latestVersion: string | null | undefined): string | null {
  if (typeof latestVersion !== 'string') return null;
  return /^((?:saas~)?\d+\.\d+)\./.exec(latestVersion)?.[1] ?? null;
}

/**
 * `server_version_num` in the form Odoo's `dump_db_manifest` writes: `"%d.%d" % divmod(num / 100, 100)`,
 * so 150018 is `15.0` and 90624 is `9.6`.
 */
export function odooPgVersion(serverVersionNum: number): string {
  return `${Math.floor(serverVersionNum / 10000)}.${Math.floor(serverVersionNum / 100) % 100}`;
}

/** The manifest's `odoo` from what a snapshot read: null when the database has no `ir_module_module`. */
export function manifestOdooOf(facts: {
  serverVersionNum: number;
  modules: Record<string, string | null> | null;
  rowCounts?: Record<string, number>;
}): ManifestOdoo | null {
  if (facts.modules === null) return null;
  const base = facts.modules.base ?? null;
  return {
    base_version: base,
    major_version: odooSeriesOf(base),
    pg_version: odooPgVersion(facts.serverVersionNum),
    modules: { ...facts.modules },
    ...(facts.rowCounts ? { row_counts: { ...facts.rowCounts } } : {}),
  };
}

/** Builds a manifest of the current version from what the pipeline measured. */
export function buildManifest(input: ManifestInput): BackupManifest {
  const manifest: BackupManifest = {
    version: MANIFEST_VERSION,
    backup_id: input.backup_id,
    environment_id: input.environment_id,
    backup_type: input.backup_type,
    created_at: input.created_at,
    database: {
      name: input.database.name,
      key: input.database.key,
      size: input.database.size,
      checksum: input.database.checksum,
      format: 'pg_dump_custom',
      ...(input.database.compression_level !== undefined ? { compression_level: input.database.compression_level } : {}),
      ...(input.database.pg_version !== undefined ? { pg_version: input.database.pg_version } : {}),
      ...(input.database.pg_dump_version !== undefined ? { pg_dump_version: input.database.pg_dump_version } : {}),
      ...(input.database.archive_version !== undefined ? { archive_version: input.database.archive_version } : {}),
    },
    filestore: input.filestore
      ? {
          key: null,
          size: input.filestore.size,
          checksum: input.filestore.checksum,
          format: 'tar.gz',
          ...(input.filestore.compressor ? { compressor: { ...input.filestore.compressor } } : {}),
        }
      : null,
    environment_snapshot: input.environment_snapshot,
    retention: { type: input.retention.type, expires_at: input.retention.expires_at },
    include_filestore: input.include_filestore,
    ...(input.odoo_version !== undefined ? { odoo_version: input.odoo_version } : {}),
    ...(input.odoo !== undefined ? { odoo: input.odoo } : {}),
    ...(input.tool !== undefined ? { tool: input.tool } : {}),
  };
  return parseManifestObject(manifest);
}

/** The manifest as the bytes stored in `manifest.json` (pretty-printed UTF-8 JSON). */
export function serializeManifest(manifest: BackupManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be a lowercase hex SHA-256' });
const size = z.number().int().min(0);
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO 8601 timestamp' });

const ManifestSchema = z.looseObject({
  version: z.string(),
  backup_id: z.string().min(1),
  environment_id: z.string().min(1),
  backup_type: z.enum(BACKUP_TYPES as [BackupType, ...BackupType[]]),
  created_at: isoDate,
  database: z.looseObject({
    name: z.string(),
    key: z.string(),
    size,
    checksum: sha256Hex,
    format: z.literal('pg_dump_custom'),
  }),
  filestore: z
    .looseObject({
      key: z.null(),
      size,
      checksum: sha256Hex,
      format: z.literal('tar.gz'),
      compressor: z
        .looseObject({ tool: z.string().min(1), level: z.number().int().min(0).max(9), version: z.string().optional() })
        .optional(),
    })
    .nullable(),
  environment_snapshot: z.looseObject({}).nullable(),
  odoo: z
    .looseObject({
      base_version: z.string().nullable(),
      major_version: z.string().nullable(),
      pg_version: z.string(),
      modules: z.record(z.string(), z.string().nullable()),
      row_counts: z.record(z.string(), size).optional(),
    })
    .nullable()
    .optional(),
  retention: z.looseObject({
    type: z.enum(RETENTION_TYPES as [RetentionType, ...RetentionType[]]),
    expires_at: isoDate.nullable(),
  }),
});

/** The major number of a manifest version string (`"1.0"` -> 1), or NaN. */
export function manifestMajor(version: unknown): number {
  if (typeof version !== 'string') return Number.NaN;
  const m = /^(\d+)(?:\.\d+)*$/.exec(version);
  return m ? Number(m[1]) : Number.NaN;
}

function parseManifestObject(value: unknown): BackupManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArchiveError('manifest.json is not a JSON object', {}, 'E_MANIFEST_INVALID');
  }
  const version = (value as { version?: unknown }).version;
  const major = manifestMajor(version);
  if (!SUPPORTED_MANIFEST_MAJORS.includes(major)) {
    throw new ArchiveError(
      `This archive's manifest has version ${JSON.stringify(version)}, which this version of odoo-backup-sdk cannot read (it reads ${SUPPORTED_MANIFEST_MAJORS.map((m) => `${m}.x`).join(', ')}): upgrade odoo-backup-sdk to restore it`,
      { details: { version, supported_majors: SUPPORTED_MANIFEST_MAJORS } },
      'E_MANIFEST_VERSION',
    );
  }
  const result = ManifestSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    throw new ArchiveError(
      `manifest.json is invalid: ${issues.map((i) => `${i.field || '(root)'} ${i.message}`).join('; ')}`,
      { details: { issues } },
      'E_MANIFEST_INVALID',
    );
  }
  return result.data as BackupManifest;
}

/**
 * Parses and validates `manifest.json` bytes. Throws an `ArchiveError` with code
 * `E_MANIFEST_VERSION` for a major version this SDK does not know, `E_MANIFEST_INVALID` for
 * malformed JSON or missing/ill-typed fields. Unknown extra fields are kept.
 */
export function parseManifest(bytes: Buffer | string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (error) {
    throw new ArchiveError(`manifest.json is not valid JSON (${(error as Error).message})`, { cause: error }, 'E_MANIFEST_INVALID');
  }
  return parseManifestObject(value);
}
