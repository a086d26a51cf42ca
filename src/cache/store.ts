// The key-value store behind the cache: Redis through Keyv + @keyv/redis when REDIS_URL is set,
// an in-memory Map otherwise (the embedded default). One place decides; the rest sees Keyv.
import KeyvRedis, { Keyv } from '@keyv/redis';
import { LRUCache } from 'lru-cache';
import { bounded } from '../util/bounded.ts';
import { createKeyvRedisClient, keyvClientPing, keyvClientReady } from '../util/redis.ts';

export interface KvStore {
  keyv: Keyv;
  kind: 'redis' | 'memory';
  /** Resolves when the backing store answers (readiness probe). Memory always does. */
  ping(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Texts shorter than this are parsed each time: a lookup would cost about what their parse does. */
const PARSE_REUSE_MIN_CHARS = 256;
/** Characters of cached text whose parses are kept (the parsed objects take about as much again). */
const PARSED_TEXT_CHARS = 32 * 1024 * 1024;

/**
 * A value read from Redis again comes back as the same text (a warm record is read by every
 * request that shows it, and is rewritten only when it changes): the object parsed from that text
 * before is handed out again, as the in-memory store hands out the object it holds (the gateway
 * never mutates a cached value: it copies on serve). Keyed by the whole text, so a changed value is
 * a new text and is parsed; the expiry inside Keyv's envelope is checked on every read as before.
 * Two keys holding the same text (two tenants caching one provider record) get one object: the
 * same immutable data each read from its own key.
 * Parsing ~200 cached records was most of a warm read's CPU on Redis (docs/benchmarks.md, "Session 14").
 */
export function reusingParses(maxChars: number): (text: string) => ReturnType<typeof JSON.parse> {
  if (maxChars <= 0) return (text) => JSON.parse(text) as ReturnType<typeof JSON.parse>;
  const parsed = new LRUCache<string, object>({ maxSize: maxChars, sizeCalculation: (_value, text) => text.length });
  return (text) => {
    if (text.length < PARSE_REUSE_MIN_CHARS || text.length > maxChars) return JSON.parse(text) as ReturnType<typeof JSON.parse>;
    const known = parsed.get(text);
    if (known !== undefined) return known;
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object') parsed.set(text, value);
    return value as ReturnType<typeof JSON.parse>;
  };
}

export async function createKvStore(options: {
  redisUrl: string | null;
  namespace: string;
  onError: (err: unknown) => void;
  memoryMaxEntries?: number;
}): Promise<KvStore> {
  if (!options.redisUrl) {
    // Objects are stored as they are (no JSON round trip: measured, JSON.parse of cached records
    // was the largest cost of a warm query) in a bounded LRU, so a long-running demo cannot grow
    // without limit. Cached models are never mutated by the gateway (it copies on serve).
    const lru = new LRUCache<string, object>({ max: options.memoryMaxEntries ?? 100_000 });
    // Keyv passes a TTL number as set()'s third argument, which LRUCache reads as options; Keyv
    // keeps the expiry inside the stored entry anyway, so the adapter drops it.
    const store = {
      get: (key: string) => lru.get(key),
      set: (key: string, value: object) => {
        lru.set(key, value);
        return true;
      },
      delete: (key: string) => lru.delete(key),
      clear: () => lru.clear(),
      has: (key: string) => lru.has(key),
    };
    const keyv = new Keyv({ store: store as unknown as Map<string, unknown>, namespace: options.namespace, serialize: undefined, deserialize: undefined });
    keyv.on('error', options.onError);
    return { keyv, kind: 'memory', ping: async () => true, close: async () => keyv.disconnect() };
  }
  const client = createKeyvRedisClient(options.redisUrl, {
    // Fail fast while disconnected: a cache that queues commands would turn a Redis outage into
    // hung GraphQL requests; failing lets the cache answer "miss" at once.
    disableOfflineQueue: true,
    connectTimeoutMs: 2_000,
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
  });
  client.on('error', options.onError);
  const store = new KeyvRedis(client, { throwOnConnectError: false, throwOnErrors: false, useUnlink: true });
  store.on('error', options.onError);
  // Plain JSON: Keyv's default deserializer runs a reviver on every value (to restore Buffers we
  // never store) and was measured as the single largest cost of a warm query.
  const keyv = new Keyv({
    store,
    namespace: options.namespace,
    useKeyPrefix: false,
    serialize: (data) => JSON.stringify(data),
    deserialize: reusingParses(PARSED_TEXT_CHARS),
  });
  keyv.on('error', options.onError);
  // Start the connection now but do not block startup on it: the gateway serves (uncached) while
  // Redis is down, and /readyz says so.
  client.connect().catch(options.onError);
  return {
    keyv,
    kind: 'redis',
    async ping(timeoutMs) {
      if (!keyvClientReady(client)) return false;
      try {
        const pong = await Promise.race([keyvClientPing(client), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), timeoutMs))]);
        return pong === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      // A graceful close waits for Redis to answer; with Redis gone it would wait forever.
      if (keyvClientReady(client)) await bounded(client.close(), 1_000);
      if (client.isOpen) client.destroy();
    },
  };
}
