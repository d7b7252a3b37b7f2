/**
 * The one catalogue of error and warning codes. Each code is data (what it means, what to do,
 * which class raises it) so the union types, the docs (docs/errors.md, checked by a test) and any
 * host-side mapping all read the same list. A new code is one entry here plus one row there.
 */

/** One entry of {@link ERROR_CODES}: which class raises the code, what it means, what to do. */
export interface ErrorCodeInfo {
  /** The class whose instances carry this code (`instanceof` works on it). */
  readonly raisedAs:
    | 'BackupSdkError'
    | 'ValidationError'
    | 'NotFoundError'
    | 'ConflictError'
    | 'InvalidTransitionError'
    | 'QuotaExceededError'
    | 'RateLimitError'
    | 'PermissionDeniedError'
    | 'UnsupportedOperationError'
    | 'ChecksumMismatchError'
    | 'StorageError'
    | 'SourceError'
    | 'TimeoutError'
    | 'AbortedError'
    | 'CancelledError'
    | 'ArchiveError'
    | 'RestoreError'
    | 'recorded';
  /** What happened, in one line. */
  readonly meaning: string;
  /** What the host or the person should do about it. */
  readonly action: string;
}

/** One entry of {@link WARNING_CODES}: what it means and what to do. */
export interface WarningCodeInfo {
  /** What happened, in one line (the operation itself went on). */
  readonly meaning: string;
  /** What the host or the person should do about it. */
  readonly action: string;
}

/**
 * Every error code the SDK raises or records, with its meaning and what to do. `raisedAs:
 * 'recorded'` codes are never thrown: they appear in `error_details.code` of a backup or task, or
 * in a report's `code` field.
 */
