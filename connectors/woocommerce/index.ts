// The WooCommerce connector (WordPress REST `wc/v3`): customers → Contact, orders → Order. Batch
// reads are one `include=` list call per 100 ids; lists page with page/per_page and read the
// X-WP-Total / X-WP-TotalPages / Link headers; orders filter by `modified_after`, customers (which
// have no such filter) are scanned by id and filtered on date_modified_gmt. Keys go as HTTP Basic.
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorContext, EntityLoader, ListArgs, ListOrder, ListPage, QueryValue } from '../sdk/types.ts';
import { MAX_PER_PAGE, chunks, isWooId, wooList, type WooPage } from './client.ts';
import { REQUEST_DECIMALS, gmtMillis, mapCustomer, mapOrder, type MapOptions, type WooCustomer, type WooOrder } from './mappers.ts';
import { SIGNATURE_HEADER, wooWebhooks } from './webhooks.ts';
import { checkStoreTarget } from './store-url.ts';
import { everyOrderByKey } from '../sdk/manifest.ts';

type Resource = 'customers' | 'orders';

const mapOptions = (ctx: ConnectorContext): MapOptions => ({ storeUrl: ctx.connection.baseUrl });

/** Query parameters every read of a resource sends. */
const FIXED: Record<Resource, Record<string, QueryValue>> = {
  // role=all: the default (customer) hides buyers who are also shop managers or administrators,
  // whom orders still link to by customer_id.
  customers: { role: 'all' },
  // status=any excludes only trashed orders; dp keeps three-decimal currencies exact.
  orders: { status: 'any', dp: REQUEST_DECIMALS },
};

function notFound(resource: Resource, id: string): ConnectorError {
  return new ConnectorError('UPSTREAM_NOT_FOUND', `WooCommerce has no ${resource === 'orders' ? 'order' : 'customer'} with id ${JSON.stringify(id)}`, {
    retryable: false,
  });
}

/** byIds through `include=`: one list call per 100 distinct ids, answered in the input order. */
function batchRead<Raw extends { id: number }, M>(resource: Resource, map: (raw: Raw, options: MapOptions) => M) {
  return async (ids: readonly string[], ctx: ConnectorContext): Promise<Array<M | ConnectorError>> => {
    const wanted = [...new Set(ids.filter(isWooId))];
    const found = new Map<string, M | ConnectorError>();
    for (const chunk of chunks(wanted)) {
      const page = await wooList<Raw>(
        ctx,
        resource,
        { ...FIXED[resource], include: chunk.join(','), per_page: chunk.length, orderby: 'include' },
        `${resource}.batchRead`,
      );
      for (const raw of page.items) {
        try {
          found.set(String(raw.id), map(raw, mapOptions(ctx)));
        } catch (err) {
          found.set(String(raw.id), err instanceof ConnectorError ? err : new ConnectorError('MAPPING_FAILED', String(err), { retryable: false }));
        }
      }
    }
    return ids.map((id) => found.get(id) ?? notFound(resource, id));
  };
}

const perPage = (first: number) => Math.min(MAX_PER_PAGE, Math.max(1, Math.floor(first)));

/**
 * Cursors are the offset of the next record, so a caller may change `first` between pages: an
 * offset that is a multiple of per_page is asked as `page`, any other as `offset`.
 */
function decodeOffset(after: string | null | undefined): number {
  if (!after) return 0;
  if (!/^\d{1,9}$/.test(after)) throw new TypeError(`not a WooCommerce list cursor: ${JSON.stringify(after)}`);
  return Number(after);
}

function pageQuery(first: number, after: string | null | undefined): Record<string, QueryValue> {
  const size = perPage(first);
  const start = decodeOffset(after);
  return start % size === 0 ? { per_page: size, page: start / size + 1 } : { per_page: size, offset: start };
}

