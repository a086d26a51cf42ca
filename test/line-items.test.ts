// Line items are read only when a query selects them: the HubSpot connector defers them (they cost
// association and batch reads of their own), Stripe embeds them for free. Counted with the
// emulators' request counters, cache off (every query cold), so each number is what a query costs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.ts';

const CACHE_OFF = { Contact: 0, Invoice: 0, Order: 0, listPage: 0 };
const LINE_ITEM_FIELDS = 'lineItems { remoteId description quantity unitPrice { amount currency } amount { amount currency } }';

type Node = {
  contact?: { name: string | null } | null;
  customer?: { name: string | null } | null;
  lineItems?: Array<{ remoteId: string; amount: { currency: string } | null }>;
};

describe('line items only when selected (cache off)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ config: { cacheTtlSeconds: CACHE_OFF } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function hubspotCalls(query: string): Promise<{ nodes: Node[]; operations: string[] }> {
    stack.hubspot.resetRequests();
    const res = await stack.query<Record<string, { nodes: Node[] }>>(query);
    expect(res.errors).toBeUndefined();
    const nodes = Object.values(res.data ?? {})[0]?.nodes ?? [];
    expect(nodes).toHaveLength(100);
    const operations = stack.hubspot
      .requests()
      .map((r) => r.operation)
      .sort();
    if (process.env.PRINT_CALLS) console.log(query, operations);
    return { nodes, operations };
  }

  // Lists are sorted (default newest created first), which HubSpot serves through CRM search: its
  // answers carry no associations, so contact and line item links take one association read each.
  it('100 HubSpot invoices with their contacts cost 3 calls: the search, its contact links and one contacts batch read', async () => {
    const { nodes, operations } = await hubspotCalls('{ invoices(first: 100, filter: { provider: "hubspot" }) { nodes { number contact { name } } } }');
    expect(nodes.every((n) => n.contact?.name)).toBe(true);
    expect(operations).toEqual(['associations.invoices.contacts.batchRead', 'contacts.batchRead', 'invoices.search']);
  });

  it('100 HubSpot orders with their customers cost 3 calls', async () => {
    const { nodes, operations } = await hubspotCalls('{ orders(first: 100, filter: { provider: "hubspot" }) { nodes { number customer { name } } } }');
    expect(nodes.some((n) => n.customer?.name)).toBe(true);
    expect(operations).toEqual(['associations.orders.contacts.batchRead', 'contacts.batchRead', 'orders.search']);
  });

  it('selecting lineItems adds one association read and the line item batch reads', async () => {
    const { nodes, operations } = await hubspotCalls(
      `{ invoices(first: 100, filter: { provider: "hubspot" }) { nodes { number contact { name } ${LINE_ITEM_FIELDS} } } }`,
    );
    const distinct = new Set(nodes.flatMap((n) => n.lineItems?.map((li) => li.remoteId) ?? []));
    expect(nodes.every((n) => (n.lineItems?.length ?? 0) > 0)).toBe(true);
    const batches = Math.ceil(distinct.size / 100);
    expect(operations).toEqual([
      'associations.invoices.contacts.batchRead',
      'associations.invoices.line_items.batchRead',
      'contacts.batchRead',
      'invoices.search',
      ...Array<string>(batches).fill('line_items.batchRead'),
    ]);
    expect(operations).toHaveLength(4 + batches);
  });

  it('orders with lineItems: the search, its line item links and the line item batch reads', async () => {
    const { nodes, operations } = await hubspotCalls(`{ orders(first: 100, filter: { provider: "hubspot" }) { nodes { number ${LINE_ITEM_FIELDS} } } }`);
    const distinct = new Set(nodes.flatMap((n) => n.lineItems?.map((li) => li.remoteId) ?? []));
    expect(nodes.every((n) => (n.lineItems?.length ?? 0) > 0)).toBe(true);
    expect(operations).toEqual([
      'associations.orders.contacts.batchRead',
      'associations.orders.line_items.batchRead',
      ...Array<string>(Math.ceil(distinct.size / 100)).fill('line_items.batchRead'),
      'orders.search',
    ]);
  });

  it('a filtered list (search) reads line item links through one association read, only when selected', async () => {
    const since = '2000-01-01T00:00:00Z';
    const without = await hubspotCalls(
      `{ invoices(first: 100, filter: { provider: "hubspot", updatedSince: "${since}" }) { nodes { number contact { name } } } }`,
    );
    expect(without.operations).toEqual(['associations.invoices.contacts.batchRead', 'contacts.batchRead', 'invoices.search']);
    const withLines = await hubspotCalls(
      `{ invoices(first: 100, filter: { provider: "hubspot", updatedSince: "${since}" }) { nodes { number ${LINE_ITEM_FIELDS} } } }`,
    );
    const distinct = new Set(withLines.nodes.flatMap((n) => n.lineItems?.map((li) => li.remoteId) ?? []));
    expect(withLines.operations).toEqual([
      'associations.invoices.contacts.batchRead',
      'associations.invoices.line_items.batchRead',
      'invoices.search',
      ...Array<string>(Math.ceil(distinct.size / 100)).fill('line_items.batchRead'),
    ]);
  });

  it('Stripe keeps its embedded line items: selecting them costs no extra call', async () => {
    stack.stripe.resetRequests();
    const res = await stack.query<{ invoices: { nodes: Node[] } }>(
      `{ invoices(first: 100, filter: { provider: "stripe" }) { nodes { number ${LINE_ITEM_FIELDS} } } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.invoices.nodes.every((n) => (n.lineItems?.length ?? 0) > 0)).toBe(true);
    expect(stack.stripe.requests().map((r) => r.operation)).toEqual(['invoices.list']);
  });
});
