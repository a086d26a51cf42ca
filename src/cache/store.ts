// The key-value store behind the cache: Redis through Keyv + @keyv/redis when REDIS_URL is set,
// an in-memory Map otherwise (the embedded default). One place decides; the rest sees Keyv.
import KeyvRedis, { Keyv, createClient, type RedisClientType } from '@keyv/redis';

export interface KvStore {
  keyv: Keyv;
  kind: 'redis' | 'memory';
  /** Resolves when the backing store answers (readiness probe). Memory always does. */
  ping(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function createKvStore(options: { redisUrl: string | null; namespace: string; onError: (err: unknown) => void }): Promise<KvStore> {
  if (!options.redisUrl) {
    const keyv = new Keyv({ namespace: options.namespace });
    keyv.on('error', options.onError);
    return { keyv, kind: 'memory', ping: async () => true, close: async () => keyv.disconnect() };
  }
  const client = createClient({
    url: options.redisUrl,
    // Fail fast while disconnected: a cache that queues commands would turn a Redis outage into
    // hung GraphQL requests; failing lets the cache answer "miss" at once.
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000) },
  }) as RedisClientType;
  client.on('error', options.onError);
  const store = new KeyvRedis(client, { throwOnConnectError: false, throwOnErrors: false, useUnlink: true });
  store.on('error', options.onError);
  const keyv = new Keyv({ store, namespace: options.namespace });
  keyv.on('error', options.onError);
  // Start the connection now but do not block startup on it: the gateway serves (uncached) while
  // Redis is down, and /readyz says so.
  client.connect().catch(options.onError);
  return {
    keyv,
    kind: 'redis',
    async ping(timeoutMs) {
      if (!client.isReady) return false;
      try {
        const pong = await Promise.race([client.ping(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), timeoutMs))]);
        return pong === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      // A graceful close waits for Redis to answer; with Redis gone it would wait forever.
      if (client.isReady) {
        const closed = client.close().catch(() => undefined);
        const timedOut = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 1_000).unref());
        if ((await Promise.race([closed, timedOut])) !== 'timeout') return;
      }
      if (client.isOpen) client.destroy();
    },
  };
}
