// Shopify's cost bucket enforced by the gateway's shared budget (manifest.rateLimits.costBucket):
// two gateway replicas on one Redis burst more query points at one shop than its bucket holds, and
// every query waits for the refill instead of being answered THROTTLED by the emulator.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { DEFAULT_LIMITS, defaultGatewayConfig, type TenantConfig } from '../../src/config.ts';
import { createGateway, type Gateway } from '../../src/server.ts';
import { graphql, REDIS_URL, RUN_PREFIX } from '../../test/helpers.ts';
import { startEmulator, type ShopifyEmulatorHandle } from './emulator/index.ts';
import { ORDER_COST } from './queries.ts';
import { APP_SECRET, shopTenant, TEST_TOKEN } from './test-support.ts';

const PAGE = 20;
const BURST_PER_REPLICA = 4;

describe('Shopify query cost through the shared budget', () => {
  let shop: ShopifyEmulatorHandle;
  const gateways: Gateway[] = [];
  const key = `sb_test_${randomUUID()}`;

  beforeAll(async () => {
    // A 1000-point bucket restoring 500 points a second: the burst below asks for ~2.7 times that.
    shop = await startEmulator({
      credentials: [TEST_TOKEN],
      seed: 11,
      scale: { contacts: 20, orders: 60 },
      bucket: { maximumAvailable: 1000, restoreRate: 500 },
    });
    const tenants = [shopTenant('acme', hashApiKey(key), 'acme-shopify', shop)] as TenantConfig[];
    // Two replicas sharing one Redis key prefix (one deployment).
    const prefix = `${RUN_PREFIX}:shopify-cost:${randomUUID().slice(0, 6)}`;
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await createGateway(
          defaultGatewayConfig(tenants, { mode: 'test', redisUrl: REDIS_URL, keyPrefix: prefix, limits: { ...DEFAULT_LIMITS, requestDeadlineMs: 30_000 } }),
        ),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await shop?.stop();
  });

  it('a burst above the bucket from two replicas waits for the refill: every query answers, none is THROTTLED', async () => {
    shop.buckets.reset();
    shop.resetRequests();
    // Distinct updatedSince values: no list page is served from the cache, every query goes upstream.
    const queries = gateways.flatMap((g, r) =>
      Array.from({ length: BURST_PER_REPLICA }, (_, i) =>
        graphql<{ orders: { nodes: unknown[] } }>(
          g.url,
          key,
          `{ orders(first: ${PAGE}, filter: { provider: "shopify", updatedSince: "2000-01-0${r + 1}T00:00:0${i}Z" }) { nodes { id number } } }`,
        ),
      ),
    );
    const started = Date.now();
    const results = await Promise.all(queries);
    for (const res of results) {
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      expect(res.data?.orders.nodes).toHaveLength(PAGE);
    }
    const requested = 2 * BURST_PER_REPLICA * (2 + PAGE * ORDER_COST);
    expect(requested).toBeGreaterThan(2_500);
    expect(shop.buckets.throttled, 'THROTTLED answers from the emulator').toBe(0);
    expect(shop.count()).toBe(2 * BURST_PER_REPLICA);
    // It did wait: the points above the bucket's 1000 took time to restore (actual costs are lower
    // than requested, so the wait is shorter than the requested points alone would say).
    expect(Date.now() - started).toBeGreaterThan(500);
  });
});
