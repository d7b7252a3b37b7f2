import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, in-memory; also run under Node 24 in CI) and `integration`
// (real PostgreSQL, sshd, S3 and FTP servers started on 127.0.0.1 by test/servers/).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Runs after the unit project; projects with different maxWorkers need distinct groups.
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 120_000,
          // Real servers and real pg_dump processes: keep the 2-core machine from thrashing.
          maxWorkers: 2,
        },
      },
    ],
  },
});
