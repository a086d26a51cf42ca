// The WooCommerce connector against its emulator through the real fetch wrapper: WP_Error bodies to
// codes, the plain-http refusal, exact three-decimal amounts (dp), inclusive updatedSince on orders
// and the customers' scan fallback, e-mail filter, guest orders, cursors that survive a change of
// `first`, and include= batches of 100.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import type { ContactModel, OrderModel } from '../sdk/models.ts';
import { errorFromResponse } from './client.ts';
import { startEmulator, type WooEmulatorHandle } from './emulator/index.ts';
import { modifiedAfterParam, woocommerce } from './index.ts';
import { BASIC_TOKEN, CONSUMER_KEY, CONSUMER_SECRET } from './test-support.ts';

let em: WooEmulatorHandle;
const ctx = (extra: Partial<Parameters<typeof createTestContext>[0]> = {}) =>
  createTestContext({ connector: woocommerce, baseUrl: em.url, token: BASIC_TOKEN, upstream: { attemptTimeoutMs: 500, maxAttempts: 2 }, ...extra });
const contacts = woocommerce.loaders.Contact!;
const orders = woocommerce.loaders.Order!;

beforeAll(async () => {
  em = await startEmulator({ credentials: [`${CONSUMER_KEY}:${CONSUMER_SECRET}`], seed: 11, scale: { contacts: 150, orders: 260 } });
});
afterAll(async () => {
  await em?.stop();
});

async function all<M>(list: (after: string | null) => Promise<{ nodes: M[]; endCursor: string | null; hasNextPage: boolean }>): Promise<M[]> {
  const out: M[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const page = await list(after);
    out.push(...page.nodes);
    if (!page.hasNextPage) return out;
    after = page.endCursor;
  }
  throw new Error('no end');
}

