// The cost model in provider calls (issue 13): the nested first:100 query is refused
// before it runs, with the estimate and the limit; a normal query's estimate is at least the calls
// it really makes (counted at the upstream client, and equal to what the emulators answered);
// Contact.invoices for a page of HubSpot contacts is one association read plus batch reads instead
// of one call per contact (numbers before/after measured against the same emulator).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../connectors/sdk/types.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { graphql, histogramCount, startStack, type Stack } from './helpers.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(() => stack?.stop());

/** Requests observed by the actual-calls histogram. */
function observations(): Promise<number> {
  return histogramCount(stack.gateway, 'switchboard_graphql_upstream_calls');
}

const totalEmulatorRequests = () => [...stack.emulators.values()].reduce((sum, e) => sum + e.count(), 0);
const resetEmulators = () => stack.emulators.forEach((e) => e.resetRequests());

async function withCost(url: string, key: string, query: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-switchboard-cost': '1' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: unknown[]; extensions?: { cost?: Record<string, number> } } };
}

describe('query cost in provider calls', () => {
  it("refuses the issue's nested first:100 query before any provider call, stating estimate and limit", async () => {
    resetEmulators();
    const query = `{ contacts(first: 100) { nodes { name
      invoices(first: 100) { nodes { number lineItems { sku } contact { name } } }
      orders(first: 100) { nodes { number lineItems { sku } } } } } }`;
    const res = await graphql<unknown>(stack.gateway.url, stack.apiKey, query);
    expect(res.status).toBe(400);
    const error = res.errors?.[0];
    expect(error?.extensions?.code).toBe('QUERY_TOO_COSTLY');
    const estimate = error?.extensions?.estimatedCalls as number;
    expect(estimate).toBeGreaterThan(200);
    expect(error?.extensions?.maxUpstreamCalls).toBe(200);
    expect(error?.message).toContain(`up to ${estimate} calls`);
    expect(error?.message).toContain('the limit is 200');
    expect(totalEmulatorRequests()).toBe(0);
  });

  it("a normal query's estimate is at least its actual calls; actual = what the providers answered; opt-in report and metric", async () => {
    resetEmulators();
    const query = '{ invoices(first: 10) { nodes { number contact { name } } } orders(first: 5) { nodes { number customer { name } lineItems { sku } } } }';
    const before = await observations();
    const { status, body } = await withCost(stack.gateway.url, stack.apiKey, query);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const cost = body.extensions?.cost as { estimatedCalls: number; actualCalls: number; maxUpstreamCalls: number };
    const answered = totalEmulatorRequests();
    // eslint-disable-next-line no-console
    console.log(`normal query: estimated ${cost.estimatedCalls} calls, actual ${cost.actualCalls}, emulators answered ${answered}`);
    expect(cost.actualCalls).toBeGreaterThan(0);
    expect(cost.actualCalls).toBe(answered);
    expect(cost.estimatedCalls).toBeGreaterThanOrEqual(cost.actualCalls);
    expect(cost.maxUpstreamCalls).toBe(200);
    expect(await observations()).toBe(before + 1);
    // Without the opt-in, no report.
    const plain = await graphql<unknown>(stack.gateway.url, stack.apiKey, query);
    expect(JSON.stringify(plain)).not.toContain('actualCalls');
  });

  it("a tenant's own maxUpstreamCalls applies", async () => {
    const config = stack.gateway.services.config;
    const acme = config.tenants.find((t) => t.id === 'acme')!;
    const query = '{ contacts(first: 20, filter: { provider: "hubspot" }) { nodes { invoices(first: 5) { nodes { number } } } } }';
    const open = await graphql<unknown>(stack.gateway.url, stack.apiKey, query);
    expect(open.errors ?? []).toEqual([]);
    expect(open.status).toBe(200);
    // A fresh config object: per-tenant overrides are read once per config.
    // The query's estimate is 4 (a contacts search page; one association read and one invoice batch read with its links).
    const tight = { ...config, tenants: config.tenants.map((t) => (t === acme ? { ...t, limits: { maxUpstreamCalls: 3 } } : t)) };
    const gateway = await createGateway({ ...tight, port: 0 });
    try {
      const refused = await graphql<unknown>(gateway.url, stack.apiKey, query);
      expect(refused.status).toBe(400);
      expect(refused.errors?.[0]?.message).toContain('the limit is 3');
    } finally {
      await gateway.stop();
    }
  }, 60_000);
});

describe('per-contact lists batch where the provider allows it (HubSpot listForContacts)', () => {
  // 30 contacts: one list per contact stays inside HubSpot's 190 per 10 s for the "before" run.
  const query = `{ contacts(first: 30, filter: { provider: "hubspot" }) { nodes { source { remoteId }
    invoices(first: 10) { nodes { number source { remoteId } } } } } }`;

  async function run(gateway: Gateway) {
    stack.hubspot.reset(); // request log and rate windows
    const res = await withCost(gateway.url, stack.apiKey, query);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body.errors ?? []).slice(0, 600)).toBe('[]');
    return { calls: stack.hubspot.count(), data: res.body.data, cost: res.body.extensions?.cost as { estimatedCalls: number; actualCalls: number } };
  }

  it('reads the invoices of 30 contacts in a few calls, with the same answer as one list per contact', async () => {
    // Room for the unbatched read: this test measures it.
    const config = { ...stack.gateway.services.config, limits: { ...stack.gateway.services.config.limits, maxUpstreamCalls: 10_000 } };
    // A separate key prefix and cache for each gateway: both read from the provider, cold.
    const after = await createGateway({ ...config, keyPrefix: `${config.keyPrefix}:batched`, port: 0 });
    const hubspot = stack.gateway.services.connectors.get('hubspot') as Connector;
    const { listForContacts: _batched, ...invoiceLoader } = hubspot.loaders.Invoice!;
    // Its list with a contact filter still reads the links, then the records with theirs: 3 calls a page, declared as such.
    const costs = { ...hubspot.manifest.costs, listPage: { Contact: 1, Invoice: 3, Order: 3 } };
    const unbatched: Connector = { ...hubspot, manifest: { ...hubspot.manifest, costs }, loaders: { ...hubspot.loaders, Invoice: invoiceLoader } };
    const connectors = new Map(stack.gateway.services.connectors);
    connectors.set('hubspot', unbatched);
    const before = await createGateway({ ...config, keyPrefix: `${config.keyPrefix}:unbatched`, port: 0 }, { connectors });
    try {
      const old = await run(before);
      const now = await run(after);
      // eslint-disable-next-line no-console
      console.log(`contacts(first:30){ invoices(first:10) } on HubSpot: ${old.calls} calls before, ${now.calls} after (estimate ${now.cost.estimatedCalls})`);
      expect(now.data).toEqual(old.data);
      expect(old.calls).toBeGreaterThan(30);
      expect(now.calls).toBeLessThanOrEqual(5);
      expect(now.cost.actualCalls).toBe(now.calls);
      expect(now.cost.estimatedCalls).toBeGreaterThanOrEqual(now.calls);
      expect(old.cost.estimatedCalls).toBeGreaterThanOrEqual(old.calls);
    } finally {
      await Promise.all([before.stop(), after.stop()]);
    }
  }, 120_000);
});
