/**
 * The backup permission names, plus `org.storage.manage` (our addition: creating, changing,
 * testing and deleting an organisation's storage configs; see docs/decisions.md).
 */
export const Permission = {
  BACKUPS_LIST: 'project.backups.list',
  BACKUPS_CREATE: 'project.backups.create',
  BACKUPS_VIEW: 'project.backups.view',
  BACKUPS_DELETE: 'project.backups.delete',
  /** Restore a backup into a new database or over an environment (held by the roles that may delete backups). */
  BACKUPS_RESTORE: 'project.backups.restore',
  POLICY_CREATE: 'org.backups.create',
  POLICY_DELETE: 'org.backups.delete',
  STORAGE_MANAGE: 'org.storage.manage',
} as const;
/** One of the permission names. */
export type Permission = (typeof Permission)[keyof typeof Permission];

/** The product's default role names. */
export type Role = 'portal_admin' | 'org_owner' | 'org_admin' | 'org_member' | 'project_admin' | 'project_member';

const ALL = Object.values(Permission) as Permission[];

/** The default role matrix: which permissions each role holds (`org.storage.manage`: portal_admin and org_owner only). */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  portal_admin: ALL,
  org_owner: ALL,
  org_admin: [Permission.BACKUPS_CREATE, Permission.BACKUPS_VIEW, Permission.BACKUPS_LIST],
  org_member: [Permission.BACKUPS_VIEW, Permission.BACKUPS_LIST],
  project_admin: [
    Permission.BACKUPS_CREATE,
    Permission.BACKUPS_VIEW,
    Permission.BACKUPS_LIST,
    Permission.BACKUPS_DELETE,
    Permission.BACKUPS_RESTORE,
  ],
  project_member: [Permission.BACKUPS_VIEW, Permission.BACKUPS_LIST],
};

/** True when `role` holds `permission` in the default matrix. */
export function roleHasPermission(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
