import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TaskRepository } from '../../ports/repositories.js';
import { allHaveCode, race, rejectsWithCode } from './assertions.js';
import { registerChecks, type ContractCheck } from './contract-check.js';
import { makeTask, SAMPLE_RECORD_TIME } from './sample-records.js';

/** Returns the repository under test (a fresh store per call is best; a shared one works too). */
export type TaskRepositoryFactory = () => TaskRepository | Promise<TaskRepository>;

/**
 * The {@link TaskRepository} contract as named checks: round trip, duplicate ids, copies in and
 * out, updates, compare-and-set with one winner among concurrent workers, and (when the
 * repository has `createExclusive`) one active exclusive task per environment among concurrent
 * callers.
 */
export function taskRepositoryChecks(factory: TaskRepositoryFactory): ContractCheck[] {
  const check = (name: string, fn: (repo: TaskRepository) => Promise<void>): ContractCheck => ({
    name,
    run: async () => fn(await factory()),
  });
  return [
    check('create then get returns the same task; an unknown id is null', async (repo) => {
      const task = makeTask({ result: { backup_id: 'b1', sizes: [1, 2] }, job_id: 'job-1' });
      assert.deepEqual(await repo.create(task), task);
      assert.deepEqual(await repo.get(task.id), task);
      assert.equal(await repo.get(randomUUID()), null);
    }),
    check('create with an existing id fails with E_CONFLICT and keeps the first task', async (repo) => {
      const task = await repo.create(makeTask());
      await rejectsWithCode(() => repo.create({ ...task, status: 'failed' }), 'E_CONFLICT');
      assert.deepEqual(await repo.get(task.id), task);
    }),
    check('records are copies: mutating an input or a returned task does not change the store', async (repo) => {
      const task = makeTask({ result: { n: 1 } });
      const created = await repo.create(task);
      task.status = 'failed';
      created.result!.n = 2;
      (await repo.get(task.id))!.result!.n = 3;
      (await repo.update(task.id, { attempts: 1 })).status = 'completed';
      const stored = (await repo.get(task.id))!;
      assert.equal(stored.status, 'pending');
      assert.deepEqual(stored.result, { n: 1 });
    }),
    check('update applies the patch and moves updated_at; an unknown id fails with E_NOT_FOUND', async (repo) => {
      const task = await repo.create(makeTask());
      const updated = await repo.update(task.id, { status: 'running', attempts: 1, started_at: '2026-01-01T00:00:00.000Z' });
      assert.equal(updated.status, 'running');
      assert.equal(updated.attempts, 1);
      assert.equal(updated.environment_id, task.environment_id);
      assert.notEqual(updated.updated_at, SAMPLE_RECORD_TIME);
      assert.deepEqual(await repo.get(task.id), updated);
      await rejectsWithCode(() => repo.update(randomUUID(), { status: 'running' }), 'E_NOT_FOUND');
    }),
    check('a compare-and-set whose where does not match fails with E_CONFLICT and changes nothing', async (repo) => {
      const task = await repo.create(makeTask({ status: 'completed', completed_at: '2026-01-01T00:00:00.000Z' }));
      await rejectsWithCode(() => repo.update(task.id, { status: 'running' }, { status: 'queued' }), 'E_CONFLICT');
      await rejectsWithCode(() => repo.update(task.id, { status: 'failed' }, { status: 'completed', completed_at: null }), 'E_CONFLICT');
      assert.deepEqual(await repo.get(task.id), task);
      const ok = await repo.update(task.id, { result: { ok: true } }, { status: 'completed', error_message: null });
      assert.deepEqual(ok.result, { ok: true });
    }),
    check('of concurrent workers starting one queued task exactly one wins', async (repo) => {
      for (let round = 0; round < 5; round++) {
        const task = await repo.create(makeTask({ status: 'queued' }));
        const outcome = await race(4, (i) => repo.update(task.id, { status: 'running', job_id: `worker-${i}` }, { status: 'queued' }));
        assert.equal(outcome.fulfilled.length, 1, `round ${round}: ${outcome.fulfilled.length} workers started the task`);
        allHaveCode(
          outcome.rejected.map((r) => r.reason),
          'E_CONFLICT',
        );
        assert.equal((await repo.get(task.id))!.job_id, `worker-${outcome.fulfilled[0]!.i}`);
      }
    }),
    check('find (when implemented) filters by type, environment and status, oldest first, as copies', async (repo) => {
      if (!repo.find) return;
      const env = randomUUID();
      const a = await repo.create(
        makeTask({ environment_id: env, task_type: 'restore', status: 'running', created_at: '2026-01-01T00:00:02.000Z' }),
      );
      const b = await repo.create(
        makeTask({ environment_id: env, task_type: 'restore', status: 'queued', created_at: '2026-01-01T00:00:01.000Z' }),
      );
      await repo.create(makeTask({ environment_id: env, task_type: 'backup', status: 'running' }));
      await repo.create(makeTask({ environment_id: randomUUID(), task_type: 'restore', status: 'running' }));
      const found = await repo.find({ task_type: 'restore', environment_id: env, status: ['queued', 'running'] });
      assert.deepEqual(
        found.map((t) => t.id),
        [b.id, a.id],
      );
      assert.deepEqual(
        (await repo.find({ environment_id: env, task_type: 'restore', status: 'running' })).map((t) => t.id),
        [a.id],
      );
      found[0]!.status = 'failed';
      assert.equal((await repo.get(b.id))!.status, 'queued');
    }),
    check('createExclusive (when implemented): one active exclusive task per environment; ended ones free it', async (repo) => {
      if (!repo.createExclusive) return;
      const env = randomUUID();
      // Plain tasks never hold the environment, and an exclusive one elsewhere does not either.
      await repo.create(makeTask({ environment_id: env, task_type: 'restore', status: 'running' }));
      await repo.createExclusive(makeTask({ environment_id: randomUUID(), task_type: 'restore' }));
      const first = await repo.createExclusive(makeTask({ environment_id: env, task_type: 'restore' }));
      for (const status of ['pending', 'queued', 'running'] as const) {
        if (status !== 'pending') await repo.update(first.id, { status });
        const refused = makeTask({ environment_id: env, task_type: 'restore' });
        await rejectsWithCode(() => repo.createExclusive!(refused), 'E_CONFLICT', `while the first task is ${status}`);
        assert.equal(await repo.get(refused.id), null, 'a refused task must not be stored');
      }
      await repo.update(first.id, { status: 'failed' });
      const second = await repo.createExclusive(makeTask({ environment_id: env, task_type: 'restore', status: 'queued' }));
      await repo.update(second.id, { status: 'completed' });
      assert.deepEqual((await repo.get(second.id))?.status, 'completed');
      await repo.createExclusive(makeTask({ environment_id: env, task_type: 'restore' }));
    }),
    check('createExclusive (when implemented): of concurrent calls for one environment exactly one creates its task', async (repo) => {
      if (!repo.createExclusive) return;
      for (const count of [2, 10]) {
        const env = randomUUID();
        const tasks = Array.from({ length: count }, () => makeTask({ environment_id: env, task_type: 'restore' }));
        const outcome = await race(count, (i) => repo.createExclusive!(tasks[i]!));
        assert.equal(outcome.fulfilled.length, 1, `${count} concurrent calls: ${outcome.fulfilled.length} created their task`);
        allHaveCode(
          outcome.rejected.map((r) => r.reason),
          'E_CONFLICT',
        );
        for (const { i } of outcome.rejected) assert.equal(await repo.get(tasks[i]!.id), null, 'a refused task must not be stored');
      }
    }),
  ];
}

/** Registers the {@link TaskRepository} contract with vitest. */
export function runTaskRepositoryContract(name: string, factory: TaskRepositoryFactory): Promise<void> {
  return registerChecks(`TaskRepository contract: ${name}`, taskRepositoryChecks(factory));
}
