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
 * A URL Odoo's `web.base.url` may hold: `http://` or `https://`, a host, no credentials, no
 * control characters or spaces, at most 2048 characters; a trailing `/` is dropped, as Odoo
 * builds links by appending `/web/...`.
 */
export const BaseUrlSchema = z
  .string()
  .max(2048)
  .refine(
    (v) => {
      if ([...v].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) return false;
      try {
        const url = new URL(v);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && !url.username && !url.password;
      } catch {
        return false;
      }
    },
    { message: 'must be an http:// or https:// URL with a host and no credentials' },
  )
  .transform((v) => v.replace(/\/+$/, ''));

/** The fields of a restore request, before the rules between them (shared with imports). */
const restoreRequestFields = {
  target_environment_id: z.string().trim().min(1, { message: 'must be a non-empty string' }).nullish(),
  mode: RestoreModeSchema,
  database_name: DatabaseNameSchema.nullish(),
  filestore_path: FolderPathSchema.nullish(),
  include_filestore: z.boolean().default(true),
  pre_restore_backup: z.boolean().nullish(),
  jobs: z.number().int().min(1).max(32).default(1),
  force: z.boolean().default(false),
  keep_previous: z.boolean().default(false),
  as_copy: z.boolean().nullish(),
  base_url: BaseUrlSchema.nullish(),
};

type RestoreRequestFields = z.output<z.ZodObject<typeof restoreRequestFields>>;

/** The rules between a restore request's fields, by mode. */
function checkModeRules(r: RestoreRequestFields, ctx: z.RefinementCtx): void {
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
  if (r.base_url && r.as_copy !== true) {
    ctx.addIssue({
      code: 'custom',
      path: ['base_url'],
      message: 'applies to copies only (as_copy: true); a move keeps the web.base.url it had',
    });
  }
}

/** The parsed request of one mode, with defaults applied (an import, which has no second copy, reads its own file: `primary`). */
function toRestoreRequest(r: RestoreRequestFields & { from?: 'primary' | 'copy' }): RestoreRequest {
  const common = {
    target_environment_id: r.target_environment_id ?? null,
    from: r.from ?? 'primary',
    include_filestore: r.include_filestore,
    jobs: r.jobs,
    force: r.force,
    keep_previous: r.keep_previous,
    as_copy: r.as_copy ?? null,
    base_url: r.base_url ?? null,
  };
  return r.mode === 'new_database'
    ? {
        ...common,
        mode: 'new_database',
        // checkModeRules made it required in this mode.
        database_name: r.database_name!,
        filestore_path: r.filestore_path ?? null,
        pre_restore_backup: false,
      }
    : { ...common, mode: 'replace', database_name: null, filestore_path: null, pre_restore_backup: r.pre_restore_backup ?? true };
}

/**
 * The input of `RestoreService.restoreBackup`. Defaults: `target_environment_id` the backup's own
 * environment, `include_filestore` true, `pre_restore_backup` true in `replace` mode, `jobs` 1,
 * `force` false, `keep_previous` false. `database_name` is required in `new_database` mode and
 * refused in `replace` mode (which always restores over the environment's own database), as is
 * `filestore_path`; `pre_restore_backup` only applies to `replace` mode. `as_copy` has no
 * default: the service requires it unless the restore is a `replace` onto the backup's own
 * environment (see docs/restore.md, "Copy or move"); `base_url` only goes with `as_copy: true`.
 */
export const RestoreRequestSchema = z
  .strictObject({ ...restoreRequestFields, from: z.enum(['primary', 'copy']).default('primary') })
  .superRefine(checkModeRules)
  .transform(toRestoreRequest);

/**
 * The input of `RestoreService.importOdooArchive`: a restore request whose
 * `target_environment_id` and `as_copy` are required (an imported file belongs to no environment,
 * so nothing can default them), plus `allow_privileged_role` (default false): import plain SQL
 * with a role that is a superuser or may run server programs.
 */
export const ImportRequestSchema = z
  .strictObject({
    ...restoreRequestFields,
    target_environment_id: z.string().trim().min(1, { message: 'must be a non-empty string' }),
    as_copy: z.boolean({ error: 'is required: an import is a copy (true) or a move (false) of the database it came from' }),
    allow_privileged_role: z.boolean().default(false),
  })
  .superRefine(checkModeRules)
  // The schema made target_environment_id a string and as_copy a boolean: the parsed request has them so.
  .transform(({ allow_privileged_role, ...r }) => ({ ...toRestoreRequest(r), allow_privileged_role }) as ImportRequest);

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
  /**
   * `true` makes the restored database a copy: a new `database.uuid`, `database.secret` and
   * `database.create_date` and the default login cooldowns in `ir_config_parameter` (Odoo's own
   * copy does the same), `web.base.url` when `base_url` is given. `false` moves it: they stay.
   * Required except for a `replace` onto the backup's own environment (a move by default).
   */
  as_copy?: boolean | null;
  /** With `as_copy: true`: the copy's `web.base.url` (http or https). Without it the copy keeps the original's. */
  base_url?: string | null;
}

/** A restore into a new database beside the environment's own. */
export interface NewDatabaseRestoreInput extends RestoreRequestCommon {
  mode: 'new_database';
  /** The new database; it must not exist. */
  database_name: string;
  /** Required: is the new database a copy (new identity) or the original moved (same identity)? */
  as_copy: boolean;
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
  | (Required<Omit<NewDatabaseRestoreInput, 'pre_restore_backup' | 'target_environment_id' | 'filestore_path' | 'as_copy' | 'base_url'>> & {
      target_environment_id: string | null;
      filestore_path: string | null;
      pre_restore_backup: false;
      /** Null until the service resolved it (the journal always holds true or false). */
      as_copy: boolean | null;
      base_url: string | null;
    })
  | (Required<
      Omit<
        ReplaceRestoreInput,
        'pre_restore_backup' | 'target_environment_id' | 'database_name' | 'filestore_path' | 'as_copy' | 'base_url'
      >
    > & {
      target_environment_id: string | null;
      database_name: null;
      filestore_path: null;
      pre_restore_backup: boolean;
      as_copy: boolean | null;
      base_url: string | null;
    });

/** What callers may send to `RestoreService.importOdooArchive`: a restore request naming its target and whether it is a copy. */
export type ImportRequestInput =
  | (Omit<NewDatabaseRestoreInput, 'target_environment_id' | 'from'> & ImportRequestExtras)
  | (Omit<ReplaceRestoreInput, 'target_environment_id' | 'as_copy' | 'from'> & ImportRequestExtras);

/** The fields an import request adds to, or requires of, a restore request. */
export interface ImportRequestExtras {
  /** The environment to import into (required: the file belongs to none). */
  target_environment_id: string;
  /** Required: a copy (new identity) or a move (the identity it had). */
  as_copy: boolean;
  /**
   * Import plain SQL (an Odoo ZIP's `dump.sql`) with a role that is a superuser or a member of
   * `pg_execute_server_program` (default false: refused with `E_RESTORE_PRIVILEGES`). Such SQL
   * can run programs on the database host through `COPY ... FROM PROGRAM`.
   */
  allow_privileged_role?: boolean;
}

/** A validated import request: a {@link RestoreRequest} with its target, `as_copy` and `allow_privileged_role` set. */
export type ImportRequest = RestoreRequest & { target_environment_id: string; as_copy: boolean; allow_privileged_role: boolean };
