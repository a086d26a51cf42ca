// The emulator as Stripe's official Node SDK sees it: if stripe@23 can talk to it and gets the
// errors it would get from api.stripe.com, the emulator answers like Stripe.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POPULATION, STRIPE_PEOPLE_OFFSET } from './emulator/seed.ts';
import { EMULATOR_API_VERSION, createSeededStore, startEmulator, type StripeEmulatorHandle } from './emulator/index.ts';
import type { EventObject } from './emulator/store.ts';
import { STRIPE_API_VERSION } from './client.ts';
import { demoPeople } from '../sdk/demo-data.ts';
import { LIVE_KEY, TEST_KEY } from './test-support.ts';

const SCALE = { contacts: 30, invoices: 60, orders: 24 };

function client(emulator: StripeEmulatorHandle, key = TEST_KEY): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: emulator.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
}

describe('Stripe emulator through the official stripe SDK', () => {
  let emulator: StripeEmulatorHandle;
  let sdk: Stripe;
  beforeAll(async () => {
    emulator = await startEmulator({ credentials: [TEST_KEY, LIVE_KEY], seed: 11, scale: SCALE, rateLimitPerSecond: 10_000 });
    sdk = client(emulator);
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('pages customers newest first with starting_after / ending_before', async () => {
    const first = await sdk.customers.list({ limit: 7 });
    expect(first.object).toBe('list');
    expect(first.url).toBe('/v1/customers');
    expect(first.data).toHaveLength(7);
    expect(first.has_more).toBe(true);
    const all = await sdk.customers.list({ limit: 7 }).autoPagingToArray({ limit: 1000 });
    expect(all).toHaveLength(SCALE.contacts); // deleted customers are not listed
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1] as Stripe.Customer, all[i] as Stripe.Customer];
      expect(a.created > b.created || (a.created === b.created && a.id > b.id)).toBe(true);
    }
    const anchor = all[10] as Stripe.Customer;
    const before = await sdk.customers.list({ limit: 3, ending_before: anchor.id });
    expect(before.data.map((c) => c.id)).toEqual(all.slice(7, 10).map((c) => c.id));
    expect(before.has_more).toBe(true);
    const byEmail = await sdk.customers.list({ email: anchor.email ?? '' });
    expect(byEmail.data.map((c) => c.id)).toEqual([anchor.id]);
    const created = await sdk.customers.list({ created: { gte: anchor.created, lte: anchor.created }, limit: 100 });
    expect(created.data.every((c) => c.created === anchor.created)).toBe(true);
  });

  it('retrieves an invoice with expand[]=customer, and the embedded lines list', async () => {
    const [plain] = (await sdk.invoices.list({ limit: 1 })).data;
    expect(typeof plain?.customer).toBe('string');
    const inv = await sdk.invoices.retrieve(plain?.id ?? '', { expand: ['customer'] });
    const customer = inv.customer as Stripe.Customer | Stripe.DeletedCustomer;
    expect(customer.object).toBe('customer');
    expect(customer.id).toBe(plain?.customer);
    expect(inv.lines.object).toBe('list');
    expect(inv.lines.url).toBe(`/v1/invoices/${inv.id}/lines`);
    expect(inv.lines.data.length).toBeGreaterThan(0);
    expect(inv.currency).toMatch(/^[a-z]{3}$/);
    expect(inv.amount_remaining).toBe(inv.amount_due - inv.amount_paid);
    const lines = await sdk.invoices.listLineItems(inv.id, { limit: 1 });
    expect(lines.data[0]?.id).toBe(inv.lines.data[0]?.id);
  });

  it('lists invoices filtered by customer and status, expanding data.customer', async () => {
    const [someInvoice] = (await sdk.invoices.list({ status: 'paid', limit: 1 })).data;
    const customerId = someInvoice?.customer as string;
    const list = await sdk.invoices.list({ customer: customerId, expand: ['data.customer'], limit: 100 });
    expect(list.data.length).toBeGreaterThan(0);
    for (const inv of list.data) expect((inv.customer as Stripe.Customer).id).toBe(customerId);
    const paid = await sdk.invoices.list({ status: 'paid', limit: 100 });
    expect(paid.data.every((i) => i.status === 'paid' && i.status_transitions.paid_at !== null && i.amount_remaining === 0)).toBe(true);
    await expect(sdk.invoices.list({ status: 'bogus' as Stripe.InvoiceListParams.Status })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      param: 'status',
      message: 'Invalid status: must be one of draft, open, paid, uncollectible, or void',
    });
  });

  it('serves checkout sessions with line_items expanded or listed', async () => {
    const sessions = await sdk.checkout.sessions.list({ limit: 5, expand: ['data.line_items', 'data.customer'] });
    expect(sessions.data).toHaveLength(5);
    for (const s of sessions.data) {
      expect(s.object).toBe('checkout.session');
      expect(s.line_items?.object).toBe('list');
      expect(s.line_items?.data.length).toBeGreaterThan(0);
    }
    const id = sessions.data[0]?.id ?? '';
    const items = await sdk.checkout.sessions.listLineItems(id, { limit: 100 });
    expect(items.url).toBe(`/v1/checkout/sessions/${id}/line_items`);
    expect(items.data.map((i) => i.id)).toEqual(sessions.data[0]?.line_items?.data.map((i) => i.id));
    const item = items.data[0] as Stripe.LineItem;
    expect(item.object).toBe('item');
    expect(item.price?.object).toBe('price');
    expect(item.amount_subtotal).toBe((item.price?.unit_amount ?? 0) * (item.quantity ?? 0));
    const withProduct = await sdk.checkout.sessions.listLineItems(id, { expand: ['data.price.product'] });
    expect((withProduct.data[0]?.price?.product as Stripe.Product).object).toBe('product');

    const one = await sdk.checkout.sessions.retrieve(id, { expand: ['line_items'] });
    expect(one.line_items?.data).toHaveLength(items.data.length);
    const bare = await sdk.checkout.sessions.retrieve(id);
    expect(bare.line_items).toBeUndefined();
    const complete = await sdk.checkout.sessions.list({ status: 'complete', limit: 100 });
    expect(complete.data.every((s) => s.status === 'complete' && s.customer_details?.email)).toBe(true);
  });

  it('lists events by wildcard type and types[], with full snapshots', async () => {
    const customerEvents = await sdk.events.list({ type: 'customer.*', limit: 100 });
    const retained = emulator.store.retainedEvents().filter((e) => e.type.startsWith('customer.'));
    expect(customerEvents.data.length).toBe(Math.min(100, retained.length));
    expect(customerEvents.data.length).toBeGreaterThan(0);
    expect(customerEvents.data.every((e) => e.type.startsWith('customer.'))).toBe(true);
    expect((customerEvents.data[0]?.data.object as Stripe.Customer).object).toBe('customer');
    const paidOrVoided = await sdk.events.list({ types: ['invoice.paid', 'invoice.voided'], limit: 100 });
    expect(paidOrVoided.data.every((e) => e.type === 'invoice.paid' || e.type === 'invoice.voided')).toBe(true);
    const cutoff = paidOrVoided.data[5]?.created ?? 0;
    const recent = await sdk.events.list({ types: ['invoice.paid', 'invoice.voided'], created: { gte: cutoff }, limit: 100 });
    expect(recent.data.every((e) => e.created >= cutoff)).toBe(true);
    expect((await sdk.events.list({ type: 'checkout.session.completed', limit: 1 })).data[0]?.data.object).toMatchObject({
      object: 'checkout.session',
      status: 'complete',
    });
  });

  it('records mutations as events with previous_attributes', async () => {
    const [c] = (await sdk.customers.list({ limit: 1 })).data;
    const id = c?.id ?? '';
    const at = Math.floor(Date.now() / 1000);
    emulator.store.updateCustomer(id, { name: 'Renamed Person' }, at);
    const events = await sdk.events.list({ type: 'customer.updated', created: { gte: at } });
    expect(events.data[0]?.data.object).toMatchObject({ id, name: 'Renamed Person' });
    expect(events.data[0]?.data.previous_attributes).toEqual({ name: c?.name });
    expect((await sdk.customers.retrieve(id)) as Stripe.Customer).toMatchObject({ name: 'Renamed Person' });
  });

  it('answers a deleted customer with {id, object, deleted: true}', async () => {
    const [deletedId] = [...emulator.store.deletedCustomers.keys()];
    expect(await sdk.customers.retrieve(deletedId ?? '')).toEqual({ id: deletedId, object: 'customer', deleted: true });
  });

  it('404 → StripeInvalidRequestError with code resource_missing', async () => {
    const err = await sdk.customers.retrieve('cus_doesnotexist').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id', message: "No such customer: 'cus_doesnotexist'" });
    expect((err as Stripe.errors.StripeError).requestId).toMatch(/^req_/);
    await expect(sdk.invoices.retrieve('in_nope')).rejects.toMatchObject({ statusCode: 404, message: "No such invoice: 'in_nope'" });
    await expect(sdk.checkout.sessions.retrieve('cs_test_nope')).rejects.toMatchObject({ message: "No such checkout.session: 'cs_test_nope'" });
    await expect(sdk.customers.list({ starting_after: 'cus_gone' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
      param: 'starting_after',
    });
  });

  it('rejects what Stripe rejects: unknown parameters, out-of-range limits, bad expansions', async () => {
    await expect(sdk.customers.list({ foo: 'bar' } as Stripe.CustomerListParams)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      param: 'foo',
      message: 'Received unknown parameter: foo',
    });
    await expect(sdk.customers.list({ limit: 101 })).rejects.toMatchObject({
      param: 'limit',
      message: "This value must be less than or equal to 100 (it currently is '101')",
    });
    await expect(sdk.customers.list({ limit: 0 })).rejects.toMatchObject({ param: 'limit', message: 'This value must be greater than or equal to 1.' });
    await expect(sdk.customers.list({ created: { after: 1 } } as unknown as Stripe.CustomerListParams)).rejects.toMatchObject({ param: 'created[after]' });
    await expect(sdk.invoices.list({ expand: ['customer'] })).rejects.toMatchObject({
      message: "This property cannot be expanded (customer). You may want to try expanding 'data.customer' instead.",
    });
    await expect(sdk.invoices.retrieve((await sdk.invoices.list({ limit: 1 })).data[0]?.id ?? '', { expand: ['lines.data.bogus'] })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(sdk.events.list({ type: 'customer.created', types: ['customer.updated'] })).rejects.toMatchObject({ statusCode: 400 });
    await expect(sdk.customers.list({ starting_after: 'cus_a', ending_before: 'cus_b' })).rejects.toMatchObject({ statusCode: 400 });
  });

  it('bad key → StripeAuthenticationError with the key masked, never echoed', async () => {
    const wrong = 'sk_test_51WrongKeyThatTheEmulatorDoesNotKnowAbout9999';
    const err = await client(emulator, wrong)
      .customers.list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((err as Stripe.errors.StripeError).statusCode).toBe(401);
    expect((err as Error).message).toBe(`Invalid API Key provided: sk_test_${'*'.repeat(wrong.length - 8 - 4)}9999`);
    expect((err as Error).message).not.toContain(wrong.slice(8, -4));
  });

  it('accepts Basic auth with the key as user name, sends Request-Id and Stripe-Version', async () => {
    const basic = Buffer.from(`${TEST_KEY}:`).toString('base64');
    const res = await fetch(`${emulator.url}/v1/customers?limit=1`, { headers: { authorization: `Basic ${basic}`, 'stripe-version': STRIPE_API_VERSION } });
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_[A-Za-z0-9]{14}$/);
    expect(res.headers.get('stripe-version')).toBe(STRIPE_API_VERSION);
    const none = await fetch(`${emulator.url}/v1/customers`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/^You did not provide an API key/);
    const unknownRoute = await fetch(`${emulator.url}/v1/widgets`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
    expect(unknownRoute.status).toBe(404);
    expect(await unknownRoute.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^Unrecognized request URL \(GET: \/v1\/widgets\)/) as unknown },
    });
  });

  it('rejects a malformed or unknown Stripe-Version like Stripe, and answers in the version the connector pins', async () => {
    const call = (version?: string) =>
      fetch(`${emulator.url}/v1/customers?limit=1`, {
        headers: { authorization: `Bearer ${TEST_KEY}`, ...(version === undefined ? {} : { 'stripe-version': version }) },
      });
    // Malformed, made up, a date with the wrong release name, two values (a duplicated header).
    for (const bad of ['2019-2-19', 'latest', '2025-09-30.acacia', '2026-10-29.endive', '2026-10-28.ENDIVE', '2019-12-03, 2019-12-03']) {
      const res = await call(bad);
      expect(res.status, bad).toBe(400);
      const { error } = (await res.json()) as { error: Record<string, string> };
      expect(error).toMatchObject({ type: 'invalid_request_error', message: `Invalid Stripe API version: ${bad}` });
      expect(error['code']).toBeUndefined();
    }
    // A real version in another shape: refused loudly rather than answered in the wrong shape.
    const other = await call('2025-03-31.basil');
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: { message: string } }).error.message).toContain(`answers only in Stripe API version ${STRIPE_API_VERSION}`);
    for (const version of [STRIPE_API_VERSION, undefined]) {
      const ok = await call(version);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('stripe-version')).toBe(STRIPE_API_VERSION);
    }
    // One version everywhere: the connector's pin, the emulator's shapes, the official package's pin.
    expect(EMULATOR_API_VERSION).toBe(STRIPE_API_VERSION);
    expect(Stripe.API_VERSION).toBe(STRIPE_API_VERSION);
  });

  it('serves /v1/customers/search (a route, never a customer id "search")', async () => {
    const all = await sdk.customers.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    const [a, b] = [all[4], all[9]] as [Stripe.Customer, Stripe.Customer];
    emulator.resetRequests();
    // email is a string field: exact, case-insensitive.
    const found = await sdk.customers.search({ query: `email:'${(a.email ?? '').toUpperCase()}'` });
    expect(found).toMatchObject({ object: 'search_result', url: '/v1/customers/search', has_more: false, next_page: null });
    expect(found.data.map((c) => c.id)).toEqual([a.id]);
    expect(emulator.count('customers.search')).toBe(1);
    expect(emulator.count('customers.get')).toBe(0);
    const either = await sdk.customers.search({ query: `email:"${a.email}" OR email:"${b.email}"` });
    expect(new Set(either.data.map((c) => c.id))).toEqual(new Set([a.id, b.id]));
    const both = await sdk.customers.search({ query: `email:"${a.email}" AND name:"${a.name}"`, expand: ['total_count'] });
    expect(both.data.map((c) => c.id)).toEqual([a.id]);
    expect(both.total_count).toBe(1);
    expect((await sdk.customers.search({ query: `-email:"${a.email}" created>0` })).data.map((c) => c.id)).not.toContain(a.id);
    // Pages through next_page, newest first, like the list.
    const first = await sdk.customers.search({ query: 'created>0', limit: 7 });
    expect(first).toMatchObject({ has_more: true, next_page: expect.any(String) as unknown });
    const paged = await sdk.customers.search({ query: 'created>0', limit: 7 }).autoPagingToArray({ limit: 1000 });
    expect(paged.map((c) => c.id)).toEqual(all.map((c) => c.id));
    await expect(sdk.customers.search({ query: "nickname:'x'" })).rejects.toMatchObject({
      statusCode: 400,
      param: 'query',
      message: expect.stringContaining('unsupported search field') as unknown,
    });
    await expect(sdk.customers.search({ query: "email:'x' AND name:'y' OR phone:'z'" })).rejects.toMatchObject({ statusCode: 400, param: 'query' });
    await expect(sdk.customers.search({} as Stripe.CustomerSearchParams)).rejects.toMatchObject({
      statusCode: 400,
      param: 'query',
      message: 'Missing required param: query.',
    });
    await expect(sdk.customers.search({ query: 'created>0', starting_after: a.id } as Stripe.CustomerSearchParams)).rejects.toMatchObject({
      param: 'starting_after',
    });
  });

  it('counts requests per operation', async () => {
    emulator.resetRequests();
    await sdk.customers.list({ limit: 1 });
    await sdk.checkout.sessions.list({ limit: 1 });
    await sdk.events.list({ limit: 1 });
    expect(emulator.count('customers.list')).toBe(1);
    expect(emulator.count('checkout.sessions.list')).toBe(1);
    expect(emulator.count('events.list')).toBe(1);
  });
});

