// The connector against its emulator through the real fetch wrapper: call counts, priming,
// filters, updatedSince via Events, error mapping and secret hygiene.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, InvoiceModel, OrderModel } from '../sdk/models.ts';
import { createTestContext } from '../sdk/testing.ts';
import type { ListPage, UpstreamResponse } from '../sdk/types.ts';
import { modelProblems } from '../sdk/validate.ts';
import { errorFromResponse, maskSecrets } from './client.ts';
import { startEmulator, type StripeEmulatorHandle } from './emulator/index.ts';
import type { InvoiceLineObject } from './emulator/store.ts';
import { EVENT_WINDOW_MARGIN_SECONDS, listPlan, stripe } from './index.ts';
import { LIVE_KEY } from './test-support.ts';

const loaders = stripe.loaders as Required<typeof stripe.loaders>;
const DAY = 86_400;

describe('Stripe connector against the emulator', () => {
  let emulator: StripeEmulatorHandle;
  const ctx = (token = LIVE_KEY) => createTestContext({ connector: stripe, baseUrl: emulator.url, token });
  const newest = <T extends { created: number; id: string }>(xs: Iterable<T>) => [...xs].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));

  beforeAll(async () => {
    emulator = await startEmulator({ credentials: [LIVE_KEY], seed: 21, scale: { contacts: 30, invoices: 70, orders: 30 }, rateLimitPerSecond: 10_000 });
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  beforeEach(() => emulator.resetRequests());

  it('byIds: one GET per distinct id, input order, NOT_FOUND per slot', async () => {
    const ids = [...emulator.store.customers.keys()].slice(0, 4);
    const input = [ids[2], 'cus_missing000000', ids[0], ids[1], ids[0], ids[3]] as string[];
    const out = await loaders.Contact.byIds(input, ctx());
    expect(out).toHaveLength(input.length);
    out.forEach((slot, i) => {
      if (input[i] === 'cus_missing000000') {
        expect(slot).toBeInstanceOf(ConnectorError);
        expect(slot).toMatchObject({ code: 'UPSTREAM_NOT_FOUND', upstreamStatus: 404, upstreamRequestId: expect.stringMatching(/^req_/) as unknown });
      } else expect((slot as ContactModel).source.remoteId).toBe(input[i]);
    });
    expect(emulator.count('customers.get')).toBe(5);
    expect(emulator.count()).toBe(5);
  });

  it('byIds: a deleted customer comes back as a tombstone', async () => {
    const [deleted] = [...emulator.store.deletedCustomers.keys()];
    const [slot] = await loaders.Contact.byIds([deleted as string], ctx());
    expect((slot as ContactModel).source).toMatchObject({ remoteId: deleted, remoteDeleted: true });
  });

  it('invoices byIds: expand[]=customer primes the contact at no extra cost', async () => {
    const records = [...emulator.store.invoices.values()].slice(0, 3);
    const c = ctx();
    const out = (await loaders.Invoice.byIds(
      records.map((r) => r.invoice.id),
      c,
    )) as InvoiceModel[];
    expect(emulator.count()).toBe(3);
    expect(emulator.count('invoices.get')).toBe(3);
    out.forEach((inv, i) => {
      expect(modelProblems(inv, 'stripe')).toEqual([]);
      expect(inv.contactRemoteId).toBe(records[i]?.invoice.customer);
      expect(inv.lineItems).toHaveLength(records[i]?.lines.length ?? -1);
    });
    const primedIds = c.primed.map((p) => p.model.source.remoteId);
    expect(c.primed.every((p) => p.entity === 'Contact')).toBe(true);
    expect(new Set(primedIds)).toEqual(new Set(records.map((r) => r.invoice.customer)));
  });

  it('invoices byIds: follows lines past the embedded first 10 (one extra call)', async () => {
    const record = [...emulator.store.invoices.values()].find((r) => r.invoice.status === 'draft');
    if (!record) throw new Error('seed has no draft invoice');
    const template = record.lines[0] as InvoiceLineObject;
    const lines = Array.from({ length: 13 }, (_, i) => ({ ...structuredClone(template), id: `il_1Many${String(i).padStart(19, '0')}` }));
    emulator.store.updateInvoice(record.invoice.id, {}, undefined, lines);
    const [inv] = (await loaders.Invoice.byIds([record.invoice.id], ctx())) as InvoiceModel[];
    expect(inv?.lineItems?.map((l) => l.remoteId)).toEqual(lines.map((l) => l.id));
    expect(emulator.count('invoices.get')).toBe(1);
    expect(emulator.count('invoices.lines')).toBe(1);
  });

  it('orders byIds: line items and customer come expanded in the same call', async () => {
    const record = [...emulator.store.sessions.values()].find((r) => r.session.customer && r.items.length > 1);
    if (!record) throw new Error('seed has no session with a customer and several items');
    const c = ctx();
    const [order] = (await loaders.Order.byIds([record.session.id], c)) as OrderModel[];
    expect(emulator.count()).toBe(1);
    expect(order?.lineItems?.map((l) => l.remoteId)).toEqual(record.items.map((i) => i.id));
    expect(order?.customerRemoteId).toBe(record.session.customer);
    expect(c.primed.map((p) => p.model.source.remoteId)).toEqual([record.session.customer]);
    expect(modelProblems(order as OrderModel, 'stripe')).toEqual([]);
  });

  it('list: Relay pages map onto limit/starting_after, one call per page', async () => {
    const expected = newest(emulator.store.customers.values()).map((c) => c.id);
    const first = await loaders.Contact.list({ first: 12, filter: {} }, ctx());
    expect(first.nodes.map((n) => n.source.remoteId)).toEqual(expected.slice(0, 12));
    expect(first.hasNextPage).toBe(true);
    const second = await loaders.Contact.list({ first: 500, after: first.endCursor, filter: {} }, ctx());
    expect(second.nodes.map((n) => n.source.remoteId)).toEqual(expected.slice(12));
    expect(second.hasNextPage).toBe(false);
    expect(emulator.count('customers.list')).toBe(2);
  });

  it('list: email filter for contacts, contactRemoteId for invoices and orders', async () => {
    const target = newest(emulator.store.customers.values())[3];
    const byEmail = await loaders.Contact.list({ first: 10, filter: { email: target?.email } }, ctx());
    expect(byEmail.nodes.map((n) => n.source.remoteId)).toEqual([target?.id]);

    const owner = [...emulator.store.invoices.values()][0]?.invoice.customer as string;
    const c = ctx();
    const invs = await loaders.Invoice.list({ first: 100, filter: { contactRemoteId: owner } }, c);
    const expectedInvoices = [...emulator.store.invoices.values()].filter((r) => r.invoice.customer === owner);
    expect(invs.nodes).toHaveLength(expectedInvoices.length);
    expect(invs.nodes.every((n) => n.contactRemoteId === owner)).toBe(true);
    expect(c.primed.map((p) => p.model.source.remoteId)).toEqual([owner]); // primed once per call

    const buyer = [...emulator.store.sessions.values()].find((r) => r.session.customer)?.session.customer as string;
    const orders = await loaders.Order.list({ first: 100, filter: { contactRemoteId: buyer } }, ctx());
    expect(orders.nodes.length).toBeGreaterThan(0);
    expect(orders.nodes.every((n) => n.customerRemoteId === buyer && (n.lineItems ?? []).length > 0)).toBe(true);

    const none = await loaders.Invoice.list({ first: 10, filter: { contactRemoteId: 'cus_nobody0000000' } }, ctx());
    expect(none).toEqual({ nodes: [], endCursor: null, hasNextPage: false });
  });

  it('list: orders expand line items and customers in the list call itself', async () => {
    const page = await loaders.Order.list({ first: 10, filter: {} }, ctx());
    expect(page.nodes).toHaveLength(10);
    expect(page.nodes.every((o) => (o.lineItems ?? []).length > 0)).toBe(true);
    expect(emulator.count()).toBe(1);
  });

  it('updatedSince: reads /v1/events, one node per object with its newest snapshot', async () => {
    const at = Math.floor(Date.now() / 1000) + 5;
    const [a, b] = [...emulator.store.customers.keys()] as [string, string];
    emulator.store.updateCustomer(a, { name: 'First Change' }, at);
    emulator.store.updateCustomer(b, { phone: '+15550001111' }, at + 1);
    emulator.store.updateCustomer(a, { name: 'Second Change' }, at + 2);
    const since = new Date(at * 1000).toISOString();
    const page = await loaders.Contact.list({ first: 10, filter: { updatedSince: since } }, ctx());
    expect(page.nodes.map((n) => [n.source.remoteId, n.name])).toEqual([
      [a, 'Second Change'],
      [b, expect.any(String) as unknown],
    ]);
    expect(page.nodes[0]?.updatedAt).toBe(new Date((at + 2) * 1000).toISOString().replace('.000Z', 'Z'));
    expect(page.hasNextPage).toBe(false);
    expect(emulator.count('events.list')).toBe(1);
    expect(emulator.count()).toBe(1);

    emulator.store.deleteCustomer(b, at + 3);
    const withDeletion = await loaders.Contact.list({ first: 1, filter: { updatedSince: since } }, ctx());
    expect(withDeletion.nodes[0]?.source).toMatchObject({ remoteId: b, remoteDeleted: true });
    expect(withDeletion.hasNextPage).toBe(true);
    const rest = await loaders.Contact.list({ first: 10, after: withDeletion.endCursor, filter: { updatedSince: since } }, ctx());
    expect(rest.endCursor).toMatch(/^evt_/);
  });

  it('updatedSince for orders: completed/expired sessions, line items fetched per session', async () => {
    const events = emulator.store.events.filter((e) => e.type.startsWith('checkout.session.'));
    const cutoff = newest(events)[2]?.created ?? 0;
    const expectedEvents = events.filter((e) => e.created >= cutoff);
    const page = await loaders.Order.list({ first: 100, filter: { updatedSince: new Date(cutoff * 1000).toISOString() } }, ctx());
    const distinct = new Set(expectedEvents.map((e) => (e.data.object as { id: string }).id));
    expect(page.nodes).toHaveLength(distinct.size);
    expect(page.nodes.every((o) => (o.lineItems ?? []).length > 0 && (o.status === 'COMPLETED' || o.status === 'EXPIRED'))).toBe(true);
    expect(emulator.count('events.list')).toBe(1);
    expect(emulator.count('checkout.sessions.lineItems')).toBe(distinct.size);
  });

  it("updatedSince past Stripe's 30-day event window lists every record rather than missing older changes", async () => {
    const now = Math.floor(Date.now() / 1000);
    const changed = newest(emulator.store.customers.values())[5]?.id as string;
    emulator.store.updateCustomer(changed, { name: 'Changed Forty Days Ago' }, now - 40 * DAY);
    const since = new Date((now - 45 * DAY) * 1000).toISOString();
    const nodes: ContactModel[] = [];
    let after: string | null = null;
    do {
      const page: ListPage<ContactModel> = await loaders.Contact.list({ first: 7, after, filter: { updatedSince: since } }, ctx());
      nodes.push(...page.nodes);
      after = page.hasNextPage ? page.endCursor : null;
    } while (after);
    expect(nodes.find((n) => n.source.remoteId === changed)?.name).toBe('Changed Forty Days Ago');
    expect(nodes.map((n) => n.source.remoteId)).toEqual(newest(emulator.store.customers.values()).map((c) => c.id));
    expect(emulator.count('events.list')).toBe(0);
    expect(emulator.count('customers.list')).toBe(Math.ceil(emulator.store.customers.size / 7));

    const invoices = await loaders.Invoice.list({ first: 100, filter: { updatedSince: since } }, ctx());
    expect(invoices.nodes).toHaveLength(emulator.store.invoices.size);
    const orders = await loaders.Order.list({ first: 100, filter: { updatedSince: since } }, ctx());
    expect(orders.nodes).toHaveLength(emulator.store.sessions.size);
    expect(emulator.count('events.list')).toBe(0);
  });

  it('a bad key → UPSTREAM_UNAUTHORIZED in every slot, without trying every id', async () => {
    const ids = [...emulator.store.customers.keys()].slice(0, 25);
    const badKey = 'sk_live_51ThisKeyIsNotKnownToTheEmulatorAtAll00000000';
    const out = await loaders.Contact.byIds(ids, ctx(badKey));
    expect(out.every((s) => s instanceof ConnectorError && s.code === 'UPSTREAM_UNAUTHORIZED')).toBe(true);
    expect(emulator.count()).toBeLessThanOrEqual(10);
    for (const s of out) expect((s as Error).message).not.toContain(badKey.slice(8, -4));
    await expect(loaders.Invoice.list({ first: 5, filter: {} }, ctx(badKey))).rejects.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED', upstreamStatus: 401 });
  });
});

