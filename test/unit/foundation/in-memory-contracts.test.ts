// Every contract suite of odoo-backup-sdk/testing, run against the in-memory adapters.
import { systemClock } from '../../../src/index.js';
import {
  FakeClock,
  InMemoryBackupPolicyRepository,
  InMemoryBackupRepository,
  InMemoryJobQueue,
  InMemoryRateLimiter,
  InMemoryStorageConfigRepository,
  InMemoryTaskRepository,
  runBackupPolicyRepositoryContract,
  runBackupRepositoryContract,
  runClockContract,
  runJobQueueContract,
  runRateLimiterContract,
  runStorageConfigRepositoryContract,
  runTaskRepositoryContract,
} from '../../../src/testing/index.js';

await runBackupRepositoryContract('in-memory', () => new InMemoryBackupRepository());
await runBackupPolicyRepositoryContract('in-memory', () => new InMemoryBackupPolicyRepository());
await runTaskRepositoryContract('in-memory', () => new InMemoryTaskRepository());
await runStorageConfigRepositoryContract('in-memory', () => new InMemoryStorageConfigRepository());

// The queue on a FakeClock: the contract's waits advance the clock instead of sleeping.
{
  let clock = new FakeClock();
  await runJobQueueContract(
    'in-memory on a FakeClock',
    () => {
      clock = new FakeClock();
      return new InMemoryJobQueue({ clock });
    },
    { tick: () => clock.advance(10), now: () => clock.now().getTime(), dispose: (q) => (q as InMemoryJobQueue).close() },
  );
}
// And on the system clock with small real backoffs, as a host without a fake clock would run it.
await runJobQueueContract('in-memory on the system clock', () => new InMemoryJobQueue(), {
  backoffMs: [20, 40],
  delayMs: 50,
  dispose: (q) => (q as InMemoryJobQueue).close(),
});

{
  let clock = new FakeClock();
  await runRateLimiterContract('in-memory on a FakeClock', () => new InMemoryRateLimiter((clock = new FakeClock())), {
    advance: (ms) => clock.advance(ms),
  });
}

{
  let clock = new FakeClock();
  await runClockContract('FakeClock', () => (clock = new FakeClock()), { advance: (ms) => clock.advance(ms) });
  await runClockContract('systemClock', () => systemClock);
}
