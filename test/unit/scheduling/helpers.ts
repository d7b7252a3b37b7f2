import { randomUUID } from 'node:crypto';
import type {
  BackupCreateInput,
  BackupPolicy,
  BackupPolicyRepository,
  BackupStarter,
  BackupStatus,
  Clock,
  Actor,
  Where,
} from '../../../src/index.js';
import { StorageError } from '../../../src/index.js';

/** One createBackup call seen by {@link RecordingStarter}. */
export interface StartedBackup {
  id: string;
  environmentId: string;
  input: BackupCreateInput;
  actor: Actor | null;
  /** Clock time of the call. */
  at: string;
}

/** A BackupStarter that records calls at the clock's time; environments in `failFor` fail. */
export class RecordingStarter implements BackupStarter {
  readonly started: StartedBackup[] = [];
  readonly failFor = new Set<string>();
  /** When set, each call waits for it (to hold backups "in flight"). */
  gate: Promise<void> | null = null;
  constructor(private readonly clock: Clock) {}

  async createBackup(
    environmentId: string,
    input: BackupCreateInput,
    actor: Actor | null,
  ): Promise<{ id: string; status: BackupStatus; task_id: string | null }> {
    const at = this.clock.now().toISOString();
    if (this.gate) await this.gate;
    if (this.failFor.has(environmentId))
      throw new StorageError('E_STORAGE_UNAVAILABLE', `storage unreachable for ${environmentId}`, { transient: true });
    const id = randomUUID();
    this.started.push({ id, environmentId, input, actor, at });
    return { id, status: 'pending', task_id: randomUUID() };
  }
}

/** A policy record as a host might store it (defaults of the product). */
export function policyRecord(environmentId: string, fields: Partial<BackupPolicy> = {}): BackupPolicy {
  return {
    id: randomUUID(),
    environment_id: environmentId,
    is_enabled: true,
    schedule_cron: '0 2 * * *',
    timezone: 'UTC',
    daily_retention: 7,
    weekly_retention: 4,
    monthly_retention: 12,
    yearly_retention: 2,
    weekly_backup_day: 6,
    storage_config_id: null,
    notify_on_success: false,
    notify_on_failure: true,
    last_backup_at: null,
    last_backup_status: null,
    next_backup_at: null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Wraps a policy repository so every call yields a random number of event-loop turns first,
 * as a networked database would: concurrent schedulers then interleave in many orders, and only
 * the compare-and-set keeps each slot to one backup.
 */
export function jittered(inner: BackupPolicyRepository, random: () => number): BackupPolicyRepository {
  const pause = async () => {
    const turns = Math.floor(random() * 4);
    for (let i = 0; i < turns; i++) await Promise.resolve();
  };
  return {
    create: async (p: BackupPolicy) => (await pause(), inner.create(p)),
    get: async (id: string) => (await pause(), inner.get(id)),
    getByEnvironment: async (e: string) => (await pause(), inner.getByEnvironment(e)),
    update: async (id: string, patch: Partial<BackupPolicy>, where?: Where<BackupPolicy>) => {
      await pause();
      const r = await inner.update(id, patch, where);
      await pause();
      return r;
    },
    delete: async (id: string) => (await pause(), inner.delete(id)),
    listDue: async (now: string, limit?: number) => {
      await pause();
      const r = await inner.listDue(now, limit);
      await pause();
      return r;
    },
    listEnabled: async () => (await pause(), inner.listEnabled()),
    nextDueAt: async () => (await pause(), inner.nextDueAt()),
  };
}

/** Local "YYYY-MM-DD HH:MM" of an instant in a zone (Intl only). */
export function localTime(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleString('sv-SE', { timeZone, hour12: false }).slice(0, 16);
}