describe('Stripe listPlan: events inside the 30-day window, the plain list beyond it', () => {
  const now = Date.UTC(2030, 0, 31);
  const daysAgo = (days: number) => new Date(now - days * DAY * 1000).toISOString();
  const plan = (updatedSince: string | null, after: string | null = null) => listPlan({ first: 10, after, filter: { updatedSince } }, now);

  it('reads events only for an updatedSince inside the window (less a margin for skew)', () => {
    expect(plan(null)).toEqual({ source: 'list', after: null });
    expect(plan(null, 'cus_1')).toEqual({ source: 'list', after: 'cus_1' });
    expect(plan(daysAgo(29))).toEqual({ source: 'events' });
    expect(plan(daysAgo(29), 'evt_1')).toEqual({ source: 'events' });
    expect(plan(daysAgo(30 - EVENT_WINDOW_MARGIN_SECONDS / 2 / DAY))).toEqual({ source: 'list', after: null });
    expect(plan(daysAgo(31))).toEqual({ source: 'list', after: null });
    expect(plan(daysAgo(31), 'cus_1')).toEqual({ source: 'list', after: 'cus_1' });
    expect(() => plan('yesterday')).toThrow(TypeError);
  });

  it('starts a walk over on the plain list when its updatedSince has left the window', () => {
    expect(plan(daysAgo(31), 'evt_1')).toEqual({ source: 'list', after: null });
  });
});

