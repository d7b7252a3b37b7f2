import type { Task } from '../../domain/entities.js';
import { Permission } from '../../domain/permissions.js';
import { BackupListQuerySchema, parseInput } from '../../domain/validation.js';
import { NotFoundError } from '../../errors/errors.js';
import type { Actor } from '../../ports/authorizer.js';
import { authorizeCall } from '../shared/authorize-call.js';
import {
  toBackupDetail,
  toBackupListItem,
  type BackupDetail,
  type BackupListItem,
  type BackupSummary,
  type Page,
} from './backup-responses.js';
import type { ListBackupsQuery } from './backup-service-types.js';
import { assertId, loadAuthorized, type BackupServiceContext } from './backup-service-context.js';
import { QUOTA_COUNTED_STATUSES } from '../retention/quota.js';

/** The read side of the backup service: list, show, task, summary. Nothing here writes. */

/** `BackupService.listBackups`. */
export async function listBackups(
  ctx: BackupServiceContext,
  environmentId: string,
  query: ListBackupsQuery,
  actor: Actor | null,
): Promise<Page<BackupListItem>> {
  assertId(environmentId, 'environment_id');
  const q = parseInput(BackupListQuerySchema, query);
  await authorizeCall(ctx.options.authorize, { actor, permission: Permission.BACKUPS_LIST, environment_id: environmentId });
  const { items, total } = await ctx.backups.list(
    {
      environment_id: environmentId,
      ...(q.status ? { status: q.status } : {}),
      ...(q.backup_type ? { backup_type: q.backup_type } : {}),
    },
    { offset: (q.page - 1) * q.page_size, limit: q.page_size },
  );
  return { items: items.map(toBackupListItem), total, page: q.page, page_size: q.page_size, pages: Math.ceil(total / q.page_size) };
}

/** `BackupService.getBackup`. */
export async function getBackup(ctx: BackupServiceContext, backupId: string, actor: Actor | null): Promise<BackupDetail> {
  return toBackupDetail(await loadAuthorized(ctx, backupId, Permission.BACKUPS_VIEW, actor));
}

/** `BackupService.getTask`. */
export async function getTask(ctx: BackupServiceContext, taskId: string, actor: Actor | null): Promise<Task> {
  assertId(taskId, 'task_id');
  const task = await ctx.tasks.get(taskId);
  if (!task) throw new NotFoundError('task', taskId);
  await authorizeCall(ctx.options.authorize, {
    actor,
    permission: Permission.BACKUPS_VIEW,
    environment_id: task.environment_id,
    ...(task.backup_id ? { backup_id: task.backup_id } : {}),
  });
  return task;
}

/** `BackupService.getSummary`. */
export async function getSummary(ctx: BackupServiceContext, environmentId: string, actor: Actor | null): Promise<BackupSummary> {
  assertId(environmentId, 'environment_id');
  await authorizeCall(ctx.options.authorize, { actor, permission: Permission.BACKUPS_LIST, environment_id: environmentId });
  const counted = await ctx.backups.find({ environment_id: environmentId, status: QUOTA_COUNTED_STATUSES });
  const policy = ctx.policies ? await ctx.policies.getByEnvironment(environmentId) : null;
  // find() returns newest first.
  const completed = counted.filter((b) => b.status === 'completed');
  return {
    environment_id: environmentId,
    total_backups: counted.length,
    completed_backups: completed.length,
    failed_backups: counted.filter((b) => b.status === 'failed').length,
    total_size_bytes: counted.reduce((sum, b) => sum + b.compressed_size, 0),
    oldest_backup_at: counted.at(-1)?.created_at ?? null,
    newest_backup_at: counted[0]?.created_at ?? null,
    last_successful_backup_at: completed[0]?.created_at ?? null,
    policy_enabled: policy?.is_enabled ?? false,
    next_scheduled_backup: policy?.is_enabled ? policy.next_backup_at : null,
  };
}
