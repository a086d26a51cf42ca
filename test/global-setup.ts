// Once per test run: the Redis the suite uses, and one id for the run's keys.
// - Without TEST_REDIS_URL, a throwaway redis-server (free port, temporary directory, no
//   persistence) is started for the run and stopped afterwards, so `npm test` works on a fresh
//   machine and never writes to a Redis someone runs for other work. Without a redis-server binary
//   the run stops at once with one line saying how to get one.
// - With TEST_REDIS_URL, that Redis is used; every key the tests write lives under sbtest:<run>:…
//   (test/helpers.ts RUN_PREFIX) and is removed when the run ends.
import { randomUUID } from 'node:crypto';
import { removeKeys } from './redis-cleanup.ts';
import { hasRedisServer, REDIS_SERVER_MISSING, startRedisServer } from './redis-server.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const run = randomUUID().slice(0, 8);
  // Set before the workers start, so they inherit them.
  process.env.SB_TEST_RUN = run;
  const given = process.env.TEST_REDIS_URL;
  if (given) return async () => void (await removeKeys(given, `sbtest:${run}`));
  if (!hasRedisServer()) {
    console.error(`\n${REDIS_SERVER_MISSING}\n`);
    process.exit(1);
  }
  const redis = await startRedisServer();
  process.env.TEST_REDIS_URL = redis.url;
  return () => redis.stop();
}
