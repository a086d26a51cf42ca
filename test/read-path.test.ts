// The read path end to end: GraphQL over HTTP → DataLoader → cache (real Redis) → connectors →
// emulators, with the emulators' request counters proving how many upstream calls were made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../connectors/registry.ts';
import { encodeId } from '../src/ids.ts';
import { counterValue, hubspotContactIds, startStack, type Stack } from './helpers.ts';

const INVOICES_WITH_CONTACTS = /* GraphQL */ `
  query ($first: Int, $provider: String) {
    invoices(first: $first, filter: { provider: $provider }) {
      edges {
        node {
          id
          number
          total {
            amount
            currency
          }
          contact {
            id
            name
            emails {
              address
            }
          }
          source {
            provider
            cacheStatus
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

describe('read path', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('rejects requests without a valid tenant API key (401 UNAUTHENTICATED)', async () => {
    const none = await stack.query('{ contacts(first: 1) { nodes { id } } }', {}, '');
    expect(none.status).toBe(401);
    expect(none.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const wrong = await stack.query('{ contacts(first: 1) { nodes { id } } }', {}, 'not-a-key');
    expect(wrong.status).toBe(401);
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('250 HubSpot contact ids cost exactly 3 batch reads, in order, with per-key NOT_FOUND and duplicates fetched once', async () => {
    const remoteIds = await hubspotContactIds(stack, 250);
    expect(remoteIds).toHaveLength(250);
    const unknown = ['999999901', '999999902'];
    const ids = [...remoteIds, ...unknown, remoteIds[0] as string, remoteIds[17] as string].map((r) => encodeId('Contact', 'acme-hubspot', r));
    stack.hubspot.resetRequests();
    const res = await stack.query<{ nodes: Array<{ id: string; source: { remoteId: string } } | null> }>(
      'query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Contact { source { remoteId } } } }',
      { ids },
    );
    expect(res.status).toBe(200);
    expect(stack.hubspot.count('contacts.batchRead')).toBe(3);
    expect(stack.hubspot.count()).toBe(3);
    const nodes = res.data?.nodes ?? [];
    expect(nodes).toHaveLength(ids.length);
    nodes.forEach((n, i) => {
      if (i === 250 || i === 251) expect(n).toBeNull();
      else expect(n?.id).toBe(ids[i]);
    });
    const notFound = (res.errors ?? []).filter((e) => e.extensions?.code === 'UPSTREAM_NOT_FOUND');
    expect(notFound.map((e) => e.path)).toEqual([
      ['nodes', 250],
      ['nodes', 251],
    ]);
    expect(notFound[0]?.extensions).toMatchObject({ provider: 'hubspot', connectionId: 'acme-hubspot' });
  });

  it('nested contacts of 100 invoices are batched: ≤ ceil(distinct/100) HubSpot reads, Stripe contacts embedded', async () => {
    stack.hubspot.resetRequests();
    stack.stripe.resetRequests();
    const hs = await stack.query<{ invoices: { edges: Array<{ node: { contact: { id: string } | null } }> } }>(INVOICES_WITH_CONTACTS, {
      first: 100,
      provider: 'hubspot',
    });
    expect(hs.errors).toBeUndefined();
    const edges = hs.data?.invoices.edges ?? [];
    expect(edges).toHaveLength(100);
    const distinct = new Set(edges.map((e) => e.node.contact?.id).filter(Boolean));
    expect(distinct.size).toBeGreaterThan(1);
    expect(stack.hubspot.count('contacts.batchRead')).toBeLessThanOrEqual(Math.ceil(distinct.size / 100));
    // Naive resolution would be 1 + 100 calls; batched it is the sorted list (CRM search, which
    // carries no associations), one association read for the contact links and at most one
    // contacts batch read (contacts read by earlier tests may come from the cache). Line items are
    // not selected, so none are read.
    expect(stack.hubspot.count('invoices.search')).toBe(1);
    expect(stack.hubspot.count()).toBeLessThanOrEqual(3);

    const st = await stack.query<{ invoices: { edges: Array<{ node: { contact: { id: string } | null } }> } }>(INVOICES_WITH_CONTACTS, {
      first: 100,
      provider: 'stripe',
    });
    expect(st.errors).toBeUndefined();
    expect(st.data?.invoices.edges).toHaveLength(100);
    expect(st.data?.invoices.edges.every((e) => e.node.contact !== null)).toBe(true);
    expect(stack.stripe.count('customers.get')).toBe(0); // primed from expand[]=data.customer
    expect(stack.stripe.count()).toBeLessThanOrEqual(2);
  });

  it('serves a repeated query from the Redis cache with 0 upstream calls', async () => {
    const q = '{ contacts(first: 30, filter: { provider: "hubspot" }) { nodes { id name source { cacheStatus } } } }';
    const first = await stack.query<{ contacts: { nodes: Array<{ id: string; source: { cacheStatus: string } }> } }>(q);
    expect(first.errors).toBeUndefined();
    stack.hubspot.resetRequests();
    stack.stripe.resetRequests();
    const hitsBefore = await counterValue(stack.gateway, 'switchboard_cache_requests_total', { result: 'hit' });
    const second = await stack.query<{ contacts: { nodes: Array<{ id: string; source: { cacheStatus: string } }> } }>(q);
    expect(second.errors).toBeUndefined();
    expect(stack.hubspot.count() + stack.stripe.count()).toBe(0);
    expect(second.data?.contacts.nodes.map((n) => n.id)).toEqual(first.data?.contacts.nodes.map((n) => n.id));
    expect(second.data?.contacts.nodes.every((n) => n.source.cacheStatus === 'HIT')).toBe(true);
    expect(await counterValue(stack.gateway, 'switchboard_cache_requests_total', { result: 'hit' })).toBeGreaterThan(hitsBefore);
  });

  it('returns the opt-in raw record on a cache hit, read apart from the model', async () => {
    const q = '{ invoices(first: 5, filter: { provider: "stripe" }) { nodes { id raw source { cacheStatus } } } }';
    const cold = await stack.query<{ invoices: { nodes: Array<{ id: string; raw: { id: string; object: string }; source: { cacheStatus: string } }> } }>(q);
    expect(cold.errors).toBeUndefined();
    expect(cold.data?.invoices.nodes[0]?.raw.object).toBe('invoice');
    stack.stripe.resetRequests();
    const warm = await stack.query<typeof cold.data & object>(q);
    expect(stack.stripe.count()).toBe(0);
    expect(warm.data?.invoices.nodes.every((n) => n.source.cacheStatus === 'HIT')).toBe(true);
    expect(warm.data?.invoices.nodes.map((n) => n.raw)).toEqual(cold.data?.invoices.nodes.map((n) => n.raw));
  });

  it('caches deferred HubSpot line items with the record read they came with', async () => {
    type Page = { invoices: { nodes: Array<{ id: string; lineItems: Array<{ remoteId: string }>; source: { cacheStatus: string } }> } };
    const query = (first: number) =>
      `{ invoices(first: ${first}, filter: { provider: "hubspot" }) { nodes { id lineItems { remoteId } source { cacheStatus } } } }`;
    stack.hubspot.resetRequests();
    const cold = await stack.query<Page>(query(20));
    expect(cold.errors).toBeUndefined();
    // A sorted list is a CRM search, whose records carry no associations: one association read
    // for the page's line item links, then the line item batch reads.
    expect(stack.hubspot.count('associations.invoices.line_items.batchRead')).toBe(1);
    expect(stack.hubspot.count('line_items.batchRead')).toBeGreaterThan(0);

    stack.hubspot.resetRequests();
    const warm = await stack.query<Page>(query(20));
    expect(stack.hubspot.count()).toBe(0);
    expect(warm.data?.invoices.nodes.every((n) => n.source.cacheStatus === 'HIT')).toBe(true);
    expect(warm.data).toEqual({ invoices: { nodes: cold.data?.invoices.nodes.map((n) => ({ ...n, source: { cacheStatus: 'HIT' } })) } });

    // Another page size misses the page cache: the records are read again, and so are their line
    // items (a cached part counts only with the record read it came with).
    stack.hubspot.resetRequests();
    const reread = await stack.query<Page>(query(19));
    expect(stack.hubspot.count('invoices.search')).toBe(1);
    expect(stack.hubspot.count('line_items.batchRead')).toBeGreaterThan(0);
    expect(reread.data?.invoices.nodes.map((n) => n.lineItems)).toEqual(cold.data?.invoices.nodes.slice(0, 19).map((n) => n.lineItems));

    // By id, the record and its line items now both come from the cache.
    stack.hubspot.resetRequests();
    const one = await stack.query<{ invoice: { lineItems: Array<{ remoteId: string }> } }>('query ($id: ID!) { invoice(id: $id) { lineItems { remoteId } } }', {
      id: cold.data?.invoices.nodes[0]?.id,
    });
    expect(one.data?.invoice.lineItems).toEqual(cold.data?.invoices.nodes[0]?.lineItems);
    expect(stack.hubspot.count()).toBe(0);
  });

  it('paginates across both connections to the end without duplicates', async () => {
    const seen = new Set<string>();
    const providers = new Set<string>();
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res: Awaited<
        ReturnType<
          typeof stack.query<{
            orders: {
              edges: Array<{ cursor: string; node: { id: string; source: { provider: string } } }>;
              pageInfo: { hasNextPage: boolean; endCursor: string | null };
            };
          }>
        >
      > = await stack.query(
        'query ($after: String) { orders(first: 100, after: $after) { edges { cursor node { id source { provider } } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      expect(res.errors).toBeUndefined();
      for (const e of res.data?.orders.edges ?? []) {
        expect(seen.has(e.node.id)).toBe(false);
        seen.add(e.node.id);
        providers.add(e.node.source.provider);
      }
      if (!res.data?.orders.pageInfo.hasNextPage) break;
      after = res.data.orders.pageInfo.endCursor;
    }
    // Every registered connector that serves orders is in the test stack.
    expect(providers).toEqual(new Set(CONNECTORS.filter((c) => c.connector.manifest.entities.includes('Order')).map((c) => c.connector.manifest.id)));
    expect(seen.size).toBeGreaterThanOrEqual(300);
  });

  it('resumes from any edge cursor, not only the last', async () => {
    const q = 'query ($after: String) { contacts(first: 5, after: $after, filter: { provider: "stripe" }) { edges { cursor node { id } } } }';
    const page = await stack.query<{ contacts: { edges: Array<{ cursor: string; node: { id: string } }> } }>(q, { after: null });
    const edges = page.data?.contacts.edges ?? [];
    const fromMiddle = await stack.query<{ contacts: { edges: Array<{ node: { id: string } }> } }>(q, { after: edges[1]?.cursor });
    expect(fromMiddle.data?.contacts.edges.slice(0, 3).map((e) => e.node.id)).toEqual(edges.slice(2, 5).map((e) => e.node.id));
  });

  it('filters contacts by e-mail across providers (same person in both)', async () => {
    // Find an e-mail that exists in both emulators' data.
    const all = await stack.query<{ contacts: { nodes: Array<{ emails: Array<{ address: string }>; source: { provider: string } }> } }>(
      '{ contacts(first: 100, filter: { provider: "stripe" }) { nodes { emails { address } source { provider } } } }',
    );
    const stripeEmails = new Set((all.data?.contacts.nodes ?? []).flatMap((n) => n.emails.map((e) => e.address)));
    let shared: string | undefined;
    for (let after: string | null = null, i = 0; i < 4 && !shared; i++) {
      const hs: Awaited<
        ReturnType<typeof stack.query<{ contacts: { nodes: Array<{ emails: Array<{ address: string }> }>; pageInfo: { endCursor: string | null } } }>>
      > = await stack.query(
        'query ($after: String) { contacts(first: 100, after: $after, filter: { provider: "hubspot" }) { nodes { emails { address } } pageInfo { endCursor } } }',
        { after },
      );
      shared = (hs.data?.contacts.nodes ?? []).flatMap((n) => n.emails.map((e) => e.address)).find((a) => stripeEmails.has(a));
      after = hs.data?.contacts.pageInfo.endCursor ?? null;
    }
    expect(shared).toBeTruthy();
    const res = await stack.query<{ contacts: { nodes: Array<{ source: { provider: string } }> } }>(
      'query ($email: EmailAddress) { contacts(first: 10, filter: { email: $email }) { nodes { source { provider } } } }',
      { email: shared },
    );
    expect(res.errors).toBeUndefined();
    // The demo people are shared by several providers (Shopify's too): at least both of these.
    expect(res.data?.contacts.nodes.map((n) => n.source.provider)).toEqual(expect.arrayContaining(['hubspot', 'stripe']));
  });

  it('answers bad input with BAD_USER_INPUT and a precise message', async () => {
    const tooMany = await stack.query('{ contacts(first: 101) { nodes { id } } }');
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toMatch(/between 0 and 100/);
    const badCursor = await stack.query('{ contacts(first: 1, after: "nope") { nodes { id } } }');
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badId = await stack.query('{ node(id: "!!") { id } }');
    expect(badId.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknownProvider = await stack.query('{ contacts(first: 1, filter: { provider: "nosuch" }) { nodes { id } } }');
    expect(unknownProvider.errors?.[0]?.message).toMatch(/unknown provider "nosuch"/);
  });

  it('converts Stripe minor units exactly (no floats)', async () => {
    const res = await stack.query<{ invoices: { nodes: Array<{ total: { amount: string; currency: string } | null }> } }>(
      '{ invoices(first: 100, filter: { provider: "stripe" }) { nodes { total { amount currency } } } }',
    );
    const totals = (res.data?.invoices.nodes ?? []).map((n) => n.total).filter((t): t is { amount: string; currency: string } => t !== null);
    expect(totals.length).toBeGreaterThan(0);
    for (const t of totals) {
      if (t.currency === 'JPY') expect(t.amount).toMatch(/^-?\d+$/);
      else if (t.currency === 'KWD') expect(t.amount).toMatch(/^-?\d+\.\d{3}$/);
      else expect(t.amount).toMatch(/^-?\d+\.\d{2}$/);
    }
  });

  it('exposes Prometheus metrics, health and readiness', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /switchboard_upstream_requests_total\{connector="hubspot",operation="contacts.batchRead",status="207"\}|switchboard_upstream_requests_total\{connector="hubspot",operation="[a-z_.A-Z]+",status="200"\}/,
    );
    expect(metrics).toContain('switchboard_upstream_request_duration_seconds_bucket');
    expect(metrics).toContain('switchboard_cache_requests_total');
    expect(metrics).toContain('switchboard_graphql_request_duration_seconds_bucket');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ redis: 'up' });
  });
});
