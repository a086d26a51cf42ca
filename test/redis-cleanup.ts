// Tests and benchmarks write to the shared Redis under their own prefix and remove it afterwards
// (test/global-setup.ts at the end of a run, bench gateway processes when they stop), so repeated
// runs leave nothing behind.
import { Redis } from 'ioredis';

/** Removes every key under `<prefix>:`; answers how many (0 when Redis is not there). */
export async function removeKeys(redisUrl: string | null | undefined, prefix: string): Promise<number> {
  if (!redisUrl) return 0;
  let removed = 0;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis gone: nothing to clean.
  } finally {
    redis.disconnect();
  }
  return removed;
}
