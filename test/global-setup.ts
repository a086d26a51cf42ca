// One id per test run: every Redis key the integration tests write lives under sbtest:<run>:…
// (test/helpers.ts RUN_PREFIX), and this removes them when the run ends, so repeated runs on one
// machine do not pile up keys in the shared Redis. Runs never collide: each has its own id.
import { randomUUID } from 'node:crypto';
import { removeKeys } from './redis-cleanup.ts';

export default function setup(): () => Promise<void> {
  const run = randomUUID().slice(0, 8);
  // Set before the workers start, so they inherit it.
  process.env.SB_TEST_RUN = run;
  return async () => {
    await removeKeys(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', `sbtest:${run}`);
  };
}
