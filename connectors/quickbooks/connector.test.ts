// The connector against its emulator, on what is QuickBooks' own: the query language's refusals
// (parse errors, MAXRESULTS above 1000, unknown properties, XML unless JSON is asked for), values
// escaped into queries (an injection attempt matches nothing), minorversion pinned, payments read
// in the same batch, updatedSince, the company boundary (a token of one realm on another: 403),
// and throttling (429 ThrottleExceeded → UPSTREAM_RATE_LIMITED with Intuit's 60 s wait).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import type { InvoiceModel } from '../sdk/models.ts';
import { EMULATOR_REALM_ID, startEmulator, type QboEmulatorHandle } from './emulator/index.ts';
import { quickbooks } from './index.ts';
import { TOKEN, qboContext } from './test-support.ts';
import { REALM_SETTING } from './webhooks.ts';

let emulator: QboEmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator({ credentials: [TOKEN], seed: 11, scale: { contacts: 30, invoices: 60, orders: 10 } });
});
afterAll(() => emulator?.stop());

const raw = (query: string, headers: Record<string, string> = { accept: 'application/json' }) =>
  fetch(`${emulator.url}/v3/company/${EMULATOR_REALM_ID}/query?minorversion=75&query=${encodeURIComponent(query)}`, {
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
  });

describe('the emulated query endpoint', () => {
  it.each([
    ['SELECT * FROM Customer WHERE Id = 1 OR Id = 2', '4000'],
    ['SELECT * FROM Customer MAXRESULTS 1001', '4001'],
    ["SELECT * FROM Customer WHERE Nickname = 'x'", '4001'],
    ["SELECT * FROM Customer WHERE DisplayName = 'unterminated", '4000'],
    ['SELECT Id, DisplayName FROM', '4000'],
  ])('refuses %s with a ValidationFault %s', async (query, code) => {
    const res = await raw(query);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ Fault: { type: 'ValidationFault', Error: [{ code }] } });
  });

  it('answers 100 rows without MAXRESULTS, active customers only unless asked, and XML unless JSON is asked for', async () => {
    const invoices = (await (await raw('SELECT * FROM Invoice')).json()) as { QueryResponse: { Invoice: unknown[]; maxResults: number } };
    expect(invoices.QueryResponse.Invoice.length).toBe(60);
    const all = (await (await raw('select count(*) from Customer where Active in (true, false)')).json()) as { QueryResponse: { totalCount: number } };
    const active = (await (await raw('select count(*) from Customer')).json()) as { QueryResponse: { totalCount: number } };
    expect(all.QueryResponse.totalCount).toBe(30);
    expect(active.QueryResponse.totalCount).toBeLessThan(30);
    const xml = await raw('select count(*) from Customer', {});
    expect(xml.headers.get('content-type')).toMatch(/xml/);
  });
});

const cents = (amount: string) => Math.round(Number(amount) * 100);
/** What an invoice's payments applied to it, in cents. */
const appliedCents = (m: InvoiceModel) => m.payments!.reduce((a, p) => a + cents(p.amount.amount), 0);

