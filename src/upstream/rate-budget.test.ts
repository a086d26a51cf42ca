// The shared budget enforces every limit a manifest declares: each request window, and the
// requests in flight at once — per process, and across replicas through Redis.
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../test/test-redis.ts';
import { xeroManifest } from '../../connectors/xero/manifest.ts';
import { localBudgets, sharedBudgets } from './rate-budget.ts';

const signal = new AbortController().signal;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());

describe('connection budgets', () => {
  it('enforces every window: a short burst window and a longer one (the longer one binds here)', async () => {
    const budget = localBudgets('k', {
      windows: [
        { requests: 10, windowMs: 100 },
        { requests: 3, windowMs: 60_000 },
      ],
    });
    for (let i = 0; i < 3; i++) (await budget.acquire(signal, Date.now() + 1_000))();
    // The 10-per-100-ms window has room; the 3-per-minute one does not, and cannot refill before the deadline.
    await expect(budget.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
  });

  it('adds no delay while every window has room (no timer, not even one event-loop turn); a spent window still waits', async () => {
    // HubSpot's search window: 5 a second, spaced (no burst), beside the 190-per-10-s one.
    const budget = localBudgets('k', {
      windows: [
        { requests: 190, windowMs: 10_000 },
        { requests: 5, windowMs: 1_000, operations: ['contacts.search'], burst: false },
      ],
      concurrency: 4,
    });
    const turn = () => new Promise<'turn'>((r) => setImmediate(() => r('turn')));
    // Free: granted within the current turn, before any timer or I/O callback could run.
    const free = budget.acquire(signal, Date.now() + 1_000, 'contacts.search');
    expect(await Promise.race([free, turn()])).toBeTypeOf('function');
    (await free)();
    // The search window now holds no token (spaced ~220 ms): the next search waits at least a turn.
    const spent = budget.acquire(signal, Date.now() + 1_000, 'contacts.search');
    expect(await Promise.race([spent, turn()])).toBe('turn');
    // Other operations do not draw from the search window: still no delay.
    const other = budget.acquire(signal, Date.now() + 1_000, 'contacts.batchRead');
    expect(await Promise.race([other, turn()])).toBeTypeOf('function');
    (await other)();
    (await spent)();
  });

  it('holds a request back while `concurrency` others are in flight, and lets it go when one finishes', async () => {
    const budget = localBudgets('k', { windows: [{ requests: 100, windowMs: 1_000 }], concurrency: 2 });
    const first = await budget.acquire(signal, Date.now() + 1_000);
    await budget.acquire(signal, Date.now() + 1_000);
    let third = false;
    const waiting = budget.acquire(signal, Date.now() + 1_000).then((release) => {
      third = true;
      return release;
    });
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    first();
    (await waiting)();
    expect(third).toBe(true);
  });

  it('shares the concurrency limit between replicas through Redis', async () => {
    const prefix = `sbtest:budget:${randomUUID().slice(0, 8)}`;
    const limits = { windows: [{ requests: 100, windowMs: 1_000 }], concurrency: 2 };
    // Two replicas: each builds its own budget for the same connection.
    const a = sharedBudgets(redis, prefix, 250)('fake:c1', limits);
    const b = sharedBudgets(redis, prefix, 250)('fake:c1', limits);
    const one = await a.acquire(signal, Date.now() + 2_000);
    await b.acquire(signal, Date.now() + 2_000);
    // Both slots are taken (one on each replica): a third cannot enter on either before its deadline.
    await expect(a.acquire(signal, Date.now() + 150)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    one();
    const started = Date.now();
    (await b.acquire(signal, Date.now() + 2_000))();
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("an app-scoped window is one allowance for every connection of the app, across replicas (Xero's 10,000 a minute across organisations)", async () => {
    const prefix = `sbtest:budget:${randomUUID().slice(0, 8)}`;
    const limits = {
      windows: [
        { requests: 100, windowMs: 1_000 },
        { requests: 3, windowMs: 60_000, scope: 'app' as const },
      ],
    };
    // Replica A serves organisation 1, replica B organisation 2; each connection's own window has room.
    const a1 = sharedBudgets(redis, prefix, 250)('xero:org1', limits, 'xero');
    const b2 = sharedBudgets(redis, prefix, 250)('xero:org2', limits, 'xero');
    (await a1.acquire(signal, Date.now() + 1_000))();
    (await a1.acquire(signal, Date.now() + 1_000))();
    (await b2.acquire(signal, Date.now() + 1_000))();
    await expect(b2.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    // Another app's connections are not affected.
    (await sharedBudgets(redis, prefix, 250)('other:c', limits, 'other').acquire(signal, Date.now() + 1_000))();
    // In one process without Redis, the same: one window per app.
    const l1 = localBudgets('xero:org1', limits, `local-${prefix}`);
    const l2 = localBudgets('xero:org2', limits, `local-${prefix}`);
    for (const b of [l1, l1, l2]) (await b.acquire(signal, Date.now() + 1_000))();
    await expect(l2.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
  });

  it("Xero's manifest declares the app-wide minute limit as an app-scoped window, and the header reporting each window's remaining calls", () => {
    expect(xeroManifest.rateLimits.windows).toEqual([
      { requests: 60, windowMs: 60_000, remainingHeader: 'x-minlimit-remaining' },
      { requests: 5000, windowMs: 86_400_000, remainingHeader: 'x-daylimit-remaining' },
      { requests: 10_000, windowMs: 60_000, scope: 'app', remainingHeader: 'x-appminlimit-remaining' },
    ]);
  });

  it('a window with a remainingHeader plans no more than the provider reports left (calls made elsewhere), per process and across replicas', async () => {
    const limits = { windows: [{ requests: 60, windowMs: 60_000, remainingHeader: 'x-minlimit-remaining' }] };
    const left = (n: string) => new Headers({ 'x-minlimit-remaining': n });
    // Per process: 60 planned, the provider says 2 are left.
    const local = localBudgets('xero:org1', limits);
    (await local.acquire(signal, Date.now() + 1_000))();
    local.observe!(left('2'));
    for (let i = 0; i < 2; i++) (await local.acquire(signal, Date.now() + 1_000))();
    await expect(local.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    // Unreadable values and other headers change nothing.
    const other = localBudgets('xero:org2', limits);
    other.observe!(new Headers({ 'x-minlimit-remaining': 'lots', 'x-other': '0' }));
    for (let i = 0; i < 5; i++) (await other.acquire(signal, Date.now() + 200))();

    // Across replicas: an answer seen by replica A caps what replica B plans.
    const prefix = `sbtest:budget:${randomUUID().slice(0, 8)}`;
    const a = sharedBudgets(redis, prefix, 250)('xero:org1', limits);
    const b = sharedBudgets(redis, prefix, 250)('xero:org1', limits);
    (await a.acquire(signal, Date.now() + 1_000))();
    a.observe!(left('1'));
    // The report is written to Redis without holding up the answer: B sees it once it landed.
    await expect.poll(async () => Number(await redis.get(`${prefix}:rate:xero:org1`)) - Date.now(), { timeout: 2_000, interval: 10 }).toBeGreaterThan(55_000);
    (await b.acquire(signal, Date.now() + 1_000))();
    await expect(b.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    await expect(a.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    // A report never hands back what was booked since: a later, larger remaining leaves the wait as it is.
    a.observe!(left('59'));
    await expect(b.acquire(signal, Date.now() + 200)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
  });
  it("asks Redis for every window of a call at once: Xero's three windows are one round trip, not three in a row", async () => {
    // The real client, counting the budget scripts in flight.
    const counted = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    let inFlight = 0;
    let most = 0;
    const evalOnce = counted.eval.bind(counted) as (...args: unknown[]) => Promise<unknown>;
    (counted as unknown as { eval: typeof evalOnce }).eval = (...args) => {
      most = Math.max(most, ++inFlight);
      return evalOnce(...args).finally(() => inFlight--);
    };
    try {
      const prefix = `sbtest:budget:${randomUUID().slice(0, 8)}`;
      const budget = sharedBudgets(counted, prefix, 250)('xero:org1', xeroManifest.rateLimits, 'xero');
      (await budget.acquire(signal, Date.now() + 1_000))();
      expect(most).toBe(3);
      // HubSpot's search window applies to searches only: another call asks one window.
      most = 0;
      const hubspot = sharedBudgets(
        counted,
        prefix,
        250,
      )('hubspot:1', {
        windows: [
          { requests: 190, windowMs: 10_000 },
          { requests: 5, windowMs: 1_000, operations: ['contacts.search'], burst: false },
        ],
      });
      (await hubspot.acquire(signal, Date.now() + 1_000, 'contacts.get'))();
      expect(most).toBe(1);
      (await hubspot.acquire(signal, Date.now() + 1_000, 'contacts.search'))();
      expect(most).toBe(2);
    } finally {
      await counted.quit();
    }
  });
});
