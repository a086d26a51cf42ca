// The WooCommerce emulator checked against the official client (@woocommerce/woocommerce-rest-api,
// which signs http:// requests with OAuth 1.0a) and against WooCommerce's documented behaviour:
// paging headers, WP_Error bodies, role and dp defaults, exclusive modified_after, and webhook
// delivery (signature, PHP JSON bytes, the ping, no retries, disabled after 5 failures).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as wooModule from '@woocommerce/woocommerce-rest-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedStore as seedHubSpot } from '../hubspot/emulator/seed.ts';
import { createSeededStore as seedStripe } from '../stripe/emulator/index.ts';
import { createSeededStore, startEmulator, type WooEmulatorHandle } from './emulator/index.ts';
import { CONSUMER_KEY, CONSUMER_SECRET } from './test-support.ts';
import { signWooPayload } from './webhooks.ts';

type WooClient = { get(endpoint: string, params?: Record<string, unknown>): Promise<{ status: number; data: unknown; headers: Record<string, string> }> };
type WooClientClass = new (options: { url: string; consumerKey: string; consumerSecret: string; version: string }) => WooClient;
// The package is CommonJS compiled by Babel: its class is the default export's default.
const loaded = wooModule as unknown as { default: WooClientClass | { default: WooClientClass } };
const WooCommerceRestApi: WooClientClass = typeof loaded.default === 'function' ? loaded.default : loaded.default.default;

let em: WooEmulatorHandle;
const client = (key = CONSUMER_KEY, secret = CONSUMER_SECRET) =>
  new WooCommerceRestApi({ url: em.url, consumerKey: key, consumerSecret: secret, version: 'wc/v3' });
const basic = `Basic ${Buffer.from(`${CONSUMER_KEY}:${CONSUMER_SECRET}`).toString('base64')}`;
const get = async (path: string) => {
  const res = await fetch(`${em.url}/wp-json/wc/v3/${path}`, { headers: { authorization: basic } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
};
const failureOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    const e = err as { response?: { status: number; data: unknown } };
    return e.response && { status: e.response.status, data: e.response.data };
  }
  throw new Error('expected the call to fail');
};

beforeAll(async () => {
  em = await startEmulator({ credentials: [`${CONSUMER_KEY}:${CONSUMER_SECRET}`], seed: 3, scale: { contacts: 40, orders: 60 } });
});
afterAll(async () => {
  await em?.stop();
});

describe('official client against the emulator', () => {
  it('lists orders with paging headers and reads one by id', async () => {
    const page = await client().get('orders', { per_page: 7, page: 2 });
    expect(page.status).toBe(200);
    const orders = page.data as Array<{ id: number; total: string }>;
    expect(orders).toHaveLength(7);
    expect(page.headers['x-wp-total']).toBe('60');
    expect(page.headers['x-wp-totalpages']).toBe('9');
    const links = (page.headers['link'] ?? '').split(', ').map((l) => /^<([^>]+)>; rel="(\w+)"$/.exec(l)!.slice(1));
    expect(links.map(([url, rel]) => [rel, new URL(url!).searchParams.getAll('page'), new URL(url!).searchParams.get('per_page')])).toEqual([
      ['prev', ['1'], '7'],
      ['next', ['3'], '7'],
    ]);
    const one = await client().get(`orders/${orders[0]!.id}`);
    expect(one.data).toMatchObject({ id: orders[0]!.id, total: orders[0]!.total });
  });

  it('batch-reads customers with include= in the order asked', async () => {
    const ids = [...em.store.customers.keys()].slice(0, 5).reverse();
    const res = await client().get('customers', { include: ids.join(','), orderby: 'include', per_page: 5, role: 'all' });
    expect((res.data as Array<{ id: number }>).map((c) => c.id)).toEqual(ids);
  });

  it("answers a wrong secret and an unknown key with WooCommerce's 401 bodies", async () => {
    expect(await failureOf(client(CONSUMER_KEY, 'cs_wrong').get('orders'))).toEqual({
      status: 401,
      data: { code: 'woocommerce_rest_authentication_error', message: 'Invalid signature - provided signature does not match.', data: { status: 401 } },
    });
    expect(await failureOf(client('ck_unknown', CONSUMER_SECRET).get('customers'))).toMatchObject({
      status: 401,
      data: { message: 'Consumer key is invalid.' },
    });
  });

  it('refuses per_page over 100 with rest_invalid_param', async () => {
    expect(await failureOf(client().get('orders', { per_page: 101 }))).toMatchObject({
      status: 400,
      data: {
        code: 'rest_invalid_param',
        message: 'Invalid parameter(s): per_page',
        data: { status: 400, params: { per_page: 'per_page must be between 1 (inclusive) and 100 (inclusive)' } },
      },
    });
  });
});

