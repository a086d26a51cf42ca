// Unified lists while records change (docs/lists.md, "Changes during a walk"): a walk by UPDATED_AT
// ascending on each provider that lists, where a record already returned is modified between every
// two page reads (through the emulator's admin record endpoint). The modified record moves to the
// end of the order; on an offset-paginated provider (HubSpot search, QuickBooks STARTPOSITION,
// WooCommerce page, Xero page) that shifts every later record one place forward, so reading the
// next page at an offset would skip the record at the page boundary. The gateway reads the next
// page from the last key returned (keyset) instead: no record is skipped, and none is returned
// twice in the same version (a record changed after it was returned comes again at its new place
// in the order, with its new values).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startStack, type Stack } from './helpers.ts';

interface Rec {
  id: string;
  source: { remoteId: string; remoteUpdatedAt: string | null };
}
interface Page {
  nodes: Rec[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

type Field = 'contacts' | 'orders';
const query = (field: Field) =>
  `query ($first: Int, $after: String, $filter: ${field === 'contacts' ? 'ContactFilter' : 'OrderFilter'}, $orderBy: ListOrder) {
    list: ${field}(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      nodes { id source { remoteId remoteUpdatedAt } } pageInfo { hasNextPage endCursor } } }`;

/** How to modify one record of each provider through its emulator's admin API (a name change). */
const MODIFY: Record<string, { field: Field; path: (id: string) => string; body: (n: number) => unknown }> = {
  hubspot: { field: 'contacts', path: (id) => `/records/contacts/${id}`, body: (n) => ({ properties: { firstname: `Changed${n}` } }) },
  quickbooks: { field: 'contacts', path: (id) => `/records/customers/${id}`, body: (n) => ({ GivenName: `Changed${n}` }) },
  xero: { field: 'contacts', path: (id) => `/records/contacts/${id}`, body: (n) => ({ FirstName: `Changed${n}` }) },
  woocommerce: { field: 'orders', path: (id) => `/records/orders/${id}`, body: (n) => ({ billing: { first_name: `Changed${n}` } }) },
  shopify: { field: 'contacts', path: (id) => `/records/customers/${id}`, body: (n) => ({ first_name: `Changed${n}` }) },
  salesforce: { field: 'contacts', path: (id) => `/records/Contact/${id}`, body: (n) => ({ FirstName: `Changed${n}` }) },
};

const ORDER = { field: 'UPDATED_AT', direction: 'ASC' } as const;
const PAGE = 4;

describe('unified lists: a walk while records change', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ scale: { contacts: 18, invoices: 6, orders: 18 } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  async function page(field: Field, connectionId: string, after: string | null, first = PAGE): Promise<Page> {
    const res = await stack.query<{ list: Page }>(query(field), { first, after, orderBy: ORDER, filter: { connectionId } });
    expect(res.errors).toBeUndefined();
    return res.data!.list;
  }

  /** The whole list before the walk, in pages of 50: other page sizes than the walk's, so no cached page or response is shared. */
  async function all(field: Field, connectionId: string): Promise<Rec[]> {
    const out: Rec[] = [];
    let after: string | null = null;
    for (let n = 0; n < 100; n++) {
      const p = await page(field, connectionId, after, 50);
      out.push(...p.nodes);
      if (!p.pageInfo.hasNextPage) return out;
      after = p.pageInfo.endCursor;
    }
    throw new Error('the walk did not end');
  }

  it.each(Object.keys(MODIFY))('%s: every record is returned, none skipped, none twice in one version', async (provider) => {
    const { field, path, body } = MODIFY[provider]!;
    const connectionId = `acme-${provider}`;
    const emulator = stack.emulators.get(provider)!;
    const before = await all(field, connectionId);
    expect(before.length).toBeGreaterThan(3 * PAGE);

    const got: Rec[] = [];
    const modified = new Set<string>();
    let after: string | null = null;
    for (let n = 0; n < 100; n++) {
      const p = await page(field, connectionId, after);
      expect(p.nodes.length).toBeGreaterThan(0);
      got.push(...p.nodes);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
      // Between page reads: the first record of the page just returned changes and moves to the end.
      const first = p.nodes[0]!;
      if (!modified.has(first.id)) {
        await admin(emulator.url, 'PATCH', path(first.source.remoteId), body(n));
        modified.add(first.id);
      }
    }
    expect(modified.size).toBeGreaterThan(1);

    // No record skipped: every record listed before the walk is in it.
    const seen = new Set(got.map((r) => r.id));
    expect(before.filter((r) => !seen.has(r.id)).map((r) => r.source.remoteId)).toEqual([]);
    // None twice in one version; a record comes twice only when it changed after it was returned,
    // the second time later in the order with its new change time.
    const versions = got.map((r) => `${r.id}@${r.source.remoteUpdatedAt}`);
    expect(new Set(versions).size).toBe(versions.length);
    const counts = new Map<string, number>();
    for (const r of got) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    for (const [id, count] of counts) expect(count, id).toBe(modified.has(id) ? 2 : 1);
  });
});
