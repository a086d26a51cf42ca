// Salesforce connector behaviour the conformance suite does not cover: SOQL values escaped (a quote
// in an e-mail address cannot change the query), lists following nextRecordsUrl inside a page,
// changed-since keyset cursors with same-second ties, deferred OrderItems, deletions through
// queryAll, and Salesforce's error codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import type { ContactModel, OrderModel } from '../sdk/models.ts';
import { startEmulator, type SalesforceEmulatorHandle } from './emulator/index.ts';
import { salesforce } from './index.ts';
import { mapContact, mapOrder } from './mappers.ts';
import { soqlString } from './soql.ts';
import { readFixture, SESSION_TOKEN } from './test-support.ts';

let em: SalesforceEmulatorHandle;
beforeAll(async () => {
  em = await startEmulator({ credentials: [SESSION_TOKEN], seed: 11, scale: { contacts: 25, orders: 6 }, queryBatchSize: 4 });
});
afterAll(async () => {
  await em?.stop();
});
const ctx = () => createTestContext({ connector: salesforce, baseUrl: em.url, token: SESSION_TOKEN, settings: { currency: 'USD' } });
const contacts = salesforce.loaders.Contact!;
const orders = salesforce.loaders.Order!;

describe('SOQL escaping', () => {
  it('escapes quotes, backslashes and control characters', () => {
    expect(soqlString("o'brien")).toBe("'o\\'brien'");
    expect(soqlString('a\\b')).toBe("'a\\\\b'");
    expect(soqlString('x\ny"')).toBe("'x\\ny\\\"'");
  });

  it("an e-mail filter with a quote cannot widen the query (' OR Email != ')", async () => {
    const injected = "nobody@example.com' OR Email != '";
    const page = await contacts.list({ first: 50, filter: { email: injected } }, ctx());
    expect(page.nodes).toEqual([]);
    // The emulator parsed it strictly, so the escaped literal reached it as one value.
    const [only] = em.requests().slice(-1);
    expect(only?.status).toBe(200);
  });

  it('finds a contact whose e-mail holds a quote', async () => {
    const id = [...em.store.records.Contact.keys()][2] as string;
    em.store.update('Contact', id, { Email: "o'brien@example.com" });
    const page = await contacts.list({ first: 5, filter: { email: "o'brien@example.com" } }, ctx());
    expect(page.nodes.map((n) => n.source.remoteId)).toEqual([id]);
  });
});

