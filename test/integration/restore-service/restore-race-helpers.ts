/**
 * What the restore-request race tests share between the test process and the worker processes:
 * one environment with one completed backup, and a RestoreService over given task records whose
 * queue only records what was enqueued (nothing runs: the race is about accepting requests).
 */
import type pg from 'pg';
import { RestoreService, type JobQueue, type ResolvedEnvironment, type TaskRepository } from '../../../src/index.js';
import type { SqlClient } from '../../../src/integrations/postgres/index.js';
import {
  InMemoryBackupRepository,
  InMemoryStorageConfigRepository,
  InMemoryJobQueue,
  makeBackup,
  StaticEnvironmentResolver,
} from '../../../src/testing/index.js';

/** The environment and backup every racer asks to restore (fixed ids, so every process agrees). */
export function raceFixture(environmentId: string, backupId: string) {
  const organizationId = '00000000-0000-4000-8000-000000000001';
  const env: ResolvedEnvironment = {
    environment_id: environmentId,
    organization_id: organizationId,
    project_id: '00000000-0000-4000-8000-000000000002',
    db_name: 'shop',
    odoo_version: '18.0',
    source: {
      kind: 'local',
      connection: { host: '127.0.0.1', port: 5432, user: 'odoo', database: 'shop' },
      filestore_path: '/srv/filestore/shop',
    },
    snapshot: {
      environment: { id: environmentId, name: 'Shop', type: 'production', status: 'running', db_name: 'shop' },
    } as ResolvedEnvironment['snapshot'],
  };
  const backup = makeBackup({ id: backupId, environment_id: environmentId, organization_id: organizationId });
  return { env, backup };
}

/** A queue that records every enqueue and runs nothing. */
export class RecordingQueue extends InMemoryJobQueue {
  readonly enqueued: string[] = [];
  override enqueue(...args: Parameters<JobQueue['enqueue']>): ReturnType<JobQueue['enqueue']> {
    this.enqueued.push(args[2].jobId);
    return super.enqueue(...args);
  }
}

/** A RestoreService whose task records are `tasks` and whose queue records what it was given. */
export async function raceService(tasks: TaskRepository, environmentId: string, backupId: string) {
  const { env, backup } = raceFixture(environmentId, backupId);
  const backups = new InMemoryBackupRepository();
  await backups.create(backup);
  const queue = new RecordingQueue();
  const service = new RestoreService({
    backups,
    tasks,
    storageConfigs: new InMemoryStorageConfigRepository(),
    environments: new StaticEnvironmentResolver([env]),
    queue,
  });
  return { service, queue, backup };
}

/** Every query of `pool` waits `ms` first, as a database across a network would. */
export function slowClient(pool: pg.Pool, ms: number): SqlClient {
  return {
    query: async <R>(text: string, params?: unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return (await pool.query(text, params)) as unknown as { rows: R[]; rowCount: number | null };
    },
  };
}

/** What one racer reports: the tasks it got and the error codes of the refused requests. */
export interface RaceOutcome {
  accepted: string[];
  refused: string[];
  enqueued: string[];
}

/** Fires `count` restore requests at once and sorts what came back. */
export async function fire(service: RestoreService, queue: RecordingQueue, backupId: string, count: number): Promise<RaceOutcome> {
  const results = await Promise.allSettled(Array.from({ length: count }, () => service.restoreBackup(backupId, { mode: 'replace' })));
  return {
    accepted: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : [])),
    refused: results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { code?: string }).code ?? r.reason)] : [])),
    enqueued: [...queue.enqueued],
  };
}