describe('Stripe emulator rate limits', () => {
  it('answers 429 rate_limit past the per-key limit → StripeRateLimitError', async () => {
    const emulator = await startEmulator({ credentials: [TEST_KEY], seed: 3, scale: { contacts: 3, invoices: 3, orders: 3 }, rateLimitPerSecond: 3 });
    try {
      const sdk = client(emulator);
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => sdk.customers.list({ limit: 1 })));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(rejected).toHaveLength(3);
      expect(rejected[0]?.reason).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(rejected[0]?.reason).toMatchObject({ statusCode: 429, code: 'rate_limit', type: 'StripeRateLimitError' });
    } finally {
      await emulator.stop();
    }
  });
});

describe('Stripe emulator events are kept 30 days', () => {
  const DAY = 86_400;

  it('seeds recent events: the demo lists customer, invoice and checkout events, all inside the window', async () => {
    const emulator = await startEmulator({ credentials: [TEST_KEY], rateLimitPerSecond: 10_000 });
    try {
      const events = await client(emulator).events.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
      const windowStart = Math.floor(Date.now() / 1000) - 30 * DAY;
      expect(events.every((e) => e.created >= windowStart)).toBe(true);
      for (const prefix of ['customer.', 'invoice.', 'checkout.session.'])
        expect(
          events.some((e) => e.type.startsWith(prefix)),
          prefix,
        ).toBe(true);
    } finally {
      await emulator.stop();
    }
  });

  it('never lists an older event, and retrieving one answers 404 resource_missing (on the emulator clock)', async () => {
    const now = Math.floor(Date.UTC(2031, 4, 1) / 1000);
    const emulator = await startEmulator({ credentials: [TEST_KEY], seed: 9, scale: SCALE, rateLimitPerSecond: 10_000, clock: () => now * 1000 });
    try {
      const sdk = client(emulator);
      const customerId = [...emulator.store.customers.keys()][0] as string;
      emulator.store.updateCustomer(customerId, { description: 'Changed long ago' }, now - 400 * DAY);
      const old = emulator.store.events.at(-1) as EventObject;
      emulator.store.updateCustomer(customerId, { description: 'Changed last month' }, now - 29 * DAY);
      const recent = emulator.store.events.at(-1) as EventObject;
      await expect(sdk.events.retrieve(old.id)).rejects.toMatchObject({
        statusCode: 404,
        code: 'resource_missing',
        param: 'id',
        message: `No such event: '${old.id}'`,
      });
      expect((await sdk.events.retrieve(recent.id)).id).toBe(recent.id);
      const listed = await sdk.events.list({ type: 'customer.updated', created: { lte: now - 20 * DAY }, limit: 100 });
      expect(listed.data.map((e) => e.id)).toEqual([recent.id]);
      await expect(sdk.events.list({ starting_after: old.id })).rejects.toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'starting_after' });
      // The seed is anchored at the emulator clock: its newest history is inside the window.
      const seeded = await sdk.events.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
      expect(seeded.length).toBeGreaterThan(1);
      expect(seeded.every((e) => e.created >= now - 30 * DAY && e.created <= now)).toBe(true);
    } finally {
      await emulator.stop();
    }
  });
});