function toListPage<Raw, M>(page: WooPage<Raw>, after: string | null | undefined, map: (raw: Raw) => M): ListPage<M> {
  const start = decodeOffset(after);
  const end = start + page.items.length;
  const hasNextPage = page.items.length > 0 && (page.total !== null ? end < page.total : page.hasNextLink);
  return { nodes: page.items.map(map), endCursor: page.items.length ? String(end) : null, hasNextPage, totalCount: page.total };
}

/** The GMT instant WooCommerce's exclusive `modified_after` needs to include records changed at `since`. */
export function modifiedAfterParam(since: string): string {
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) throw new TypeError(`filter.updatedSince is not an ISO-8601 instant: ${since}`);
  // WooCommerce stores whole seconds and compares with `>`: one second earlier includes `since` itself.
  return new Date(Math.floor(ms / 1000) * 1000 - 1000).toISOString().slice(0, 19);
}

/**
 * Keyset start for orders: `after`/`before` bound the creation date, `modified_after`/
 * `modified_before` the change date; WordPress compares whole seconds exclusively, so the bound is
 * one second outside the key's own second. An `updatedSince` filter's `modified_after` stays when it
 * is the later bound.
 */
function orderKeyset(args: ListArgs): Record<string, string> {
  if (!args.keyset || !args.orderBy) return {};
  const ms = Date.parse(args.keyset.from);
  if (Number.isNaN(ms)) throw new TypeError(`keyset.from is not an ISO-8601 instant: ${args.keyset.from}`);
  const asc = args.orderBy.direction === 'ASC';
  const second = Math.floor(ms / 1000) * 1000;
  const bound = new Date(asc ? second - 1000 : second + 1000).toISOString().slice(0, 19);
  if (args.orderBy.field === 'CREATED_AT') return { [asc ? 'after' : 'before']: bound, dates_are_gmt: 'true' };
  if (!asc) return { modified_before: bound, dates_are_gmt: 'true' };
  const since = args.filter.updatedSince ? modifiedAfterParam(args.filter.updatedSince) : null;
  return { modified_after: since !== null && since > bound ? since : bound, dates_are_gmt: 'true' };
}

/**
 * `orderby`/`order` for a requested order: customers sort by registered_date only (no modified),
 * orders by date or modified. Without one, by id (stable offsets for the poller).
 */
function sortParams(entity: 'customers' | 'orders', order: ListOrder | null | undefined): { orderby: string; order: 'asc' | 'desc' } {
  if (!order) return { orderby: 'id', order: 'asc' };
  const direction = order.direction === 'ASC' ? 'asc' : 'desc';
  if (entity === 'customers') {
    if (order.field !== 'CREATED_AT') throw new TypeError('WooCommerce lists customers by registered_date only (CREATED_AT)');
    return { orderby: 'registered_date', order: direction };
  }
  return { orderby: order.field === 'CREATED_AT' ? 'date' : 'modified', order: direction };
}

