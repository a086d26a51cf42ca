// Tests and benchmarks write to the shared Redis under their own prefix and remove it afterwards
// (test/global-setup.ts at the end of a run, bench gateway processes when they stop), so repeated
// runs leave nothing behind.
import { Redis } from 'ioredis';

/**
 * Removes every key under `<prefix>:`, hash-tagged ones ("{<prefix>:…}…", src/util/redis.ts hashTag)
 * included; answers how many (0 when Redis is not there).
 */
export async function removeKeys(redisUrl: string | null | undefined, prefix: string): Promise<number> {
  if (!redisUrl) return 0;
  let removed = 0;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) removed += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } catch {
    // Redis gone: nothing to clean.
  } finally {
    redis.disconnect();
  }
  return removed;
}
