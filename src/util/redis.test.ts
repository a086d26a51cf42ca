// The one Redis client factory's address parsing and key helpers (the cluster itself: test/redis-cluster.test.ts).
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../test/test-redis.ts';
import { batchWrites, createRedis, hashTag, isClusterUrl, parseClusterUrl, redisAddress, sameSlotAs } from './redis.ts';

describe('redis+cluster:// URLs', () => {
  it('parses nodes, credentials and TLS', () => {
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      tls: false,
    });
    expect(parseClusterUrl('rediss+cluster://app:p%40ss@[::1]:7000/')).toEqual({
      nodes: [{ host: '::1', port: 7000 }],
      username: 'app',
      password: 'p@ss',
      tls: true,
    });
    expect(parseClusterUrl('redis://127.0.0.1:6379')).toBeNull();
    expect(isClusterUrl('REDIS+CLUSTER://a:1')).toBe(true);
  });

  it('refuses a node without a port and a URL without nodes, naming the problem', () => {
    expect(() => parseClusterUrl('redis+cluster://a:1,b')).toThrow('cluster node "b" is not host:port');
    expect(() => parseClusterUrl('redis+cluster://')).toThrow(/at least one node/);
  });

  it('makes a Cluster client for a cluster URL and a plain one otherwise; addresses never show the password', () => {
    const cluster = createRedis('redis+cluster://u:secret@127.0.0.1:1', { lazyConnect: true });
    const single = createRedis('redis://u:secret@127.0.0.1:1', { lazyConnect: true });
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(single).toBeInstanceOf(Redis);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
    expect(redisAddress('redis+cluster://u:secret@h1:1,h2:2')).toBe('cluster h1:1,h2:2');
    expect(redisAddress('redis://u:secret@h:6380')).toBe('redis://h:6380');
  });
});

describe('hash tags', () => {
  it('wraps the parts in braces, escaping braces inside so the tag cannot end early', () => {
    expect(hashTag('acme', 'acme-stripe')).toBe('{acme:acme-stripe}');
    expect(hashTag('a}b{c')).toBe('{a%7Db%7Bc}');
  });

  it('sameSlotAs tags a companion with the whole (untagged) key, and refuses a key that has a tag', () => {
    expect(sameSlotAs('sb:token:lock:acme:c1', 'fence')).toBe('{sb:token:lock:acme:c1}:fence');
    expect(() => sameSlotAs('sb:{x}', 'fence')).toThrow(/already has a hash tag/);
  });
});

describe('batchWrites', () => {
  /** Counts the socket writes of a client's current connection (Writable's _write / _writev). */
  function countWrites(redis: Redis): { writes: number } {
    const counter = { writes: 0 };
    const socket = redis.stream as unknown as { _write: (...a: unknown[]) => void; _writev?: (...a: unknown[]) => void };
    const write = socket._write.bind(socket);
    socket._write = (...a) => ((counter.writes += 1), write(...a));
    const writev = socket._writev?.bind(socket);
    if (writev) socket._writev = (...a) => ((counter.writes += 1), writev(...a));
    return counter;
  }

  it('sends the commands of one synchronous run in one socket write, and each later run in its own', async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const key = `sbtest:batch:${process.pid}:${Date.now()}`;
    try {
      await redis.ping();
      batchWrites(redis);
      const counted = countWrites(redis);
      const replies = await Promise.all([redis.set(key, '1', 'PX', 10_000), redis.get(key), redis.incr(key), redis.pipeline().get(key).pttl(key).exec()]);
      expect(replies.slice(0, 3)).toEqual(['OK', '1', 2]);
      expect(replies[3]![0]).toEqual([null, '2']);
      expect(counted.writes).toBe(1);
      expect(await redis.get(key)).toBe('2');
      expect(counted.writes).toBe(2);
      // A new connection (a reconnect) is batched the same way.
      redis.disconnect(true);
      await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
      const again = countWrites(redis);
      expect(await Promise.all([redis.incr(key), redis.incr(key)])).toEqual([3, 4]);
      expect(again.writes).toBe(1);
    } finally {
      await redis.del(key).catch(() => undefined);
      redis.disconnect();
    }
  });
});
