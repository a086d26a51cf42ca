// One id per test run: every Redis key the integration tests write lives under sbtest:<run>:…
// (test/helpers.ts RUN_PREFIX), and this removes them when the run ends, so repeated runs on one
// machine do not pile up keys in the shared Redis. Runs never collide: each has its own id.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export default function setup(): () => Promise<void> {
  const run = randomUUID().slice(0, 8);
  // Set before the workers start, so they inherit it.
  process.env.SB_TEST_RUN = run;
  return async function teardown() {
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `sbtest:${run}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
    } catch {
      // Redis gone at the end of a run leaves nothing to clean.
    } finally {
      redis.disconnect();
    }
  };
}
