import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { BackupPolicy } from '../../domain/entities.js';
import type { BackupPolicyRepository } from '../../ports/repositories.js';
import { allHaveCode, race, rejectsWithCode } from './assertions.js';
import { registerChecks, type ContractCheck } from './contract-check.js';
import { makeBackupPolicy, SAMPLE_RECORD_TIME } from './sample-records.js';

/**
 * Returns the repository under test over an EMPTY store: `listDue`, `listEnabled` and
 * `nextDueAt` look at every policy, so each call must start clean (a new table, schema or
 * in-memory instance).
 */
export type BackupPolicyRepositoryFactory = () => BackupPolicyRepository | Promise<BackupPolicyRepository>;

const at = (hour: number, minute = 0) => new Date(Date.UTC(2026, 0, 1, hour, minute)).toISOString();

/**
 * The {@link BackupPolicyRepository} contract as named checks: one policy per environment,
 * compare-and-set claims of a due slot (exactly one of concurrent schedulers wins), `listDue`
 * order and limit, `nextDueAt`, `listEnabled`, copies in and out.
 */
export function backupPolicyRepositoryChecks(factory: BackupPolicyRepositoryFactory): ContractCheck[] {
  const check = (name: string, fn: (repo: BackupPolicyRepository) => Promise<void>): ContractCheck => ({
    name,
    run: async () => fn(await factory()),
  });
  const ids = (list: BackupPolicy[]) => list.map((p) => p.id);

  return [
    check('create then get and getByEnvironment return the same policy; unknown ids are null', async (repo) => {
      const policy = makeBackupPolicy({ next_backup_at: at(2), timezone: 'Europe/Brussels', schedule_cron: '30 1 * * 1-5' });
      assert.deepEqual(await repo.create(policy), policy);
      assert.deepEqual(await repo.get(policy.id), policy);
      assert.deepEqual(await repo.getByEnvironment(policy.environment_id), policy);
      assert.equal(await repo.get(randomUUID()), null);
      assert.equal(await repo.getByEnvironment(randomUUID()), null);
    }),
    check('an environment has at most one policy: a second create fails with E_CONFLICT', async (repo) => {
      const first = await repo.create(makeBackupPolicy());
      await rejectsWithCode(
        () => repo.create(makeBackupPolicy({ environment_id: first.environment_id, daily_retention: 1 })),
        'E_CONFLICT',
      );
      assert.deepEqual(await repo.getByEnvironment(first.environment_id), first);
      await rejectsWithCode(() => repo.create({ ...makeBackupPolicy(), id: first.id }), 'E_CONFLICT', 'a duplicate id');
      const raced = randomUUID();
      const outcome = await race(4, () => repo.create(makeBackupPolicy({ environment_id: raced })));
      assert.equal(outcome.fulfilled.length, 1, 'concurrent creates for one environment: exactly one must win');
      allHaveCode(
        outcome.rejected.map((r) => r.reason),
        'E_CONFLICT',
      );
    }),
    check('an update cannot give a policy an environment that already has one', async (repo) => {
      const a = await repo.create(makeBackupPolicy());
      const b = await repo.create(makeBackupPolicy());
      await rejectsWithCode(() => repo.update(b.id, { environment_id: a.environment_id }), 'E_CONFLICT');
      assert.deepEqual(await repo.getByEnvironment(a.environment_id), a);
      assert.deepEqual(await repo.get(b.id), b);
    }),
    check('delete removes the policy (a missing one is not an error) and frees its environment', async (repo) => {
      const policy = await repo.create(makeBackupPolicy());
      await repo.delete(policy.id);
      await repo.delete(policy.id);
      await repo.delete(randomUUID());
      assert.equal(await repo.get(policy.id), null);
      assert.equal(await repo.getByEnvironment(policy.environment_id), null);
      const again = await repo.create(makeBackupPolicy({ environment_id: policy.environment_id }));
      assert.deepEqual(await repo.getByEnvironment(policy.environment_id), again);
    }),
    check('records are copies: mutating an input or a returned policy does not change the store', async (repo) => {
      const policy = makeBackupPolicy({ next_backup_at: at(1) });
      const created = await repo.create(policy);
      policy.daily_retention = 99;
      created.daily_retention = 98;
      (await repo.get(policy.id))!.daily_retention = 97;
      (await repo.getByEnvironment(policy.environment_id))!.daily_retention = 96;
      (await repo.listDue(at(5)))[0]!.daily_retention = 95;
      (await repo.listEnabled())[0]!.daily_retention = 94;
      (await repo.update(policy.id, { weekly_retention: 3 })).daily_retention = 93;
      assert.equal((await repo.get(policy.id))!.daily_retention, 7);
    }),
    check('update applies a patch and moves updated_at; unknown ids fail with E_NOT_FOUND', async (repo) => {
      const policy = await repo.create(makeBackupPolicy());
      const updated = await repo.update(policy.id, { is_enabled: false, last_backup_status: 'failed', last_backup_at: at(3) });
      assert.equal(updated.is_enabled, false);
      assert.equal(updated.last_backup_status, 'failed');
      assert.equal(updated.schedule_cron, policy.schedule_cron);
      assert.notEqual(updated.updated_at, SAMPLE_RECORD_TIME);
      assert.deepEqual(await repo.get(policy.id), updated);
      await rejectsWithCode(() => repo.update(randomUUID(), { is_enabled: true }), 'E_NOT_FOUND');
    }),
    check(
      'claiming a due slot is a compare-and-set on next_backup_at; a stale claim fails with E_CONFLICT and changes nothing',
      async (repo) => {
        const policy = await repo.create(makeBackupPolicy({ next_backup_at: at(2) }));
        const claimed = await repo.update(policy.id, { next_backup_at: at(26) }, { next_backup_at: at(2) });
        assert.equal(claimed.next_backup_at, at(26));
        await rejectsWithCode(
          () => repo.update(policy.id, { next_backup_at: at(27), last_backup_at: at(2) }, { next_backup_at: at(2) }),
          'E_CONFLICT',
        );
        assert.deepEqual(await repo.get(policy.id), claimed);
        const unscheduled = await repo.create(makeBackupPolicy({ next_backup_at: null }));
        await rejectsWithCode(() => repo.update(unscheduled.id, { next_backup_at: at(3) }, { next_backup_at: at(2) }), 'E_CONFLICT');
        const scheduled = await repo.update(unscheduled.id, { next_backup_at: at(3) }, { next_backup_at: null });
        assert.equal(scheduled.next_backup_at, at(3));
      },
    ),
    check('two schedulers claiming one due policy at once: exactly one wins, every time', async (repo) => {
      for (let round = 0; round < 10; round++) {
        const due = at(2, round);
        const policy = await repo.create(makeBackupPolicy({ next_backup_at: due }));
        const outcome = await race(2, (i) =>
          repo.update(policy.id, { next_backup_at: at(20 + i, round), last_backup_at: due }, { next_backup_at: due }),
        );
        assert.equal(outcome.fulfilled.length, 1, `round ${round}: ${outcome.fulfilled.length} schedulers claimed the same slot`);
        allHaveCode(
          outcome.rejected.map((r) => r.reason),
          'E_CONFLICT',
        );
        assert.equal((await repo.get(policy.id))!.next_backup_at, at(20 + outcome.fulfilled[0]!.i, round));
      }
      const policy = await repo.create(makeBackupPolicy({ next_backup_at: at(4) }));
      const many = await race(8, (i) => repo.update(policy.id, { next_backup_at: at(5, i) }, { next_backup_at: at(4) }));
      assert.equal(many.fulfilled.length, 1, 'of eight concurrent claims exactly one must win');
    }),
    check('listDue returns enabled policies due at or before now, earliest first, at most limit', async (repo) => {
      const p1 = await repo.create(makeBackupPolicy({ next_backup_at: at(3) }));
      const p2 = await repo.create(makeBackupPolicy({ next_backup_at: at(1) }));
      const p3 = await repo.create(makeBackupPolicy({ next_backup_at: at(2) }));
      await repo.create(makeBackupPolicy({ next_backup_at: at(1), is_enabled: false }));
      await repo.create(makeBackupPolicy({ next_backup_at: null }));
      const future = await repo.create(makeBackupPolicy({ next_backup_at: at(4) }));
      assert.deepEqual(ids(await repo.listDue(at(3))), [p2.id, p3.id, p1.id], 'due at exactly now counts');
      assert.deepEqual(ids(await repo.listDue(at(3), 2)), [p2.id, p3.id]);
      assert.deepEqual(ids(await repo.listDue(at(0))), []);
      assert.deepEqual(ids(await repo.listDue(at(9))), [p2.id, p3.id, p1.id, future.id]);
      assert.deepEqual(ids(await repo.listDue('2026-01-01T03:30:00+01:00')), [p2.id, p3.id], 'now given with an offset is an instant');
    }),
    check('nextDueAt is the earliest next_backup_at of an enabled policy, or null', async (repo) => {
      assert.equal(await repo.nextDueAt(), null);
      await repo.create(makeBackupPolicy({ next_backup_at: null }));
      await repo.create(makeBackupPolicy({ next_backup_at: at(1), is_enabled: false }));
      assert.equal(await repo.nextDueAt(), null);
      await repo.create(makeBackupPolicy({ next_backup_at: at(10) }));
      const early = await repo.create(makeBackupPolicy({ next_backup_at: at(5) }));
      assert.equal(Date.parse((await repo.nextDueAt())!), Date.parse(at(5)));
      await repo.update(early.id, { is_enabled: false });
      assert.equal(Date.parse((await repo.nextDueAt())!), Date.parse(at(10)));
    }),
    check('listEnabled returns every enabled policy and no disabled one', async (repo) => {
      const a = await repo.create(makeBackupPolicy());
      const b = await repo.create(makeBackupPolicy({ next_backup_at: null }));
      await repo.create(makeBackupPolicy({ is_enabled: false }));
      assert.deepEqual(ids(await repo.listEnabled()).sort(), [a.id, b.id].sort());
    }),
  ];
}

/** Registers the {@link BackupPolicyRepository} contract with vitest. `factory` must return an empty store each call. */
export function runBackupPolicyRepositoryContract(name: string, factory: BackupPolicyRepositoryFactory): Promise<void> {
  return registerChecks(`BackupPolicyRepository contract: ${name}`, backupPolicyRepositoryChecks(factory));
}
