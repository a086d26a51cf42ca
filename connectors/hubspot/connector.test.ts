// The connector's loaders against the emulator, through the real fetch wrapper: results, call
// counts per operation (the README's table), filters, cursors and error mapping.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, InvoiceModel, LineItemModel, OrderModel } from '../sdk/models.ts';
import type { LineItemOwnerLoader, ListPage } from '../sdk/types.ts';
import { createTestContext, type TestContextOptions } from '../sdk/testing.ts';
import { modelProblems } from '../sdk/validate.ts';
import { startEmulator, type HubSpotEmulatorHandle } from './emulator/index.ts';
import { hubspot } from './index.ts';

const TOKEN = 'pat-na1-connector-test-3f9a';
const loaders = {
  Contact: hubspot.loaders.Contact!,
  Invoice: hubspot.loaders.Invoice!,
  Order: hubspot.loaders.Order!,
};

let em: HubSpotEmulatorHandle;
const ctx = (extra: Partial<TestContextOptions> = {}) =>
  createTestContext({ connector: hubspot, baseUrl: em.url, token: TOKEN, settings: { portalId: '62515' }, ...extra });

beforeAll(async () => {
  em = await startEmulator({ credentials: [TOKEN], rateLimit: { max: 100_000, intervalMs: 10_000 }, searchRateLimit: null });
});
afterAll(async () => {
  await em?.stop();
});
beforeEach(() => {
  em.clearFaults();
  em.resetRequests();
});

const ids = (type: 'contacts' | 'invoices' | 'orders', n: number, from = 0) =>
  em.store
    .all(type)
    .slice(from, from + n)
    .map((o) => o.id);
const isError = (v: unknown): v is ConnectorError => v instanceof ConnectorError;

