// A connection's documented allowance holds across replicas: two gateways sharing Redis together
// send no more than the allowance (GCRA on Redis's clock), where per-process buckets would each
// send the full allowance. Without Redis a replica falls back to its own bucket and keeps working.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedRateBudget } from '../src/upstream/rate-budget.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { freePort, graphql, startStack, type Stack } from './helpers.ts';

const QUERY = '{ contacts(first: 1, filter: { provider: "stripe" }) { nodes { id } } }';

describe('shared rate budget', () => {
  let stack: Stack;
  let second: Gateway;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 5, invoices: 2, orders: 2 },
      config: { cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 } },
    });
    // 4 requests per second for acme's Stripe connection, on both replicas.
    stack.gateway.services.config.tenants[0]!.connections[1]!.rateLimit = { requests: 4, windowMs: 1000 };
    second = await createGateway(defaultGatewayConfig(stack.gateway.services.config.tenants, { ...stack.gateway.services.config, port: 0 }));
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  it("two replicas together stay within one connection's allowance", async () => {
    stack.stripe.resetRequests();
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => graphql(stack.gateway.url, stack.apiKey, QUERY)),
      ...Array.from({ length: 4 }, () => graphql(second.url, stack.apiKey, QUERY)),
    ]);
    expect(results.every((r) => r.status === 200 && !r.errors)).toBe(true);
    const times = stack.stripe
      .requests()
      .map((r) => r.at)
      .sort((a, b) => a - b);
    expect(times).toHaveLength(8);
    // 4 at once (the burst), then one per 250 ms: the eighth is permitted 1 s after the burst. The
    // times are arrivals at the emulator, and on a busy machine the burst's first one can arrive
    // late (CI saw 889 ms), so the bound leaves room for that; per-process buckets would have sent
    // all eight at once (under 500 ms apart).
    expect(times[7]! - times[0]!).toBeGreaterThanOrEqual(700);
    expect(times[3]! - times[0]!).toBeLessThan(500);
  });

  it("falls back to the replica's own bucket when Redis does not answer", async () => {
    const port = await freePort();
    const dead = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    dead.on('error', () => undefined);
    try {
      const budget = new SharedRateBudget(dead, 'unused', 2, 1000, 100);
      const started = Date.now();
      await budget.take(new AbortController().signal, Date.now() + 5_000);
      await budget.take(new AbortController().signal, Date.now() + 5_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      // The local bucket is now empty: a third request inside the window cannot be served by a 50 ms deadline.
      await expect(budget.take(new AbortController().signal, Date.now() + 50)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    } finally {
      dead.disconnect();
    }
  });
});