describe('WooCommerce behaviour', () => {
  it('answers requests without credentials, and unknown routes, like WordPress', async () => {
    const anonymous = await fetch(`${em.url}/wp-json/wc/v3/orders`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'woocommerce_rest_cannot_view', message: 'Sorry, you cannot list resources.' });
    expect(await get('coupons/1')).toMatchObject({ status: 404, body: { code: 'rest_no_route' } });
    expect(await get('orders/424242')).toMatchObject({ status: 404, body: { code: 'woocommerce_rest_shop_order_invalid_id', message: 'Invalid ID.' } });
    expect(await get('customers/424242')).toMatchObject({ status: 404, body: { code: 'woocommerce_rest_invalid_id' } });
    expect(await get('orders?orderby=total')).toMatchObject({ status: 400, body: { code: 'rest_invalid_param' } });
    expect(await get('customers?include=1,x')).toMatchObject({ status: 400, body: { data: { params: { include: 'include[1] is not of type integer.' } } } });
  });

  it('lists only role=customer users by default', async () => {
    const staff = [...em.store.customers.values()].filter((c) => c.role !== 'customer');
    expect(staff.length).toBeGreaterThan(0);
    const byDefault = await get('customers?per_page=100');
    const all = await get('customers?per_page=100&role=all');
    expect(Number(byDefault.headers.get('x-wp-total'))).toBe(em.store.customers.size - staff.length);
    expect(Number(all.headers.get('x-wp-total'))).toBe(em.store.customers.size);
  });

  it("rounds amounts to the store's 2 decimals unless dp asks for more", async () => {
    const kwd = [...em.store.orders.values()].find((o) => o.currency === 'KWD' && o.lines.some((l) => l.total % 10 !== 0));
    expect(kwd).toBeDefined();
    const line = kwd!.lines.find((l) => l.total % 10 !== 0)!;
    const rounded = (await get(`orders/${kwd!.id}`)).body as { line_items: Array<{ id: number; total: string }> };
    const exact = (await get(`orders/${kwd!.id}?dp=3`)).body as { line_items: Array<{ id: number; total: string }> };
    const exactText = `${Math.floor(line.total / 1000)}.${String(line.total % 1000).padStart(3, '0')}`;
    expect(exact.line_items.find((l) => l.id === line.id)?.total).toBe(exactText);
    expect(rounded.line_items.find((l) => l.id === line.id)?.total).toMatch(/^\d+\.\d\d$/);
    expect(rounded.line_items.find((l) => l.id === line.id)?.total).not.toBe(exactText);
  });

  it('treats modified_after as exclusive, in GMT with dates_are_gmt', async () => {
    const order = [...em.store.orders.values()][10]!;
    const at = new Date(Math.floor(order.modifiedMs / 1000) * 1000).toISOString().slice(0, 19);
    const ids = async (q: string) => ((await get(`orders?per_page=100&dates_are_gmt=true&modified_after=${q}`)).body as Array<{ id: number }>).map((o) => o.id);
    expect(await ids(at)).not.toContain(order.id);
    const before = new Date(Math.floor(order.modifiedMs / 1000) * 1000 - 1000).toISOString().slice(0, 19);
    expect(await ids(before)).toContain(order.id);
  });
});

describe('demo data', () => {
  it('shares people (same e-mail) with the HubSpot and Stripe demo stores, guest buyers included', () => {
    const woo = createSeededStore();
    const hubspot = new Set(
      seedHubSpot()
        .all('contacts')
        .map((c) => c.properties['email']),
    );
    const stripe = new Set([...seedStripe().customers.values()].map((c) => c.email));
    const customers = [...woo.customers.values()].map((c) => c.email);
    const guests = [...woo.orders.values()].filter((o) => o.customer_id === 0).map((o) => o.billing.email);
    expect(customers.filter((e) => hubspot.has(e)).length).toBeGreaterThan(50);
    expect(customers.filter((e) => stripe.has(e)).length).toBeGreaterThan(30);
    expect(guests.length).toBeGreaterThan(30);
    expect(guests.filter((e) => e !== undefined && stripe.has(e)).length).toBeGreaterThan(0);
  });
});

