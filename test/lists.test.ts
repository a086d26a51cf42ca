// Unified lists across connections (docs/lists.md): every page in the requested order across
// providers, a walk returns each record once, exact hasNextPage, ties, empty and failing
// connections, a change between pages, and ORDER_NOT_SUPPORTED. The expected order is computed
// from each connection's own list (read alone, with filter.connectionId), merged here.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../connectors/registry.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { DEFAULT_LIMITS, type TenantConfig } from '../src/config.ts';
import { admin, graphql, startStack, subscribe, type GraphQLResult, type Stack } from './helpers.ts';

const KEYS = { duo: `sb_duo_${randomUUID()}`, trio: `sb_trio_${randomUUID()}`, twins: `sb_twins_${randomUUID()}`, ledger: `sb_ledger_${randomUUID()}` };
const STRIPE_SECRET = 'whsec_lists_test';
/** Lower than the stack's 30 contacts per emulator, above its 20 orders: both sides of the sort fallback. */
const SORT_LIMIT = 25;

type Conn = TenantConfig['connections'][number];
function connection(id: string, provider: string, emulator: EmulatorHandle): Conn {
  const registered = CONNECTORS.find((c) => c.connector.manifest.id === provider);
  if (!registered) throw new Error(`no connector ${provider}`);
  return {
    id,
    provider,
    baseUrl: emulator.url,
    credentials: { type: 'static', token: registered.demo.testToken },
    settings: { ...registered.demo.settings },
    ...(registered.connector.manifest.events?.source === 'polling' ? { polling: { enabled: false } } : {}),
  };
}