describe('the connector', () => {
  it('escapes values placed into queries: an injection attempt matches nothing, an apostrophe matches exactly', async () => {
    const ctx = qboContext(emulator.url);
    const customer = emulator.store.customers.get('4')!;
    emulator.records.update('customers', '4', { PrimaryEmailAddr: "o'brien@example.com" });
    const injected = await quickbooks.loaders.Contact!.list({ first: 50, filter: { email: "x' OR Id > '0" } }, ctx);
    expect(injected.nodes).toEqual([]);
    const backslash = await quickbooks.loaders.Contact!.list({ first: 50, filter: { email: "x\\' AND Id > '0" } }, ctx);
    expect(backslash.nodes).toEqual([]);
    const exact = await quickbooks.loaders.Contact!.list({ first: 50, filter: { email: "o'brien@example.com" } }, ctx);
    expect(exact.nodes.map((n) => n.source.remoteId)).toEqual([customer.Id]);
  });

  it('pins minorversion 75 on every call and reads the payments of a batch of invoices with one more query', async () => {
    const ctx = qboContext(emulator.url);
    emulator.resetRequests();
    const ids = [...emulator.store.invoices.keys()].slice(0, 20);
    const slots = await quickbooks.loaders.Invoice!.byIds(ids, ctx);
    expect(emulator.count()).toBe(2);
    expect(emulator.minorVersions()).toEqual(['75', '75']);
    const models = slots.filter((s): s is InvoiceModel => !(s instanceof ConnectorError));
    expect(models).toHaveLength(20);
    const partly = models.filter((m) => m.status === 'PARTIALLY_PAID');
    expect(partly.length).toBeGreaterThan(0);
    for (const m of partly) {
      // The payments applied add up to total − balance, exactly.
      expect(appliedCents(m)).toBe(cents(m.amountPaid!.amount));
      expect(m.payments!.length).toBeGreaterThan(0);
    }
    expect(models.filter((m) => m.status === 'OPEN').every((m) => m.payments!.length === 0)).toBe(true);
    // A batch with no linked payments costs one call.
    const open = models.filter((m) => m.status === 'OPEN').map((m) => m.source.remoteId);
    emulator.resetRequests();
    await quickbooks.loaders.Invoice!.byIds(open, ctx);
    expect(emulator.count()).toBe(1);
  });

  it('lists a page mapped while its payments are read: each invoice gets its own payments, a paid one its paid date', async () => {
    const page = await quickbooks.loaders.Invoice!.list({ first: 60, filter: {} }, qboContext(emulator.url));
    expect(page.nodes).toHaveLength(60);
    const paid = page.nodes.filter((m) => m.status === 'PAID' && m.payments!.length > 0);
    expect(paid.length).toBeGreaterThan(0);
    for (const m of paid)
      expect(m.paidAt).toBe(
        `${m
          .payments!.map((p) => p.date)
          .sort()
          .at(-1)}T00:00:00.000Z`,
      );
    for (const m of page.nodes.filter((n) => n.status === 'PARTIALLY_PAID')) {
      expect(appliedCents(m)).toBe(cents(m.amountPaid!.amount));
    }
    expect(page.nodes.filter((m) => m.status === 'OPEN').every((m) => m.payments!.length === 0 && m.paidAt === null)).toBe(true);
  });

  it('a page whose payments read is refused at once rejects with that failure, nothing left unhandled', async () => {
    const refusing = qboContext(emulator.url, {
      upstream: { maxAttempts: 1 },
      fetchImpl: async (input, init) => {
        const body = typeof init?.body === 'string' ? init.body : '';
        if (body.includes('FROM Payment')) throw new TypeError('fetch failed');
        return fetch(input, init);
      },
    });
    await expect(quickbooks.loaders.Invoice!.list({ first: 60, filter: {} }, refusing)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('finds what changed since an instant (MetaData.LastUpdatedTime), deactivated customers included', async () => {
    const ctx = qboContext(emulator.url);
    const since = new Date(Date.now() - 1000).toISOString();
    emulator.records.delete('customers', '7');
    emulator.records.create('payments', { invoiceId: [...emulator.store.invoices.values()].find((i) => (i.Balance ?? 0) > 0)!.Id, amount: 0.01 });
    const contacts = await quickbooks.loaders.Contact!.list({ first: 10, filter: { updatedSince: since } }, ctx);
    expect(contacts.nodes.map((n) => [n.source.remoteId, n.source.remoteDeleted])).toContainEqual(['7', true]);
    const invoices = await quickbooks.loaders.Invoice!.list({ first: 10, filter: { updatedSince: since } }, ctx);
    expect(invoices.nodes).toHaveLength(1);
    expect(invoices.nodes[0]!.status).toBe('PARTIALLY_PAID');
  });

  it("lists one customer's invoices; an id QuickBooks cannot have matches nothing without a call", async () => {
    const ctx = qboContext(emulator.url);
    const page = await quickbooks.loaders.Invoice!.list({ first: 100, filter: { contactRemoteId: '1' } }, ctx);
    expect(page.nodes.length).toBeGreaterThan(0);
    expect(page.nodes.every((n) => n.contactRemoteId === '1')).toBe(true);
    emulator.resetRequests();
    expect((await quickbooks.loaders.Invoice!.list({ first: 5, filter: { contactRemoteId: "1' OR '1'='1" } }, ctx)).nodes).toEqual([]);
    expect(emulator.count()).toBe(0);
  });

  it('refuses another company with UPSTREAM_FORBIDDEN and a connection without a company id before any call', async () => {
    const other = qboContext(emulator.url, { settings: { [REALM_SETTING]: '1234567890' } });
    await expect(quickbooks.loaders.Contact!.list({ first: 1, filter: {} }, other)).rejects.toMatchObject({ code: 'UPSTREAM_FORBIDDEN', upstreamStatus: 403 });
    emulator.resetRequests();
    const none = qboContext(emulator.url, { settings: {} });
    await expect(quickbooks.loaders.Contact!.list({ first: 1, filter: {} }, none)).rejects.toMatchObject({
      code: 'UPSTREAM_FORBIDDEN',
      message: expect.stringMatching(/realmId/),
    });
    expect(emulator.count()).toBe(0);
  });

  it('maps a throttled company (429 ThrottleExceeded, no Retry-After) to UPSTREAM_RATE_LIMITED with a 60 s wait', async () => {
    const small = await startEmulator({ credentials: [TOKEN], seed: 11, scale: { contacts: 3, invoices: 3, orders: 3 }, requestsPerMinute: 2 });
    try {
      const ctx = () => qboContext(small.url, { upstream: { maxAttempts: 1 } });
      await quickbooks.loaders.Contact!.list({ first: 1, filter: {} }, ctx());
      await quickbooks.loaders.Contact!.list({ first: 1, filter: {} }, ctx());
      await expect(quickbooks.loaders.Contact!.list({ first: 1, filter: {} }, ctx())).rejects.toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        retryAfterMs: 60_000,
        message: expect.stringMatching(/ThrottleExceeded 3001/),
      });
    } finally {
      await small.stop();
    }
  });
});
