// The cost model prices a root list's gateway-side sort (docs/lists.md): a connection that cannot
// serve the requested order is read whole, up to listSortFallbackMax records, whatever `first`
// is, so its share of the estimate is the pages that read one record past that bound; a connection
// that serves the order, or whose records never carry the order's timestamp (read in its own
// order), costs `first` over its page size as before.
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { stripe } from '../../connectors/stripe/index.ts';
import { xero } from '../../connectors/xero/index.ts';
import { hubspot } from '../../connectors/hubspot/index.ts';
import type { Connector } from '../../connectors/sdk/types.ts';
import type { EntityType } from '../../connectors/sdk/models.ts';
import { entityCallCost, estimateUpstreamCalls } from './cost.ts';

const limits = { maxPageSize: 100, defaultPageSize: 20, listSortFallbackMax: 500 };
const estimate = (connectors: Connector[], query: string, variables: Record<string, unknown> = {}, l: typeof limits = limits) =>
  estimateUpstreamCalls(parse(query), null, variables, connectors, l).calls;
const LIST = 'query ($o: ListOrder, $f: OrderFilter) { orders(first: 20, orderBy: $o, filter: $f) { nodes { number } } }';
const CONTACTS = 'query ($o: ListOrder) { contacts(first: 20, orderBy: $o) { nodes { name } } }';
const pages = (c: Connector, records: number, entity: EntityType = 'Order') =>
  Math.ceil(records / Math.min(c.manifest.maxPageSize, limits.maxPageSize)) * entityCallCost(c, 'listPage', entity);

describe('cost of a gateway-sorted list', () => {
  it('Stripe orders oldest first (it lists newest first only): the pages that read up to listSortFallbackMax + 1 records', () => {
    expect(estimate([stripe], LIST, { o: { field: 'CREATED_AT', direction: 'DESC' } })).toBe(pages(stripe, 20));
    expect(estimate([stripe], LIST, { o: { field: 'CREATED_AT', direction: 'ASC' } })).toBe(pages(stripe, 501));
    // The bound is the tenant's configured one.
    expect(estimate([stripe], LIST, { o: { field: 'CREATED_AT', direction: 'ASC' } }, { ...limits, listSortFallbackMax: 1000 })).toBe(pages(stripe, 1001));
  });

  it('an order served only without updatedSince is priced as a sort with it (Stripe: the event feed has no order)', () => {
    const o = { field: 'CREATED_AT', direction: 'DESC' };
    expect(estimate([stripe], LIST, { o, f: { updatedSince: '2026-01-01T00:00:00Z' } })).toBe(pages(stripe, 501));
  });

  it('a connection that serves the order, or never has its timestamp (Xero by CREATED_AT: its own order), is not', () => {
    for (const direction of ['ASC', 'DESC'])
      for (const field of ['CREATED_AT', 'UPDATED_AT']) expect(estimate([hubspot], CONTACTS, { o: { field, direction } })).toBe(pages(hubspot, 20, 'Contact'));
    expect(estimate([xero], CONTACTS, { o: { field: 'CREATED_AT', direction: 'ASC' } })).toBe(pages(xero, 20, 'Contact'));
    // Without orderBy: the default (CREATED_AT DESC), which Stripe serves.
    expect(estimate([stripe, hubspot], CONTACTS)).toBe(pages(stripe, 20, 'Contact') + pages(hubspot, 20, 'Contact'));
    expect(estimate([stripe, hubspot], CONTACTS, { o: { field: 'UPDATED_AT', direction: 'ASC' } })).toBe(
      pages(stripe, 501, 'Contact') + pages(hubspot, 20, 'Contact'),
    );
  });
});
