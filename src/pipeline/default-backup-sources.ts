import type { SourceConfig } from '../domain/source-config.js';
import { UnsupportedOperationError } from '../errors/errors.js';
import type { BackupSource } from '../ports/backup-source.js';

/**
 * The runner's default source factory. Placeholder until `createBackupSource` (src/sources)
 * lands; pass `deps.sources` meanwhile.
 */
export function defaultBackupSources(config: SourceConfig): BackupSource {
  throw new UnsupportedOperationError(`'${config.kind}' sources`, 'This build of the backup pipeline', 'pass deps.sources');
}
