// Shopify behind the real gateway (createGateway, real Redis, the emulator's request counter):
// orders with their customers cost one GraphQL call per cost-sized page and none per customer,
// a second tenant never sees the first's Shopify records, and a signed webhook reaches a graphql-ws
// subscriber as a refetched order.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { defaultGatewayConfig, type TenantConfig } from '../../src/config.ts';
import { encodeId } from '../../src/ids.ts';
import { createGateway, type Gateway } from '../../src/server.ts';
import { graphql, REDIS_URL, RUN_PREFIX, subscribe } from '../../test/helpers.ts';
import { startEmulator, type ShopifyEmulatorHandle } from './emulator/index.ts';
import { ORDER_LINE_ITEMS_PER_BATCH, ORDERS_PER_PAGE } from './index.ts';
import { APP_SECRET, TEST_TOKEN } from './test-support.ts';

const ORDERS_WITH_CUSTOMERS =
  '{ orders(first: 100, filter: { provider: "shopify" }) { nodes { id number total { amount currency } customer { name } source { remoteId connectionId } } } }';

describe('Shopify through the gateway', () => {
  let acmeShop: ShopifyEmulatorHandle;
  let globexShop: ShopifyEmulatorHandle;
  let gateway: Gateway;
  const acmeKey = `sb_test_${randomUUID()}`;
  const globexKey = `sb_test_${randomUUID()}`;

  beforeAll(async () => {
    acmeShop = await startEmulator({
      credentials: [TEST_TOKEN],
      seed: 7,
      scale: { contacts: 40, orders: 120 },
      rateLimitPerSecond: 1000,
      shop: 'acme-coffee.myshopify.com',
    });
    globexShop = await startEmulator({ credentials: [TEST_TOKEN], seed: 8, scale: { contacts: 5, orders: 5 }, shop: 'globex-tea.myshopify.com' });
    const connection = (id: string, shop: ShopifyEmulatorHandle) => ({
      id,
      provider: 'shopify',
      baseUrl: shop.url,
      credentials: { type: 'static' as const, token: TEST_TOKEN },
      webhookSecret: { type: 'static' as const, token: APP_SECRET },
      settings: { shop: shop.shop },
    });
    const tenants: TenantConfig[] = [
      { id: 'acme', apiKeys: [{ id: 'k1', sha256: hashApiKey(acmeKey) }], connections: [connection('acme-shopify', acmeShop)] },
      { id: 'globex', apiKeys: [{ id: 'k2', sha256: hashApiKey(globexKey) }], connections: [connection('globex-shopify', globexShop)] },
    ] as TenantConfig[];
    gateway = await createGateway(
      defaultGatewayConfig(tenants, { mode: 'test', redisUrl: REDIS_URL, keyPrefix: `${RUN_PREFIX}:shopify:${randomUUID().slice(0, 6)}` }),
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([acmeShop?.stop(), globexShop?.stop()]);
  });

  /** The emulator's orders newest created first, ties by id descending (Shopify's CREATED_AT, reverse). */
  const newest = (n: number) =>
    [...acmeShop.store.orders.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.id - a.id)).slice(0, n);

  it('orders(first:100){ customer { name } } cold costs one call per cost-sized page and none for the customers; warm costs none', async () => {
    acmeShop.resetRequests();
    const res = await graphql<{ orders: { nodes: Array<{ number: string; customer: { name: string } | null; source: { remoteId: string } }> } }>(
      gateway.url,
      acmeKey,
      ORDERS_WITH_CUSTOMERS,
    );
    expect(res.errors).toBeUndefined();
    const nodes = res.data?.orders.nodes ?? [];
    expect(nodes).toHaveLength(100);
    // The default order, newest created first (Shopify: sortKey CREATED_AT, reverse): the 100
    // newest the emulator holds. Each one with a customer shows its name.
    const records = newest(100);
    nodes.forEach((n, i) => {
      const record = records[i]!;
      expect(n.source.remoteId).toBe(String(record.id));
      expect(n.customer === null).toBe(record.customerId === null);
    });
    // Naive 1 + N would be 101 calls; here: pages of ≤ 58 orders (17 points each with line items
    // deferred, 988 points a page at most), no line-item reads (not selected) and no customer reads.
    // One call is not possible: 100 orders request 2 + 100 × 17 = 1702 points, above Shopify's 1000.
    const pages = Math.ceil(100 / ORDERS_PER_PAGE);
    expect(acmeShop.count()).toBe(pages);
    expect(acmeShop.count()).toBe(2);

    acmeShop.resetRequests();
    const warm = await graphql<{ orders: { nodes: unknown[] } }>(gateway.url, acmeKey, ORDERS_WITH_CUSTOMERS);
    expect(warm.data?.orders.nodes).toHaveLength(100);
    expect(acmeShop.count()).toBe(0);
  });

  it('orders(first:100){ lineItems { sku } customer { name } } reads the deferred line items in nodes(ids:) batches', async () => {
    const query = '{ orders(first: 100, filter: { provider: "shopify" }) { nodes { source { remoteId } lineItems { sku quantity } customer { name } } } }';
    acmeShop.resetRequests();
    acmeShop.buckets.throttled = 0;
    const res = await graphql<{
      orders: { nodes: Array<{ source: { remoteId: string }; lineItems: Array<{ sku: string | null; quantity: string | null }> }> };
    }>(gateway.url, acmeKey, query);
    expect(res.errors).toBeUndefined();
    const nodes = res.data?.orders.nodes ?? [];
    expect(nodes).toHaveLength(100);
    const records = newest(100);
    nodes.forEach((n, i) => {
      const record = records[i]!;
      expect(n.source.remoteId).toBe(String(record.id));
      expect(n.lineItems.map((li) => li.sku)).toEqual(record.lineItems.map((li) => li.sku || null));
      expect(n.lineItems.map((li) => li.quantity)).toEqual(record.lineItems.map((li) => String(li.quantity)));
    });
    // The orders are cached by the test above; the line items are not. The 100 orders' line items
    // are read in nodes(ids:) batches of ≤ 55 orders (18 points each: 990 + 810 points, sent at
    // once), plus one call per order with more than five lines (2 seeded). The two batches ask for
    // more than the 1000-point bucket holds: the shared budget holds the second back until the
    // refill instead of collecting a THROTTLED answer (which cost a sixth call before it did).
    const longOrders = records.filter((o) => o.lineItems.length > 5).length;
    expect(acmeShop.count()).toBe(Math.ceil(100 / ORDER_LINE_ITEMS_PER_BATCH) + longOrders);
    expect(acmeShop.count()).toBe(4);
    expect(acmeShop.buckets.throttled).toBe(0);
  });

  it('reads orders and customers by global id through nodes(ids:) in one call per batch', async () => {
    // Orders the lists above did not read (so not cached): the oldest ones.
    const listed = new Set(newest(100).map((o) => o.id));
    const ids = [...acmeShop.store.orders.keys()]
      .filter((id) => !listed.has(id))
      .slice(0, 10)
      .map((id) => encodeId('Order', 'acme-shopify', String(id)));
    acmeShop.resetRequests();
    const res = await graphql<{ nodes: Array<{ id: string; customer: { id: string } | null } | null> }>(
      gateway.url,
      acmeKey,
      'query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Order { customer { id } } } }',
      { ids },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.nodes.map((n) => n?.id)).toEqual(ids);
    // Line items are deferred and not selected: one call.
    expect(acmeShop.count()).toBe(1);
  });

  it('a second tenant cannot see the first tenant’s Shopify records', async () => {
    const theirs = await graphql<{ orders: { nodes: Array<{ source: { connectionId: string } }> } }>(gateway.url, globexKey, ORDERS_WITH_CUSTOMERS);
    expect(theirs.data?.orders.nodes.length).toBe(5);
    expect(new Set(theirs.data?.orders.nodes.map((n) => n.source.connectionId))).toEqual(new Set(['globex-shopify']));
    const acmeOrder = encodeId('Order', 'acme-shopify', String([...acmeShop.store.orders.keys()][0]));
    acmeShop.resetRequests();
    const probe = await graphql<{ order: unknown }>(gateway.url, globexKey, 'query ($id: ID!) { order(id: $id) { id } }', { id: acmeOrder });
    expect(probe.data?.order ?? null).toBeNull();
    expect(acmeShop.count()).toBe(0);
  });

  it('a signed Shopify webhook reaches a graphql-ws subscriber as the refetched order', async () => {
    const base = gateway.url.replace(/\/graphql$/, '');
    acmeShop.setWebhook({ url: `${base}/webhooks/shopify/acme-shopify`, secret: APP_SECRET, retryDelaysMs: [50, 100] });
    const acme = await subscribe<{
      orderChanged: { type: string; eventId: string; order: { paymentStatus: string; paymentStatusRaw: string; source: { remoteId: string } } | null };
    }>(
      gateway.url,
      acmeKey,
      'subscription { orderChanged(filter: { provider: "shopify" }) { type eventId order { paymentStatus paymentStatusRaw source { remoteId } } } }',
    );
    const globex = await subscribe<unknown>(gateway.url, globexKey, 'subscription { orderChanged { type } }');
    try {
      const pending = [...acmeShop.store.orders.values()].find((o) => o.financialStatus === 'PENDING')!;
      acmeShop.updateRecord('orders', String(pending.id), { financial_status: 'paid' });
      const [change] = await acme.waitFor(1);
      expect(change?.orderChanged).toMatchObject({
        type: 'UPDATED',
        order: { paymentStatus: 'PAID', paymentStatusRaw: 'PAID', source: { remoteId: String(pending.id) } },
      });
      await acmeShop.waitForIdle();
      expect(acmeShop.deliveries().map((d) => d.status)).toEqual([200, 200]);
      expect(globex.received).toEqual([]);
    } finally {
      await acme.close();
      await globex.close();
    }
  });
});
