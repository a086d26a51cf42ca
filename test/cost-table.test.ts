// Estimate vs actual provider calls per connector, as the gateway reports them in `extensions.cost`
// (issue 13: connectors declare realistic costs, and the estimate counts only the connections a
// query can reach, so it stays within ~2x of the actual): root lists with linked records and line
// items, per-contact lists of a page of contacts, and one contact's list read by id, first page and
// the page after it (HubSpot reads that one alone: links, records and their links, 3 calls).
// Caches off: every call is made. Every query names its provider, so the actual count is the
// emulators' total and equals the gateway's own count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/config.ts';
import { startStack, type Stack } from './helpers.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 },
      limits: { ...DEFAULT_LIMITS, maxUpstreamCalls: 10_000 },
    },
  });
}, 60_000);
afterAll(() => stack?.stop());

type Cost = { estimatedCalls: number; actualCalls: number; maxUpstreamCalls: number };
type Body = { data?: Record<string, unknown>; errors?: unknown[]; extensions?: { cost?: Cost } };

async function withCost(query: string): Promise<{ body: Body; answered: number }> {
  stack.emulators.forEach((e) => e.resetRequests());
  const res = await fetch(stack.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-switchboard-cost': '1' },
    body: JSON.stringify({ query }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Body;
  return { body, answered: [...stack.emulators.values()].reduce((sum, e) => sum + e.count(), 0) };
}

/** A contact of the provider with more than one record in `list` (invoices or orders), by global id, and its first page's cursor. */
async function contactWithSeveral(provider: string, list: 'invoices' | 'orders'): Promise<{ id: string; cursor: string } | null> {
  const { body } = await withCost(
    `{ contacts(first: 50, filter: { provider: "${provider}" }) { nodes { id ${list}(first: 1) { pageInfo { hasNextPage endCursor } } } } }`,
  );
  type Node = { id: string } & Record<string, { pageInfo: { hasNextPage: boolean; endCursor: string | null } }>;
  const nodes = (body.data?.['contacts'] as { nodes: Node[] } | undefined)?.nodes ?? [];
  const found = nodes.find((n) => n[list]?.pageInfo.hasNextPage && n[list]?.pageInfo.endCursor);
  return found ? { id: found.id, cursor: found[list]!.pageInfo.endCursor! } : null;
}

describe('cost estimate vs actual, per connector (extensions.cost)', () => {
  it('every connector: actual <= estimate <= 2.5 x actual + 1, cold caches (the table is printed)', async () => {
    const rows: string[] = [];
    const check = async (label: string, provider: string, query: string) => {
      const { body, answered } = await withCost(query);
      expect(body.errors, `${provider}: ${query}`).toBeUndefined();
      const cost = body.extensions?.cost as Cost;
      rows.push(`| ${label} | ${provider} | ${cost.estimatedCalls} | ${cost.actualCalls} |`);
      expect(cost.actualCalls, `${provider}: ${query}`).toBe(answered);
      // An upper bound, and a realistic one: within about 2x of what the provider really answered.
      expect(cost.actualCalls, `${provider}: ${query}`).toBeLessThanOrEqual(cost.estimatedCalls);
      expect(cost.estimatedCalls, `${provider}: ${query}`).toBeLessThanOrEqual(2.5 * cost.actualCalls + 1);
    };
    for (const [provider] of stack.emulators) {
      const connector = stack.gateway.services.connectors.get(provider);
      if (!connector) continue;
      const serves = (e: 'Invoice' | 'Order') => connector.manifest.entities.includes(e);
      const f = `filter: { provider: "${provider}" }`;
      const lists = [
        serves('Invoice') ? `invoices(first: 10, ${f}) { nodes { number contact { name } } }` : '',
        serves('Order') ? `orders(first: 5, ${f}) { nodes { number customer { name } lineItems { sku } } }` : '',
      ].join(' ');
      await check('invoices(10)+contact, orders(5)+customer+lineItems', provider, `{ ${lists} }`);
      const perContact = serves('Invoice') ? 'invoices' : 'orders';
      await check(`contacts(30) { ${perContact}(10) }`, provider, `{ contacts(first: 30, ${f}) { nodes { id ${perContact}(first: 10) { nodes { id } } } } }`);
      const one = await contactWithSeveral(provider, perContact);
      if (!one) continue;
      await check(`contact(id) { ${perContact}(1) }`, provider, `{ contact(id: "${one.id}") { name ${perContact}(first: 1) { nodes { id } } } }`);
      await check(
        `contact(id) { ${perContact}(1, after) }`,
        provider,
        `{ contact(id: "${one.id}") { name ${perContact}(first: 1, after: "${one.cursor}") { nodes { id } } } }`,
      );
    }
    // eslint-disable-next-line no-console
    console.log(`| query | connector | estimated calls | actual calls |\n|---|---|---|---|\n${rows.join('\n')}`);
    expect(rows.length).toBeGreaterThanOrEqual(3 * stack.emulators.size);
  }, 120_000);
});
