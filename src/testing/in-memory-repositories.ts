import type { Backup, BackupPolicy, StorageConfig, Task } from '../domain/entities.js';
import { ACTIVE_TASK_STATUSES } from '../domain/enums.js';
import { ConflictError, NotFoundError } from '../errors/errors.js';
import type {
  BackupFilter,
  BackupPolicyRepository,
  BackupRepository,
  PageRequest,
  StorageConfigRepository,
  TaskFilter,
  TaskRepository,
  UsageDelta,
  Where,
} from '../ports/repositories.js';
import type { Clock } from '../ports/clock.js';
import { InMemoryTable } from './in-memory-table.js';

function matches(b: Backup, f: BackupFilter): boolean {
  if (f.environment_id !== undefined && b.environment_id !== f.environment_id) return false;
  if (f.organization_id !== undefined && b.organization_id !== f.organization_id) return false;
  if (f.storage_config_id !== undefined && b.storage_config_id !== f.storage_config_id) return false;
  if (f.backup_type !== undefined && b.backup_type !== f.backup_type) return false;
  if (f.copy_storage_config_id !== undefined && (b.copy_storage_config_id ?? null) !== f.copy_storage_config_id) return false;
  if (f.copy_status !== undefined && (b.copy_status ?? null) !== f.copy_status) return false;
  if (f.status !== undefined) {
    const wanted = typeof f.status === 'string' ? [f.status] : f.status;
    if (!wanted.includes(b.status)) return false;
  }
  if (f.expires_before !== undefined && (b.expires_at === null || !(Date.parse(b.expires_at) < Date.parse(f.expires_before)))) return false;
  return true;
}

const newestFirst = (a: Backup, b: Backup) =>
  a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

/** {@link BackupRepository} in memory, for users' unit tests. Passes `runBackupRepositoryContract`. */
export class InMemoryBackupRepository implements BackupRepository {
  private readonly table: InMemoryTable<Backup>;
  constructor(clock?: Pick<Clock, 'now'>) {
    this.table = new InMemoryTable<Backup>('backup', clock ? () => clock.now() : undefined);
  }
  async create(backup: Backup): Promise<Backup> {
    return this.table.insert(backup);
  }
  async get(id: string): Promise<Backup | null> {
    return this.table.get(id);
  }
  async update(id: string, patch: Partial<Backup>, where?: Where<Backup>): Promise<Backup> {
    return this.table.update(id, patch, where);
  }
  async list(filter: BackupFilter, page: PageRequest): Promise<{ items: Backup[]; total: number }> {
    const all = this.matching(filter);
    return { items: all.slice(page.offset, page.offset + page.limit).map((b) => structuredClone(b)), total: all.length };
  }
  async find(filter: BackupFilter): Promise<Backup[]> {
    return this.matching(filter).map((b) => structuredClone(b));
  }
  async sumCompressedSize(filter: BackupFilter): Promise<number> {
    let sum = 0;
    for (const b of this.table.values()) if (matches(b, filter)) sum += b.compressed_size;
    return sum;
  }
  async listEnvironmentIds(filter: BackupFilter = {}): Promise<string[]> {
    const ids = new Set<string>();
    for (const b of this.table.values()) if (matches(b, filter)) ids.add(b.environment_id);
    return [...ids].sort();
  }
  private matching(filter: BackupFilter): Backup[] {
    const out: Backup[] = [];
    for (const b of this.table.values()) if (matches(b, filter)) out.push(b);
    return out.sort(newestFirst);
  }
}

/** {@link BackupPolicyRepository} in memory. Passes `runBackupPolicyRepositoryContract`. */
export class InMemoryBackupPolicyRepository implements BackupPolicyRepository {
  private readonly table: InMemoryTable<BackupPolicy>;
  private readonly byEnvironment = new Map<string, string>();
  constructor(clock?: Pick<Clock, 'now'>) {
    this.table = new InMemoryTable<BackupPolicy>('policy', clock ? () => clock.now() : undefined);
  }
  async create(policy: BackupPolicy): Promise<BackupPolicy> {
    if (this.byEnvironment.has(policy.environment_id)) {
      throw new ConflictError(`Environment ${policy.environment_id} already has a backup policy`, {
        details: { environment_id: policy.environment_id },
      });
    }
    const created = this.table.insert(policy);
    this.byEnvironment.set(policy.environment_id, policy.id);
    return created;
  }
  async get(id: string): Promise<BackupPolicy | null> {
    return this.table.get(id);
  }
  async getByEnvironment(environmentId: string): Promise<BackupPolicy | null> {
    const id = this.byEnvironment.get(environmentId);
    return id ? this.table.get(id) : null;
  }
  async update(id: string, patch: Partial<BackupPolicy>, where?: Where<BackupPolicy>): Promise<BackupPolicy> {
    const before = this.table.get(id);
    if (before && patch.environment_id !== undefined && patch.environment_id !== before.environment_id) {
      throw new ConflictError('A policy cannot move to another environment', { details: { id } });
    }
    return this.table.update(id, patch, where);
  }
  async delete(id: string): Promise<void> {
    const p = this.table.get(id);
    if (p) this.byEnvironment.delete(p.environment_id);
    this.table.delete(id);
  }
  async listDue(now: string, limit = Number.POSITIVE_INFINITY): Promise<BackupPolicy[]> {
    const t = Date.parse(now);
    const due: BackupPolicy[] = [];
    for (const p of this.table.values()) {
      if (p.is_enabled && p.next_backup_at !== null && Date.parse(p.next_backup_at) <= t) due.push(p);
    }
    due.sort((a, b) => Date.parse(a.next_backup_at!) - Date.parse(b.next_backup_at!) || (a.id < b.id ? -1 : 1));
    return due.slice(0, limit).map((p) => structuredClone(p));
  }
  async listEnabled(): Promise<BackupPolicy[]> {
    return [...this.table.values()].filter((p) => p.is_enabled).map((p) => structuredClone(p));
  }
  async nextDueAt(): Promise<string | null> {
    let best: string | null = null;
    let bestT = Number.POSITIVE_INFINITY;
    for (const p of this.table.values()) {
      if (!p.is_enabled || p.next_backup_at === null) continue;
      const t = Date.parse(p.next_backup_at);
      if (t < bestT) {
        bestT = t;
        best = p.next_backup_at;
      }
    }
    return best;
  }
}

