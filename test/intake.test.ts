// The intake stream in front of BullMQ (src/events/intake.ts): deduplication inside one batch and
// across batches with the configured TTL, entries of a mover that died taken over by another, an
// outage answered with a rejection that leaves nothing behind, and the shards' keys spread over
// hash slots. Real Redis (the suite's, or a private one that the test stops).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { INTAKE_GROUP, IntakeMover, intakeStreams } from '../src/events/intake.ts';
import { BullChangeQueue, type QueueSettings } from '../src/events/queue.ts';
import { compareCursors, type QueuedChange } from '../src/events/model.ts';
import { REDIS_URL, RUN_PREFIX, startPrivateRedis } from './helpers.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const item = (eventId: string, connectionId = 'c1'): QueuedChange => ({
  tenantId: 't',
  connectionId,
  provider: 'stripe',
  receivedAt: new Date().toISOString(),
  change: { eventId, entity: 'Contact', type: 'UPDATED', remoteId: `r-${eventId}`, occurredAt: new Date().toISOString(), version: null, model: null },
});

const SETTINGS: QueueSettings = {
  concurrency: 4,
  maxAttempts: 3,
  retryBaseDelayMs: 10,
  dedupeTtlSeconds: 600,
  intakeShards: 4,
  mover: { claimIdleMs: 300, claimEveryMs: 200, blockMs: 200 },
};

function queueOn(url: string, prefix: string, settings: QueueSettings = SETTINGS): BullChangeQueue {
  const q = new BullChangeQueue(url, prefix, settings, () => undefined);
  cleanup.push(() => q.close());
  return q;
}

