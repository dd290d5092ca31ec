import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers and child processes; two cores are plenty
    // busy with two workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    // No retries, in CI or locally: a test that needs one has a race to fix, not to hide.
    retry: 0,
    hookTimeout: 20_000,
    // Off unless asked for (`npm test -- --coverage`, as CI runs it). v8's own counters:
    // no instrumented copy of the code, so the suite runs the same sources it ships.
    coverage: {
      provider: 'v8',
      include: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-renderer/**/*.ts'],
      exclude: [
        // Run only inside Chromium (the e2e tests drive them there, where v8 in Node
        // cannot count) or inside Electron (not installed here).
        'src-renderer/connection/**',
        'src-renderer/ui/**',
        'src-renderer/main.tsx',
        'src-renderer/vite.config.ts',
        'src-main/desktop/electron-main/main.ts',
        'src-main/desktop/electron-main/preload.ts',
      ],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // The event core and the gateway carry every client: below this, CI fails.
      thresholds: {
        'src-main/events/**': { lines: 90 },
        'src-main/gateway/**': { lines: 90 },
      },
    },
  },
});
