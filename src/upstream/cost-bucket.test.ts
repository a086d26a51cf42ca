// The query-cost bucket: its arithmetic (refill, debit, correction by the reported cost), the
// throttled re-send, and one bucket shared by two replicas through Redis.
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { CostReport, UpstreamResponse } from '../../connectors/sdk/types.ts';
import { REDIS_URL } from '../../test/test-redis.ts';
import { corrected, debit, LocalCostBucket, refilled, refundOf, sendWithinCost, type BucketState } from './cost-bucket.ts';
import { localBudgets, sharedBudgets } from './rate-budget.ts';

const signal = new AbortController().signal;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());

const bucket = (available: number, at = 0): BucketState => ({ available, at, capacity: 1000, restorePerSecond: 100 });
const report = (r: Partial<CostReport>): CostReport => ({ actual: null, throttled: false, ...r });

describe('cost bucket arithmetic', () => {
  it('refills at the restore rate, never above capacity', () => {
    expect(refilled(bucket(100), 2_500).available).toBe(350);
    expect(refilled(bucket(900), 5_000).available).toBe(1000);
    // A clock that went backwards refills nothing.
    expect(refilled(bucket(100, 1_000), 500).available).toBe(100);
  });

  it('debits a cost the bucket holds, else says how long the refill takes and debits nothing', () => {
    expect(debit(bucket(500), 300, 0)).toEqual({ state: bucket(200), waitMs: 0 });
    const short = debit(bucket(50), 300, 0);
    expect(short.waitMs).toBe(2_500);
    expect(short.state.available).toBe(50);
  });

  it('gives back the unused points, all of them for a throttled request, none when the actual cost is unknown', () => {
    expect(refundOf(300, report({ actual: 120 }))).toBe(180);
    expect(refundOf(300, report({ throttled: true }))).toBe(300);
    expect(refundOf(300, report({ actual: null }))).toBe(0);
  });

  it('corrects by the report: refund, then never above what the provider says is left; the reported plan replaces the declared one', () => {
    // Debited 300 (700 left), actual 100: 900 by our count; the provider reports 950 → keep 900 (ours is lower).
    expect(corrected(bucket(700), 300, report({ actual: 100, available: 950 }), 0).available).toBe(900);
    // Another client spent points: the provider reports 400 → 400.
    expect(corrected(bucket(700), 300, report({ actual: 100, available: 400 }), 0).available).toBe(400);
    const plus = corrected(bucket(700), 300, report({ actual: 300, available: 1700, capacity: 2000, restorePerSecond: 1000 }), 0);
    expect(plus).toMatchObject({ available: 700, capacity: 2000, restorePerSecond: 1000 });
    // Nonsense sizes are ignored.
    expect(corrected(bucket(700), 0, report({ capacity: 0, restorePerSecond: -5 }), 0)).toMatchObject({ capacity: 1000, restorePerSecond: 100 });
  });

  it('waits for the refill instead of failing, and refuses at once a cost larger than the bucket', async () => {
    const b = new LocalCostBucket({ capacity: 100, restorePerSecond: 1000 });
    await b.take(100, signal, Date.now() + 5_000);
    const started = Date.now();
    await b.take(50, signal, Date.now() + 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    await expect(b.take(101, signal, Date.now() + 5_000)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryable: false });
    // A refill that cannot arrive before the deadline fails now, with the wait as retryAfterMs.
    await b.take(100, signal, Date.now() + 5_000);
    await expect(b.take(100, signal, Date.now() + 20)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryAfterMs: expect.any(Number) });
  });

  it('re-sends a throttled request after the refill the report asks for, not before', async () => {
    const b = new LocalCostBucket({ capacity: 1000, restorePerSecond: 1000 });
    const sentAt: number[] = [];
    const answers = [report({ throttled: true, available: 0 }), report({ actual: 200, available: 800 })];
    const response = (i: number) => ({ status: 200, body: { i }, headers: new Headers(), text: '', url: '' }) as UpstreamResponse;
    const res = await sendWithinCost(b, { requested: 200, report: (r) => answers[(r.body as { i: number }).i]! }, signal, Date.now() + 5_000, async () => {
      sentAt.push(Date.now());
      return response(sentAt.length - 1);
    });
    expect((res.body as { i: number }).i).toBe(1);
    expect(sentAt).toHaveLength(2);
    // The provider said 0 left: 200 points at 1000/s is 200 ms of refill before the second send.
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(190);
  });
});

describe('cost bucket in the connection budget', () => {
  it('is built from manifest.rateLimits.costBucket (and absent without it)', () => {
    expect(localBudgets('k', { windows: [{ requests: 1, windowMs: 1 }] }).costBucket).toBeNull();
    expect(localBudgets('k', { windows: [{ requests: 1, windowMs: 1 }], costBucket: { capacity: 10, restorePerSecond: 1 } }).costBucket).toBeTruthy();
  });

  it('is shared by two replicas through Redis: points one spends are missing on the other, and reports reach both', async () => {
    const prefix = `sbtest:cost:${randomUUID().slice(0, 8)}`;
    const limits = { windows: [{ requests: 100, windowMs: 1_000 }], costBucket: { capacity: 1000, restorePerSecond: 50 } };
    const a = sharedBudgets(redis, prefix, 500)('shopify:c1', limits).costBucket!;
    const b = sharedBudgets(redis, prefix, 500)('shopify:c1', limits).costBucket!;
    await a.take(600, signal, Date.now() + 5_000);
    // 400 left (+ a few points of refill): replica b cannot take 600 within 1 s (needs ~4 s at 50/s).
    await expect(b.take(600, signal, Date.now() + 1_000)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    // a's request actually cost 100: 500 points come back, and b can take them at once.
    await a.settle(600, { actual: 100, throttled: false, available: 900 });
    const started = Date.now();
    await b.take(600, signal, Date.now() + 5_000);
    expect(Date.now() - started).toBeLessThan(500);
    // A report of another plan (bucket 2000, 1000/s) changes the bucket for both replicas.
    await b.settle(600, { actual: 600, throttled: false, available: 300, capacity: 2000, restorePerSecond: 1000 });
    await a.take(1500, signal, Date.now() + 5_000);
    const state = await redis.hgetall(`${prefix}:cost:shopify:c1`);
    expect(Number(state['cap'])).toBe(2000);
    expect(Number(state['rate'])).toBe(1000);
  });
});