interface Rec {
  id: string;
  name: string | null;
  source: { connectionId: string; remoteId: string; remoteCreatedAt: string | null; remoteUpdatedAt: string | null };
}
interface Page {
  nodes: Rec[];
  edges: Array<{ cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number | null;
}

const FIELDS =
  'nodes { id source { connectionId remoteId remoteCreatedAt remoteUpdatedAt } NAME } edges { cursor } pageInfo { hasNextPage endCursor } totalCount';
const listQuery = (field: 'contacts' | 'invoices' | 'orders') =>
  `query ($first: Int, $after: String, $filter: ${field === 'contacts' ? 'ContactFilter' : field === 'invoices' ? 'InvoiceFilter' : 'OrderFilter'}, $orderBy: ListOrder) {
    list: ${field}(first: $first, after: $after, filter: $filter, orderBy: $orderBy) { ${FIELDS.replace('NAME', field === 'contacts' ? 'name' : field === 'invoices' ? 'name: number' : 'name: number')} } }`;

type Order = { field: 'CREATED_AT' | 'UPDATED_AT'; direction: 'ASC' | 'DESC' };
const keyOf = (r: Rec, o: Order): number | null => {
  const t = o.field === 'CREATED_AT' ? r.source.remoteCreatedAt : r.source.remoteUpdatedAt;
  return t ? Date.parse(t) : null;
};
/** The documented merge order: key (null last), then connection id; a connection's own order is kept (stable). */
function compare(a: Rec, b: Rec, o: Order): number {
  const ka = keyOf(a, o);
  const kb = keyOf(b, o);
  if (ka !== kb) {
    if (ka === null) return 1;
    if (kb === null) return -1;
    return o.direction === 'ASC' ? ka - kb : kb - ka;
  }
  return a.source.connectionId < b.source.connectionId ? -1 : a.source.connectionId > b.source.connectionId ? 1 : 0;
}

describe('unified lists', () => {
  let stack: Stack;
  /** A Stripe account with no records: an empty connection. */
  let emptyStripe: EmulatorHandle;
  const q = <T>(key: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>> =>
    graphql<T>(stack.gateway.url, key, query, variables);

  async function page(key: string, field: 'contacts' | 'invoices' | 'orders', variables: Record<string, unknown>): Promise<GraphQLResult<{ list: Page }>> {
    return q<{ list: Page }>(key, listQuery(field), variables);
  }

  /** Walks every page; checks each is in order and non-empty, and hasNextPage is false only on the last. */
  async function walk(
    key: string,
    field: 'contacts' | 'invoices' | 'orders',
    first: number,
    order: Order,
    extra: Record<string, unknown> = {},
    between?: (pageNo: number) => Promise<void>,
  ) {
    const all: Rec[] = [];
    const pages: Page[] = [];
    let after: string | null = null;
    for (let n = 0; n < 200; n++) {
      if (n > 0) await between?.(n);
      const res = await page(key, field, { first, after, orderBy: order, ...extra });
      expect(res.errors).toBeUndefined();
      const p = res.data!.list;
      pages.push(p);
      expect(p.nodes.length).toBeGreaterThan(0); // never an empty page
      for (let i = 1; i < p.nodes.length; i++) expect(compare(p.nodes[i - 1]!, p.nodes[i]!, order)).toBeLessThanOrEqual(0);
      if (all.length) expect(compare(all.at(-1)!, p.nodes[0]!, order)).toBeLessThanOrEqual(0);
      all.push(...p.nodes);
      if (!p.pageInfo.hasNextPage) break;
      expect(p.nodes).toHaveLength(first);
      after = p.pageInfo.endCursor;
    }
    return { all, pages };
  }

  /** One connection's records in its own order (one page of up to 100). */
  async function own(key: string, field: 'contacts' | 'invoices' | 'orders', connectionId: string, order: Order): Promise<Rec[]> {
    const out: Rec[] = [];
    let after: string | null = null;
    for (;;) {
      const res = await page(key, field, { first: 100, after, orderBy: order, filter: { connectionId } });
      expect(res.errors).toBeUndefined();
      out.push(...res.data!.list.nodes);
      if (!res.data!.list.pageInfo.hasNextPage) return out;
      after = res.data!.list.pageInfo.endCursor;
    }
  }

  /** The expected merged walk: each connection's list (in its order, checked), merged by the documented order. */
  async function expected(key: string, field: 'contacts' | 'invoices' | 'orders', connectionIds: string[], order: Order): Promise<string[]> {
    const lists = await Promise.all(connectionIds.map((id) => own(key, field, id, order)));
    for (const list of lists) for (let i = 1; i < list.length; i++) expect(compare(list[i - 1]!, list[i]!, order)).toBeLessThanOrEqual(0);
    // A stable sort of the concatenation keeps each connection's own order among equal keys.
    return lists
      .flat()
      .sort((a, b) => compare(a, b, order))
      .map((r) => r.id);
  }

  beforeAll(async () => {
    const stripe = CONNECTORS.find((c) => c.connector.manifest.id === 'stripe')!;
    emptyStripe = await stripe.startEmulator({ credentials: [stripe.demo.testToken], seed: 7, latencyMs: 0, scale: { contacts: 0, invoices: 0, orders: 0 } });
    stack = await startStack({
      scale: { contacts: 30, invoices: 20, orders: 20 },
      config: {
        limits: { ...DEFAULT_LIMITS, listSortFallbackMax: SORT_LIMIT },
        events: { workerConcurrency: 5, maxAttempts: 2, retryBaseDelayMs: 20, dedupeTtlSeconds: 3600, retainedChanges: 10_000 },
      },
      extraTenants: ({ emulators }) => {
        const e = (id: string) => emulators.get(id)!;
        return [
          {
            id: 'duo',
            apiKeys: [{ id: 'd', sha256: hashApiKey(KEYS.duo) }],
            connections: [
              connection('duo-hubspot', 'hubspot', e('hubspot')),
              { ...connection('duo-stripe', 'stripe', e('stripe')), webhookSecret: { type: 'static', token: STRIPE_SECRET } },
            ],
          },
          {
            id: 'trio',
            apiKeys: [{ id: 't', sha256: hashApiKey(KEYS.trio) }],
            connections: [
              connection('trio-hubspot', 'hubspot', e('hubspot')),
              connection('trio-salesforce', 'salesforce', e('salesforce')),
              connection('trio-shopify', 'shopify', e('shopify')),
            ],
          },
          {
            id: 'ledger',
            apiKeys: [{ id: 'l', sha256: hashApiKey(KEYS.ledger) }],
            // Xero records have no creation time (coverage: createdAt NEVER).
            connections: [connection('ledger-hubspot', 'hubspot', e('hubspot')), connection('ledger-xero', 'xero', e('xero'))],
          },
          {
            id: 'twins',
            apiKeys: [{ id: 'w', sha256: hashApiKey(KEYS.twins) }],
            // Two connections to the same account: every record has an exact tie in the other.
            connections: [
              connection('twin-a', 'stripe', e('stripe')),
              connection('twin-b', 'stripe', e('stripe')),
              connection('twin-empty', 'stripe', emptyStripe),
            ],
          },
        ];
      },
    });
    await admin(stack.stripe.url, 'PUT', '/webhook', {
      url: `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/duo-stripe`,
      secret: STRIPE_SECRET,
      retryDelaysMs: [50, 100, 200],
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await emptyStripe?.stop();
  });

  it('merges two connections newest created first (the default): every page in order, each record once, exact hasNextPage', async () => {
    const order: Order = { field: 'CREATED_AT', direction: 'DESC' };
    const want = await expected(KEYS.duo, 'contacts', ['duo-hubspot', 'duo-stripe'], order);
    expect(want.length).toBeGreaterThan(40);
    // No orderBy: the default.
    const first = await page(KEYS.duo, 'contacts', { first: 7 });
    expect(first.data!.list.nodes.map((n) => n.id)).toEqual(want.slice(0, 7));
    const { all, pages } = await walk(KEYS.duo, 'contacts', 7, order);
    expect(all.map((r) => r.id)).toEqual(want);
    // Interleaved: pages hold records of both providers, not one provider after the other.
    expect(pages.filter((p) => new Set(p.nodes.map((n) => n.source.connectionId)).size === 2).length).toBeGreaterThan(1);
    // Stripe lists report no count: totalCount is null across these connections.
    expect(pages[0]!.totalCount).toBeNull();
  });

  it('merges three connections in each order, created and updated, either way', async () => {
    const ids = ['trio-hubspot', 'trio-salesforce', 'trio-shopify'];
    // Most records a page held from different connections, per order (the seeds' creation times
    // barely overlap across these providers; their change times do).
    const mixed: number[] = [];
    for (const order of [
      { field: 'CREATED_AT', direction: 'ASC' },
      { field: 'UPDATED_AT', direction: 'DESC' },
      { field: 'UPDATED_AT', direction: 'ASC' },
    ] as Order[]) {
      const want = await expected(KEYS.trio, 'contacts', ids, order);
      const { all, pages } = await walk(KEYS.trio, 'contacts', 11, order);
      expect(all.map((r) => r.id)).toEqual(want);
      mixed.push(Math.max(...pages.map((p) => new Set(p.nodes.map((n) => n.source.connectionId)).size)));
    }
    expect(Math.min(...mixed)).toBeGreaterThanOrEqual(2);
    expect(mixed).toContain(3);
  });

  it('fetches a provider page only when the merge has used up the one it holds', async () => {
    const order: Order = { field: 'CREATED_AT', direction: 'DESC' };
    await expected(KEYS.duo, 'orders', ['duo-hubspot', 'duo-stripe'], order);
    stack.hubspot.resetRequests();
    stack.stripe.resetRequests();
    const { all, pages } = await walk(KEYS.duo, 'orders', 5, { field: 'CREATED_AT', direction: 'DESC' });
    const perConnection = (id: string) => all.filter((r) => r.source.connectionId === id).length;
    // Each connection is read in pages of 5: at most one page more than the records it gave (the
    // page that tells it is done), never `first` from every connection on every page.
    expect(stack.hubspot.count('orders.search')).toBeLessThanOrEqual(Math.ceil(perConnection('duo-hubspot') / 5) + 1);
    expect(stack.stripe.count('checkout.sessions.list')).toBeLessThanOrEqual(Math.ceil(perConnection('duo-stripe') / 5) + 1);
    expect(stack.hubspot.count('orders.search') + stack.stripe.count()).toBeLessThan(pages.length * 2);
  });

  it('orders exact ties by connection id, across page boundaries, and skips an empty connection', async () => {
    const order: Order = { field: 'CREATED_AT', direction: 'DESC' };
    const { all, pages } = await walk(KEYS.twins, 'invoices', 3, order);
    expect(all.length).toBe(40);
    for (let i = 0; i < all.length; i += 2) {
      expect(all[i]!.source.connectionId).toBe('twin-a');
      expect(all[i + 1]!.source.connectionId).toBe('twin-b');
      expect(all[i + 1]!.source.remoteId).toBe(all[i]!.source.remoteId);
    }
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    // The empty connection is in the walk (no error) and counts 0; no page is empty because of it.
    expect(pages.every((p) => p.nodes.every((n) => n.source.connectionId !== 'twin-empty'))).toBe(true);
    const alone = await page(KEYS.twins, 'invoices', { first: 5, filter: { connectionId: 'twin-empty' } });
    expect(alone.errors).toBeUndefined();
    expect(alone.data!.list).toMatchObject({ nodes: [], pageInfo: { hasNextPage: false } });
  });

  it('a failing connection: partial data naming it, the others still merge, and a later page resumes it', async () => {
    const order: Order = { field: 'CREATED_AT', direction: 'DESC' };
    const want = await expected(KEYS.duo, 'invoices', ['duo-hubspot', 'duo-stripe'], order);
    const first = await page(KEYS.duo, 'invoices', { first: 6, orderBy: order });
    expect(first.data!.list.nodes.map((n) => n.id)).toEqual(want.slice(0, 6));
    await admin(stack.stripe.url, 'POST', '/faults', { kind: 'status', status: 503, match: 'invoices.list' });
    let second: GraphQLResult<{ list: Page }>;
    try {
      second = await page(KEYS.duo, 'invoices', { first: 6, orderBy: order, after: first.data!.list.pageInfo.endCursor });
    } finally {
      await admin(stack.stripe.url, 'DELETE', '/faults');
    }
    expect(second.errors?.map((e) => e.extensions?.['connectionId'])).toEqual(['duo-stripe']);
    // Whatever the page held was HubSpot's, in order; Stripe's records it held back are not lost.
    const got = [...first.data!.list.nodes, ...second.data!.list.nodes];
    expect(second.data!.list.nodes.every((n) => n.source.connectionId === 'duo-hubspot')).toBe(true);
    expect(second.data!.list.pageInfo.hasNextPage).toBe(true);
    let after = second.data!.list.pageInfo.endCursor;
    for (let n = 0; n < 100 && after; n++) {
      const res = await page(KEYS.duo, 'invoices', { first: 6, orderBy: order, after });
      expect(res.errors).toBeUndefined();
      const nodes = res.data!.list.nodes;
      for (let i = 1; i < nodes.length; i++) expect(compare(nodes[i - 1]!, nodes[i]!, order)).toBeLessThanOrEqual(0);
      got.push(...nodes);
      after = res.data!.list.pageInfo.hasNextPage ? res.data!.list.pageInfo.endCursor : null;
    }
    // Every record exactly once: the failed connection's records came in when it answered again.
    expect([...got.map((r) => r.id)].sort()).toEqual([...want].sort());
  });

  it('a change between page 2 and 3 neither repeats nor skips a record, and the merged pages show it', async () => {
    const order: Order = { field: 'CREATED_AT', direction: 'DESC' };
    const want = await expected(KEYS.duo, 'contacts', ['duo-hubspot', 'duo-stripe'], order);
    const stripeIds = (await own(KEYS.duo, 'contacts', 'duo-stripe', order)).map((r) => r.source.remoteId);
    const { data } = await q<{ changeCursor: string }>(KEYS.duo, '{ changeCursor }');
    const sub = await subscribe<{ contactChanged: { contact: { name: string } } }>(
      stack.gateway.url,
      KEYS.duo,
      'subscription ($after: String) { contactChanged(after: $after) { contact { name } } }',
      { after: data!.changeCursor },
    );
    const late = stripeIds.at(-1)!; // returned on the last pages
    const newName = `Renamed ${randomUUID().slice(0, 6)}`;
    try {
      const page1 = await page(KEYS.duo, 'contacts', { first: 8, orderBy: order });
      const { all } = await walk(KEYS.duo, 'contacts', 8, order, {}, async (n) => {
        if (n !== 2) return;
        // Between page 2 and 3: an early record (already returned) and a late one change.
        await admin(stack.stripe.url, 'PATCH', `/records/customers/${stripeIds[0]}`, { name: `Early ${newName}` });
        await admin(stack.stripe.url, 'PATCH', `/records/customers/${late}`, { name: newName });
        await sub.waitFor(2, 20_000);
      });
      expect(all.map((r) => r.id)).toEqual(want);
      expect(all.find((r) => r.source.remoteId === late)?.name).toBe(newName);
      // The merged first page (response and list caches) shows the change as well.
      const again = await page(KEYS.duo, 'contacts', { first: 8, orderBy: order });
      expect(again.data!.list.nodes.map((n) => n.id)).toEqual(page1.data!.list.nodes.map((n) => n.id));
      const early = again.data!.list.nodes.find((n) => n.source.remoteId === stripeIds[0]);
      if (early) expect(early.name).toBe(`Early ${newName}`);
    } finally {
      await sub.close();
    }
  });

  it('sorts a connection that cannot serve the order itself (bounded), else ORDER_NOT_SUPPORTED naming it', async () => {
    // Stripe lists newest created first only: oldest first, its 20 orders are sorted by the gateway.
    const asc: Order = { field: 'CREATED_AT', direction: 'ASC' };
    const want = await expected(KEYS.duo, 'orders', ['duo-hubspot', 'duo-stripe'], asc);
    const { all } = await walk(KEYS.duo, 'orders', 9, asc);
    expect(all.map((r) => r.id)).toEqual(want);
    // Its 30 contacts are more than the gateway sorts (listSortFallbackMax 25).
    const res = await page(KEYS.duo, 'contacts', { first: 5, orderBy: asc });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'ORDER_NOT_SUPPORTED',
      connectionId: 'duo-stripe',
      provider: 'stripe',
      orderBy: 'CREATED_AT_ASC',
      supportedOrders: ['CREATED_AT_DESC'],
      sortLimit: SORT_LIMIT,
    });
    expect(res.errors?.[0]?.message).toContain('duo-stripe');
    // Narrowed to the connections that serve it, it works.
    const hubspotOnly = await page(KEYS.duo, 'contacts', { first: 5, orderBy: asc, filter: { provider: 'hubspot' } });
    expect(hubspotOnly.errors).toBeUndefined();
    expect(hubspotOnly.data!.list.nodes).toHaveLength(5);
  });

  it('the default order over a connection that never has the key (Xero: no creation time): its records last, in its own order, none read whole', async () => {
    const desc: Order = { field: 'CREATED_AT', direction: 'DESC' };
    // Xero's 30 contacts are more than the gateway would sort (SORT_LIMIT): served in Xero's order.
    const want = await expected(KEYS.ledger, 'contacts', ['ledger-hubspot', 'ledger-xero'], desc);
    const { all } = await walk(KEYS.ledger, 'contacts', 7, desc);
    expect(all.map((r) => r.id)).toEqual(want);
    const firstXero = all.findIndex((r) => r.source.connectionId === 'ledger-xero');
    expect(firstXero).toBeGreaterThan(0);
    expect(all.slice(firstXero).every((r) => r.source.connectionId === 'ledger-xero')).toBe(true);
    // Without an orderBy the same default applies.
    const implicit = await page(KEYS.ledger, 'contacts', { first: 7 });
    expect(implicit.errors).toBeUndefined();
    expect(implicit.data!.list.nodes.map((r) => r.id)).toEqual(want.slice(0, 7));
  });

  it('refuses a cursor used with another order or filter', async () => {
    const res = await page(KEYS.duo, 'contacts', { first: 2 });
    const cursor = res.data!.list.pageInfo.endCursor;
    const other = await page(KEYS.duo, 'contacts', { first: 2, after: cursor, orderBy: { field: 'UPDATED_AT', direction: 'DESC' } });
    expect(other.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(other.errors?.[0]?.message).toMatch(/another query/);
    const tampered = await page(KEYS.duo, 'contacts', { first: 2, after: 'bm90LWEtY3Vyc29y' });
    expect(tampered.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });
});
