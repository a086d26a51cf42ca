import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node, and so every dependency loaded by
    // Node (Apollo, graphql-ws, graphql-tools), uses the CJS one; Vite would give our own sources
    // the ESM one, and graphql-js refuses objects from "another module or realm". One copy only.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['src/**/*.test.ts', 'connectors/**/*.test.ts', 'test/**/*.test.ts'],
    // Removes this run's Redis keys afterwards (see the file).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start servers on port 0 and use a Redis key prefix per run, so files can
    // run in parallel; two workers match the 2-core machines.
    maxWorkers: 2,
    // Gateways in tests run in production mode (error masking), which requires a vault master key.
    // A fixed, test-only key (32 bytes of 0x07): never a real secret.
    env: { SWITCHBOARD_MASTER_KEYS: `test-key:${Buffer.alloc(32, 7).toString('base64')}` },
  },
});