export const ERROR_CODES = {
  E_VALIDATION: {
    raisedAs: 'ValidationError',
    meaning: 'The input is invalid; `details.issues` names each bad field.',
    action: 'Fix the named fields and call again; nothing was changed.',
  },
  E_INVALID_CRON: {
    raisedAs: 'ValidationError',
    meaning:
      'A cron expression cannot be parsed or never fires (`details.issues` says why); with other bad fields, the code is `E_VALIDATION`.',
    action: 'Use a 5-field cron expression that fires at least once.',
  },
  E_EMPTY_KEEP_POLICY: {
    raisedAs: 'ValidationError',
    meaning: 'A retention keep policy keeps nothing, so it would remove every snapshot.',
    action: 'Set at least one of last, hourly, daily, weekly, monthly, yearly, within* or tags.',
  },
  E_STORAGE_CONFIG_MISSING: {
    raisedAs: 'ValidationError',
    meaning: 'No storage config was given and the organisation has no default one.',
    action: 'Pass storage_config_id, or mark one storage config of the organisation as default.',
  },
  E_NOT_FOUND: {
    raisedAs: 'NotFoundError',
    meaning: 'A record does not exist (or belongs to another organisation); `details.entity` says which kind.',
    action: 'Check the id; refresh lists that may hold deleted records.',
  },
  E_CONFLICT: {
    raisedAs: 'ConflictError',
    meaning: 'A write lost a race or duplicates an existing record.',
    action: 'Reload the record and retry the change if it still applies.',
  },
  E_INVALID_TRANSITION: {
    raisedAs: 'InvalidTransitionError',
    meaning: 'A status change the state machine does not allow (e.g. deleting a running backup).',
    action: 'Wait for the record to reach a state that allows the change.',
  },
  E_BACKUP_NOT_DOWNLOADABLE: {
    raisedAs: 'ConflictError',
    meaning: 'Only completed backups can be downloaded; this one is not completed.',
    action: 'Wait for the backup to complete, or pick a completed one.',
  },
  E_STORAGE_CONFIG_IN_USE: {
    raisedAs: 'ConflictError',
    meaning: 'A storage config cannot be deleted while an enabled policy or a kept backup uses it.',
    action: 'Point the policies elsewhere and delete or move the backups (`details` lists them) first.',
  },
  E_QUEUE_CLOSED: {
    raisedAs: 'ConflictError',
    meaning: 'The job queue is closed (the host is shutting down).',
    action: 'Retry after the process restarts; do not enqueue during shutdown.',
  },
  E_ENQUEUE_FAILED: {
    raisedAs: 'recorded',
    meaning: 'The backup record was created but its job could not be enqueued; the backup is marked failed.',
    action: 'Check the job queue (Redis...) and start the backup again.',
  },
  E_QUOTA_EXCEEDED: {
    raisedAs: 'QuotaExceededError',
    meaning: "The organisation's backup storage quota is used up.",
    action: 'Delete old backups or raise the quota.',
  },
  E_RATE_LIMITED: {
    raisedAs: 'RateLimitError',
    meaning: 'Too many manual requests for one rate-limit key.',
    action: 'Wait `details.retry_after_seconds` and try again.',
  },
  E_PERMISSION_DENIED: {
    raisedAs: 'PermissionDeniedError',
    meaning: "The host's authorize hook refused the permission in `details.permission`.",
    action: 'Grant the permission to the actor, or act as someone who holds it.',
  },
  E_UNSUPPORTED: {
    raisedAs: 'UnsupportedOperationError',
    meaning: 'The adapter does not offer this operation (e.g. presigned URLs on FTP).',
    action: 'Use the alternative named in the message (e.g. openDownload).',
  },
  E_CHECKSUM_MISMATCH: {
    raisedAs: 'ChecksumMismatchError',
    meaning: 'Bytes read back do not hash to the recorded SHA-256 (transient).',
    action: 'Retry the transfer; if it persists, the stored object is damaged.',
  },
  E_TIMEOUT: {
    raisedAs: 'TimeoutError',
    meaning: 'An operation ran past its time limit (transient).',
    action: 'Retry later, or raise the timeout for large environments.',
  },
  E_ABORTED: {
    raisedAs: 'AbortedError',
    meaning: "The caller's AbortSignal fired; the partial work was cleaned up.",
    action: 'Nothing: someone asked to stop. Start again if that was a mistake.',
  },
  E_CANCELLED: {
    raisedAs: 'CancelledError',
    meaning: 'Someone cancelled the backup (cancelBackup) or restore (cancelRestore); it ended failed with nothing left behind.',
    action: 'Nothing: it was asked for. Start it again if that was a mistake.',
  },
  E_ADAPTER: {
    raisedAs: 'BackupSdkError',
    meaning: "A host's own adapter (repository, queue, notifier...) failed; its facts are in `details`.",
    action: "Read `details` and the cause; this is the host adapter's own failure.",
  },
  E_STORAGE: {
    raisedAs: 'StorageError',
    meaning: 'The storage provider failed in a way not covered by a narrower E_STORAGE_* code.',
    action: 'Read the message and `details`; test the storage config.',
  },
  E_STORAGE_AUTH: {
    raisedAs: 'StorageError',
    meaning: 'The storage refused the credentials.',
    action: "Fix the storage config's credentials.",
  },
  E_STORAGE_PERMISSION: {
    raisedAs: 'StorageError',
    meaning: 'The storage account lacks a permission (write, read, delete or list).',
    action: 'Grant the account the permission on the bucket or folder.',
  },
  E_STORAGE_NOT_FOUND: {
    raisedAs: 'StorageError',
    meaning: 'The bucket, folder or object does not exist (`details.missing` says which).',
    action: 'Create the bucket or folder, or fix the settings; a missing object was deleted.',
  },
  E_STORAGE_UNAVAILABLE: {
    raisedAs: 'StorageError',
    meaning: 'The storage could not be reached or answered with a server error (transient).',
    action: 'Retry later; check the network and the endpoint.',
  },
  E_STORAGE_FULL: {
    raisedAs: 'StorageError',
    meaning: 'The storage is out of space.',
    action: 'Free space on the storage, or use another storage config.',
  },
  E_STORAGE_TLS: {
    raisedAs: 'StorageError',
    meaning: 'The TLS handshake with an FTPS server failed.',
    action: "Check the server's certificate and the secure settings.",
  },
  E_STORAGE_HOST_KEY: {
    raisedAs: 'StorageError',
    meaning: "The SFTP server's host key is not the configured one.",
    action: 'Verify the server and set settings.host_key to its real key.',
  },
  E_STORAGE_TOO_LARGE: {
    raisedAs: 'StorageError',
    meaning: 'The object needs more multipart parts than S3 allows at the configured part size.',
    action: 'Raise settings.part_size_mb.',
  },
  E_STORAGE_SIZE: {
    raisedAs: 'BackupSdkError',
    meaning: 'The storage reports a stored size different from the bytes sent; the object was removed.',
    action: 'Retry; if it persists, check the storage or a proxy in between.',
  },
  E_SOURCE: {
    raisedAs: 'SourceError',
    meaning: 'A command on the source could not run (missing program, unsupported stdin...).',
    action: 'Read the message; check the source config and the host tools.',
  },
  E_SOURCE_PG_DUMP: {
    raisedAs: 'SourceError',
    meaning:
      'pg_dump, or the psql session whose snapshot it dumps (`details.step: "snapshot"`), failed or was not found; `details` has the exit code and stderr tail.',
    action: 'Check the database connection settings and the pg_dump version.',
  },
  E_SOURCE_PG_RESTORE: {
    raisedAs: 'SourceError',
    meaning: 'pg_restore failed, was not found, or found the dump unreadable.',
    action: 'Install a pg_restore at least as new as the dump; check the archive.',
  },
  E_SOURCE_TAR: {
    raisedAs: 'SourceError',
    meaning: 'Archiving the filestore failed, or its path is not a folder.',
    action: 'Check filestore_path and its permissions on the source.',
  },
  E_SOURCE_PSQL: {
    raisedAs: 'SourceError',
    meaning: 'An admin statement of a restore (psql: create, drop, rename a database) failed or psql was not found.',
    action: "Read the message (PostgreSQL's own); check the role's privileges and the database's sessions.",
  },
  E_SOURCE_FILES: {
    raisedAs: 'SourceError',
    meaning: "Creating, renaming or removing a folder, or staging a dump, failed on the restore target's host.",
    action: 'Check the filestore root and temp area: permissions, free space, a leftover folder of that name.',
  },
  E_SOURCE_SSH: {
    raisedAs: 'SourceError',
    meaning: 'The SSH connection to the source failed or dropped (transient).',
    action: 'Retry later; check the host, port and network.',
  },
  E_SOURCE_SSH_AUTH: {
    raisedAs: 'SourceError',
    meaning: 'The SSH server refused the login, or the private key cannot be used.',
    action: 'Fix the SSH username, password, private key or passphrase.',
  },
  E_SOURCE_SSH_HOST_KEY: {
    raisedAs: 'SourceError',
    meaning: "The SSH server's host key is not the configured one.",
    action: 'Verify the server and configure its real host key.',
  },
  E_ARCHIVE: {
    raisedAs: 'ArchiveError',
    meaning: 'A backup archive is corrupt or hostile.',
    action: 'Do not use this archive; restore another backup.',
  },
  E_ENCRYPTION_KEY: {
    raisedAs: 'BackupSdkError',
    meaning: 'None of the identities given is for a recipient the backup was encrypted to; decided before any byte of the object is read.',
    action:
      'Pass (or have the KeyProvider return) an identity for one of the `details.recipients`; after a key rotation keep the old identities.',
  },
  E_ENCRYPTION_TRUNCATED: {
    raisedAs: 'BackupSdkError',
    meaning:
      'An encrypted backup object is shorter than its record says, or its last chunk is not marked final: bytes are missing at its end.',
    action: 'Do not use this object; restore from its copy or another backup.',
  },
  E_ENCRYPTION_TAMPERED: {
    raisedAs: 'BackupSdkError',
    meaning:
      "An encrypted backup object does not authenticate: a chunk's or the header's MAC fails, an identity for a recorded recipient does not unwrap it, or the bytes disagree with the record about being encrypted.",
    action: 'Treat the object as altered; restore from its copy or another backup, and check who can write to the storage.',
  },
  E_ENCRYPTION_REQUIRED: {
    raisedAs: 'BackupSdkError',
    meaning:
      'The storage config or the backup policy requires encryption but the backup would be stored unencrypted (no recipient, or the bytes to upload are not age); nothing was uploaded.',
    action: 'Have the KeyProvider return at least one age1 X25519 recipient for this environment and storage config.',
  },
  E_SECRET_REF: {
    raisedAs: 'BackupSdkError',
    meaning:
      'A storage credential given as `{ ref }` could not be resolved: no SecretResolver was given, it threw (transient), or its answer is not a valid value for the field (`details.field`).',
    action: 'Pass `secrets` (a SecretResolver) to createBackupSdk, or fix the reference or the value it stands for in your secret store.',
  },
  E_MANIFEST_INVALID: {
    raisedAs: 'ArchiveError',
    meaning: 'manifest.json is missing, not JSON, or lacks required fields.',
    action: 'Do not use this archive; restore another backup.',
  },
  E_MANIFEST_VERSION: {
    raisedAs: 'ArchiveError',
    meaning: "The archive's manifest has a major version this SDK does not know.",
    action: 'Upgrade odoo-backup-sdk to read it.',
  },
  E_IMPORT_UNSAFE: {
    raisedAs: 'ArchiveError',
    meaning:
      'A file to import is hostile or ambiguous: its plain SQL could make psql do more than run SQL (a meta-command, a client_encoding other than UTF8, text psql could read two ways; `details.line` and `details.reason` say where and why), or its ZIP has a member outside its folder, a link, a duplicate, headers that disagree, or sizes of a zip bomb (`details.member`). Nothing was created.',
    action: 'Do not import this file; dump the database again with pg_dump (plain or -Fc) from a source you trust.',
  },
  E_IMPORT_FORMAT: {
    raisedAs: 'ArchiveError',
    meaning:
      'A file to import is none of the formats the SDK reads (an Odoo backup ZIP, a pg_dump -Fc dump, an odoo-backup-sdk archive). Nothing was created.',
    action: 'Check the file; export it again from Odoo or with pg_dump -Fc.',
  },
  E_BACKUP: {
    raisedAs: 'BackupSdkError',
    meaning: 'A backup failed on an unexpected error; `details.phase` says where.',
    action: 'Read the message and cause; retry, and report it if it persists.',
  },
  E_BACKUP_FAILED: {
    raisedAs: 'BackupSdkError',
    meaning: 'A pre-operation backup did not complete and recorded no code of its own.',
    action: "Read the backup's error_message; do not proceed with the operation.",
  },
  E_VERIFICATION_FAILED: {
    raisedAs: 'BackupSdkError',
    meaning: 'A pre-operation backup was stored but did not read back as written.',
    action: 'Do not proceed with the operation; check the storage and back up again.',
  },
  E_RESTORE_INCOMPATIBLE: {
    raisedAs: 'RestoreError',
    meaning:
      "The backup is of another Odoo major than the target (without force), or the target's pg_restore is older than the dump's pg_dump.",
    action: 'Restore into an environment of the same Odoo major (or pass force), or install a newer pg_restore.',
  },
  E_RESTORE_PRIVILEGES: {
    raisedAs: 'RestoreError',
    meaning: "The target's database role may not create databases, or does not own the database replace mode swaps.",
    action: 'Grant CREATEDB to the role, or make it the owner of the database.',
  },
  E_RESTORE_DISK_SPACE: {
    raisedAs: 'RestoreError',
    meaning: 'The target has less free space where the filestore goes than the filestore needs.',
    action: 'Free space on the target host, or restore without the filestore.',
  },
  E_RESTORE_TARGET_EXISTS: {
    raisedAs: 'RestoreError',
    meaning: 'The database name or folder asked for in new_database mode is taken.',
    action: 'Choose another database_name or filestore_path.',
  },
  E_RESTORE_TARGET_MISSING: {
    raisedAs: 'RestoreError',
    meaning: 'Replace mode was asked over a database that does not exist.',
    action: "Use new_database mode, or check the environment's database name.",
  },
  E_RESTORE_NOT_RESTORABLE: {
    raisedAs: 'RestoreError',
    meaning: 'The backup is not completed, or has no stored archive.',
    action: 'Pick a completed backup.',
  },
  E_RESTORE_IN_PROGRESS: {
    raisedAs: 'RestoreError',
    meaning: 'Another restore onto the same environment is queued or running.',
    action: 'Wait for it to end (or cancel it), then ask again.',
  },
  E_RESTORE_PRE_BACKUP_FAILED: {
    raisedAs: 'RestoreError',
    meaning: 'The pre-restore backup failed or did not verify; nothing was swapped.',
    action: 'Fix what failed the backup (its record says), then restore again.',
  },
  E_RESTORE_ROLLBACK_FAILED: {
    raisedAs: 'RestoreError',
    meaning: 'A restore failed after its swap began and putting the target back failed too.',
    action: 'Read details.journal: it names where each database and folder is; finish by hand or run recoverStale.',
  },
  E_RESTORE_TARGET_CHANGED: {
    raisedAs: 'RestoreError',
    meaning:
      "The target's database or folder is no longer the one the restore found when it began (another restore swapped it), so the swap or rollback left it alone.",
    action:
      'Check which restore the environment now holds (details name the objects); the set-aside original keeps its tagged name until you drop it.',
  },
  E_WORKER_LOST: {
    raisedAs: 'recorded',
    meaning: 'The worker running a backup or restore disappeared; crash recovery failed the backup, or rolled the restore back.',
    action: 'Start the backup or restore again; check why the worker process died.',
  },
  E_MALFORMED_JSON: {
    raisedAs: 'BackupSdkError',
    meaning: 'An HTTP request body is not valid JSON (`odoo-backup-sdk/http`).',
    action: 'Send a JSON object with `Content-Type: application/json`.',
  },
  E_UNAUTHENTICATED: {
    raisedAs: 'BackupSdkError',
    meaning: "The HTTP request carries no identity the host's authenticate hook accepts.",
    action: 'Log in again, or send valid credentials (e.g. an Authorization header).',
  },
  E_ROUTE_NOT_FOUND: {
    raisedAs: 'BackupSdkError',
    meaning: 'No route of the HTTP API has this path.',
    action: 'Check the path and the base path (default `/api/v1`); `GET /openapi.json` lists every route.',
  },
  E_METHOD_NOT_ALLOWED: {
    raisedAs: 'BackupSdkError',
    meaning: 'The path exists but not with this HTTP method; the `Allow` header lists the methods it has.',
    action: 'Use one of the methods in `Allow` (`details.allow`).',
  },
  E_PAYLOAD_TOO_LARGE: {
    raisedAs: 'BackupSdkError',
    meaning: "An HTTP request body is larger than the handler's `maxBodyBytes` (counted as it is read).",
    action: 'Send a smaller body; request bodies of the API are small JSON objects.',
  },
  E_UNSUPPORTED_MEDIA_TYPE: {
    raisedAs: 'BackupSdkError',
    meaning: 'An HTTP request body is not `application/json`.',
    action: 'Send the body as JSON with `Content-Type: application/json`.',
  },
  E_IDEMPOTENCY_KEY_REUSED: {
    raisedAs: 'BackupSdkError',
    meaning: 'An `Idempotency-Key` was sent again, by the same caller to the same route, with another body.',
    action: 'Use a new key for a new request; repeat a request only with its exact body.',
  },
  E_IDEMPOTENCY_IN_PROGRESS: {
    raisedAs: 'BackupSdkError',
    meaning: 'A request with the same `Idempotency-Key` is still being handled.',
    action: 'Wait for the first request to answer, then repeat it to get its answer replayed.',
  },
  E_UNEXPECTED: {
    raisedAs: 'recorded',
    meaning: 'A failure that was not an SDK error (a bug or a host adapter throwing a plain Error).',
    action: 'Read the message; have host adapters throw BackupSdkError with E_ADAPTER.',
  },
} as const satisfies Record<`E_${string}`, ErrorCodeInfo>;

