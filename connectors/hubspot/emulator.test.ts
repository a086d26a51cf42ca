// The emulator must answer like HubSpot: shapes validated against the official OpenAPI specs,
// HubSpot's limits and error bodies, rate-limit headers, deterministic seeded data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPeople } from '../sdk/demo-data.ts';
import { startEmulator, type HubSpotEmulatorHandle, type HubSpotEmulatorOptions } from './emulator/index.ts';
import { OBJECT_TYPE_DEFS } from './emulator/schema.ts';
import { specValidator } from './test-support.ts';

const TOKEN = 'pat-na1-emulator-test';
const spec = { contacts: specValidator('contacts'), invoices: specValidator('invoices'), orders: specValidator('orders') };

interface Answer {
  status: number;
  headers: Headers;
  // JSON under test: loosely typed on purpose.
  body: any;
}

async function call(em: { url: string }, method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${em.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** A 2026-03 token-endpoint call that must succeed. */
async function tokenCall(em: { url: string }, form: Record<string, string>): Promise<{ access_token: string; refresh_token: string }> {
  const res = await fetch(`${em.url}/oauth/2026-03/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

const rateHeaderNames = [
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'x-hubspot-ratelimit-daily',
  'x-hubspot-ratelimit-daily-remaining',
];

function expectAllStringProperties(objects: Array<{ properties: Record<string, unknown> }>) {
  for (const o of objects) for (const v of Object.values(o.properties)) expect(v === null || typeof v === 'string').toBe(true);
}

describe('spec validator (guards against a vacuous check)', () => {
  it('reports wrong shapes', () => {
    expect(spec.contacts.problems('BatchResponseSimplePublicObject', { status: 'DONE', results: [{ id: 1, properties: {} }] }).length).toBeGreaterThan(3);
    expect(spec.contacts.problems('Error', { message: 'x', category: 'X', correlationId: 'not-a-uuid' })).toHaveLength(1);
    expect(spec.contacts.problems('CollectionResponseWithTotalSimplePublicObject', { results: [] })).toHaveLength(1);
  });
});

describe('HubSpot emulator', () => {
  let em: HubSpotEmulatorHandle;
  beforeAll(async () => {
    em = await startEmulator({ credentials: [TOKEN], searchRateLimit: null, rateLimit: { max: 100_000, intervalMs: 10_000 } });
  });
  afterAll(async () => {
    await em?.stop();
  });

  describe('seeded data', () => {
    it('holds the default scale, drawn from the shared demo population', () => {
      expect(em.store.count('contacts')).toBe(300);
      expect(em.store.count('invoices')).toBe(400);
      expect(em.store.count('orders')).toBe(150);
      const people = demoPeople(500, 42);
      const emails = em.store.all('contacts').map((c) => c.properties.email);
      expect(emails).toEqual(people.slice(0, 300).map((p) => p.email));
    });

    it('associates every invoice and order with one contact and 1-4 line items', () => {
      for (const type of ['invoices', 'orders'] as const) {
        for (const obj of em.store.all(type)) {
          expect(em.store.associated(type, obj.id, 'contacts')).toHaveLength(1);
          const n = em.store.associated(type, obj.id, 'line_items').length;
          expect(n).toBeGreaterThanOrEqual(1);
          expect(n).toBeLessThanOrEqual(4);
        }
      }
    });

    it('is identical for the same seed and different for another', async () => {
      const a = await startEmulator({ credentials: [TOKEN], seed: 7, scale: { contacts: 30, invoices: 20, orders: 10 } });
      const b = await startEmulator({ credentials: [TOKEN], seed: 7, scale: { contacts: 30, invoices: 20, orders: 10 } });
      const c = await startEmulator({ credentials: [TOKEN], seed: 8, scale: { contacts: 30, invoices: 20, orders: 10 } });
      try {
        for (const type of ['contacts', 'invoices', 'orders', 'line_items'] as const) {
          expect(a.store.all(type)).toEqual(b.store.all(type));
        }
        const pa = await call(a, 'GET', '/crm/v3/objects/invoices?limit=100&associations=contacts,line_items&properties=hs_amount_billed');
        const pb = await call(b, 'GET', '/crm/v3/objects/invoices?limit=100&associations=contacts,line_items&properties=hs_amount_billed');
        expect(pa.body.results).toEqual(pb.body.results);
        expect(c.store.all('contacts').map((x) => x.properties.email)).not.toEqual(a.store.all('contacts').map((x) => x.properties.email));
      } finally {
        await Promise.all([a.stop(), b.stop(), c.stop()]);
      }
    });
  });

  describe('list', () => {
    it('answers the spec shape with default properties, limit 10 and a next cursor', async () => {
      const res = await call(em, 'GET', '/crm/v3/objects/contacts');
      expect(res.status).toBe(200);
      expect(spec.contacts.problems('CollectionResponseSimplePublicObjectWithAssociationsForwardPaging', res.body)).toEqual([]);
      expect(res.body.results).toHaveLength(10);
      expect(Object.keys(res.body.results[0].properties)).toEqual([...OBJECT_TYPE_DEFS.contacts.defaultProperties].sort());
      expect(res.body.results[0]).toMatchObject({ archived: false });
      expect(res.body.results[0].createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
      expect(res.body.paging.next.after).toMatch(/^\d+$/);
      expect(res.body.paging.next.link).toContain(`after=${res.body.paging.next.after}`);
      for (const h of rateHeaderNames) expect(res.headers.get(h)).not.toBeNull();
    });

    it('pages to the end with no duplicates and no paging on the last page', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: Answer = await call(em, 'GET', `/crm/v3/objects/orders?limit=100${after ? `&after=${after}` : ''}`);
        expect(page.status).toBe(200);
        expect(spec.orders.problems('CollectionResponseSimplePublicObjectWithAssociationsForwardPaging', page.body)).toEqual([]);
        seen.push(...page.body.results.map((r: { id: string }) => r.id));
        if (!page.body.paging) break;
        after = page.body.paging.next.after;
      }
      expect(seen).toHaveLength(150);
      expect(new Set(seen).size).toBe(150);
    });

    it('returns only requested properties (plus the always-present ones), with null for empty values', async () => {
      const res = await call(em, 'GET', '/crm/v3/objects/contacts?limit=3&properties=email&properties=mobilephone,not_a_property');
      for (const r of res.body.results) {
        expect(Object.keys(r.properties).sort()).toEqual(['createdate', 'email', 'hs_object_id', 'lastmodifieddate', 'mobilephone']);
      }
      expect(res.body.results.some((r: { properties: Record<string, unknown> }) => r.properties.mobilephone === null)).toBe(true);
      expectAllStringProperties(res.body.results);
      expect(spec.contacts.problems('CollectionResponseSimplePublicObjectWithAssociationsForwardPaging', res.body)).toEqual([]);
    });

    it("embeds associations in HubSpot's shape", async () => {
      const res = await call(em, 'GET', '/crm/v3/objects/invoices?limit=5&associations=contacts,line_items,unknown_thing');
      expect(spec.invoices.problems('CollectionResponseSimplePublicObjectWithAssociationsForwardPaging', res.body)).toEqual([]);
      for (const r of res.body.results) {
        expect(r.associations.contacts.results).toEqual([{ id: expect.stringMatching(/^\d+$/), type: 'invoice_to_contact' }]);
        expect(r.associations['line items'].results.length).toBeGreaterThanOrEqual(1);
        expect(r.associations['line items'].results[0].type).toBe('invoice_to_line_item');
      }
    });

    it('truncates embedded associations at 100 with paging, still in the spec shape', async () => {
      const local = await startEmulator({ credentials: [TOKEN], scale: { contacts: 1, invoices: 1, orders: 0 } });
      try {
        const inv = local.store.all('invoices')[0]!;
        for (let i = 0; i < 120; i++) {
          const li = local.store.create('line_items', { name: `x${i}` }, '2026-02-01T00:00:00.000Z');
          local.store.associate('invoices', inv.id, 'line_items', li.id);
        }
        const res = await call(local, 'GET', `/crm/v3/objects/invoices/${inv.id}?associations=line_items`);
        expect(spec.invoices.problems('SimplePublicObjectWithAssociations', res.body)).toEqual([]);
        expect(res.body.associations['line items'].results).toHaveLength(100);
        expect(res.body.associations['line items'].paging.next.after).toBe('100');
      } finally {
        await local.stop();
      }
    });

    it('rejects limit > 100 and bad cursors with a VALIDATION_ERROR', async () => {
      const res = await call(em, 'GET', '/crm/v3/objects/contacts?limit=101');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
      expect(spec.contacts.problems('Error', res.body)).toEqual([]);
      expect((await call(em, 'GET', '/crm/v3/objects/contacts?after=abc')).status).toBe(400);
    });

    it('lists archived records only when archived=true', async () => {
      const local = await startEmulator({ credentials: [TOKEN], scale: { contacts: 5, invoices: 0, orders: 0 } });
      try {
        const victim = local.store.all('contacts')[1];
        if (!victim) throw new Error('seed');
        local.store.archive('contacts', victim.id, '2026-02-01T00:00:00.000Z');
        const live = await call(local, 'GET', '/crm/v3/objects/contacts');
        expect(live.body.results.map((r: { id: string }) => r.id)).not.toContain(victim.id);
        const archived = await call(local, 'GET', '/crm/v3/objects/contacts?archived=true');
        expect(archived.body.results).toHaveLength(1);
        expect(archived.body.results[0]).toMatchObject({ id: victim.id, archived: true, archivedAt: '2026-02-01T00:00:00.000Z' });
      } finally {
        await local.stop();
      }
    });
  });

  describe('get one', () => {
    it("answers a record, or 404 with HubSpot's error body", async () => {
      const first = em.store.all('orders')[0];
      if (!first) throw new Error('seed');
      const ok = await call(em, 'GET', `/crm/v3/objects/orders/${first.id}?properties=hs_total_price&associations=contacts`);
      expect(ok.status).toBe(200);
      expect(spec.orders.problems('SimplePublicObjectWithAssociations', ok.body)).toEqual([]);
      expect(ok.body.associations.contacts.results[0].type).toBe('order_to_contact');
      const missing = await call(em, 'GET', '/crm/v3/objects/orders/1');
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND' });
      expect(spec.orders.problems('Error', missing.body)).toEqual([]);
    });

    it('looks a contact up by idProperty=email', async () => {
      const c = em.store.all('contacts')[3];
      if (!c) throw new Error('seed');
      const res = await call(em, 'GET', `/crm/v3/objects/contacts/${encodeURIComponent((c.properties.email ?? '').toUpperCase())}?idProperty=email`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(c.id);
    });
  });

  describe('batch read', () => {
    const ids = () =>
      em.store
        .all('contacts')
        .slice(0, 3)
        .map((c) => c.id);

    it('answers 200 when every id exists, in the spec shape', async () => {
      const res = await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', {
        inputs: ids()
          .reverse()
          .map((id) => ({ id })),
        properties: ['email', 'firstname'],
        propertiesWithHistory: [],
      });
      expect(res.status).toBe(200);
      expect(spec.contacts.problems('BatchResponseSimplePublicObject', res.body)).toEqual([]);
      expect(res.body.status).toBe('COMPLETE');
      expect(res.body.results.map((r: { id: string }) => r.id).sort()).toEqual(ids().sort());
      expect(res.body.errors).toBeUndefined();
      expectAllStringProperties(res.body.results);
    });

    it('answers 207 Multi-Status with OBJECT_NOT_FOUND for missing ids', async () => {
      const res = await call(em, 'POST', '/crm/v3/objects/invoices/batch/read', {
        inputs: [{ id: em.store.all('invoices')[0]?.id }, { id: '1' }, { id: '2' }],
        properties: ['hs_number'],
        propertiesWithHistory: [],
      });
      expect(res.status).toBe(207);
      expect(spec.invoices.problems('BatchResponseSimplePublicObjectWithErrors', res.body)).toEqual([]);
      expect(res.body.results).toHaveLength(1);
      expect(res.body.numErrors).toBe(1);
      expect(res.body.errors[0]).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['1', '2'] } });
      expect(res.body.errors[0].message).toContain('INVOICE');
    });

    it('rejects more than 100 inputs', async () => {
      const res = await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', {
        inputs: Array.from({ length: 101 }, (_, i) => ({ id: String(1001 + i) })),
        properties: [],
        propertiesWithHistory: [],
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
      expect(spec.contacts.problems('Error', res.body)).toEqual([]);
    });

    it('rejects more than 50 inputs with property history, and bodies missing required fields', async () => {
      const history = await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', {
        inputs: Array.from({ length: 51 }, (_, i) => ({ id: String(1001 + i) })),
        properties: [],
        propertiesWithHistory: ['email'],
      });
      expect(history.status).toBe(400);
      expect(history.body.message).toContain('property histories is 50');
      const partial = await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '1001' }] });
      expect(partial.status).toBe(400);
      expect(partial.body.message).toContain('properties');
      const garbage = await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', '{"inputs": [');
      expect(garbage.status).toBe(400);
      expect(spec.contacts.problems('Error', garbage.body)).toEqual([]);
    });

    it('returns property history when asked', async () => {
      const res = await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', {
        inputs: [{ id: ids()[0] }],
        properties: ['email'],
        propertiesWithHistory: ['email'],
      });
      expect(spec.contacts.problems('BatchResponseSimplePublicObject', res.body)).toEqual([]);
      expect(res.body.results[0].propertiesWithHistory.email[0]).toMatchObject({ sourceType: 'API' });
    });
  });

  describe('search', () => {
    const search = (type: string, body: unknown) => call(em, 'POST', `/crm/v3/objects/${type}/search`, body);

    it('answers {total, results, paging} without rate-limit headers', async () => {
      const res = await search('contacts', { filterGroups: [], sorts: [], properties: ['email'], limit: 5, after: '0' });
      expect(res.status).toBe(200);
      expect(spec.contacts.problems('CollectionResponseWithTotalSimplePublicObject', res.body)).toEqual([]);
      expect(res.body.total).toBe(300);
      expect(res.body.paging.next.after).toBe('5');
      for (const h of rateHeaderNames) expect(res.headers.get(h)).toBeNull();
      expect(res.headers.get('x-hubspot-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('filters with EQ (case-insensitive), IN, HAS_PROPERTY and NOT_HAS_PROPERTY', async () => {
      const c = em.store.all('contacts')[10];
      if (!c) throw new Error('seed');
      const eq = await search('contacts', {
        filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: (c.properties.email ?? '').toUpperCase() }] }],
      });
      expect(eq.body.results.map((r: { id: string }) => r.id)).toEqual([c.id]);
      const inOp = await search('contacts', {
        filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'IN', values: [c.id, em.store.all('contacts')[11]?.id] }] }],
      });
      expect(inOp.body.total).toBe(2);
      const withMobile = await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'mobilephone', operator: 'HAS_PROPERTY' }] }], limit: 0 });
      const withoutMobile = await search('contacts', {
        filterGroups: [{ filters: [{ propertyName: 'mobilephone', operator: 'NOT_HAS_PROPERTY' }] }],
        limit: 0,
      });
      expect(withMobile.body.total + withoutMobile.body.total).toBe(300);
      expect(withMobile.body.total).toBe(200);
    });

    it('filters dates with GTE/GT/LT/LTE on epoch-ms values and sorts', async () => {
      const all = em.store.all('invoices').filter((i) => !i.archived);
      const sorted = all.map((i) => Date.parse(i.updatedAt)).sort((a, b) => a - b);
      const pivot = sorted[200] ?? 0;
      const gte = await search('invoices', {
        filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(pivot) }] }],
        sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
        limit: 200,
      });
      expect(gte.body.total).toBe(sorted.filter((t) => t >= pivot).length);
      const times = gte.body.results.map((r: { updatedAt: string }) => Date.parse(r.updatedAt));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      const gt = await search('invoices', { filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GT', value: String(pivot) }] }] });
      const lt = await search('invoices', { filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'LT', value: String(pivot) }] }] });
      const lte = await search('invoices', {
        filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'LTE', value: new Date(pivot).toISOString() }] }],
      });
      expect(gt.body.total + lte.body.total).toBe(all.length);
      expect(lt.body.total + gte.body.total).toBe(all.length);
      // Two groups are OR-ed.
      const either = await search('invoices', {
        filterGroups: [
          { filters: [{ propertyName: 'hs_invoice_status', operator: 'EQ', value: 'draft' }] },
          { filters: [{ propertyName: 'hs_invoice_status', operator: 'EQ', value: 'voided' }] },
        ],
        limit: 0,
      });
      const expected = all.filter((i) => ['draft', 'voided'].includes(i.properties.hs_invoice_status ?? '')).length;
      expect(either.body.total).toBe(expected);
    });

    it('filters invoices and orders by associated contact', async () => {
      for (const type of ['invoices', 'orders'] as const) {
        const first = em.store.all(type)[0];
        if (!first) throw new Error('seed');
        const contactId = em.store.associated(type, first.id, 'contacts')[0] ?? '';
        const res = await search(type, {
          filterGroups: [{ filters: [{ propertyName: 'associations.contact', operator: 'EQ', value: contactId }] }],
          limit: 100,
        });
        expect(res.status).toBe(200);
        const expected = em.store.associated('contacts', contactId, type).sort();
        expect(res.body.results.map((r: { id: string }) => r.id).sort()).toEqual(expected);
        expect(res.body.total).toBe(expected.length);
      }
    });

    it('pages with after offsets', async () => {
      const seen = new Set<string>();
      let after = '0';
      for (;;) {
        const res = await search('orders', { filterGroups: [], limit: 40, after });
        for (const r of res.body.results) seen.add(r.id);
        if (!res.body.paging) break;
        after = res.body.paging.next.after;
      }
      expect(seen.size).toBe(150);
    });

    it('allows 5 filter groups, 10 filters per group and 25 filters in total, and refuses more (changelog 2024-08-26)', async () => {
      const filters = (n: number) => Array.from({ length: n }, () => ({ propertyName: 'email', operator: 'HAS_PROPERTY' }));
      // Accepted: 10 in one group (the old limit was 6), and 10 + 10 + 5 = 25 over three groups.
      expect((await search('contacts', { filterGroups: [{ filters: filters(10) }] })).status).toBe(200);
      expect((await search('contacts', { filterGroups: [{ filters: filters(10) }, { filters: filters(10) }, { filters: filters(5) }] })).status).toBe(200);
      expect((await search('contacts', { filterGroups: Array.from({ length: 5 }, () => ({ filters: filters(5) })) })).status).toBe(200);
      const refused = [
        [{ filters: filters(11) }],
        [{ filters: filters(10) }, { filters: filters(10) }, { filters: filters(6) }],
        Array.from({ length: 6 }, () => ({ filters: filters(1) })),
      ];
      for (const filterGroups of refused) {
        const res = await search('contacts', { filterGroups });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', errors: [{ in: 'filterGroups' }] });
        expect(spec.contacts.problems('Error', res.body)).toEqual([]);
      }
    });

    it("enforces HubSpot's search limits", async () => {
      expect((await search('contacts', { limit: 201 })).status).toBe(400);
      const tooManyGroups = Array.from({ length: 6 }, () => ({ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }));
      expect((await search('contacts', { filterGroups: tooManyGroups })).status).toBe(400);
      const tooManyFilters = [{ filters: Array.from({ length: 11 }, () => ({ propertyName: 'email', operator: 'HAS_PROPERTY' })) }];
      expect((await search('contacts', { filterGroups: tooManyFilters })).status).toBe(400);
      expect((await search('contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] })).status).toBe(400);
      expect((await search('contacts', { after: '9950', limit: 100 })).status).toBe(400);
      const twoSorts = await search('contacts', { sorts: ['email', 'createdate'] });
      expect(twoSorts.status).toBe(400);
      expect(spec.contacts.problems('Error', twoSorts.body)).toEqual([]);
    });

    it('refuses a sort on a property the object type does not have: 400 VALIDATION_ERROR naming it, either sort form', async () => {
      for (const sorts of [[{ propertyName: 'no_such_property', direction: 'DESCENDING' }], ['-no_such_property'], ['no_such_property']]) {
        const res = await search('contacts', { sorts, limit: 5 });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
        expect(res.body.message).toContain('no_such_property');
        expect(spec.contacts.problems('Error', res.body)).toEqual([]);
      }
      // A contact property is not an invoice one: the check is per object type.
      expect((await search('invoices', { sorts: ['lastmodifieddate'] })).status).toBe(400);
      expect((await search('invoices', { sorts: ['hs_lastmodifieddate'] })).status).toBe(200);
      expect((await search('contacts', { sorts: ['-lastmodifieddate'] })).status).toBe(200);
    });

    it('sees store mutations (updatedSince after an update)', async () => {
      const local = await startEmulator({ credentials: [TOKEN], scale: { contacts: 10, invoices: 0, orders: 0 } });
      try {
        const target = local.store.all('contacts')[4];
        if (!target) throw new Error('seed');
        local.store.update('contacts', target.id, { jobtitle: 'CFO' }, '2027-01-01T00:00:00.000Z');
        const res = await call(local, 'POST', '/crm/v3/objects/contacts/search', {
          filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(Date.UTC(2027, 0, 1)) }] }],
          properties: ['jobtitle'],
        });
        expect(res.body.results).toHaveLength(1);
        expect(res.body.results[0]).toMatchObject({
          id: target.id,
          updatedAt: '2027-01-01T00:00:00.000Z',
          properties: { jobtitle: 'CFO', lastmodifieddate: '2027-01-01T00:00:00.000Z' },
        });
      } finally {
        await local.stop();
      }
    });
  });

  describe('v4 associations batch read', () => {
    it('answers from/to with association types, and 207 for records without associations', async () => {
      const inv = em.store.all('invoices')[0];
      if (!inv) throw new Error('seed');
      const res = await call(em, 'POST', '/crm/v4/associations/invoices/line_items/batch/read', { inputs: [{ id: inv.id }, { id: '5' }] });
      expect(res.status).toBe(207);
      expect(res.body.status).toBe('COMPLETE');
      expect(res.body.results).toEqual([
        {
          from: { id: inv.id },
          to: em.store.associated('invoices', inv.id, 'line_items').map((id) => ({
            toObjectId: Number(id),
            associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 409, label: null }],
          })),
        },
      ]);
      expect(res.body.numErrors).toBe(1);
      expect(res.body.errors[0]).toMatchObject({ status: 'error', context: { fromObjectId: ['5'] } });
      const ok = await call(em, 'POST', '/crm/v4/associations/invoice/contact/batch/read', { inputs: [{ id: inv.id }] });
      expect(ok.status).toBe(200);
      expect(ok.body.results[0].to[0].associationTypes[0].typeId).toBe(177);
    });

    it('rejects more than 1000 inputs', async () => {
      const res = await call(em, 'POST', '/crm/v4/associations/invoices/contacts/batch/read', {
        inputs: Array.from({ length: 1001 }, (_, i) => ({ id: String(i + 1) })),
      });
      expect(res.status).toBe(400);
      expect(res.body.category).toBe('VALIDATION_ERROR');
    });
  });

  describe('auth, counting and faults', () => {
    it('answers 401 INVALID_AUTHENTICATION without or with a wrong token', async () => {
      for (const token of [null, 'wrong-token']) {
        const res = await call(em, 'GET', '/crm/v3/objects/contacts', undefined, token);
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
        expect(spec.contacts.problems('Error', res.body)).toEqual([]);
      }
    });

    it('counts requests per operation label', async () => {
      em.resetRequests();
      await call(em, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '1001' }], properties: [], propertiesWithHistory: [] });
      await call(em, 'GET', '/crm/v3/objects/invoices?limit=1');
      await call(em, 'POST', '/crm/v3/objects/orders/search', {});
      await call(em, 'GET', '/crm/v3/objects/contacts/1001');
      await call(em, 'POST', '/crm/v4/associations/orders/line_items/batch/read', { inputs: [] });
      expect(em.requests().map((r) => r.operation)).toEqual([
        'contacts.batchRead',
        'invoices.list',
        'orders.search',
        'contacts.get',
        'associations.orders.line_items.batchRead',
      ]);
      expect(em.count('contacts.batchRead')).toBe(1);
    });

    it('injects faults with HubSpot error bodies', async () => {
      em.injectFault({ kind: 'status', status: 503, match: 'contacts.list', times: 1 });
      const res = await call(em, 'GET', '/crm/v3/objects/contacts');
      expect(res.status).toBe(503);
      expect(spec.contacts.problems('Error', res.body)).toEqual([]);
      expect((await call(em, 'GET', '/crm/v3/objects/contacts')).status).toBe(200);
      em.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 2, times: 1 });
      const limited = await call(em, 'GET', '/crm/v3/objects/contacts');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('2');
      expect(limited.body).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
    });
  });
});

describe('HubSpot emulator rate limits', () => {
  const start = (extra: Partial<HubSpotEmulatorOptions>) =>
    startEmulator({ credentials: ['t1', 't2'], scale: { contacts: 3, invoices: 1, orders: 1 }, ...extra });

  it('answers 429 RATE_LIMIT with rate-limit headers once a token used its window, per token', async () => {
    const em = await start({ rateLimit: { max: 3, intervalMs: 60_000 }, dailyLimit: 1000 });
    try {
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const ok = await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't1');
        expect(ok.status).toBe(200);
        remaining.push(ok.headers.get('x-hubspot-ratelimit-remaining') ?? '');
        expect(ok.headers.get('x-hubspot-ratelimit-max')).toBe('3');
        expect(ok.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('60000');
        expect(ok.headers.get('x-hubspot-ratelimit-daily')).toBe('1000');
      }
      expect(remaining).toEqual(['2', '1', '0']);
      const limited = await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't1');
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({
        status: 'error',
        errorType: 'RATE_LIMIT',
        policyName: 'TEN_SECONDLY_ROLLING',
        message: 'You have reached your ten_secondly_rolling limit.',
      });
      expect(limited.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(limited.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('997');
      // Another token has its own window.
      expect((await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't2')).status).toBe(200);
    } finally {
      await em.stop();
    }
  });

  it('limits search separately (5/s by default, configurable) and without headers', async () => {
    const em = await start({ rateLimit: { max: 1, intervalMs: 60_000 }, searchRateLimit: { max: 2, intervalMs: 60_000 } });
    try {
      expect((await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't1')).status).toBe(200);
      // Search is exempt from the burst limit the list call just used up ...
      expect((await call(em, 'POST', '/crm/v3/objects/contacts/search', {}, 't1')).status).toBe(200);
      expect((await call(em, 'POST', '/crm/v3/objects/contacts/search', {}, 't1')).status).toBe(200);
      // ... but has its own.
      const limited = await call(em, 'POST', '/crm/v3/objects/contacts/search', {}, 't1');
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
      for (const h of rateHeaderNames) expect(limited.headers.get(h)).toBeNull();
    } finally {
      await em.stop();
    }
  });

  it('gives OAuth-installed apps 110 per 10 s per installing account, no daily limit or headers, not reset by a refresh', async () => {
    const apps = ['app-a', 'app-b'].map((clientId) => ({ clientId, clientSecret: `${clientId}-secret`, redirectUris: ['http://127.0.0.1:9/cb'] }));
    const em = await start({ dailyLimit: 5, oauth: { clients: apps } });
    /** Installs an app (authorization code flow on the 2026-03 endpoint): its access and refresh tokens. */
    const install = async (app: (typeof apps)[number]) => {
      const authorize = await fetch(
        `${em.url}/oauth/authorize?${new URLSearchParams({ client_id: app.clientId, redirect_uri: 'http://127.0.0.1:9/cb', scope: 'crm.objects.contacts.read' })}`,
        { redirect: 'manual' },
      );
      const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
      return tokenCall(em, {
        grant_type: 'authorization_code',
        client_id: app.clientId,
        client_secret: app.clientSecret,
        redirect_uri: 'http://127.0.0.1:9/cb',
        code,
      });
    };
    try {
      const a = await install(apps[0]!);
      for (let i = 0; i < 110; i++) {
        const ok = await call(em, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, a.access_token);
        expect(ok.status, `request ${i + 1}`).toBe(200);
        if (i === 0) {
          expect(ok.headers.get('x-hubspot-ratelimit-max')).toBe('110');
          expect(ok.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
          expect(ok.headers.get('x-hubspot-ratelimit-remaining')).toBe('109');
          // No daily limit for OAuth apps, so no daily headers (the private-app daily cap here is 5).
          expect(ok.headers.get('x-hubspot-ratelimit-daily')).toBeNull();
          expect(ok.headers.get('x-hubspot-ratelimit-daily-remaining')).toBeNull();
        }
      }
      const limited = await call(em, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, a.access_token);
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
      // The window is the account's, not the token's: a refreshed token is still limited.
      const refreshed = await tokenCall(em, {
        grant_type: 'refresh_token',
        client_id: apps[0]!.clientId,
        client_secret: apps[0]!.clientSecret,
        refresh_token: a.refresh_token,
      });
      expect(refreshed.access_token).not.toBe(a.access_token);
      expect((await call(em, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, refreshed.access_token)).status).toBe(429);
      // Another app installed in the same account has its own window; a private-app token keeps 190/10 s + daily.
      const b = await install(apps[1]!);
      expect((await call(em, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, b.access_token)).status).toBe(200);
      const privateApp = await call(em, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, 't1');
      expect(privateApp.headers.get('x-hubspot-ratelimit-max')).toBe('190');
      expect(privateApp.headers.get('x-hubspot-ratelimit-daily')).toBe('5');
    } finally {
      await em.stop();
    }
  });

  it('maps rateLimitPerSecond to a one-second window and enforces the daily limit', async () => {
    const em = await start({ rateLimitPerSecond: 50, dailyLimit: 2 });
    try {
      const ok = await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't1');
      expect(ok.headers.get('x-hubspot-ratelimit-max')).toBe('50');
      expect(ok.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('1000');
      expect((await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't1')).status).toBe(200);
      const daily = await call(em, 'GET', '/crm/v3/objects/contacts', undefined, 't1');
      expect(daily.status).toBe(429);
      expect(daily.body).toMatchObject({ policyName: 'DAILY' });
    } finally {
      await em.stop();
    }
  });
});
