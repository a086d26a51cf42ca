// Representative emulator responses (and the recorded fixtures in the current shape) checked
// against the types the official stripe@23 package declares for the version the connector pins:
// the emulator must answer in exactly that version's shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from './client.ts';
import { startEmulator, type StripeEmulatorHandle } from './emulator/index.ts';
import { createShapeChecker, type ShapeChecker } from './sdk-shapes.ts';
import { readFixture, TEST_KEY } from './test-support.ts';

type Json = Record<string, unknown>;
type StripeList = { object: string; data: Json[]; has_more: boolean; url: string };

describe('emulator responses fit the official stripe package types of the pinned version', { timeout: 60_000 }, () => {
  let checker: ShapeChecker;
  let emulator: StripeEmulatorHandle;
  const get = async <T = Json>(path: string): Promise<T> => {
    const res = await fetch(`${emulator.url}${path}`, { headers: { authorization: `Bearer ${TEST_KEY}`, 'stripe-version': STRIPE_API_VERSION } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };
  /** Problems of every item, each distinct problem once (ids and values vary per item). */
  const problemsOf = (typeName: string, items: unknown[]) => [...new Set(items.flatMap((item) => checker.check(typeName, item)))];
  /**
   * Stripe sends `total_count` on an invoice's embedded `lines` (its docs: the lines property holds
   * "the total count of line items"), but the package's list type does not declare it.
   */
  const withoutLinesCount = (invoice: Json): Json => {
    const lines = invoice['lines'] as Json;
    expect(typeof lines['total_count']).toBe('number');
    const { total_count: _count, ...rest } = lines;
    return { ...invoice, lines: rest };
  };

  beforeAll(async () => {
    checker = createShapeChecker({
      Customer: 'Stripe.Customer',
      DeletedCustomer: 'Stripe.DeletedCustomer',
      CustomerSearch: 'Stripe.ApiSearchResult<Stripe.Customer>',
      Invoice: 'Stripe.Invoice',
      InvoiceLines: 'Stripe.ApiList<Stripe.InvoiceLineItem>',
      Session: 'Stripe.Checkout.Session',
      SessionLineItems: 'Stripe.ApiList<Stripe.LineItem>',
      Event: 'Stripe.Event',
    });
    emulator = await startEmulator({ credentials: [TEST_KEY], seed: 13, scale: { contacts: 40, invoices: 120, orders: 60 }, rateLimitPerSecond: 10_000 });
  }, 120_000);
  afterAll(async () => {
    await emulator?.stop();
  });

  // Each test fetches everything first and checks afterwards: a check is seconds of synchronous
  // work, long enough for a kept-alive socket to be closed under a request that reuses it.
  it('customers: list, retrieve, a deleted one, search', async () => {
    const list = await get<StripeList>('/v1/customers?limit=100');
    const [deleted] = [...emulator.store.deletedCustomers.keys()];
    const deletedOne = await get(`/v1/customers/${deleted}`);
    const search = await get(`/v1/customers/search?query=${encodeURIComponent(`email:'${String(list.data[0]?.['email'])}'`)}`);
    expect(problemsOf('Customer', list.data)).toEqual([]);
    expect(checker.check('DeletedCustomer', deletedOne)).toEqual([]);
    expect(checker.check('CustomerSearch', search)).toEqual([]);
  });

  it('invoices with their embedded lines and expanded customer; the lines list', async () => {
    const list = await get<StripeList>('/v1/invoices?limit=100&expand[]=data.customer');
    const id = String(list.data[0]?.['id']);
    const one = await get(`/v1/invoices/${id}?expand[]=customer`);
    const lines = await get(`/v1/invoices/${id}/lines?limit=100`);
    expect(new Set(list.data.map((i) => i['status']))).toEqual(new Set(['draft', 'open', 'paid', 'void', 'uncollectible']));
    expect(problemsOf('Invoice', list.data.map(withoutLinesCount))).toEqual([]);
    expect(checker.check('Invoice', withoutLinesCount(one))).toEqual([]);
    expect(checker.check('InvoiceLines', lines)).toEqual([]);
  });

  it('checkout sessions (open, complete, expired) with line items, customer and payment intent expanded', async () => {
    const list = await get<StripeList>('/v1/checkout/sessions?limit=100&expand[]=data.line_items&expand[]=data.customer&expand[]=data.payment_intent');
    const items = await get(`/v1/checkout/sessions/${String(list.data[0]?.['id'])}/line_items?expand[]=data.price.product`);
    expect(new Set(list.data.map((s) => s['status']))).toEqual(new Set(['open', 'complete', 'expired']));
    expect(problemsOf('Session', list.data)).toEqual([]);
    expect(checker.check('SessionLineItems', items)).toEqual([]);
  });

  it('events of every type the emulator emits', async () => {
    const records = emulator.store;
    const draft = [...records.invoices.values()].find((r) => r.invoice.status === 'draft');
    if (draft) records.deleteInvoice(draft.invoice.id);
    const open = [...records.sessions.values()].find((r) => r.session.status === 'open');
    if (open) records.expireSession(open.session.id);
    const events = await get<StripeList>('/v1/events?limit=100');
    const types = new Set(events.data.map((e) => String(e['type'])));
    expect(types.size).toBeGreaterThan(5);
    const invoiceEvents = events.data.filter((e) => String(e['type']).startsWith('invoice.'));
    const others = events.data.filter((e) => !String(e['type']).startsWith('invoice.'));
    const invoiceSnapshots = invoiceEvents.map((e) => ({
      ...e,
      data: { ...(e['data'] as Json), object: withoutLinesCount((e['data'] as { object: Json }).object) },
    }));
    expect(problemsOf('Event', [...invoiceSnapshots, ...others])).toEqual([]);
  });

  it('the recorded fixtures that claim the pinned version', () => {
    expect(checker.check('Customer', readFixture('customer.json'))).toEqual([]);
    expect(checker.check('DeletedCustomer', readFixture('customer-deleted.json'))).toEqual([]);
    expect(checker.check('Event', readFixture('event-customer-updated.json'))).toEqual([]);
    for (const name of ['invoice-usd-paid.json', 'invoice-jpy-open-expanded-customer.json', 'invoice-kwd-draft.json']) {
      expect(checker.check('Invoice', withoutLinesCount(readFixture<Json>(name))), name).toEqual([]);
    }
    expect(checker.check('Session', readFixture('checkout-session-complete.json'))).toEqual([]);
  });

  it('catches what the pinned version does not have: a value an enum no longer lists, a missing or an extra field', () => {
    const session = readFixture<Json>('checkout-session-complete.json');
    expect(checker.check('Session', { ...session, ui_mode: 'hosted' })).toEqual([expect.stringContaining('Session.ui_mode: "hosted"')]);
    const { currency: _currency, ...noCurrency } = session;
    expect(checker.check('Session', noCurrency)).toEqual(['Session.currency: missing (required in Session)']);
    expect(checker.check('Session', { ...session, shipping_details: null })).toEqual([expect.stringContaining('Session.shipping_details: not in')]);
  });
});