describe('lists', () => {
  it('fills a page past a query batch by following nextRecordsUrl (batches of 4 here)', async () => {
    em.resetRequests();
    const page = await contacts.list({ first: 10, filter: {} }, ctx());
    expect(page.nodes).toHaveLength(10);
    expect(page.hasNextPage).toBe(true);
    expect(em.count('queryMore')).toBeGreaterThanOrEqual(2);
  });

  it('walks changed-since in (SystemModstamp, Id) order and splits a same-second tie across pages without loss or repeat', async () => {
    const ids = [...em.store.records.Contact.keys()].slice(0, 5);
    const tie = Date.UTC(2027, 0, 1, 0, 0, 0, 400);
    const clock = em.store.now;
    em.store.now = () => tie;
    try {
      for (const id of ids) em.store.update('Contact', id, { Title: 'Tied' });
    } finally {
      em.store.now = clock;
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: { nodes: ContactModel[]; endCursor: string | null; hasNextPage: boolean } = await contacts.list(
        { first: 2, after, filter: { updatedSince: new Date(tie - 400).toISOString() } },
        ctx(),
      );
      seen.push(...page.nodes.map((n) => n.source.remoteId));
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(seen).toEqual([...ids].sort());
  });

  it('filters orders by their bill-to contact', async () => {
    const order = [...em.store.records.Order.values()].find((o) => o['BillToContactId']) as Record<string, unknown>;
    const page = await orders.list({ first: 50, filter: { contactRemoteId: order['BillToContactId'] as string } }, ctx());
    expect(page.nodes.length).toBeGreaterThan(0);
    expect(page.nodes.every((o) => o.customerRemoteId === order['BillToContactId'])).toBe(true);
  });
});

describe('orders', () => {
  it('defers OrderItems and reads them for many orders in one query, totals matching the roll-up', async () => {
    const ids = [...em.store.records.Order.keys()];
    const models = (await orders.byIds(ids, ctx())) as OrderModel[];
    expect(models.every((m) => m.lineItems === null)).toBe(true);
    em.resetRequests();
    const items = await orders.lineItems!(models, ctx());
    expect(em.count('query')).toBe(1);
    items.forEach((lines, i) => {
      expect(lines).not.toBeInstanceOf(ConnectorError);
      const cents = (lines as NonNullable<OrderModel['lineItems']>).reduce((sum, l) => sum + Math.round(Number(l.amount?.amount) * 100), 0);
      expect(cents).toBe(Math.round(Number(models[i]?.total?.amount) * 100));
    });
  });
});

describe('deletions', () => {
  it('polling.deletedSince sees records in the recycle bin through queryAll', async () => {
    const since = new Date(Date.now() - 2000).toISOString();
    const id = [...em.store.records.Contact.keys()][10] as string;
    em.store.delete('Contact', id);
    const deleted = await salesforce.polling!.deletedSince!('Contact', since, ctx());
    expect(deleted.map((d) => d.remoteId)).toContain(id);
    expect((await contacts.byIds([id], ctx()))[0]).toMatchObject({ code: 'UPSTREAM_NOT_FOUND' });
  });
});

describe('errors', () => {
  it('maps 403 REQUEST_LIMIT_EXCEEDED to UPSTREAM_RATE_LIMITED, not retried', async () => {
    em.setApiUsage(15_000);
    em.resetRequests();
    try {
      await expect(contacts.list({ first: 1, filter: {} }, ctx())).rejects.toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        retryable: false,
        upstreamStatus: 403,
      });
      expect(em.count()).toBe(1);
    } finally {
      em.setApiUsage(0);
    }
  });

  it('maps an expired session to UPSTREAM_UNAUTHORIZED without leaking the token', async () => {
    const bad = createTestContext({ connector: salesforce, baseUrl: em.url, token: '00D5g000004ORGX!AQsecretsessionvalue' });
    const err = (await contacts.list({ first: 1, filter: {} }, bad).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(err.message).toContain('INVALID_SESSION_ID');
    expect(err.message).not.toContain('secretsessionvalue');
  });
});

describe('mappers', () => {
  it('maps a contact: +0000 instants to UTC, SystemModstamp as the version, mailing address lines', () => {
    const c = mapContact(readFixture('contact.json'), { instanceUrl: 'https://acme.my.salesforce.com' });
    expect(c.source).toMatchObject({
      remoteId: '0035g00000XyZ12AAB',
      remoteUpdatedAt: '2026-02-11T08:30:15.000Z',
      remoteUrl: 'https://acme.my.salesforce.com/0035g00000XyZ12AAB',
    });
    expect(c.addresses[0]).toMatchObject({ line1: '313 Constitution Place', line2: 'Austin, TX 78767, USA', city: 'Austin' });
    expect(c.phones.map((p) => p.type)).toEqual(['WORK', 'MOBILE']);
  });

  it('maps an order: money exact in the org currency or the record CurrencyIsoCode, status from StatusCode', () => {
    const usd = mapOrder(readFixture('order-activated.json'), { currency: 'USD' });
    expect(usd).toMatchObject({
      status: 'OPEN',
      total: { amount: '1234.50', currency: 'USD' },
      customerRemoteId: '0035g00000XyZ12AAB',
      placedAt: '2026-02-01T09:15:00.000Z',
    });
    const jpy = mapOrder(readFixture('order-draft-multicurrency.json'), { currency: 'USD' });
    expect(jpy.total).toEqual({ amount: '15000', currency: 'JPY' });
  });
});