describe('webhook delivery', () => {
  let receiver: Server;
  let receiverUrl = '';
  let answer = 200;
  const received: Array<{ headers: IncomingMessage['headers']; body: Buffer }> = [];
  const SECRET = 'woo-webhook-secret';

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    em.setWebhook(null);
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${em.url}/__emulator${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('pings a new webhook unsigned with a form body', async () => {
    expect((await admin('PUT', '/webhook', { url: receiverUrl, secret: SECRET })).status).toBe(200);
    received.length = 0;
    const created = (await (await admin('POST', '/records/webhooks', { topic: 'order.updated' })).json()) as { id: number };
    await em.waitForIdle();
    expect(received).toHaveLength(1);
    expect(received[0]!.body.toString()).toBe(`webhook_id=${created.id}`);
    expect(received[0]!.headers['x-wc-webhook-signature']).toBeUndefined();
    expect(received[0]!.headers['user-agent']).toMatch(/^WooCommerce\/[\d.]+ Hookshot \(WordPress\/[\d.]+\)$/);
  });

  it('sends the full resource, PHP-encoded and signed, with the X-WC-Webhook-* headers', async () => {
    received.length = 0;
    const customer = [...em.store.customers.values()][0]!;
    expect((await admin('PATCH', `/records/customers/${customer.id}`, { first_name: 'Zoë', billing: { city: 'Köln' } })).status).toBe(200);
    await em.waitForIdle();
    expect(received).toHaveLength(1);
    const { headers, body } = received[0]!;
    expect(headers).toMatchObject({
      'x-wc-webhook-topic': 'customer.updated',
      'x-wc-webhook-resource': 'customer',
      'x-wc-webhook-event': 'updated',
      'x-wc-webhook-id': '2',
      'x-wc-webhook-source': `${em.url}/`,
    });
    expect(headers['x-wc-webhook-signature']).toBe(signWooPayload(body, SECRET));
    expect(headers['x-wc-webhook-delivery-id']).toMatch(/^[0-9a-f]{32}$/);
    const text = body.toString('utf8');
    expect(text).toContain('"first_name":"Zo\\u00eb"');
    expect(text).toContain('https:\\/\\/secure.gravatar.com');
    expect(JSON.parse(text)).toMatchObject({ id: customer.id, first_name: 'Zoë', billing: { city: 'Köln' } });
  });

  it('sends customer.created with the complete new customer', async () => {
    received.length = 0;
    const res = await admin('POST', '/records/customers', { email: 'new.buyer@example.org', first_name: 'Nova', billing: { city: 'Oslo' } });
    expect(res.status).toBe(201);
    await em.waitForIdle();
    expect(received.map((r) => r.headers['x-wc-webhook-topic'])).toEqual(['customer.created']);
    expect(JSON.parse(received[0]!.body.toString())).toMatchObject({
      email: 'new.buyer@example.org',
      first_name: 'Nova',
      billing: { city: 'Oslo' },
      date_modified_gmt: null,
    });
  });

  it('sends {id} for a trashed order and order.restored when it leaves the trash', async () => {
    received.length = 0;
    const order = [...em.store.orders.values()].find((o) => o.status === 'processing')!;
    await admin('DELETE', `/records/orders/${order.id}`);
    await admin('PATCH', `/records/orders/${order.id}`, { status: 'processing' });
    await em.waitForIdle();
    expect(received.map((r) => r.headers['x-wc-webhook-topic'])).toEqual(['order.deleted', 'order.restored']);
    expect(received[0]!.body.toString()).toBe(`{"id":${order.id}}`);
    expect(JSON.parse(received[1]!.body.toString())).toMatchObject({ id: order.id, status: 'processing', line_items: expect.any(Array) });
  });

  it('never retries a failed delivery and disables the webhook after more than 5 failures in a row', async () => {
    answer = 500;
    received.length = 0;
    const customer = [...em.store.customers.values()][1]!;
    for (let i = 0; i < 7; i++) {
      await admin('PATCH', `/records/customers/${customer.id}`, { last_name: `Failing ${i}` });
      await em.waitForIdle();
    }
    // Six attempts, one per change, no retries; the seventh change is not sent at all.
    expect(received).toHaveLength(6);
    expect(em.webhookStatus()).toEqual({ status: 'disabled', consecutiveFailures: 6 });
    answer = 200;
    // Saving the webhook again (a new target) reactivates it.
    await admin('PUT', '/webhook', { url: receiverUrl, secret: SECRET });
    expect(em.webhookStatus().status).toBe('active');
  });
});
