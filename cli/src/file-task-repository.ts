import { mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConflictError, NotFoundError, type Task, type TaskFilter, type TaskRepository, type Where } from 'odoo-backup-sdk';

const ACTIVE = new Set(['pending', 'queued', 'running']);
/** A lock older than this was left by a process that died: it is broken. */
const STALE_LOCK_MS = 60_000;

/**
 * Tasks as JSON files in a folder (`--state-dir`), so a restore's task and its journal outlive the
 * process: `restore --recover` finds a replace restore a crash interrupted and rolls it back or
 * finishes it. One file per task, written whole by rename; calls of one process run one at a time;
 * `createExclusive` holds a per-environment lock folder (`mkdir` is atomic) across processes.
 */
export class FileTaskRepository implements TaskRepository {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly tasks: string;
  private readonly exclusive: string;
  private readonly locks: string;

  constructor(
    dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.tasks = join(dir, 'tasks');
    this.exclusive = join(dir, 'exclusive');
    this.locks = join(dir, 'locks');
    for (const d of [this.tasks, this.exclusive, this.locks]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  create(task: Task): Promise<Task> {
    return this.serial(() => this.insert(task));
  }

  get(id: string): Promise<Task | null> {
    return this.serial(() => this.read(id));
  }

  update(id: string, patch: Partial<Task>, where?: Where<Task>): Promise<Task> {
    return this.serial(() => {
      const task = this.read(id);
      if (!task) throw new NotFoundError('task', id);
      for (const [field, expected] of Object.entries(where ?? {})) {
        if (expected === undefined) continue;
        if (!isDeepStrictEqual((task as unknown as Record<string, unknown>)[field], expected))
          throw new ConflictError(`task ${id} changed concurrently: ${field} is no longer ${JSON.stringify(expected)}`, {
            details: { entity: 'task', id, field },
          });
      }
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      const next = { ...task, ...defined, id, ...('updated_at' in defined ? {} : { updated_at: this.now().toISOString() }) } as Task;
      this.write(next);
      return next;
    });
  }

  find(filter: TaskFilter): Promise<Task[]> {
    return this.serial(() => this.all().filter((t) => matches(t, filter)));
  }

  createExclusive(task: Task): Promise<Task> {
    return this.serial(() => {
      const lock = join(this.locks, task.environment_id);
      this.lock(lock);
      try {
        const holder = this.all().find(
          (t) => t.environment_id === task.environment_id && ACTIVE.has(t.status) && this.isExclusive(t.id) && t.id !== task.id,
        );
        if (holder)
          throw new ConflictError(`environment ${task.environment_id} already has an active task ${holder.id}`, {
            details: { active_task_id: holder.id, environment_id: task.environment_id },
          });
        const created = this.insert(task);
        writeFileSync(join(this.exclusive, task.id), '');
        return created;
      } finally {
        rmdirSync(lock);
      }
    });
  }

  private serial<T>(fn: () => T): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private insert(task: Task): Task {
    if (this.read(task.id)) throw new ConflictError(`task ${task.id} already exists`, { details: { entity: 'task', id: task.id } });
    this.write(task);
    return structuredClone(task);
  }

  private read(id: string): Task | null {
    try {
      return JSON.parse(readFileSync(join(this.tasks, `${id}.json`), 'utf8')) as Task;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  private write(task: Task): void {
    const file = join(this.tasks, `${task.id}.json`);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(task, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  private all(): Task[] {
    return readdirSync(this.tasks)
      .filter((f) => f.endsWith('.json'))
      .map((f) => this.read(f.slice(0, -'.json'.length)))
      .filter((t): t is Task => t !== null)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  }

  private isExclusive(id: string): boolean {
    try {
      statSync(join(this.exclusive, id));
      return true;
    } catch {
      return false;
    }
  }

  private lock(path: string): void {
    for (let tries = 0; ; tries++) {
      try {
        mkdirSync(path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = Date.now() - statSync(path).mtimeMs;
        if (age > STALE_LOCK_MS) rmdirSync(path);
        else if (tries > 50)
          throw new ConflictError(`the state folder's lock ${path} is held by another odoo-backup process`, { details: { lock: path } });
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  }
}

function matches(t: Task, f: TaskFilter): boolean {
  if (f.task_type !== undefined && t.task_type !== f.task_type) return false;
  if (f.environment_id !== undefined && t.environment_id !== f.environment_id) return false;
  if (f.status !== undefined) {
    const wanted = typeof f.status === 'string' ? [f.status] : f.status;
    if (!wanted.includes(t.status)) return false;
  }
  return true;
}
