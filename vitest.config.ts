import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Postgres template database and one Temporal dev server for the whole run (see the file).
    globalSetup: ['test/global-setup.ts'],
    // Tests start real workers, servers and subprocesses: seconds, not milliseconds, per test.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // Forks, not threads: the Temporal worker's native bridge and child processes are per process,
    // and a crashed native module then takes one fork down instead of the whole run.
    pool: 'forks',
    // The machines have 2 cores; more files in parallel only makes timing-sensitive tests flaky.
    maxWorkers: 2,
    fileParallelism: true,
    // Tests share no in-memory state; restoring mocks keeps a stray vi.spyOn from leaking.
    restoreMocks: true,
  },
});
