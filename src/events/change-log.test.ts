// Resume points of the change log, on Redis and in memory: every cursor changeCursor ever returned
// resumes without loss (including "0-0" from an empty log), and a cursor whose successors were
// trimmed away is refused with an error the waiting subscriber receives (never a silent end).
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, RUN_PREFIX } from '../../test/helpers.ts';
import { Redis } from 'ioredis';
import { MemoryChangeLog, RedisChangeLog, shardOf, type ChangeLog } from './change-log.ts';
import type { PublishedChange } from './model.ts';
import { changeStream } from './subscribe.ts';

function change(n: number, tenantId = 'acme'): Omit<PublishedChange, 'cursor'> {
  return {
    tenantId,
    connectionId: `${tenantId}-hubspot`,
    provider: 'hubspot',
    entity: 'Contact',
    eventId: `evt-${n}-${randomUUID()}`,
    type: 'UPDATED',
    occurredAt: new Date().toISOString(),
    remoteId: String(n),
    model: null,
    publishedAt: new Date().toISOString(),
  };
}

async function take(stream: AsyncIterableIterator<PublishedChange>, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const next = await stream.next();
    if (next.done) throw new Error(`stream ended after ${ids.length} of ${count}`);
    ids.push(next.value.remoteId);
  }
  await stream.return?.();
  return ids;
}

const logs: ChangeLog[] = [];
afterAll(async () => {
  await Promise.all(logs.map((l) => l.close()));
});

const kinds: Array<[string, (retained: number) => ChangeLog]> = [
  ['redis', (retained) => new RedisChangeLog(REDIS_URL, `${RUN_PREFIX}:log-${randomUUID().slice(0, 6)}`, retained, () => undefined)],
  ['redis, 4 shards', (retained) => new RedisChangeLog(REDIS_URL, `${RUN_PREFIX}:log-${randomUUID().slice(0, 6)}`, retained, () => undefined, 3600, 4)],
  ['memory', (retained) => new MemoryChangeLog(retained)],
];

describe.each(kinds)('change log resume (%s)', (_kind, make) => {
  const open = (retained: number) => {
    const log = make(retained);
    logs.push(log);
    log.start();
    return log;
  };

  it('resumes from the cursor of an empty log once changes exist (nothing was trimmed)', async () => {
    const log = open(1_000);
    const empty = await log.headCursor('acme');
    for (let i = 1; i <= 3; i++) await log.append(change(i));
    expect(await log.trimmedThrough('acme')).toBeNull();
    expect(
      await take(
        changeStream(log, 'acme', () => true, empty),
        3,
      ),
    ).toEqual(['1', '2', '3']);
  });

  it('knows exactly which cursor was trimmed last: the one after it resumes, older ones are refused', async () => {
    const log = open(5);
    const empty = await log.headCursor('acme');
    const cursors: string[] = [];
    for (let i = 1; i <= 20; i++) cursors.push(await log.append(change(i)));
    const trimmed = await log.trimmedThrough('acme');
    expect(trimmed).not.toBeNull();
    const cut = cursors.indexOf(trimmed as string);
    expect(cut).toBeGreaterThanOrEqual(14); // at most retained + one batch kept
    // Resuming exactly at the newest trimmed cursor misses nothing: everything after it is retained.
    expect(
      await take(
        changeStream(log, 'acme', () => true, trimmed),
        19 - cut,
      ),
    ).toEqual(Array.from({ length: 19 - cut }, (_, i) => String(cut + 2 + i)));
    for (const old of [empty, cursors[cut - 1] as string]) {
      const stream = changeStream(log, 'acme', () => true, old);
      // The consumer is already waiting when the refusal comes: it must receive the error.
      const err = await stream.next().then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GraphQLError);
      expect((err as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
      expect((err as GraphQLError).message).toMatch(/older than the retained change history/);
    }
  });
});

describe('change log shards (Redis)', () => {
  const tenants = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'];

  it('one shard keeps the stream key and plain cursors of earlier versions', async () => {
    const prefix = `${RUN_PREFIX}:log-${randomUUID().slice(0, 6)}`;
    const log = new RedisChangeLog(REDIS_URL, prefix, 1_000, () => undefined);
    logs.push(log);
    const cursor = await log.append(change(1));
    expect(cursor).toMatch(/^\d+-\d+$/);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.xlen(`${prefix}:changes`)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it("spreads tenants over the shards; each tenant's changes resume from its own shard, live changes reach listeners", async () => {
    const prefix = `${RUN_PREFIX}:log-${randomUUID().slice(0, 6)}`;
    const log = new RedisChangeLog(REDIS_URL, prefix, 1_000, () => undefined, 3600, 4);
    logs.push(log);
    log.start();
    expect(new Set(tenants.map((t) => shardOf(t, 4))).size).toBeGreaterThan(1);
    const heads = new Map<string, string>();
    for (const t of tenants) heads.set(t, await log.headCursor(t));
    const live: string[] = [];
    log.listen((c) => live.push(`${c.tenantId}:${c.remoteId}`));
    for (const t of tenants) for (let i = 1; i <= 2; i++) expect(await log.append(change(i, t))).toMatch(/^4\/\d+-\d+$/);
    for (const t of tenants)
      expect(
        await take(
          changeStream(log, t, () => true, heads.get(t)),
          2,
        ),
      ).toEqual(['1', '2']);
    const deadline = Date.now() + 10_000;
    while (live.length < tenants.length * 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(live.sort()).toEqual(tenants.flatMap((t) => [`${t}:1`, `${t}:2`]).sort());
    const redis = new Redis(REDIS_URL);
    try {
      const streams = await redis.keys(`{${prefix}:changes:*/4}`);
      expect(streams.length).toBe(new Set(tenants.map((t) => shardOf(t, 4))).size);
    } finally {
      redis.disconnect();
    }
  });

  it('a cursor issued under another shard count is refused with BAD_USER_INPUT, never misread', async () => {
    const prefix = `${RUN_PREFIX}:log-${randomUUID().slice(0, 6)}`;
    const one = new RedisChangeLog(REDIS_URL, prefix, 1_000, () => undefined);
    const four = new RedisChangeLog(REDIS_URL, prefix, 1_000, () => undefined, 3600, 4);
    logs.push(one, four);
    const fromOne = await one.headCursor('acme');
    expect(one.accepts(fromOne)).toBe(true);
    expect(four.accepts(fromOne)).toBe(false);
    expect(() => changeStream(four, 'acme', () => true, fromOne)).toThrow(/another change-log layout/);
    const fromFour = await four.headCursor('acme');
    expect(() => changeStream(one, 'acme', () => true, fromFour)).toThrow(/another change-log layout/);
  });
});
