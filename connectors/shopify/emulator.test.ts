// The emulator's cost model and throttling, and the connector's answers to them: the requested
// cost of every query the connector sends (its page and batch sizes stay under Shopify's
// 1000-point ceiling), THROTTLED as HTTP 200, the client's planned waits and its
// UPSTREAM_RATE_LIMITED with retryAfterMs, 401 bodies, search-syntax escaping, and the official
// @shopify/admin-api-client reading orders and customers from the emulator.
import { createAdminApiClient } from '@shopify/admin-api-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import { forgetBuckets } from './client.ts';
import { INVALID_TOKEN_MESSAGE, startEmulator, type ShopifyEmulatorHandle } from './emulator/index.ts';
import type { LineItemModel } from '../sdk/models.ts';
import { ORDER_LINE_ITEMS_PER_BATCH, ORDERS_PER_BATCH, ORDERS_PER_PAGE, CUSTOMERS_PER_PAGE, shopify } from './index.ts';
import {
  CUSTOMERS_BY_IDS,
  CUSTOMERS_LIST,
  CUSTOMER_COST,
  GRAPHQL_PATH,
  ORDERS_BY_IDS,
  ORDERS_LINE_ITEMS,
  ORDERS_LIST,
  ORDER_COST,
  ORDER_LINE_ITEMS_COST,
} from './queries.ts';
import { TEST_TOKEN } from './test-support.ts';

interface Answer {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
    extensions?: {
      cost: {
        requestedQueryCost: number;
        actualQueryCost: number | null;
        throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
      };
    };
  };
}

