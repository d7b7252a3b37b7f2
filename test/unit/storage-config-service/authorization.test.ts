import { describe, expect, it } from 'vitest';
import { Permission, PermissionDeniedError, ROLE_PERMISSIONS, roleHasPermission, type Role } from '../../../src/index.js';
import { ORG, OTHER_ORG, S3_BODY, setup } from './setup.js';

describe('StorageConfigService authorization', () => {
  it('every call asks for org.storage.manage on the config organisation', async () => {
    const { service, asked } = setup({
      storageProviders: () => ({ testConnection: async () => ({ ok: true, steps: [], message: 'ok' }), close: async () => {} }) as never,
    });
    const actor = { id: 'user-1' };
    await service.create(ORG, S3_BODY, actor);
    await service.update('sc-1', { name: 'x' }, actor);
    await service.get('sc-1', actor);
    await service.list(OTHER_ORG, actor);
    await service.test(ORG, 'sc-1', actor);
    await service.test(ORG, S3_BODY, actor);
    await service.delete('sc-1', actor);
    expect(asked.map((r) => `${r.permission}:${r.organization_id}:${r.actor?.id}`)).toEqual([
      `org.storage.manage:${ORG}:user-1`,
      `org.storage.manage:${ORG}:user-1`,
      `org.storage.manage:${ORG}:user-1`,
      `org.storage.manage:${OTHER_ORG}:user-1`,
      `org.storage.manage:${ORG}:user-1`,
      `org.storage.manage:${ORG}:user-1`,
      `org.storage.manage:${ORG}:user-1`,
    ]);
  });

  it('a refusal is a PermissionDeniedError and changes nothing', async () => {
    const { service, storageConfigs } = setup({ allow: (r) => r.actor?.id === 'owner' });
    await service.create(ORG, S3_BODY, { id: 'owner' });
    const before = await storageConfigs.get('sc-1');
    for (const call of [
      () => service.create(ORG, S3_BODY, { id: 'member' }),
      () => service.update('sc-1', { name: 'x' }, { id: 'member' }),
      () => service.get('sc-1', { id: 'member' }),
      () => service.list(ORG, { id: 'member' }),
      () => service.delete('sc-1', { id: 'member' }),
      () => service.test(ORG, S3_BODY, { id: 'member' }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error).toMatchObject({ code: 'E_PERMISSION_DENIED', details: { permission: 'org.storage.manage', organization_id: ORG } });
    }
    expect(await storageConfigs.list(ORG)).toEqual([before]);
  });

  it('the default role matrix gives org.storage.manage to portal_admin and org_owner only', () => {
    expect(Permission.STORAGE_MANAGE).toBe('org.storage.manage');
    const holders = (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((role) => roleHasPermission(role, Permission.STORAGE_MANAGE));
    expect(holders.sort()).toEqual(['org_owner', 'portal_admin']);
  });
});
