import { StorageConfigService, type AuthorizationRequest, type StorageConfigServiceOptions } from '../../../src/index.js';
import {
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
} from '../../../src/testing/index.js';

export const ORG = '11111111-1111-4111-8111-111111111111';
export const OTHER_ORG = '22222222-2222-4222-8222-222222222222';

/** An S3 config body as a host's form would post it. */
export const S3_BODY = {
  name: 'Primary S3',
  provider: 's3',
  settings: { bucket: 'odoo-backups', region: 'eu-west-1', part_size_mb: 16 },
  credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'super-secret-value' },
};

/** A service over in-memory repositories, a fake clock, numbered ids and a recording authorize hook. */
export function setup(overrides: Partial<StorageConfigServiceOptions> & { allow?: (r: AuthorizationRequest) => boolean } = {}) {
  const clock = new FakeClock('2026-03-01T09:00:00.000Z');
  const storageConfigs = new InMemoryStorageConfigRepository(clock);
  const policies = new InMemoryBackupPolicyRepository(clock);
  const backups = new InMemoryBackupRepository(clock);
  const asked: AuthorizationRequest[] = [];
  let n = 0;
  const service = new StorageConfigService({
    storageConfigs,
    policies,
    backups,
    clock,
    ids: () => `sc-${++n}`,
    authorize: (request) => {
      asked.push(request);
      return overrides.allow ? overrides.allow(request) : true;
    },
    ...overrides,
  });
  return { clock, storageConfigs, policies, backups, service, asked };
}
