// WooCommerce through the real gateway (createGateway, real Redis): two tenants, each with its own
// store emulator. Measures upstream calls for orders(first: 100) { customer { name } } against the
// naive 1 + N, checks tenant isolation, and sends a store's signed webhooks (and its creation ping)
// through POST /webhooks/woocommerce/<connection> to a graphql-ws subscriber.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorMap } from '../registry.ts';
import { hashApiKey } from '../../src/callers/tenants.ts';
import type { TenantConfig } from '../../src/config.ts';
import { encodeId } from '../../src/ids.ts';
import { graphql, startStack, subscribe, type Stack } from '../../test/helpers.ts';
import { startEmulator, type WooEmulatorHandle } from './emulator/index.ts';
import { woocommerce } from './index.ts';
import { BASIC_TOKEN, CONSUMER_KEY, CONSUMER_SECRET } from './test-support.ts';

const SHOP_KEY = `sb_test_shop_${randomUUID()}`;
const OTHER_KEY = `sb_test_other_${randomUUID()}`;
const WEBHOOK_SECRET = 'woo-shop-webhook-secret';

const ORDERS_WITH_CUSTOMERS = /* GraphQL */ `
  {
    orders(first: 100, filter: { provider: "woocommerce" }) {
      nodes {
        id
        number
        customerEmail
        customer {
          name
        }
        source {
          connectionId
        }
      }
    }
  }
`;
type OrdersResult = {
  orders: {
    nodes: Array<{ id: string; number: string; customerEmail: string | null; customer: { name: string | null } | null; source: { connectionId: string } }>;
  };
};
type ContactChange = {
  contactChanged: { type: string; id: string; source: { provider: string; connectionId: string }; contact: { name: string | null } | null };
};
const CONTACT_SUB =
  'subscription ($after: String) { contactChanged(after: $after, filter: { provider: "woocommerce" }) { type id source { provider connectionId } contact { name } } }';

function tenant(id: string, apiKey: string, store: WooEmulatorHandle): TenantConfig {
  return {
    id,
    apiKeys: [{ id: `${id}-key`, sha256: hashApiKey(apiKey) }],
    connections: [
      {
        id: `${id}-woo`,
        provider: 'woocommerce',
        baseUrl: store.url,
        credentials: { type: 'static', token: BASIC_TOKEN },
        settings: {},
        webhookSecret: { type: 'static', token: WEBHOOK_SECRET },
      },
    ],
  };
}

