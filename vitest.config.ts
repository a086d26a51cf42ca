import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'connectors/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start servers on port 0 and use a Redis key prefix per run, so files can
    // run in parallel; two workers match the 2-core machines.
    maxWorkers: 2,
  },
});
