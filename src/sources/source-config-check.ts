import type { DockerSource, LocalSource, SourceConfig } from '../domain/source-config.js';
import { ValidationError, type ValidationIssue } from '../errors/errors.js';
import { absoluteFolderProblem, containerNameProblem, relativePathProblem, textArgumentProblem } from './source-identifiers.js';
import { validateSshTarget } from './ssh-command-runner.js';

const nonEmpty = (v: unknown) => typeof v === 'string' && v !== '';
const hasNul = (v: unknown) => typeof v === 'string' && v.includes('\0');

function add(issues: ValidationIssue[], field: string, problem: string | null): void {
  if (problem) issues.push({ field, message: problem });
}

/** Optional plain arguments (user, host, program): when given, non-empty and free of NUL bytes. */
function checkOptionalText(issues: ValidationIssue[], field: string, value: unknown): void {
  if (value !== undefined) add(issues, field, textArgumentProblem(value));
}

function checkLocal(config: LocalSource, prefix: string, issues: ValidationIssue[]): void {
  const c = config.connection;
  if (!c || typeof c !== 'object') {
    issues.push({ field: `${prefix}connection`, message: 'is required' });
    return;
  }
  if (!nonEmpty(c.database) || hasNul(c.database))
    issues.push({ field: `${prefix}connection.database`, message: 'must be a non-empty database name without NUL bytes' });
  checkOptionalText(issues, `${prefix}connection.host`, c.host);
  checkOptionalText(issues, `${prefix}connection.user`, c.user);
  if (c.port !== undefined && !(Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535))
    issues.push({ field: `${prefix}connection.port`, message: 'must be a whole number from 1 to 65535' });
  if (config.filestore_path !== null && config.filestore_path !== undefined) {
    const problem = absoluteFolderProblem(config.filestore_path);
    add(issues, `${prefix}filestore_path`, problem && `${problem} (an absolute folder path, not /, or null for no filestore)`);
  }
  if (config.pg_bin_dir !== undefined) add(issues, `${prefix}pg_bin_dir`, absoluteFolderProblem(config.pg_bin_dir, { allowRoot: true }));
}

function checkDocker(config: DockerSource, prefix: string, issues: ValidationIssue[]): void {
  // Container names go right after `docker exec`: docker's own grammar, so none reads as an option.
  add(issues, `${prefix}db_container`, containerNameProblem(config.db_container));
  add(issues, `${prefix}odoo_container`, containerNameProblem(config.odoo_container));
  // The database name is also the filestore folder under filestore_root: it must stay inside it.
  add(issues, `${prefix}database`, nonEmpty(config.database) ? relativePathProblem(config.database) : 'is required');
  if (config.filestore_root !== undefined) add(issues, `${prefix}filestore_root`, absoluteFolderProblem(config.filestore_root));
  checkOptionalText(issues, `${prefix}db_user`, config.db_user);
  checkOptionalText(issues, `${prefix}docker_bin`, config.docker_bin);
}

/** Throws a `ValidationError` naming every bad field of a source config, before anything runs. */
export function checkSourceConfig(config: SourceConfig): void {
  const issues: ValidationIssue[] = [];
  if (!config || typeof config !== 'object') throw new ValidationError([{ field: 'source', message: 'is required' }]);
  switch (config.kind) {
    case 'local':
      checkLocal(config, '', issues);
      break;
    case 'docker':
      checkDocker(config, '', issues);
      break;
    case 'ssh': {
      try {
        validateSshTarget(config.ssh);
      } catch (error) {
        if (error instanceof ValidationError) issues.push(...error.issues);
        else throw error;
      }
      const remote = config.remote;
      if (remote?.kind === 'local') checkLocal(remote, 'remote.', issues);
      else if (remote?.kind === 'docker') checkDocker(remote, 'remote.', issues);
      else issues.push({ field: 'remote.kind', message: "must be 'local' or 'docker'" });
      break;
    }
    default:
      issues.push({
        field: 'kind',
        message: `must be 'local', 'docker' or 'ssh', got ${JSON.stringify((config as { kind?: unknown }).kind)}`,
      });
  }
  if (issues.length) throw new ValidationError(issues);
}