describe('Contact', () => {
  it('byIds keeps input order and length, with per-slot NOT_FOUND', async () => {
    const [a, b, c] = ids('contacts', 3);
    const input = [c!, '999999999', a!, 'not-an-id', b!];
    const result = await loaders.Contact.byIds(input, ctx());
    expect(result).toHaveLength(5);
    expect((result[0] as ContactModel).source.remoteId).toBe(c);
    expect((result[2] as ContactModel).source.remoteId).toBe(a);
    expect((result[4] as ContactModel).source.remoteId).toBe(b);
    expect(result[1]).toBeInstanceOf(ConnectorError);
    expect((result[1] as ConnectorError).code).toBe('UPSTREAM_NOT_FOUND');
    expect((result[3] as ConnectorError).code).toBe('UPSTREAM_NOT_FOUND');
    const contact = result[0] as ContactModel;
    expect(contact.source.remoteUrl).toBe(`https://app.hubspot.com/contacts/62515/record/0-1/${c}`);
    expect(contact.emails[0]?.primary).toBe(true);
    expect(modelProblems(contact, 'hubspot')).toEqual([]);
    // One batch read; the non-numeric id never left the process.
    expect(em.requests().map((r) => r.operation)).toEqual(['contacts.batchRead']);
  });

  it('byIds chunks by 100: 250 ids cost 3 batch reads', async () => {
    const many = ids('contacts', 250);
    const result = await loaders.Contact.byIds(many, ctx());
    expect(result.map((r) => (isError(r) ? r.code : r.source.remoteId))).toEqual(many);
    expect(em.count('contacts.batchRead')).toBe(3);
    expect(em.count()).toBe(3);
  });

  it('list pages through the plain list endpoint with l: cursors', async () => {
    const first = await loaders.Contact.list({ first: 100, filter: {} }, ctx());
    expect(first.nodes).toHaveLength(100);
    expect(first.hasNextPage).toBe(true);
    expect(first.endCursor).toMatch(/^l:\d+$/);
    expect(first.totalCount).toBeNull();
    const second = await loaders.Contact.list({ first: 500, after: first.endCursor, filter: {} }, ctx());
    expect(second.nodes).toHaveLength(100); // first is capped at the provider's page size
    expect(second.nodes[0]?.source.remoteId).not.toBe(first.nodes[0]?.source.remoteId);
    expect(em.requests().map((r) => r.operation)).toEqual(['contacts.list', 'contacts.list']);
  });

  it('list filters by e-mail and by updatedSince through search, with totalCount', async () => {
    const target = em.store.all('contacts')[42]!;
    const byEmail = await loaders.Contact.list({ first: 10, filter: { email: target.properties.email!.toUpperCase() } }, ctx());
    expect(byEmail.nodes.map((n) => n.source.remoteId)).toEqual([target.id]);
    expect(byEmail.totalCount).toBe(1);
    expect(byEmail.hasNextPage).toBe(false);

    const since = '2025-12-01T00:00:00.000Z';
    const expected = em.store
      .all('contacts')
      .filter((c) => Date.parse(c.updatedAt) >= Date.parse(since))
      .map((c) => c.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await loaders.Contact.list({ first: 25, after, filter: { updatedSince: since } }, ctx());
      expect(page.totalCount).toBe(expected.length);
      for (const n of page.nodes) expect(Date.parse(n.updatedAt!)).toBeGreaterThanOrEqual(Date.parse(since));
      seen.push(...page.nodes.map((n) => n.source.remoteId));
      if (!page.hasNextPage) break;
      expect(page.endCursor).toMatch(/^s:\d+$/);
      after = page.endCursor;
    }
    expect(seen.sort()).toEqual(expected.sort());
    expect(em.requests().every((r) => r.operation === 'contacts.search')).toBe(true);
  });

  it('findByEmails: 150 addresses (one unknown, one upper-case in the store) in two IN searches, one slot each, in order', async () => {
    const contacts = em.store.all('contacts').slice(0, 149);
    const shouting = contacts[7]!;
    em.store.update('contacts', shouting.id, { email: shouting.properties.email!.toUpperCase() }, new Date().toISOString());
    const emails = [...contacts.map((c) => c.properties.email!.toLowerCase()), 'nobody@nowhere.example'];
    const slots = await loaders.Contact.findByEmails!(emails, ctx());
    expect(slots).toHaveLength(150);
    slots.slice(0, 149).forEach((slot, i) => {
      expect(isError(slot)).toBe(false);
      expect((slot as ContactModel[]).map((c) => c.source.remoteId)).toEqual([contacts[i]!.id]);
    });
    expect(slots[149]).toEqual([]);
    expect(em.requests().map((r) => r.operation)).toEqual(['contacts.search', 'contacts.search']);
  });

  it('rejects a cursor from the other paging scheme', async () => {
    await expect(loaders.Contact.list({ first: 5, after: 'l:1005', filter: { updatedSince: '2025-01-01T00:00:00Z' } }, ctx())).rejects.toThrow(RangeError);
    await expect(loaders.Contact.list({ first: 5, after: 'garbage', filter: {} }, ctx())).rejects.toThrow(RangeError);
    expect(em.count()).toBe(0);
  });
});

