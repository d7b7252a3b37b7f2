import { PermissionDeniedError } from '../../errors/errors.js';
import type { AuthorizationRequest, Authorizer } from '../../ports/authorizer.js';

/**
 * Asks the host's authorize hook (see docs/decisions.md#permissions) and throws {@link PermissionDeniedError} unless
 * it answers `true`. Without a hook every call is allowed: the host then checks permissions in
 * its own HTTP layer. A hook that throws its own error (a `PermissionDeniedError` with more
 * details, say) has that error passed through unchanged.
 */
export async function authorizeCall(authorize: Authorizer | undefined, request: AuthorizationRequest): Promise<void> {
  if (!authorize) return;
  const allowed = await authorize(request);
  if (allowed !== true) {
    const details: Record<string, unknown> = {};
    if (request.environment_id !== undefined) details.environment_id = request.environment_id;
    if (request.organization_id !== undefined) details.organization_id = request.organization_id;
    if (request.backup_id !== undefined) details.backup_id = request.backup_id;
    throw new PermissionDeniedError(request.permission, { details });
  }
}
