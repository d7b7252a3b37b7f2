import type { Permission } from '../domain/permissions.js';

/** Who is asking. Opaque to the SDK except for `id` (stored as `created_by`). */
export interface Actor {
  /** User id (a UUID in the product), or null for the system. */
  id: string | null;
  /** Key for the manual-backup rate limit (an IP or a user id); defaults to `id`. */
  rate_limit_key?: string;
  [extra: string]: unknown;
}

/** What an authorize hook is asked. */
export interface AuthorizationRequest {
  actor: Actor | null;
  permission: Permission;
  environment_id?: string;
  organization_id?: string;
  backup_id?: string;
}

/**
 * The host's permission check. Every service call goes through it when supplied; return false
 * (or throw `PermissionDeniedError`) to refuse.
 */
export type Authorizer = (request: AuthorizationRequest) => boolean | Promise<boolean>;
