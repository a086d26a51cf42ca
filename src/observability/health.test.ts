// RedisHealthStore on a real Redis: the call outcomes of one event-loop turn are written in one
// MULTI per connection (counts summed, the latest times kept), after the turn; a read in the same
// process sees every outcome counted before it, and the record reads the same as one write per call.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../test/test-redis.ts';
import { RedisHealthStore } from './health.ts';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());

describe('RedisHealthStore.recordOutcome', () => {
  it('writes one turn of outcomes in one MULTI per connection, read back as they happened', async () => {
    const prefix = `sbtest:health:${randomUUID().slice(0, 8)}`;
    const multis: string[] = [];
    const counting = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    // Connected first: a command queued offline passes sendCommand twice.
    await counting.ping();
    const send = counting.sendCommand.bind(counting);
    counting.sendCommand = ((command: { name: string }, stream?: unknown) => {
      if (command.name === 'multi') multis.push(command.name);
      return send(command as never, stream as never);
    }) as typeof counting.sendCommand;
    const errors: unknown[] = [];
    const store = new RedisHealthStore(counting, prefix, 1_000, (err) => errors.push(err));
    try {
      const t = Date.now();
      store.recordOutcome('t1', 'c1', { ok: true }, t - 3);
      store.recordOutcome('t1', 'c1', { ok: false, code: 'UPSTREAM_UNAVAILABLE', message: 'first failure' }, t - 2);
      store.recordOutcome('t1', 'c1', { ok: false, code: 'UPSTREAM_RATE_LIMITED', message: 'second failure' }, t - 1);
      store.recordOutcome('t1', 'c1', { ok: true }, t - 5);
      store.recordOutcome('t1', 'c2', { ok: true }, t);
      expect(multis).toHaveLength(0);
      // Read in the same turn: the counted outcomes are written first.
      const c1 = await store.read('t1', 'c1');
      expect(multis).toHaveLength(2);
      expect(c1).toMatchObject({
        lastSuccessAt: new Date(t - 3).toISOString(),
        lastError: { code: 'UPSTREAM_RATE_LIMITED', message: 'second failure', at: new Date(t - 1).toISOString() },
        errorRate5m: 0.5,
        status: 'FAILING',
      });
      expect(await store.read('t1', 'c2')).toMatchObject({ status: 'HEALTHY', errorRate5m: 0 });
      // Without a read, the next turn writes them.
      store.recordOutcome('t1', 'c2', { ok: false, code: 'UPSTREAM_UNAVAILABLE', message: 'down' }, t + 1);
      store.recordOutcome('t1', 'c2', { ok: true }, t + 2);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(multis).toHaveLength(3);
      const other = new RedisHealthStore(redis, prefix, 1_000, (err) => errors.push(err));
      expect(await other.read('t1', 'c2')).toMatchObject({ lastSuccessAt: new Date(t + 2).toISOString(), errorRate5m: 1 / 3, status: 'DEGRADED' });
      expect(errors).toEqual([]);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      counting.disconnect();
    }
  });
});