describe('Invoice and Order', () => {
  for (const [entity, type] of [
    ['Invoice', 'invoices'],
    ['Order', 'orders'],
  ] as const) {
    describe(entity, () => {
      const loader = loaders[entity] as LineItemOwnerLoader<InvoiceModel | OrderModel>;
      const lineItemsOf = (parents: Array<InvoiceModel | OrderModel>) => loader.lineItems!(parents, ctx());
      const check = (model: InvoiceModel | OrderModel) => {
        const contact = em.store.associated(type, model.source.remoteId, 'contacts')[0];
        expect(model.entity === 'Invoice' ? model.contactRemoteId : model.customerRemoteId).toBe(contact);
        // Line items cost reads of their own: the record leaves them to the lineItems loader.
        expect(model.lineItems).toBeNull();
        expect(modelProblems(model, 'hubspot')).toEqual([]);
      };
      const checkLines = (parents: Array<InvoiceModel | OrderModel>, slots: Array<LineItemModel[] | ConnectorError>) => {
        expect(slots).toHaveLength(parents.length);
        parents.forEach((parent, i) => {
          const lines = slots[i] as LineItemModel[];
          expect(lines.map((li) => li.remoteId)).toEqual(em.store.associated(type, parent.source.remoteId, 'line_items'));
          expect(modelProblems({ ...parent, lineItems: lines }, 'hubspot')).toEqual([]);
        });
      };
      const distinctLineItems = (parents: Array<InvoiceModel | OrderModel>) =>
        new Set(parents.flatMap((p) => em.store.associated(type, p.source.remoteId, 'line_items'))).size;

      it('byIds reads the records and their contact links: two calls in one round trip', async () => {
        const input = [...ids(type, 60).reverse(), '12345'];
        const result = await loader.byIds(input, ctx());
        expect(result).toHaveLength(input.length);
        result.slice(0, 60).forEach((m, i) => {
          expect(isError(m)).toBe(false);
          expect((m as InvoiceModel | OrderModel).source.remoteId).toBe(input[i]);
          check(m as InvoiceModel | OrderModel);
        });
        expect((result[60] as ConnectorError).code).toBe('UPSTREAM_NOT_FOUND');
        expect(
          em
            .requests()
            .map((r) => r.operation)
            .sort(),
        ).toEqual([`associations.${type}.contacts.batchRead`, `${type}.batchRead`]);
      });

      it('lineItems of records read by id: one association read + line item batch reads, in association order', async () => {
        const parents = (await loader.byIds(ids(type, 60), ctx())) as Array<InvoiceModel | OrderModel>;
        em.resetRequests();
        checkLines(parents, await lineItemsOf(parents));
        expect(em.count(`associations.${type}.line_items.batchRead`)).toBe(1);
        expect(em.count('line_items.batchRead')).toBe(Math.ceil(distinctLineItems(parents) / 100));
        expect(em.count()).toBe(1 + Math.ceil(distinctLineItems(parents) / 100));
      });

      it('list without filter: one list call; lineItems then costs only the batch reads (links came inline)', async () => {
        const page = await loader.list({ first: 100, filter: {} }, ctx());
        expect(page.nodes).toHaveLength(100);
        page.nodes.forEach(check);
        expect(em.requests().map((r) => r.operation)).toEqual([`${type}.list`]);
        em.resetRequests();
        checkLines(page.nodes, await lineItemsOf(page.nodes));
        expect(em.count('line_items.batchRead')).toBe(Math.ceil(distinctLineItems(page.nodes) / 100));
        expect(em.count()).toBe(Math.ceil(distinctLineItems(page.nodes) / 100));
      });

      it('list in an order goes through search: one association call links the page, each record to its own contact', async () => {
        const page = await loader.list({ first: 100, filter: {}, orderBy: { field: 'CREATED_AT', direction: 'DESC' } }, ctx());
        expect(page.nodes).toHaveLength(100);
        page.nodes.forEach(check);
        // Not vacuous: the page's records have contacts to link (check() compares each with its own).
        expect(page.nodes.some((m) => (m.entity === 'Invoice' ? m.contactRemoteId : m.customerRemoteId) !== null)).toBe(true);
        expect(em.requests().map((r) => r.operation)).toEqual([`${type}.search`, `associations.${type}.contacts.batchRead`]);
      });

      it('lineItems of records without their raw answer (served from the cache) read the links again', async () => {
        const page = await loader.list({ first: 30, filter: {} }, ctx());
        const cachedForm = page.nodes.map((n) => ({ ...n, raw: undefined }));
        em.resetRequests();
        checkLines(cachedForm, await lineItemsOf(cachedForm));
        expect(em.count(`associations.${type}.line_items.batchRead`)).toBe(1);
      });

      it('list filtered by contact reads its association (no search: 5 per second), then the records with their links', async () => {
        const first = em.store.all(type)[0]!;
        const contactId = em.store.associated(type, first.id, 'contacts')[0]!;
        const expected = em.store.associated('contacts', contactId, type);
        const page = await loader.list({ first: 50, filter: { contactRemoteId: contactId } }, ctx());
        expect(page.nodes.map((n) => n.source.remoteId)).toEqual(expected);
        expect(page.totalCount).toBe(expected.length);
        page.nodes.forEach(check);
        expect(
          em
            .requests()
            .map((r) => r.operation)
            .sort(),
        ).toEqual([`associations.contacts.${type}.batchRead`, `associations.${type}.contacts.batchRead`, `${type}.batchRead`]);
        em.resetRequests();
        checkLines(page.nodes, await lineItemsOf(page.nodes));
        expect(
          em
            .requests()
            .map((r) => r.operation)
            .sort(),
        ).toEqual([`associations.${type}.line_items.batchRead`, 'line_items.batchRead']);
      });

      it('listForContacts reads the first pages of many contacts in one association read, continued by list', async () => {
        const contacts = em.store
          .all('contacts')
          .slice(0, 40)
          .map((c) => c.id);
        em.resetRequests();
        const pages = await loader.listForContacts!(contacts, { first: 1 }, ctx());
        expect(pages).toHaveLength(contacts.length);
        expect(em.count(`associations.contacts.${type}.batchRead`)).toBe(1);
        expect(em.count()).toBeLessThanOrEqual(3);
        for (const [i, contactId] of contacts.entries()) {
          const expected = em.store.associated('contacts', contactId, type);
          const page = pages[i] as ListPage<InvoiceModel | OrderModel>;
          expect(page.nodes.map((n) => n.source.remoteId)).toEqual(expected.slice(0, 1));
          expect(page.hasNextPage).toBe(expected.length > 1);
          page.nodes.forEach(check);
          if (page.hasNextPage) {
            const rest = await loader.list({ first: 50, after: page.endCursor, filter: { contactRemoteId: contactId } }, ctx());
            expect(rest.nodes.map((n) => n.source.remoteId)).toEqual(expected.slice(1));
          }
        }
      });

      it('list filtered by updatedSince uses hs_lastmodifieddate', async () => {
        const since = '2026-01-15T00:00:00.000Z';
        const expected = em.store.all(type).filter((o) => Date.parse(o.updatedAt) >= Date.parse(since)).length;
        const page = await loader.list({ first: 100, filter: { updatedSince: since } }, ctx());
        expect(page.totalCount).toBe(expected);
        expect(page.nodes.length).toBe(Math.min(100, expected));
      });
    });
  }
});

