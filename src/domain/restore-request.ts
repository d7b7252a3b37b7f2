import { z } from 'zod';

/** Longest PostgreSQL identifier, in bytes (NAMEDATALEN - 1). */
export const MAX_DATABASE_NAME_BYTES = 63;

/**
 * A database name a restore may create: starts with a letter or digit, then letters, digits,
 * `_`, `.` or `-` (the names Odoo's database manager accepts), at most 63 bytes.
 */
export const DatabaseNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
    message: 'must start with a letter or digit and hold only letters, digits, _, . and -',
  })
  .refine((v) => Buffer.byteLength(v) <= MAX_DATABASE_NAME_BYTES, { message: `must be at most ${MAX_DATABASE_NAME_BYTES} bytes` })
  .refine((v) => !['postgres', 'template0', 'template1'].includes(v), { message: 'must not be a system database' });

/**
 * An absolute folder path on the target's host: no `.` or `..` segment, no control characters,
 * no trailing slash. Where it may be (inside the filestore root) is checked against the target.
 */
export const FolderPathSchema = z
  .string()
  .max(4096)
  .refine((v) => v.startsWith('/') && v.length > 1 && !v.endsWith('/'), { message: 'must be an absolute path without a trailing slash' })
  .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), {
    message: 'must not contain control characters',
  })
  .refine((v) => v.split('/').every((s, i) => i === 0 || (s !== '' && s !== '.' && s !== '..')), {
    message: 'must not contain empty, . or .. segments',
  });

/** How a restore lands: as a new database beside the environment's, or over the environment's own. */
export const RestoreModeSchema = z.enum(['new_database', 'replace']);
/** `new_database` or `replace`. */
export type RestoreMode = z.output<typeof RestoreModeSchema>;

/**
 * The input of `RestoreService.restoreBackup`. Defaults: `target_environment_id` the backup's own
 * environment, `include_filestore` true, `pre_restore_backup` true in `replace` mode, `jobs` 1,
 * `force` false, `keep_previous` false. `database_name` is required in `new_database` mode and
 * refused in `replace` mode (which always restores over the environment's own database), as is
 * `filestore_path`; `pre_restore_backup` only applies to `replace` mode.
 */
export const RestoreRequestSchema = z
  .strictObject({
    target_environment_id: z.string().trim().min(1, { message: 'must be a non-empty string' }).nullish(),
    mode: RestoreModeSchema,
    database_name: DatabaseNameSchema.nullish(),
    filestore_path: FolderPathSchema.nullish(),
    include_filestore: z.boolean().default(true),
    pre_restore_backup: z.boolean().nullish(),
    jobs: z.number().int().min(1).max(32).default(1),
    force: z.boolean().default(false),
    keep_previous: z.boolean().default(false),
    from: z.enum(['primary', 'copy']).default('primary'),
  })
  .superRefine((r, ctx) => {
    if (r.mode === 'new_database') {
      if (!r.database_name) ctx.addIssue({ code: 'custom', path: ['database_name'], message: 'is required in new_database mode' });
      if (r.pre_restore_backup === true) {
        ctx.addIssue({
          code: 'custom',
          path: ['pre_restore_backup'],
          message: 'applies to replace mode only (new_database touches no existing data)',
        });
      }
    } else {
      if (r.database_name) {
        ctx.addIssue({
          code: 'custom',
          path: ['database_name'],
          message: "is refused in replace mode (it restores over the environment's own database)",
        });
      }
      if (r.filestore_path) {
        ctx.addIssue({
          code: 'custom',
          path: ['filestore_path'],
          message: "is refused in replace mode (it restores over the environment's own filestore)",
        });
      }
    }
  })
  .transform((r): RestoreRequest =>
    r.mode === 'new_database'
      ? {
          target_environment_id: r.target_environment_id ?? null,
          mode: 'new_database',
          // The refinement above made it required in this mode.
          database_name: r.database_name!,
          filestore_path: r.filestore_path ?? null,
          include_filestore: r.include_filestore,
          pre_restore_backup: false,
          jobs: r.jobs,
          force: r.force,
          keep_previous: r.keep_previous,
          from: r.from,
        }
      : {
          target_environment_id: r.target_environment_id ?? null,
          mode: 'replace',
          database_name: null,
          filestore_path: null,
          include_filestore: r.include_filestore,
          pre_restore_backup: r.pre_restore_backup ?? true,
          jobs: r.jobs,
          force: r.force,
          keep_previous: r.keep_previous,
          from: r.from,
        },
  );

/** The fields both restore modes take (see {@link RestoreRequestSchema} for their defaults). */
export interface RestoreRequestCommon {
  /** Where to restore (default: the backup's own environment); it must belong to the backup's organisation. */
  target_environment_id?: string | null;
  /** `false` restores the database only (default `true`). */
  include_filestore?: boolean;
  /** `pg_restore -j`, 1..32 (default 1). */
  jobs?: number;
  /** Allow a backup of another Odoo major version than the target's (default `false`). */
  force?: boolean;
  /** `replace`: keep the previous database and folder instead of dropping them after success (default `false`). */
  keep_previous?: boolean;
  /**
   * Read the backup's own object (`primary`, default) or its second copy on the policy's secondary
   * storage (`copy`: refused with `E_RESTORE_NOT_RESTORABLE` unless the copy completed).
   */
  from?: 'primary' | 'copy';
}

/** A restore into a new database beside the environment's own. */
export interface NewDatabaseRestoreInput extends RestoreRequestCommon {
  mode: 'new_database';
  /** The new database; it must not exist. */
  database_name: string;
  /** Where the copy's filestore goes, inside the target's filestore root (default `<root>/<database_name>`). */
  filestore_path?: string | null;
  /** A new database touches no existing data: there is nothing to back up first. */
  pre_restore_backup?: false | null;
}

/** A restore over the environment's own database and filestore. */
export interface ReplaceRestoreInput extends RestoreRequestCommon {
  mode: 'replace';
  /** Refused: replace restores over the environment's own database. */
  database_name?: null;
  /** Refused: replace restores over the environment's own filestore. */
  filestore_path?: null;
  /** Back up the target before swapping (default `true`). */
  pre_restore_backup?: boolean | null;
}

/**
 * What callers may send to `RestoreService.restoreBackup`: one shape per mode, so that
 * `{ mode: 'replace', database_name: 'x' }` or a `new_database` request without a name does not
 * compile. A parsed {@link RestoreRequest} is one too (`parseInput(RestoreRequestSchema, body)`).
 */
export type RestoreRequestInput = NewDatabaseRestoreInput | ReplaceRestoreInput;

/** A validated {@link RestoreRequestSchema} with defaults applied, one shape per mode. */
export type RestoreRequest =
  | (Required<Omit<NewDatabaseRestoreInput, 'pre_restore_backup' | 'target_environment_id' | 'filestore_path'>> & {
      target_environment_id: string | null;
      filestore_path: string | null;
      pre_restore_backup: false;
    })
  | (Required<Omit<ReplaceRestoreInput, 'pre_restore_backup' | 'target_environment_id' | 'database_name' | 'filestore_path'>> & {
      target_environment_id: string | null;
      database_name: null;
      filestore_path: null;
      pre_restore_backup: boolean;
    });
