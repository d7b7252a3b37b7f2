import { NotFoundError, ValidationError, type EnvironmentResolver, type ResolvedEnvironment, type SourceConfig } from 'odoo-backup-sdk';
import type { StorageCatalogue } from '../catalogue/storage-catalogue.js';
import type { Output } from '../output.js';

/** What every command runs with. */
export interface CommandContext {
  out: Output;
  /** Aborts on Ctrl-C (SIGINT) or SIGTERM: the command cancels what it started and exits 130. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

/** Shortest id prefix that names a backup. */
export const MIN_ID_PREFIX = 8;

/**
 * The backup an id or an unambiguous prefix of at least {@link MIN_ID_PREFIX} characters names.
 *
 * @throws ValidationError a prefix too short, or one that names several backups
 * @throws NotFoundError no backup's id starts with it
 */
export async function resolveBackupId(catalogue: StorageCatalogue, prefix: string): Promise<string> {
  const wanted = prefix.trim().toLowerCase();
  if (wanted.length < MIN_ID_PREFIX)
    throw new ValidationError([{ field: 'id', message: `must be a backup id or a prefix of at least ${MIN_ID_PREFIX} characters` }]);
  const matches = (await catalogue.find({})).filter((b) => b.id.toLowerCase().startsWith(wanted));
  if (matches.length === 0) throw new NotFoundError('backup', prefix);
  if (matches.length > 1)
    throw new ValidationError(
      [
        {
          field: 'id',
          message: `'${prefix}' names ${matches.length} backups (${matches.map((b) => b.id).join(', ')}): give more characters`,
        },
      ],
      `The id prefix '${prefix}' is ambiguous`,
    );
  return matches[0]!.id;
}

/** The one environment a command works on, as the SDK's resolver answers it. */
export function singleEnvironment(environment: {
  environmentId: string;
  organizationId: string;
  projectId: string;
  database: string;
  source: SourceConfig;
}): EnvironmentResolver {
  const resolved: ResolvedEnvironment = {
    environment_id: environment.environmentId,
    organization_id: environment.organizationId,
    project_id: environment.projectId,
    db_name: environment.database,
    odoo_version: null,
    source: environment.source,
    snapshot: {
      environment: { id: environment.environmentId, name: environment.environmentId, db_name: environment.database },
      project: { id: environment.projectId, name: environment.projectId },
    },
  };
  return { resolve: async (id) => (id === environment.environmentId ? resolved : null) };
}

/** A resolver for commands that need none (list, verify, prune): every environment is unknown. */
export const noEnvironments: EnvironmentResolver = { resolve: async () => null };

/** A failure recorded on a backup or task (`error_details.code`, a task's `result.error`), as a throwable for the exit code. */
export function recordedFailure(code: unknown, message: string, details: Record<string, unknown>): Error {
  return Object.assign(new Error(message), { code: typeof code === 'string' ? code : 'E_BACKUP_FAILED', details });
}