describe('large association sets', () => {
  it('lineItems falls back to the v4 associations read when embedded line items are truncated', async () => {
    const local = await startEmulator({ credentials: [TOKEN], scale: { contacts: 2, invoices: 2, orders: 0 } });
    try {
      const invoice = local.store.all('invoices')[0]!;
      const at = '2026-02-01T00:00:00.000Z';
      for (let i = 0; i < 620; i++) {
        const li = local.store.create('line_items', { name: `Item ${i}`, quantity: '1', price: '1', amount: '1', hs_line_item_currency_code: 'USD' }, at);
        local.store.associate('invoices', invoice.id, 'line_items', li.id, at);
      }
      const expected = local.store.associated('invoices', invoice.id, 'line_items');
      const other = local.store.associated('invoices', local.store.all('invoices')[1]!.id, 'line_items');
      const c = createTestContext({ connector: hubspot, baseUrl: local.url, token: TOKEN });
      const page = await loaders.Invoice.list({ first: 10, filter: {} }, c);
      expect(local.count()).toBe(1);
      const lines = await loaders.Invoice.lineItems!(page.nodes, c);
      const index = page.nodes.findIndex((n) => n.source.remoteId === invoice.id);
      expect((lines[index] as LineItemModel[]).map((li) => li.remoteId)).toEqual(expected);
      // Only the truncated record is read through v4: 2 association pages (500 + 122), then
      // ceil(line items of both invoices / 100) batch reads.
      expect(local.count('associations.invoices.line_items.batchRead')).toBe(2);
      expect(local.count('line_items.batchRead')).toBe(Math.ceil(new Set([...expected, ...other]).size / 100));
    } finally {
      await local.stop();
    }
  });

  it("a line item that cannot be mapped fails only its parent's slot (MAPPING_FAILED)", async () => {
    const local = await startEmulator({ credentials: [TOKEN], scale: { contacts: 2, invoices: 2, orders: 0 } });
    try {
      const [broken, fine] = local.store.all('invoices');
      const li = local.store.create(
        'line_items',
        { name: 'Bad price', quantity: '1', price: '1,50', amount: '1', hs_line_item_currency_code: 'EUR' },
        '2026-02-01T00:00:00.000Z',
      );
      local.store.associate('invoices', broken!.id, 'line_items', li.id, '2026-02-01T00:00:00.000Z');
      const c = createTestContext({ connector: hubspot, baseUrl: local.url, token: TOKEN });
      const parents = (await loaders.Invoice.byIds([broken!.id, fine!.id], c)) as InvoiceModel[];
      const [brokenLines, fineLines] = await loaders.Invoice.lineItems!(parents, c);
      expect(brokenLines).toBeInstanceOf(ConnectorError);
      expect((brokenLines as ConnectorError).code).toBe('MAPPING_FAILED');
      expect((brokenLines as ConnectorError).message).toContain(`line items of invoice ${broken!.id}`);
      expect((fineLines as LineItemModel[]).map((l) => l.remoteId)).toEqual(local.store.associated('invoices', fine!.id, 'line_items'));
    } finally {
      await local.stop();
    }
  });
});