/** {@link TaskRepository} in memory. Passes `runTaskRepositoryContract`. */
export class InMemoryTaskRepository implements TaskRepository {
  private readonly table: InMemoryTable<Task>;
  constructor(clock?: Pick<Clock, 'now'>) {
    this.table = new InMemoryTable<Task>('task', clock ? () => clock.now() : undefined);
  }
  /** Ids of the tasks created through {@link InMemoryTaskRepository.createExclusive}. */
  private readonly exclusive = new Set<string>();
  async create(task: Task): Promise<Task> {
    return this.table.insert(task);
  }
  /** Check and insert run in one synchronous step, so no other call can come between them. */
  async createExclusive(task: Task): Promise<Task> {
    for (const id of this.exclusive) {
      const other = this.table.rows.get(id);
      if (other && other.environment_id === task.environment_id && ACTIVE_TASK_STATUSES.includes(other.status)) {
        throw new ConflictError(`Environment ${task.environment_id} already has an active ${other.task_type} task (${other.id})`, {
          details: { entity: 'task', id: task.id, environment_id: task.environment_id, active_task_id: other.id },
        });
      }
    }
    const created = this.table.insert(task);
    this.exclusive.add(task.id);
    return created;
  }
  async get(id: string): Promise<Task | null> {
    return this.table.get(id);
  }
  async update(id: string, patch: Partial<Task>, where?: Where<Task>): Promise<Task> {
    return this.table.update(id, patch, where);
  }
  async find(filter: TaskFilter): Promise<Task[]> {
    const statuses = filter.status === undefined ? null : ([] as string[]).concat(filter.status);
    return [...this.table.values()]
      .filter(
        (t) =>
          (filter.task_type === undefined || t.task_type === filter.task_type) &&
          (filter.environment_id === undefined || t.environment_id === filter.environment_id) &&
          (statuses === null || statuses.includes(t.status)),
      )
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((t) => structuredClone(t));
  }
}

/** {@link StorageConfigRepository} in memory. Passes `runStorageConfigRepositoryContract`. */
export class InMemoryStorageConfigRepository implements StorageConfigRepository {
  private readonly table: InMemoryTable<StorageConfig>;
  constructor(clock?: Pick<Clock, 'now'>) {
    this.table = new InMemoryTable<StorageConfig>('storage_config', clock ? () => clock.now() : undefined);
  }
  async create(config: StorageConfig): Promise<StorageConfig> {
    return this.table.insert(config);
  }
  async get(id: string): Promise<StorageConfig | null> {
    return this.table.get(id);
  }
  async getDefault(organizationId: string): Promise<StorageConfig | null> {
    for (const c of this.table.values()) if (c.organization_id === organizationId && c.is_default) return structuredClone(c);
    return null;
  }
  async list(organizationId: string): Promise<StorageConfig[]> {
    return [...this.table.values()]
      .filter((c) => c.organization_id === organizationId)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
      .map((c) => structuredClone(c));
  }
  async delete(id: string): Promise<void> {
    this.table.delete(id);
  }
  async update(id: string, patch: Partial<StorageConfig>, where?: Where<StorageConfig>): Promise<StorageConfig> {
    return this.table.update(id, patch, where);
  }
  async adjustUsage(id: string, delta: UsageDelta): Promise<StorageConfig> {
    const c = this.table.get(id);
    if (!c) throw new NotFoundError('storage_config', id);
    return this.table.update(id, {
      total_size_bytes: Math.max(0, c.total_size_bytes + delta.bytes),
      object_count: Math.max(0, c.object_count + delta.objects),
      ...(delta.last_used_at !== undefined ? { last_used_at: delta.last_used_at } : {}),
    });
  }
}
