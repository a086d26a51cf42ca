// The version store's verdicts, on Redis and in memory: an older version is stale, the same content
// from another event is a duplicate, and the event that set the version is 'newer' again when it
// comes back (its worker died, or the change-log append failed, after the version was set), so a
// retry still publishes it instead of dropping it as its own duplicate.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, RUN_PREFIX, startPrivateRedis } from '../../test/helpers.ts';
import { MemoryVersionStore, RedisVersionStore, type VersionStore } from './stores.ts';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
afterAll(() => redis.quit());

describe.each([
  ['redis', () => new RedisVersionStore(redis, `${RUN_PREFIX}:stores-${randomUUID()}`, 60)],
  ['memory', () => new MemoryVersionStore()],
] as Array<[string, () => VersionStore]>)('version store (%s)', (_name, make) => {
  it('publishes a retried event again, and refuses stale versions and other events with the same content', async () => {
    const store = make();
    const key = `acme:acme-stripe:Contact:${randomUUID()}`;
    expect(await store.advance(key, 100, 'fp-a', 'evt_1')).toBe('newer');
    // The same event again (a retry after the version was set but before it was published).
    expect(await store.advance(key, 100, 'fp-a', 'evt_1')).toBe('newer');
    // Another event carrying identical content at the same version.
    expect(await store.advance(key, 100, 'fp-a', 'evt_2')).toBe('duplicate');
    expect(await store.advance(key, 99, 'fp-old', 'evt_0')).toBe('stale');
    expect(await store.advance(key, 100, 'fp-b', 'evt_3')).toBe('newer');
  });

  it('at one version, keeps the change that arrived last, whatever order the workers finish in', async () => {
    const store = make();
    const key = `acme:acme-stripe:Contact:${randomUUID()}`;
    // Two updates within one second (one version), processed in the other order than they arrived.
    expect(await store.advance(key, 100, 'fp-second', 'evt_2', '1700000000000-1')).toBe('newer');
    expect(await store.advance(key, 100, 'fp-first', 'evt_1', '1700000000000-0')).toBe('stale');
    // Arrival compares numerically, not as text ("999-5" came before "1000-0").
    const other = `acme:acme-stripe:Contact:${randomUUID()}`;
    expect(await store.advance(other, 100, 'fp-b', 'evt_b', '1000-0')).toBe('newer');
    expect(await store.advance(other, 100, 'fp-a', 'evt_a', '999-5')).toBe('stale');
    expect(await store.advance(other, 100, 'fp-c', 'evt_c', '1000-1')).toBe('newer');
    // The retried event that set the version is still 'newer'; identical content from another event a duplicate.
    expect(await store.advance(other, 100, 'fp-c', 'evt_c', '1000-1')).toBe('newer');
    expect(await store.advance(other, 100, 'fp-c', 'evt_d', '1000-2')).toBe('duplicate');
    // A newer version wins whatever its arrival; a change without an arrival is not ordered by it.
    expect(await store.advance(other, 101, 'fp-e', 'evt_e', '5-0')).toBe('newer');
    expect(await store.advance(other, 101, 'fp-f', 'evt_f')).toBe('newer');
    expect(await store.advance(other, 101, 'fp-g', 'evt_g', '1-0')).toBe('newer');
  });
});

describe('RedisVersionStore', () => {
  it('keeps working after Redis forgot its script (a restart empties the script cache)', async () => {
    // A Redis of its own: flushing the scripts of the suite's shared one would disturb other files.
    const server = await startPrivateRedis();
    const own = new Redis(server.url, { maxRetriesPerRequest: 2 });
    try {
      const store = new RedisVersionStore(own, 'sbtest-flush', 60);
      expect(await store.advance('k', 100, 'fp-a', 'evt_1', '1-0')).toBe('newer');
      await own.script('FLUSH');
      expect(await store.advance('k', 100, 'fp-b', 'evt_2', '0-5')).toBe('stale');
      expect(await store.advance('k', 101, 'fp-c', 'evt_3', '0-6')).toBe('newer');
    } finally {
      own.disconnect();
      await server.stop();
    }
  });
});