describe('errors', () => {
  it('maps 401 to UPSTREAM_UNAUTHORIZED with the correlation id and without the token', async () => {
    const bad = createTestContext({ connector: hubspot, baseUrl: em.url, token: 'pat-na1-wrong-token-123' });
    const err = await loaders.Contact.byIds(ids('contacts', 2), bad).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    const e = err as ConnectorError;
    expect(e.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(e.upstreamStatus).toBe(401);
    expect(e.upstreamRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.message).toContain('INVALID_AUTHENTICATION');
    expect(e.message).not.toContain('pat-na1-wrong-token-123');
  });

  it('maps 429 to UPSTREAM_RATE_LIMITED with retryAfterMs from Retry-After', async () => {
    em.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 7 });
    const err = await loaders.Invoice.list({ first: 5, filter: {} }, ctx({ upstream: { maxAttempts: 1 } })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryAfterMs: 7000, upstreamStatus: 429 });
    expect((err as Error).message).toContain('RATE_LIMIT');
  });

  it('a searched page whose association call fails at once rejects with that failure, nothing left unhandled', async () => {
    // The association call is refused before any byte is sent (as an open breaker refuses), while
    // the connector maps the page: the list rejects with it, and no rejection goes unobserved.
    const refusing = createTestContext({
      connector: hubspot,
      baseUrl: em.url,
      token: TOKEN,
      upstream: { maxAttempts: 1 },
      fetchImpl: (input, init) => (String(input).includes('/associations/') ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init)),
    });
    const list = loaders.Invoice.list({ first: 20, filter: {}, orderBy: { field: 'CREATED_AT', direction: 'DESC' } }, refusing);
    await expect(list).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('maps 403/5xx and a 200 with the wrong shape', async () => {
    em.injectFault({ kind: 'status', status: 403, times: 1 });
    await expect(loaders.Order.byIds(ids('orders', 1), ctx())).rejects.toMatchObject({ code: 'UPSTREAM_FORBIDDEN' });
    em.clearFaults();
    em.injectFault({ kind: 'status', status: 502 });
    await expect(loaders.Contact.list({ first: 1, filter: {} }, ctx({ upstream: { maxAttempts: 1 } }))).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    em.clearFaults();
    const wrongShape = createTestContext({
      connector: hubspot,
      baseUrl: em.url,
      token: TOKEN,
      fetchImpl: async () => new Response('{"results": "nope"}', { status: 200, headers: { 'content-type': 'application/json' } }),
    });
    await expect(loaders.Contact.list({ first: 1, filter: {} }, wrongShape)).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
  });
});
