// The header-fed daily allocation: read from answers, shared by replicas through Redis, and a
// connection stopped at its share before the provider account runs dry.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../connectors/salesforce/emulator/index.ts';
import { salesforce } from '../../connectors/salesforce/index.ts';
import { REDIS_URL } from '../../test/test-redis.ts';
import { DEFAULT_UPSTREAM_OPTIONS, UpstreamClient } from './client.ts';
import { DailyAllocationGate, LocalAllocationStore, RedisAllocationStore, readAllocation } from './daily-allocation.ts';
import { sharedBudgets } from './rate-budget.ts';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());
const SPEC = { header: 'sforce-limit-info', pattern: 'api-usage=(?<used>\\d+)/(?<limit>\\d+)' };
const headers = (value: string) => new Headers({ 'sforce-limit-info': value });

describe('readAllocation', () => {
  it('reads used and limit through the named groups, ignoring extra parts', () => {
    expect(readAllocation(headers('api-usage=10018/100000; api-bursts=1/750'), SPEC, 5)).toEqual({ used: 10018, limit: 100000, at: 5 });
    expect(readAllocation(headers('api-usage=x/100'), SPEC)).toBeNull();
    expect(readAllocation(new Headers(), SPEC)).toBeNull();
  });
});

describe('DailyAllocationGate', () => {
  it('passes until the reported usage plus what it sent reaches share × limit, then refuses UPSTREAM_RATE_LIMITED', async () => {
    const gate = new DailyAllocationGate({ ...SPEC, share: 0.5 }, new LocalAllocationStore());
    await gate.check(); // nothing reported yet
    gate.observe(headers('api-usage=48/100'));
    await gate.check();
    await gate.check();
    await expect(gate.check()).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryable: false });
    // The usage rolls over: a later report lower than the ceiling opens it again.
    gate.observe(headers('api-usage=10/100'));
    await expect(gate.check()).resolves.toBeUndefined();
  });

  it('shares the latest report between replicas through Redis', async () => {
    const key = `sbtest:daily:${randomUUID()}`;
    let clock = 1_000_000;
    const now = () => clock;
    const a = new DailyAllocationGate({ ...SPEC, share: 0.8 }, new RedisAllocationStore(redis, key, 1_000), now);
    const b = new DailyAllocationGate({ ...SPEC, share: 0.8 }, new RedisAllocationStore(redis, key, 1_000), now);
    await b.check(); // b has no report yet
    a.observe(headers('api-usage=80/100'));
    await expect.poll(async () => (await redis.hget(key, 'used')) ?? null).toBe('80');
    clock += 2_000; // past b's refresh interval
    await expect(b.check()).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    await redis.del(key);
  });
});

describe('through the upstream client, against the Salesforce emulator', () => {
  it('stops a connection at its share: the org never answers REQUEST_LIMIT_EXCEEDED', async () => {
    const em = await startEmulator({ credentials: ['tok'], dailyApiLimit: 20, scale: { contacts: 3, orders: 1 } });
    try {
      const upstream = new UpstreamClient(
        null,
        { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 1 },
        undefined,
        sharedBudgets(redis, `sbtest:${randomUUID()}`, 1_000),
      );
      const connection = { id: 'c1', tenantId: 't1', provider: 'salesforce', baseUrl: em.url, settings: {} };
      const ctx = {
        connection,
        signal: new AbortController().signal,
        log: { debug() {}, info() {}, warn() {}, error() {} },
        accessToken: async () => 'tok',
        prime: () => undefined,
        fetch: upstream.forScope({
          manifest: salesforce.manifest,
          connection,
          signal: new AbortController().signal,
          deadline: Date.now() + 30_000,
          credential: { token: async () => 'tok', renew: async () => null },
          dailyAllocationShare: 0.5,
        }),
      };
      const outcomes: string[] = [];
      for (let i = 0; i < 15; i++) {
        outcomes.push(
          await salesforce.loaders.Contact!.list({ first: 1, filter: {} }, ctx).then(
            () => 'ok',
            (err: { code: string }) => err.code,
          ),
        );
      }
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
      expect(outcomes.slice(10)).toEqual(Array(5).fill('UPSTREAM_RATE_LIMITED'));
      expect(em.apiUsage().used).toBe(10);
      expect(em.requests().some((r) => r.status === 403)).toBe(false);
    } finally {
      await em.stop();
    }
  });
});
