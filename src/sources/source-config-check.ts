import type { DockerSource, LocalSource, SourceConfig } from '../domain/source-config.js';
import { ValidationError, type ValidationIssue } from '../errors/errors.js';
import { validateSshTarget } from './ssh-command-runner.js';

const isAbsolute = (v: unknown) => typeof v === 'string' && v.startsWith('/');
const nonEmpty = (v: unknown) => typeof v === 'string' && v !== '';
const hasNul = (v: unknown) => typeof v === 'string' && v.includes('\0');

function checkLocal(config: LocalSource, prefix: string, issues: ValidationIssue[]): void {
  const c = config.connection;
  if (!c || typeof c !== 'object') {
    issues.push({ field: `${prefix}connection`, message: 'is required' });
    return;
  }
  if (!nonEmpty(c.database) || hasNul(c.database))
    issues.push({ field: `${prefix}connection.database`, message: 'must be a non-empty database name without NUL bytes' });
  if (c.port !== undefined && !(Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535))
    issues.push({ field: `${prefix}connection.port`, message: 'must be a whole number from 1 to 65535' });
  if (
    config.filestore_path !== null &&
    config.filestore_path !== undefined &&
    (!isAbsolute(config.filestore_path) || /^\/+$/.test(config.filestore_path) || hasNul(config.filestore_path))
  ) {
    issues.push({ field: `${prefix}filestore_path`, message: 'must be an absolute folder path (not /), or null for no filestore' });
  }
  if (config.pg_bin_dir !== undefined && !isAbsolute(config.pg_bin_dir))
    issues.push({ field: `${prefix}pg_bin_dir`, message: 'must be an absolute folder path' });
}

function checkDocker(config: DockerSource, prefix: string, issues: ValidationIssue[]): void {
  for (const field of ['db_container', 'odoo_container', 'database'] as const) {
    if (!nonEmpty(config[field]) || hasNul(config[field])) issues.push({ field: `${prefix}${field}`, message: 'is required' });
  }
  if (config.filestore_root !== undefined && !isAbsolute(config.filestore_root))
    issues.push({ field: `${prefix}filestore_root`, message: 'must be an absolute folder path' });
  if (config.db_user !== undefined && !nonEmpty(config.db_user)) issues.push({ field: `${prefix}db_user`, message: 'cannot be empty' });
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