describe('WooCommerce through the gateway', () => {
  let shop: WooEmulatorHandle;
  let other: WooEmulatorHandle;
  let stack: Stack;
  const q = <T>(apiKey: string, query: string, variables?: Record<string, unknown>) => graphql<T>(stack.gateway.url, apiKey, query, variables);

  beforeAll(async () => {
    const credentials = [`${CONSUMER_KEY}:${CONSUMER_SECRET}`];
    shop = await startEmulator({ credentials, seed: 5, scale: { contacts: 80, orders: 150 } });
    other = await startEmulator({ credentials, seed: 6, scale: { contacts: 10, orders: 12 } });
    stack = await startStack({
      scale: { contacts: 5, invoices: 5, orders: 5 },
      gatewayOptions: { connectors: new Map([...connectorMap(), ['woocommerce', woocommerce]]) },
      extraTenants: () => [tenant('shop', SHOP_KEY, shop), tenant('other', OTHER_KEY, other)],
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([shop?.stop(), other?.stop()]);
  });

  it('answers orders(first: 100) { customer { name } } with 2 upstream calls instead of 1 + N', async () => {
    shop.resetRequests();
    const cold = await q<OrdersResult>(SHOP_KEY, ORDERS_WITH_CUSTOMERS);
    expect(cold.errors).toBeUndefined();
    const nodes = cold.data!.orders.nodes;
    expect(nodes).toHaveLength(100);
    const linked = nodes.filter((n) => n.customer !== null);
    const guests = nodes.filter((n) => n.customer === null);
    expect(guests.length).toBeGreaterThan(0);
    expect(guests.every((n) => n.customerEmail?.includes('@'))).toBe(true);
    expect(linked.every((n) => n.customer?.name)).toBe(true);
    // One orders page + one include= read of every distinct customer (≤ 100).
    const coldCalls = shop.count();
    expect(coldCalls).toBe(2);
    const naive = 1 + linked.length;
    console.info(
      `woocommerce orders(first:100){customer{name}}: ${coldCalls} upstream calls cold (naive 1 + N = ${naive}; ${linked.length} linked, ${guests.length} guest orders)`,
    );
    shop.resetRequests();
    const warm = await q<OrdersResult>(SHOP_KEY, ORDERS_WITH_CUSTOMERS);
    expect(warm.data!.orders.nodes.map((n) => n.id)).toEqual(nodes.map((n) => n.id));
    console.info(`woocommerce orders(first:100){customer{name}}: ${shop.count()} upstream calls warm`);
    expect(shop.count()).toBeLessThanOrEqual(1);
  });

  it("keeps tenants apart: each sees only its own store, and cannot read the other's records by id", async () => {
    const mine = await q<OrdersResult>(OTHER_KEY, ORDERS_WITH_CUSTOMERS);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.orders.nodes).toHaveLength(12);
    expect(new Set(mine.data!.orders.nodes.map((n) => n.source.connectionId))).toEqual(new Set(['other-woo']));
    const shopOrder = encodeId('Order', 'shop-woo', String([...shop.store.orders.keys()][0]));
    const stolen = await q<{ node: unknown }>(OTHER_KEY, 'query ($id: ID!) { node(id: $id) { id } }', { id: shopOrder });
    expect(stolen.data?.node ?? null).toBeNull();
  });

  it("delivers a signed customer.updated to the tenant's subscriber only, and answers the creation ping 200 without an event", async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    shop.setWebhook({ url: `${base}/webhooks/woocommerce/shop-woo`, secret: WEBHOOK_SECRET });
    const cursor = async (key: string) => (await q<{ changeCursor: string }>(key, '{ changeCursor }')).data!.changeCursor;
    const mine = await subscribe<ContactChange>(stack.gateway.url, SHOP_KEY, CONTACT_SUB, { after: await cursor(SHOP_KEY) });
    const theirs = await subscribe<ContactChange>(stack.gateway.url, OTHER_KEY, CONTACT_SUB, { after: await cursor(OTHER_KEY) });
    try {
      // Creating a webhook at the store pings the URL first: 200, nothing queued.
      await shop.records.create('webhooks', { topic: 'customer.updated' });
      await shop.waitForIdle();
      expect(shop.deliveries().at(-1)).toMatchObject({ topic: 'ping', status: 200 });

      const customer = [...shop.store.customers.values()][3]!;
      const newName = `Renamed ${randomUUID().slice(0, 6)}`;
      shop.records.update('customers', String(customer.id), { first_name: newName });
      const [event] = await mine.waitFor(1);
      expect(event!.contactChanged).toMatchObject({
        type: 'UPDATED',
        id: encodeId('Contact', 'shop-woo', String(customer.id)),
        source: { provider: 'woocommerce', connectionId: 'shop-woo' },
        contact: { name: `${newName} ${customer.last_name}` },
      });
      expect(shop.deliveries().at(-1)).toMatchObject({ topic: 'customer.updated', status: 200 });
      // The ping produced no event: the update is the first and only one.
      expect(mine.received).toHaveLength(1);
      expect(theirs.received).toHaveLength(0);
    } finally {
      await mine.close();
      await theirs.close();
      shop.setWebhook(null);
    }
  });

  it('refuses a tampered delivery with 401 and queues nothing', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    const body = JSON.stringify({ id: 1 });
    const res = await fetch(`${base}/webhooks/woocommerce/shop-woo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'customer.deleted', 'x-wc-webhook-signature': 'AAAA' },
      body,
    });
    expect(res.status).toBe(401);
  });
});
