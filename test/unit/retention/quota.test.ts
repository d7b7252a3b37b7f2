import { describe, expect, it } from 'vitest';
import { BACKUP_STATUSES, getQuotaStatus } from '../../../src/index.js';
import { InMemoryBackupRepository } from '../../../src/testing/index.js';
import { backup } from './fixtures.js';

describe('getQuotaStatus', () => {
  async function repoWithEveryStatus() {
    const backups = new InMemoryBackupRepository();
    // One backup per status, sizes 1, 2, 4, ... so the sum says exactly which ones counted.
    let size = 1;
    const sizeOf: Record<string, number> = {};
    for (const status of BACKUP_STATUSES) {
      sizeOf[status] = size;
      await backups.create(backup({ status, compressed_size: size }));
      size *= 2;
    }
    await backups.create(backup({ organization_id: 'org-2', compressed_size: 1000 }));
    return { backups, sizeOf };
  }

  it("sums compressed_size of the organisation's backups that are not expired or deleted", async () => {
    const { backups, sizeOf } = await repoWithEveryStatus();
    const expected = BACKUP_STATUSES.filter((s) => s !== 'expired' && s !== 'deleted').reduce((sum, s) => sum + sizeOf[s]!, 0);
    const status = await getQuotaStatus({ backups }, 'org-1');
    expect(status).toEqual({ organization_id: 'org-1', used_bytes: expected, limit_bytes: null, exceeded: false });
    expect(status.used_bytes).toBe(1 + 2 + 4 + 8 + 16);
  });

  it('reports exceeded when used >= limit, and not below it', async () => {
    const { backups } = await repoWithEveryStatus();
    expect(await getQuotaStatus({ backups, quota: () => 31 }, 'org-1')).toMatchObject({ used_bytes: 31, limit_bytes: 31, exceeded: true });
    expect(await getQuotaStatus({ backups, quota: async () => 30 }, 'org-1')).toMatchObject({ exceeded: true });
    expect(await getQuotaStatus({ backups, quota: () => 32 }, 'org-1')).toMatchObject({ limit_bytes: 32, exceeded: false });
  });

  it('treats a null quota as unlimited and passes the organisation id to the lookup', async () => {
    const { backups } = await repoWithEveryStatus();
    const asked: string[] = [];
    const status = await getQuotaStatus({ backups, quota: (org) => (asked.push(org), null) }, 'org-2');
    expect(asked).toEqual(['org-2']);
    expect(status).toEqual({ organization_id: 'org-2', used_bytes: 1000, limit_bytes: null, exceeded: false });
  });

  it('is zero for an organisation without backups', async () => {
    const backups = new InMemoryBackupRepository();
    expect(await getQuotaStatus({ backups, quota: () => 0 }, 'nobody')).toEqual({
      organization_id: 'nobody',
      used_bytes: 0,
      limit_bytes: 0,
      exceeded: true,
    });
  });
});