/**
 * Every warning code: something a person should know that did not fail the operation. Carried by
 * `warning` events (`data.code`).
 */
export const WARNING_CODES = {
  W_FILESTORE_MISSING: {
    meaning: 'The filestore folder does not exist: the backup holds the database only.',
    action: 'Nothing for a new environment; otherwise check filestore_path.',
  },
  W_VERIFICATION_FAILED: {
    meaning: 'A backup was stored but did not read back as written; it is marked unverified.',
    action: 'Do not rely on it; check the storage and back up again.',
  },
  W_BACKUP_COPY_FAILED: {
    meaning:
      "A backup's second copy (the policy's secondary storage) could not be made or checked; the backup itself stays completed and verified (`copy_status: 'failed'`, `copy_error`).",
    action: 'Check the secondary storage config; a new backup is copied again.',
  },
  W_RECORD_FAILED: {
    meaning: 'A backup failed but its record could not be marked failed (someone else changed it).',
    action: 'Check the record; crash recovery repairs stale ones.',
  },
  W_USAGE_UPDATE_FAILED: {
    meaning: "The storage config's usage counters could not be updated after a backup.",
    action: 'Check the storage config repository; the counters may lag.',
  },
  W_NOT_ODOO_DATABASE: {
    meaning: "The backed-up database has no ir_module_module table: it is not an Odoo database, and the manifest's odoo is null.",
    action: "Check the environment's database name; nothing to do if it is not meant to be an Odoo database.",
  },
  W_QUOTA_EXCEEDED: {
    meaning: 'A scheduled or pre-operation backup runs although the organisation is over quota.',
    action: 'Delete old backups or raise the quota.',
  },
  W_NOTIFICATION_FAILED: {
    meaning: 'The notifier threw; the backup itself is unaffected.',
    action: "Check the host's notifier.",
  },
  W_POLICY_UPDATE_FAILED: {
    meaning: "A scheduled backup's outcome could not be recorded on its policy.",
    action: 'Check the policy repository; last_backup_status may be stale.',
  },
  W_RESTORE_CLEANUP_FAILED: {
    meaning: 'A restore succeeded but the previous database or folder could not be dropped.',
    action: "Drop the __previous_ database and folder named in the task's journal by hand.",
  },
  W_RESTORE_HOOK_FAILED: {
    meaning: "The afterSwap hook threw; the restore's outcome stands.",
    action: 'Check the hook (e.g. start Odoo by hand).',
  },
  W_IMPORT_SKIPPED: {
    meaning:
      "An imported Odoo backup ZIP held members other than dump.sql, manifest.json and filestore/ (the message lists them); they were left out, as Odoo's own restore leaves them.",
    action: 'Nothing, unless you expected those files somewhere: Odoo never reads them.',
  },
  W_RESTORE_VERSION_UNKNOWN: {
    meaning: 'The Odoo or pg_dump version of the backup or target is unknown, so it was not compared.',
    action: 'Check the versions by hand if the restore misbehaves.',
  },
} as const satisfies Record<`W_${string}`, WarningCodeInfo>;

/** A stable error code from {@link ERROR_CODES}: switch on it, it is a closed union. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** A stable warning code from {@link WARNING_CODES} (`data.code` of `warning` events). */
export type WarningCode = keyof typeof WARNING_CODES;

/** The codes raised as the given class, e.g. `ErrorCodeOf<'StorageError'>`. */
export type ErrorCodeOf<C extends ErrorCodeInfo['raisedAs']> = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]['raisedAs'] extends C ? K : never;
}[ErrorCode];

/** True when `value` is a code of the catalogue (e.g. one read back from `error_details`). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