describe('errors', () => {
  it("maps WordPress error bodies to codes, with the store's message and a hint", async () => {
    const wrongSecret = createTestContext({ connector: woocommerce, baseUrl: em.url, token: Buffer.from(`${CONSUMER_KEY}:cs_wrong`).toString('base64') });
    const err = await orders.list({ first: 5, filter: {} }, wrongSecret).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED', upstreamStatus: 401, retryable: false });
    expect((err as Error).message).toMatch(/woocommerce_rest_authentication_error: Consumer secret is invalid\. \(check the consumer key/);
    expect((err as Error).message).not.toContain('cs_wrong');
  });

  it.each([
    [
      { code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } },
      404,
      'UPSTREAM_BAD_RESPONSE',
      /pretty permalinks/,
    ],
    [{ code: 'rest_invalid_param', message: 'Invalid parameter(s): per_page', data: { status: 400 } }, 400, 'UPSTREAM_BAD_RESPONSE', /per_page/],
    [{ code: 'woocommerce_rest_cannot_view', message: 'Sorry, you cannot list resources.', data: { status: 403 } }, 403, 'UPSTREAM_FORBIDDEN', /cannot list/],
    [{ code: 'woocommerce_rest_shop_order_invalid_id', message: 'Invalid ID.', data: { status: 404 } }, 404, 'UPSTREAM_NOT_FOUND', /Invalid ID/],
    [
      { code: 'internal_server_error', message: '<p>There has been a critical error on this website.</p>', data: { status: 500 } },
      500,
      'UPSTREAM_UNAVAILABLE',
      /critical error on this website\.$/,
    ],
    ['<html>Bad gateway</html>', 502, 'UPSTREAM_UNAVAILABLE', /HTTP 502/],
  ])('%j (%i) → %s', (body, status, code, message) => {
    const error = errorFromResponse({
      status,
      headers: new Headers(),
      body: typeof body === 'string' ? null : body,
      text: String(body),
      url: 'https://shop.example.com/wp-json/wc/v3/orders',
    });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses to send keys to a plain-http store that is not on loopback', async () => {
    const remote = createTestContext({ connector: woocommerce, baseUrl: 'http://shop.example.com', token: BASIC_TOKEN });
    await expect(orders.list({ first: 1, filter: {} }, remote)).rejects.toMatchObject({
      code: 'UPSTREAM_FORBIDDEN',
      message: expect.stringMatching(/plain http:\/\/.*use https:\/\//),
    });
    await expect(contacts.byIds(['1'], remote)).rejects.toMatchObject({ code: 'UPSTREAM_FORBIDDEN' });
  });
});

describe('reads', () => {
  it('reads 250 ids in 3 include= calls, in order, with NOT_FOUND for unknown and malformed ids', async () => {
    const ids = [...em.store.orders.keys()].slice(0, 250).map(String);
    em.resetRequests();
    const result = await orders.byIds([...ids, '999999', 'abc', ids[3] as string], ctx());
    expect(em.count()).toBe(3);
    expect(em.requests().every((r) => r.path === '/wp-json/wc/v3/orders')).toBe(true);
    expect(result.slice(0, 250).map((o) => (o as OrderModel).source.remoteId)).toEqual(ids);
    expect(result[250]).toMatchObject({ code: 'UPSTREAM_NOT_FOUND' });
    expect(result[251]).toMatchObject({ code: 'UPSTREAM_NOT_FOUND' });
    expect((result[252] as OrderModel).source.remoteId).toBe(ids[3]);
  });

  it('finds buyers who are shop managers (role=all), not only role=customer', async () => {
    const staff = [...em.store.customers.values()].filter((c) => c.role !== 'customer').map((c) => String(c.id));
    expect(staff.length).toBeGreaterThan(0);
    const result = await contacts.byIds(staff, ctx());
    expect(result.every((r) => !(r instanceof ConnectorError))).toBe(true);
  });

  it('serves three-decimal currencies exactly (asks for dp=3; the store default would round to 2)', async () => {
    const kwd = [...em.store.orders.values()].find((o) => o.currency === 'KWD' && o.lines.some((l) => l.total % 10 !== 0))!;
    const [model] = (await orders.byIds([String(kwd.id)], ctx())) as OrderModel[];
    const line = kwd.lines.find((l) => l.total % 10 !== 0)!;
    const exact = `${Math.floor(line.total / 1000)}.${String(line.total % 1000).padStart(3, '0')}`;
    expect(model!.lineItems!.find((l) => l.remoteId === String(line.id))?.amount).toEqual({ amount: exact, currency: 'KWD' });
    const jpy = [...em.store.orders.values()].find((o) => o.currency === 'JPY')!;
    const [yen] = (await orders.byIds([String(jpy.id)], ctx())) as OrderModel[];
    expect(yen!.total?.amount).toMatch(/^\d+$/);
  });

  it('keeps guest buyers on their orders and links registered ones', async () => {
    const every = await all((after) => orders.list({ first: 100, after, filter: {} }, ctx()));
    expect(every).toHaveLength(em.store.orders.size);
    const guests = every.filter((o) => o.customerRemoteId === null);
    expect(guests.length).toBeGreaterThan(0);
    expect(guests.every((o) => o.customerEmail?.includes('@') && o.customerName)).toBe(true);
    expect(every.filter((o) => o.customerRemoteId !== null).length).toBeGreaterThan(guests.length);
  });

  it('pages with page/per_page, reports X-WP-Total, and keeps cursors valid when first changes', async () => {
    const first = await orders.list({ first: 30, filter: {} }, ctx());
    expect(first.totalCount).toBe(em.store.orders.size);
    const second = await orders.list({ first: 7, after: first.endCursor, filter: {} }, ctx());
    const third = await orders.list({ first: 30, after: second.endCursor, filter: {} }, ctx());
    const ids = [...first.nodes, ...second.nodes, ...third.nodes].map((o) => Number(o.source.remoteId));
    // Offset 30 at per_page 7 is no page boundary (page 5 would start at 28): it is asked as offset=30.
    expect(ids).toEqual([...em.store.orders.keys()].slice(0, 67));
  });

  it('filters customers by e-mail exactly and case-insensitively', async () => {
    const target = [...em.store.customers.values()][5]!;
    const page = await contacts.list({ first: 10, filter: { email: target.email.toUpperCase() } }, ctx());
    expect(page.nodes.map((c) => c.source.remoteId)).toEqual([String(target.id)]);
    expect((await contacts.list({ first: 10, filter: { email: `x${target.email}` } }, ctx())).nodes).toEqual([]);
    // Not an address: WordPress would answer 400 rest_invalid_param; the answer is simply none.
    em.resetRequests();
    expect(await contacts.list({ first: 10, filter: { email: 'not-an-address' } }, ctx())).toMatchObject({ nodes: [], hasNextPage: false });
    expect(em.count()).toBe(0);
  });

  it('lists orders of one customer', async () => {
    const buyer = [...em.store.orders.values()].find((o) => o.customer_id !== 0)!.customer_id;
    const mine = await all((after) => orders.list({ first: 50, after, filter: { contactRemoteId: String(buyer) } }, ctx()));
    expect(mine.length).toBe([...em.store.orders.values()].filter((o) => o.customer_id === buyer && o.status !== 'trash').length);
    expect(await orders.list({ first: 5, filter: { contactRemoteId: 'cus_x' } }, ctx())).toMatchObject({ nodes: [], hasNextPage: false });
  });
});

describe('updatedSince', () => {
  it('asks orders for modified_after one second earlier, so a change at exactly `since` is included', async () => {
    expect(modifiedAfterParam('2026-03-01T10:00:00.700Z')).toBe('2026-03-01T09:59:59');
    const sorted = [...em.store.orders.values()].sort((a, b) => a.modifiedMs - b.modifiedMs);
    const pivot = sorted[200]!;
    const since = new Date(Math.floor(pivot.modifiedMs / 1000) * 1000).toISOString();
    const changed = await all((after) => orders.list({ first: 100, after, filter: { updatedSince: since } }, ctx()));
    const expected = sorted.filter((o) => Math.floor(o.modifiedMs / 1000) * 1000 >= Date.parse(since)).map((o) => String(o.id));
    expect(changed.map((o) => o.source.remoteId).sort()).toEqual(expected.sort());
    expect(changed.map((o) => o.source.remoteId)).toContain(String(pivot.id));
  });

  it('scans customers (no modified_after in wc/v3) and keeps those changed at or after `since`', async () => {
    const since = '2025-06-01T00:00:00Z';
    em.resetRequests();
    const changed = await all<ContactModel>((after) => contacts.list({ first: 100, after, filter: { updatedSince: since } }, ctx()));
    const expected = [...em.store.customers.values()]
      .filter((c) => Math.floor((c.modifiedMs ?? c.createdMs) / 1000) * 1000 >= Date.parse(since))
      .map((c) => String(c.id));
    expect(changed.map((c) => c.source.remoteId)).toEqual(expected);
    expect(expected.length).toBeLessThan(em.store.customers.size);
    // One call per 100 customers scanned.
    expect(em.count()).toBe(Math.ceil(em.store.customers.size / 100));
  });
});
