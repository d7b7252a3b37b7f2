import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The CLI's unit tests import the library by its package name, as the CLI does; here the name
// points at the sources (as tsconfig.json's paths do), so they need no build. The CLI's
// integration tests spawn the built CLI (cli/dist), which `npm test` builds first.
const librarySources = [
  { find: /^odoo-backup-sdk$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  { find: /^odoo-backup-sdk\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
];

// Two projects: `unit` (pure, in-memory; also run under Node 24 in CI) and `integration`
// (real PostgreSQL, sshd, S3 and FTP servers started on 127.0.0.1 by test/servers/).
export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias: librarySources },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'cli/test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 20_000,
          // Unit tests share no state (no module mocks, no fake timers: every service takes a clock),
          // so the files of one worker share a module graph: importing the sources afresh for each of
          // 94 files was two thirds of the project's time (217 s, against 60 s shared on 2 workers).
          isolate: false,
          maxWorkers: 2,
        },
      },
      {
        resolve: { alias: librarySources },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'cli/test/integration/**/*.test.ts'],
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