describe('Stripe emulator seed', () => {
  it('is deterministic per seed (on one clock)', () => {
    const clock = () => Date.UTC(2031, 0, 1);
    const a = createSeededStore({ seed: 5, scale: SCALE, clock });
    const b = createSeededStore({ seed: 5, scale: SCALE, clock });
    const c = createSeededStore({ seed: 6, scale: SCALE, clock });
    const ids = (s: typeof a) => [...s.customers.keys(), ...s.invoices.keys(), ...s.sessions.keys(), ...s.events.map((e) => e.id)];
    expect(ids(a)).toEqual(ids(b));
    expect(JSON.stringify([...a.invoices.values()])).toBe(JSON.stringify([...b.invoices.values()]));
    expect(ids(a)).not.toEqual(ids(c));
  });

  it('holds 250 customers from demo people [250, 500), 600 invoices and 150 sessions by default', () => {
    const store = createSeededStore({ seed: 42 });
    expect(store.customers.size).toBe(250);
    expect(store.invoices.size).toBe(600);
    expect(store.sessions.size).toBe(150);
    const people = demoPeople(DEMO_POPULATION, 42);
    const emails = new Set([...store.customers.values()].map((c) => c.email));
    const overlap = people.slice(STRIPE_PEOPLE_OFFSET, 300).filter((p) => emails.has(p.email));
    expect(overlap).toHaveLength(50); // the people HubSpot also holds
    expect(people.slice(0, STRIPE_PEOPLE_OFFSET).some((p) => emails.has(p.email))).toBe(false);
    const currencies = new Set([...store.invoices.values()].map((r) => r.invoice.currency));
    expect(currencies).toEqual(new Set(['usd', 'eur', 'gbp', 'cad', 'jpy', 'kwd']));
    const statuses = new Set([...store.invoices.values()].map((r) => r.invoice.status));
    expect(statuses).toEqual(new Set(['draft', 'open', 'paid', 'void', 'uncollectible']));
    // one *.created event per customer and invoice, at its created time
    for (const kind of ['customer', 'invoice'] as const) {
      const createdEvents = store.events.filter((e) => e.type === `${kind}.created`);
      expect(createdEvents.length).toBe(kind === 'customer' ? store.customers.size + store.deletedCustomers.size : store.invoices.size);
      expect(createdEvents.every((e) => e.created === (e.data.object as { created: number }).created)).toBe(true);
    }
    expect(store.events.some((e) => e.type === 'customer.updated')).toBe(true);
    expect(store.events.some((e) => e.type === 'invoice.updated')).toBe(true);
  });
});
