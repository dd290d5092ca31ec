import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers and child processes; two cores are plenty
    // busy with two workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    // CI runs on a shared two-core machine where the timing of real sockets, child
    // processes and a browser occasionally slips; one retry there keeps a scheduling
    // hiccup from blocking a landing. Locally there is no retry, so flakiness stays
    // visible where it can be fixed.
    retry: process.env.CI ? 1 : 0,
    hookTimeout: 20_000,
  },
});