describe('Shopify emulator: cost, throttling and the connector', () => {
  let emulator: ShopifyEmulatorHandle;
  beforeAll(async () => {
    emulator = await startEmulator({ credentials: [TEST_TOKEN], seed: 11, scale: { contacts: 30, orders: 70 } });
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  afterEach(() => {
    emulator.reset();
    forgetBuckets();
  });

  const post = async (query: string, variables: Record<string, unknown> = {}, token = TEST_TOKEN): Promise<Answer> => {
    const res = await fetch(new URL(GRAPHQL_PATH, emulator.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': token },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const ctx = () => createTestContext({ connector: shopify, baseUrl: emulator.url, token: TEST_TOKEN });
  const orderGids = (n: number) => [...emulator.store.orders.keys()].slice(0, n).map((id) => `gid://shopify/Order/${id}`);

  it('charges the connector queries what queries.ts plans, all under the 1000-point ceiling', async () => {
    const cases: Array<[string, string, Record<string, unknown>, number]> = [
      ['orders page', ORDERS_LIST, { first: ORDERS_PER_PAGE, sortKey: 'ID' }, 2 + ORDERS_PER_PAGE * ORDER_COST],
      ['orders by ids', ORDERS_BY_IDS, { ids: orderGids(ORDERS_PER_BATCH) }, ORDERS_PER_BATCH * ORDER_COST],
      ['order line items by ids', ORDERS_LINE_ITEMS, { ids: orderGids(ORDER_LINE_ITEMS_PER_BATCH) }, ORDER_LINE_ITEMS_PER_BATCH * ORDER_LINE_ITEMS_COST],
      ['customers page', CUSTOMERS_LIST, { first: CUSTOMERS_PER_PAGE, sortKey: 'ID' }, 2 + CUSTOMERS_PER_PAGE * CUSTOMER_COST],
      ['customers by ids', CUSTOMERS_BY_IDS, { ids: ['gid://shopify/Customer/7000000001'] }, CUSTOMER_COST],
    ];
    for (const [label, query, variables, expected] of cases) {
      emulator.buckets.reset();
      const { status, body } = await post(query, variables);
      expect(status, label).toBe(200);
      expect(body.errors, label).toBeUndefined();
      expect(body.extensions?.cost.requestedQueryCost, label).toBe(expected);
      expect(expected, label).toBeLessThanOrEqual(1000);
    }
    expect([ORDERS_PER_PAGE, ORDERS_PER_BATCH, ORDER_COST]).toEqual([58, 58, 17]);
    expect([ORDER_LINE_ITEMS_PER_BATCH, ORDER_LINE_ITEMS_COST]).toEqual([55, 18]);
  });

  it('actual cost counts what came back and is refunded; a query over 1000 is refused before it runs', async () => {
    const { body } = await post(ORDERS_LINE_ITEMS, { ids: orderGids(5) });
    const cost = body.extensions?.cost;
    expect(cost?.requestedQueryCost).toBe(5 * ORDER_LINE_ITEMS_COST);
    // Orders have 1-3 line items of the 5 a line-item read pays for.
    expect(cost?.actualQueryCost).toBeLessThan(cost?.requestedQueryCost ?? 0);
    // Only the actual cost stays spent (the bucket also refills 100/s while the test runs).
    expect(cost?.throttleStatus).toMatchObject({ maximumAvailable: 1000, restoreRate: 100 });
    expect(cost?.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(1000 - (cost?.actualQueryCost ?? 0));
    expect(cost?.throttleStatus.currentlyAvailable).toBeLessThan(1000 - (cost?.actualQueryCost ?? 0) + 30);
    const tooBig = await post(ORDERS_LIST, { first: ORDERS_PER_PAGE + 1, sortKey: 'ID' });
    expect(tooBig.status).toBe(200);
    expect(tooBig.body.errors?.[0]?.extensions?.code).toBe('MAX_COST_EXCEEDED');
    expect(tooBig.body.extensions?.cost).toMatchObject({ requestedQueryCost: 2 + (ORDERS_PER_PAGE + 1) * ORDER_COST, actualQueryCost: null });
  });

  it('answers THROTTLED with HTTP 200 when the bucket cannot hold the requested cost', async () => {
    emulator.buckets.set(TEST_TOKEN, 10);
    const { status, body } = await post(ORDERS_LIST, { first: 2, sortKey: 'ID' });
    expect(status).toBe(200);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: expect.any(String) } }]);
    expect(body.extensions?.cost).toMatchObject({
      requestedQueryCost: 2 + 2 * ORDER_COST,
      actualQueryCost: null,
      throttleStatus: { maximumAvailable: 1000, restoreRate: 100 },
    });
    expect(body.extensions?.cost.throttleStatus.currentlyAvailable).toBeLessThan(2 + 2 * ORDER_COST);
  });

  it('the client waits for the bucket after THROTTLED and succeeds with one retry', async () => {
    // 2 + 3 × 17 = 53 requested, 3 available: 0.5 s at 100 points/s.
    emulator.buckets.set(TEST_TOKEN, 3);
    const started = Date.now();
    const page = await shopify.loaders.Order!.list({ first: 3, filter: {} }, ctx());
    expect(page.nodes).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(emulator.requests().map((r) => r.status)).toEqual([200, 200]);
  });

  it('plans from the last report: a call the bucket cannot hold yet waits before it is sent (no THROTTLED)', async () => {
    const c = ctx();
    await shopify.loaders.Order!.list({ first: 1, filter: {} }, c);
    // The bucket drains elsewhere (another client of the same app and shop); the next report says so.
    emulator.buckets.set(TEST_TOKEN, 0);
    await shopify.loaders.Contact!.list({ first: 1, filter: {} }, c).catch(() => undefined);
    emulator.resetRequests();
    const result = await shopify.loaders.Contact!.byIds(['7000000001'], c);
    expect(result[0]).not.toBeInstanceOf(ConnectorError);
    expect(emulator.requests().map((r) => r.status)).toEqual([200]);
  });

  it('a wait longer than the request can afford is UPSTREAM_RATE_LIMITED with retryAfterMs from cost and restore rate', async () => {
    const slow = await startEmulator({ credentials: [TEST_TOKEN], scale: { contacts: 3, orders: 3 }, bucket: { maximumAvailable: 1000, restoreRate: 10 } });
    try {
      slow.buckets.set(TEST_TOKEN, 0);
      // The request has 2 s; the shared budget learns from the THROTTLED answer that the refill takes longer.
      const c = createTestContext({ connector: shopify, baseUrl: slow.url, token: TEST_TOKEN, connectionId: 'conn_slow', deadlineMs: 2_000 });
      const err = await shopify.loaders.Order!.list({ first: 2, filter: {} }, c).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      // (2 + 2 × 17) points / 10 per second = 3.6 s (less the refill between the answer and the plan).
      expect(err).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryable: true });
      expect((err as ConnectorError).retryAfterMs).toBeGreaterThan(3_000);
      expect((err as ConnectorError).retryAfterMs).toBeLessThanOrEqual(3_600);
      expect(slow.count()).toBe(1);
    } finally {
      await slow.stop();
    }
  });

  it('on a Standard shop, a page the bucket cannot hold soon is shrunk to what it holds instead of failing', async () => {
    const c = ctx();
    const first = await shopify.loaders.Order!.list({ first: ORDERS_PER_PAGE, filter: {} }, c);
    expect(first.nodes).toHaveLength(ORDERS_PER_PAGE);
    // Most of 988 points stay spent; room for 58 more orders (988) is > 2 s away at 100 points/s.
    const second = await shopify.loaders.Order!.list({ first: ORDERS_PER_PAGE, after: first.endCursor, filter: {} }, c);
    expect(second.nodes.length).toBeGreaterThan(0);
    expect(second.nodes.length).toBeLessThan(ORDERS_PER_PAGE);
    expect(second.hasNextPage).toBe(true);
    expect(emulator.requests().every((r) => r.status === 200)).toBe(true);
  });

  it('answers 401 with Shopify body for a bad or missing token', async () => {
    const bad = await post('{ shop { name } }', {}, 'shpat_wrong');
    expect(bad).toEqual({ status: 401, body: { errors: INVALID_TOKEN_MESSAGE } });
    const res = await fetch(new URL(GRAPHQL_PATH, emulator.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ orders(first:1){ nodes { id } } }"}',
    });
    expect(res.status).toBe(401);
  });

  it('filters by e-mail (quoted, so an injected term stays part of the value) and by updated_at', async () => {
    const someone = [...emulator.store.customers.values()][4]!;
    const hit = await shopify.loaders.Contact!.list({ first: 10, filter: { email: someone.email!.toUpperCase() } }, ctx());
    expect(hit.nodes.map((n) => n.source.remoteId)).toEqual([String(someone.id)]);
    const injected = await shopify.loaders.Contact!.list({ first: 10, filter: { email: `${someone.email}" OR email:*` } }, ctx());
    expect(injected.nodes).toEqual([]);
    const since = '2026-01-02T12:00:00Z';
    const changed = await shopify.loaders.Order!.list({ first: 20, filter: { updatedSince: since } }, ctx());
    const times = changed.nodes.map((n) => n.updatedAt as string);
    expect(times.length).toBeGreaterThan(0);
    expect(times.every((t) => Date.parse(t) >= Date.parse(since))).toBe(true);
    expect([...times].sort()).toEqual(times);
  });

  it('orders list primes each customer it embeds, defers line items, and reads long orders line items in full on demand', async () => {
    const c = ctx();
    const page = await shopify.loaders.Order!.list({ first: ORDERS_PER_PAGE, filter: {} }, c);
    const withCustomer = page.nodes.filter((o) => o.customerRemoteId !== null);
    expect(new Set(c.primed.map((p) => p.model.source.remoteId))).toEqual(new Set(withCustomer.map((o) => o.customerRemoteId)));
    expect(page.nodes.every((o) => o.lineItems === null)).toBe(true);
    // One page, no line-item reads.
    expect(emulator.count('graphql')).toBe(1);
    // A full bucket for the line-item reads (the page spent most of a Standard shop's 1000 points).
    emulator.reset();
    forgetBuckets();
    const slots = await shopify.loaders.Order!.lineItems!(page.nodes, c);
    expect(slots).toHaveLength(page.nodes.length);
    const lines = slots.map((s) => s as LineItemModel[]);
    page.nodes.forEach((o, i) => {
      const record = emulator.store.orders.get(Number(o.source.remoteId));
      expect(lines[i]!.map((li) => li.sku)).toEqual(record!.lineItems.map((li) => li.sku || null));
    });
    const long = lines.filter((l) => l.length > 5);
    expect(long.length).toBeGreaterThan(0);
    for (const l of long) expect(l).toHaveLength(7);
    // nodes(ids:) batches of ORDER_LINE_ITEMS_PER_BATCH, plus one call per order with more than five line items.
    expect(emulator.count('graphql')).toBe(Math.ceil(page.nodes.length / ORDER_LINE_ITEMS_PER_BATCH) + long.length);
  });

  it('the official @shopify/admin-api-client reads orders and customers from the emulator', async () => {
    const client = createAdminApiClient({
      storeDomain: emulator.shop,
      apiVersion: '2026-07',
      accessToken: TEST_TOKEN,
      // The client always speaks https to the shop; send it to the emulator instead.
      customFetchApi: (url, init) => fetch(String(url).replace(`https://${emulator.shop}`, emulator.url), init),
    });
    const { data, errors, extensions } = await client.request(
      `query { orders(first: 3, sortKey: ID) { nodes { id name totalPriceSet { shopMoney { amount currencyCode } } customer { email } } } customers(first: 2) { nodes { id email } } }`,
    );
    expect(errors).toBeUndefined();
    expect((data as { orders: { nodes: unknown[] } }).orders.nodes).toHaveLength(3);
    expect((data as { customers: { nodes: Array<{ email: string }> } }).customers.nodes[0]?.email).toMatch(/@/);
    expect((extensions as { cost: { requestedQueryCost: number } }).cost.requestedQueryCost).toBe(2 + 3 * (1 + 2 + 1) + 2 + 2);
  });
});
