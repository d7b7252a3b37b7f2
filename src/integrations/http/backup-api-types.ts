import type { Actor } from '../../ports/authorizer.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { IdempotencyStore } from '../../ports/idempotency-store.js';
import type { QuotaStatus } from '../../ports/quota.js';
import type { BackupSdk } from '../../sdk.js';
import type { BackupDetail } from '../../services/backup/backup-responses.js';
import type { BackupVerificationResult } from '../../services/backup/verify-backup.js';

// The handler's option and function types, apart from the handler so that its routes can name them.
/** Who sent a request, as the server saw it. */
export interface RequestInfo {
  /** The client's IP address: the rate-limit key when the actor names none (the spec's per-IP limit). */
  clientAddress?: string;
}

/** A web-standard request handler: what {@link createBackupApi} returns. */
export type BackupApiHandler = (request: Request, info?: RequestInfo) => Promise<Response>;

/** Options of {@link createBackupApi}. */
export interface BackupApiOptions {
  /** The services to serve. Permissions stay with its `authorize` port. */
  sdk: BackupSdk;
  /** Who is calling (session, bearer token...): an actor with a string `id`, or null (401). */
  authenticate: (request: Request, info: RequestInfo) => Actor | null | Promise<Actor | null>;
  /** Where the routes live (default `/api/v1`). */
  basePath?: string;
  /** The bus the SDK emits into (`createBackupSdk({ events: bus })`): serves `GET /events/stream`. Without it that route answers 501. */
  events?: EventBus;
  /** Keeps `Idempotency-Key`s of the backup and restore POSTs. Without it the header is ignored. */
  idempotency?: IdempotencyStore;
  /** Largest request body read, in bytes (default 65536). */
  maxBodyBytes?: number;
  /**
   * Secret of the handler's own signed archive URLs (HMAC-SHA256): `GET /backups/{id}/download`
   * on storage that cannot presign (local, FTP, SFTP) answers a URL of `GET /backups/{id}/archive`.
   * Without it such storage answers 501 `E_UNSUPPORTED`.
   */
  downloadSecret?: string;
  /**
   * Serve although `sdk.ports.authorize` is unset, i.e. every authenticated caller may do
   * everything. Default false: construction throws, so a missing hook is not a silent open door.
   */
  allowEveryone?: boolean;
}

/** `POST /backups/{id}/verify`: `BackupService.verifyBackup`'s result with the backup as the API shows it. */
export interface BackupVerificationResponse extends Omit<BackupVerificationResult, 'backup'> {
  backup: BackupDetail;
}

/** `GET /organizations/{id}/usage`: the quota status under the spec's name (`total_backup_storage`) and ours. */
export interface OrganizationUsageResponse extends QuotaStatus {
  /** The spec's name of `used_bytes`. */
  total_backup_storage: number;
}