describe('Stripe error mapping', () => {
  const res = (status: number, body: unknown, headers: Record<string, string> = {}): UpstreamResponse => ({
    status,
    body,
    headers: new Headers(headers),
    text: JSON.stringify(body),
    url: 'https://api.stripe.com/v1/customers',
  });

  it.each([
    [401, { error: { message: 'Invalid API Key provided: sk_test_****1234', type: 'invalid_request_error' } }, 'UPSTREAM_UNAUTHORIZED'],
    [403, { error: { message: 'The provided key does not have the required permissions', type: 'invalid_request_error' } }, 'UPSTREAM_FORBIDDEN'],
    [404, { error: { code: 'resource_missing', message: "No such customer: 'cus_x'", param: 'id', type: 'invalid_request_error' } }, 'UPSTREAM_NOT_FOUND'],
    [429, { error: { code: 'rate_limit', message: 'Request rate limit exceeded.', type: 'invalid_request_error' } }, 'UPSTREAM_RATE_LIMITED'],
    [400, { error: { code: 'rate_limit', message: 'Too many concurrent requests.', type: 'invalid_request_error' } }, 'UPSTREAM_RATE_LIMITED'],
    [400, { error: { message: 'Received unknown parameter: foo', param: 'foo', type: 'invalid_request_error' } }, 'UPSTREAM_BAD_RESPONSE'],
    [500, { error: { message: 'An unknown error occurred', type: 'api_error' } }, 'UPSTREAM_UNAVAILABLE'],
    [503, null, 'UPSTREAM_UNAVAILABLE'],
  ])('%i → %s', (status, body, code) => {
    const err = errorFromResponse(res(status, body, { 'request-id': 'req_abc123', 'retry-after': '2' }));
    expect(err).toMatchObject({ code: code as string, upstreamStatus: status, upstreamRequestId: 'req_abc123', retryAfterMs: 2000 });
  });

  it('honours Stripe-Should-Retry', () => {
    expect(errorFromResponse(res(500, null, { 'stripe-should-retry': 'false' })).retryable).toBe(false);
    expect(errorFromResponse(res(409, null, { 'stripe-should-retry': 'true' })).retryable).toBe(true);
  });

  it('never lets a key through in a message', () => {
    const key = 'sk_live_51AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
    const err = errorFromResponse(res(401, { error: { message: `Invalid API Key provided: ${key}` } }), [key]);
    expect(err.message).not.toContain(key);
    expect(err.message).toContain('sk_live_****');
    expect(maskSecrets('token rk_test_abcdefghijklmnopqrstuvwxyz and whsec_0123456789abcdef')).toBe('token rk_test_****wxyz and whsec_****cdef');
  });
});