const contacts: EntityLoader<ContactModel> = {
  byIds: batchRead<WooCustomer, ContactModel>('customers', mapCustomer),

  async list(args, ctx) {
    const email = args.filter.email?.trim() || null;
    // WordPress refuses a malformed email= with 400 rest_invalid_param; no customer has it anyway.
    if (email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return { nodes: [], endCursor: null, hasNextPage: false, totalCount: 0 };
    if (args.filter.updatedSince) return listCustomersChangedSince(args, ctx, email);
    const query = { ...FIXED.customers, ...pageQuery(args.first, args.after), ...sortParams('customers', args.orderBy), email: email ?? undefined };
    const page = await wooList<WooCustomer>(ctx, 'customers', query, 'customers.list');
    return toListPage(page, args.after, (c) => mapCustomer(c, mapOptions(ctx)));
  },
};

/**
 * Customers have no modified_after (the wc/v3 customers controller offers orderby id, include,
 * name and registered_date only), so "changed since" scans the customers by id, 100 per call, and
 * keeps those whose date_modified_gmt is at or after `since`. One call per 100 customers scanned:
 * fine for a periodic sync of a small store; larger stores should rely on customer.* webhooks.
 * The cursor is the offset of the next customer to scan, so a page may hold fewer than `first`.
 */
async function listCustomersChangedSince(args: ListArgs, ctx: ConnectorContext, email: string | null): Promise<ListPage<ContactModel>> {
  const since = Date.parse(args.filter.updatedSince ?? '');
  if (Number.isNaN(since)) throw new TypeError(`filter.updatedSince is not an ISO-8601 instant: ${String(args.filter.updatedSince)}`);
  const start = decodeOffset(args.after);
  const want = perPage(args.first);
  const query = { ...FIXED.customers, ...pageQuery(MAX_PER_PAGE, args.after), ...sortParams('customers', args.orderBy), email: email ?? undefined };
  const page = await wooList<WooCustomer>(ctx, 'customers', query, 'customers.scanChanged');
  const nodes: ContactModel[] = [];
  let scanned = 0;
  for (const c of page.items) {
    if (nodes.length === want) break;
    scanned++;
    const changed = gmtMillis(c.date_modified_gmt) ?? gmtMillis(c.date_created_gmt);
    if (changed !== null && changed >= since) nodes.push(mapCustomer(c, mapOptions(ctx)));
  }
  const next = start + scanned;
  const more = page.total !== null ? next < page.total : scanned < page.items.length || page.hasNextLink;
  return { nodes, endCursor: scanned ? String(next) : null, hasNextPage: scanned > 0 && more };
}

const orders: EntityLoader<OrderModel> = {
  byIds: batchRead<WooOrder, OrderModel>('orders', mapOrder),

  async list(args, ctx) {
    const customer = args.filter.contactRemoteId ?? null;
    if (customer !== null && !isWooId(customer)) return { nodes: [], endCursor: null, hasNextPage: false, totalCount: 0 };
    const query: Record<string, QueryValue> = {
      ...FIXED.orders,
      ...pageQuery(args.first, args.after),
      ...sortParams('orders', args.orderBy),
      customer: customer ?? undefined,
      ...(args.filter.updatedSince ? { modified_after: modifiedAfterParam(args.filter.updatedSince), dates_are_gmt: 'true' } : {}),
      ...orderKeyset(args),
    };
    const page = await wooList<WooOrder>(ctx, 'orders', query, 'orders.list');
    return toListPage(page, args.after, (o) => mapOrder(o, mapOptions(ctx)));
  },
};

export const woocommerce = defineConnector({
  coverage,
  manifest: {
    id: 'woocommerce',
    displayName: 'WooCommerce',
    // REST API keys (ck_… / cs_…) sent as HTTP Basic over HTTPS; the store URL is the connection's base URL.
    auth: { basic: { label: 'REST API consumer key (user name) and consumer secret (password)' } },
    defaultBaseUrl: 'https://store.example.com',
    maxBatchSize: { Contact: MAX_PER_PAGE, Order: MAX_PER_PAGE },
    maxConcurrency: 4,
    maxPageSize: MAX_PER_PAGE,
    entities: ['Contact', 'Order'],
    // customers: orderby=registered_date (no modified); orders: orderby=date|modified; order=asc|desc.
    listOrders: {
      Contact: { orders: ['CREATED_AT_ASC', 'CREATED_AT_DESC'] },
      Order: everyOrderByKey(),
    },
    rateLimits: {
      windows: [{ requests: 10, windowMs: 1000 }],
      notes:
        'WooCommerce core has no REST rate limit and sends no rate headers; every call runs PHP and MySQL on the store, often shared hosting behind a WAF, so the gateway stays gentle.',
    },
    events: { source: 'webhooks' },
    webhooks: { toleranceSeconds: null, signatureHeader: SIGNATURE_HEADER, timestampHeader: null },
  },
  loaders: { Contact: contacts, Order: orders },
  webhooks: wooWebhooks,
  // The tenant names the store (settings.storeUrl): checked against internal addresses at connect time.
  auth: { connectionTarget: (input) => checkStoreTarget(input) },
});