/** Starts the queue's workers; resolves each processed item's event id into `seen`. */
function processInto(q: BullChangeQueue, seen: string[]): { until(n: number, timeoutMs?: number): Promise<void> } {
  let wake: (() => void) | null = null;
  q.start(
    async (it) => {
      seen.push(it.change.eventId);
      wake?.();
    },
    async () => undefined,
  );
  return {
    async until(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (seen.length < n) {
        if (Date.now() > deadline) throw new Error(`processed ${seen.length} of ${n} within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
  };
}

async function intakeLength(redis: Redis, prefix: string, shards = 4): Promise<number> {
  const lengths = await Promise.all(intakeStreams(`${prefix}`, shards).map((s) => redis.xlen(s)));
  return lengths.reduce((a, b) => a + b, 0);
}

describe('intake stream', () => {
  const redis = new Redis(REDIS_URL);
  cleanup.push(() => redis.disconnect());

  it('deduplicates within one batch and across batches, markers living for the dedupe TTL, and processes each event once', async () => {
    const prefix = `${RUN_PREFIX}:intake:${randomUUID().slice(0, 6)}`;
    const q = queueOn(REDIS_URL, prefix);
    // One event-loop turn: the same event three times (two webhooks of one provider retry storm), plus two others.
    await Promise.all([q.enqueue([item('e1'), item('e2')]), q.enqueue([item('e1')]), q.enqueue([item('e1', 'c1'), item('e3', 'c2')])]);
    // A later retry of an event already taken.
    await q.enqueue([item('e2')]);
    // The same event id on another connection is another event.
    await q.enqueue([item('e1', 'c2')]);
    expect(await intakeLength(redis, prefix)).toBe(4);
    const keys = await redis.keys(`{${prefix}:intake:*}:seen:stripe:c1:e1`);
    expect(keys).toHaveLength(1);
    const ttl = await redis.ttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);

    const seen: string[] = [];
    await processInto(q, seen).until(4);
    // Nothing more comes: the queue is empty (intake moved and deleted, BullMQ drained).
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && ((await q.stats()).waiting > 0 || (await q.stats()).active > 0)) await new Promise((r) => setTimeout(r, 50));
    expect(seen.sort()).toEqual(['e1', 'e1', 'e2', 'e3']);
    expect(await intakeLength(redis, prefix)).toBe(0);
  }, 60_000);

  it("stamps each change with its arrival (the intake entry's id), increasing in a connection's order", async () => {
    const prefix = `${RUN_PREFIX}:intake:${randomUUID().slice(0, 6)}`;
    const q = queueOn(REDIS_URL, prefix);
    await q.enqueue([item('a1'), item('a2')]);
    await q.enqueue([item('a3')]);
    const arrivals = new Map<string, string | undefined>();
    let wake: (() => void) | null = null;
    q.start(
      async (it) => {
        arrivals.set(it.change.eventId, it.arrival);
        wake?.();
      },
      async () => undefined,
    );
    const deadline = Date.now() + 30_000;
    while (arrivals.size < 3 && Date.now() < deadline) await new Promise<void>((r) => (wake = r));
    const [a1, a2, a3] = ['a1', 'a2', 'a3'].map((id) => arrivals.get(id) as string);
    for (const a of [a1, a2, a3]) expect(a).toMatch(/^\d+-\d+$/);
    expect(compareCursors(a1!, a2!)).toBeLessThan(0);
    expect(compareCursors(a2!, a3!)).toBeLessThan(0);
  }, 60_000);

  it('moves the entries of a mover that died after reading them (pending in the group), once, and forgets nothing', async () => {
    const prefix = `${RUN_PREFIX}:intake:${randomUUID().slice(0, 6)}`;
    const producer = queueOn(REDIS_URL, prefix);
    const ids = Array.from({ length: 30 }, (_, i) => `dead-${i}`);
    await producer.enqueue(ids.map((id, i) => item(id, `conn-${i % 5}`)));
    // A mover that read every shard and died before moving anything: its entries stay pending under its name.
    const streams = intakeStreams(prefix, 4);
    let taken = 0;
    for (const s of streams) {
      await redis.xgroup('CREATE', s, INTAKE_GROUP, '0', 'MKSTREAM').catch(() => undefined);
      const res = (await redis.xreadgroup('GROUP', INTAKE_GROUP, 'crashed-mover', 'COUNT', 1000, 'STREAMS', s, '>')) as Array<[string, unknown[]]> | null;
      taken += res?.[0]?.[1].length ?? 0;
    }
    expect(taken).toBe(30);

    // Another replica's workers: new entries reach it through its own reads; the dead mover's only by reclaiming.
    const survivor = queueOn(REDIS_URL, prefix);
    const seen: string[] = [];
    await processInto(survivor, seen).until(30);
    await new Promise((r) => setTimeout(r, 500)); // a second reclaim round must not move anything again
    expect(seen.sort()).toEqual([...ids].sort());
    for (const s of streams) {
      const [pending] = (await redis.xpending(s, INTAKE_GROUP)) as [number];
      expect(pending).toBe(0);
    }
    expect(await intakeLength(redis, prefix)).toBe(0);
  }, 60_000);

  it('a stopping mover moves the entries a cut read was handed (pending under its own name) at once, not after another mover reclaims them', async () => {
    const prefix = `${RUN_PREFIX}:intake:${randomUUID().slice(0, 6)}`;
    const producer = queueOn(REDIS_URL, prefix);
    const ids = Array.from({ length: 12 }, (_, i) => `cut-${i}`);
    await producer.enqueue(ids.map((id, i) => item(id, `conn-${i % 4}`)));
    const streams = intakeStreams(prefix, 4);
    const moved: string[] = [];
    // No reclaim within the test: only the stop itself can move them.
    const mover = new IntakeMover(
      REDIS_URL,
      streams,
      async (items) => void moved.push(...items.map((i) => i.change.eventId)),
      () => undefined,
      {
        claimIdleMs: 600_000,
        claimEveryMs: 600_000,
        blockMs: 200,
      },
    );
    cleanup.push(() => mover.close());
    // What a blocking read cut by the stop leaves: entries delivered to this consumer that it never received.
    for (const s of streams) {
      await redis.xgroup('CREATE', s, INTAKE_GROUP, '0', 'MKSTREAM').catch(() => undefined);
      await redis.xreadgroup('GROUP', INTAKE_GROUP, mover.consumer, 'COUNT', 1000, 'STREAMS', s, '>');
    }
    mover.start();
    await mover.stop(5_000);
    expect(moved.sort()).toEqual([...ids].sort());
    for (const s of streams) {
      const [pending] = (await redis.xpending(s, INTAKE_GROUP)) as [number];
      expect(pending).toBe(0);
    }
    expect(await intakeLength(redis, prefix)).toBe(0);
  }, 60_000);

  it('Redis down: enqueue rejects and leaves neither an entry nor a marker; the retry after the outage is taken', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const prefix = `${RUN_PREFIX}:intake-down`;
    const q = queueOn(server.url, prefix);
    await q.enqueue([item('before')]);
    const direct = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    cleanup.push(() => direct.disconnect());

    // Down: every batch fails (the route answers 503), quickly.
    const restarted = server.restart({ downMs: 1_500 });
    await new Promise((r) => setTimeout(r, 300));
    await expect(q.enqueue([item('during'), item('during-2', 'c2')])).rejects.toThrow();
    await restarted;

    // Up again (no persistence on this server: an empty Redis). Nothing of the failed batch is there.
    await direct.connect();
    expect(await direct.keys('*seen*during*')).toEqual([]);
    const entries = await Promise.all(intakeStreams(prefix, 4).map((s) => direct.xrange(s, '-', '+')));
    expect(
      entries
        .flat()
        .map(([, f]) => JSON.parse(f[1] as string) as QueuedChange)
        .filter((i) => i.change.eventId.startsWith('during')),
    ).toEqual([]);
    // The provider's retry is accepted (no marker was left behind) and processed once.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await q.enqueue([item('during'), item('during-2', 'c2')]);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const seen: string[] = [];
    await processInto(q, seen).until(2);
    expect(seen.sort()).toEqual(['during', 'during-2']);
  }, 60_000);

  it('while a batch is unconfirmed, later webhooks collect into one batch that leaves when it is confirmed', async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const q = queueOn(server.url, `${RUN_PREFIX}:intake-grow`);
    await q.enqueue([item('warm')]);
    const direct = new Redis(server.url);
    cleanup.push(() => direct.disconnect());
    const appendCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await direct.info('commandstats'))?.[1] ?? 0);
    const before = await appendCalls();
    const nextTurn = () => new Promise<void>((r) => setImmediate(r));
    // Redis busy for 300 ms: the first batch stays unconfirmed while three more turns enqueue.
    const busy = direct.eval(
      "local t = redis.call('TIME') local stop = t[1] * 1000000 + t[2] + 300000 repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop return 1",
      0,
    );
    const first = q.enqueue([item('g1')]);
    await nextTurn();
    await nextTurn();
    const later = [q.enqueue([item('g2')]), (await nextTurn(), q.enqueue([item('g3')])), (await nextTurn(), q.enqueue([item('g4')]))];
    await Promise.all([busy, first, ...later]);
    // One script call for g1, one for g2..g4 together (one connection: one shard); a batch per turn made four.
    expect((await appendCalls()) - before).toBe(2);
    const seen: string[] = [];
    await processInto(q, seen).until(5);
    expect(seen.sort()).toEqual(['g1', 'g2', 'g3', 'g4', 'warm']);
  }, 60_000);

  it('spreads connections over shards whose keys each carry their own hash tag', () => {
    const streams = intakeStreams('sb:events', 4);
    expect(new Set(streams).size).toBe(4);
    for (const s of streams) expect(s).toMatch(/^\{sb:events:intake:\d\}$/);
  });
});
