// HubSpot's official Node SDK, pointed at the emulator, must read from it like from the real API.
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type HubSpotEmulatorHandle } from './emulator/index.ts';

const TOKEN = 'pat-na1-official-sdk';
let em: HubSpotEmulatorHandle;
let client: Client;

beforeAll(async () => {
  em = await startEmulator({ credentials: [TOKEN], scale: { contacts: 40, invoices: 25, orders: 10 }, searchRateLimit: null });
  client = new Client({ accessToken: TOKEN, basePath: em.url });
});
afterAll(async () => {
  await em?.stop();
});

describe('@hubspot/api-client against the emulator', () => {
  it('contacts basicApi.getPage pages with properties and cursors', async () => {
    const page = await client.crm.contacts.basicApi.getPage(15, undefined, ['email', 'phone']);
    expect(page.results).toHaveLength(15);
    expect(page.results[0]?.properties.email).toMatch(/@/);
    expect(page.results[0]?.createdAt).toBeInstanceOf(Date);
    const after = page.paging?.next?.after;
    expect(after).toBeTruthy();
    const next = await client.crm.contacts.basicApi.getPage(100, after);
    expect(next.results).toHaveLength(25);
    expect(next.paging).toBeUndefined();
    expect(em.count('contacts.list')).toBe(2);
  });

  it('contacts batchApi.read answers 200, and 207 with errors for missing ids', async () => {
    const ids = em.store
      .all('contacts')
      .slice(0, 3)
      .map((c) => c.id);
    const ok = await client.crm.contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: ['email', 'firstname'], propertiesWithHistory: [] });
    expect(ok.status).toBe('COMPLETE');
    expect(ok.results.map((r) => r.id).sort()).toEqual([...ids].sort());
    const partial = await client.crm.contacts.batchApi.read({ inputs: [{ id: ids[0]! }, { id: '424242' }], properties: ['email'], propertiesWithHistory: [] });
    expect(partial.results).toHaveLength(1);
    expect('errors' in partial && partial.errors?.[0]?.category).toBe('OBJECT_NOT_FOUND');
    expect('errors' in partial && partial.errors?.[0]?.context).toEqual({ ids: ['424242'] });
  });

  it('contacts searchApi.doSearch filters and reports the total', async () => {
    const target = em.store.all('contacts')[5]!;
    const res = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' as never, value: target.properties.email! }] }],
      sorts: [],
      properties: ['email'],
      limit: 10,
      after: '0',
    });
    expect(res.total).toBe(1);
    expect(res.results[0]?.id).toBe(target.id);
  });

  it('commerce invoices getPage returns associations', async () => {
    const page = await client.crm.commerce.invoices.basicApi.getPage(5, undefined, ['hs_amount_billed', 'hs_currency'], undefined, ['contacts', 'line_items']);
    expect(page.results).toHaveLength(5);
    const first = page.results[0]!;
    expect(first.properties.hs_currency).toMatch(/^[A-Z]{3}$/);
    expect(first.associations?.contacts?.results[0]?.type).toBe('invoice_to_contact');
    expect(first.associations?.['line items']?.results.length).toBeGreaterThanOrEqual(1);
  });

  it('associations v4 batchApi.getPage reads invoice → line item links', async () => {
    const inv = em.store.all('invoices')[0]!;
    const res = await client.crm.associations.v4.batchApi.getPage('invoices', 'line_items', { inputs: [{ id: inv.id }] });
    expect(res.results[0]?._from.id).toBe(inv.id);
    expect(res.results[0]?.to.map((t) => String(t.toObjectId))).toEqual(em.store.associated('invoices', inv.id, 'line_items'));
  });

  it("surfaces the emulator's 401 as an ApiException", async () => {
    const bad = new Client({ accessToken: 'nope', basePath: em.url });
    await expect(bad.crm.contacts.basicApi.getPage(1)).rejects.toMatchObject({ code: 401, body: { category: 'INVALID_AUTHENTICATION' } });
  });
});
