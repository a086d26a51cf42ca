// The Shopify connector: Customer → Contact, Order → Order over the GraphQL Admin API (REST is
// legacy for new apps). Batch reads go through nodes(ids:) with global ids; lists use first/after
// with Shopify's search syntax for filters; each order's customer comes in the same query and is
// primed, so orders with their contacts cost no extra call. Line items are deferred (null on the
// models): loaders.Order.lineItems reads them in nodes(ids:) batches only when a query selects
// them, which halves an order's query cost. Page and batch sizes follow from the
// query cost (queries.ts): Shopify refuses a query above 1000 requested points.
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, LineItemModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorContext, EntityLoader, LineItemOwnerLoader, ListArgs, ListPage } from '../sdk/types.ts';
import { ACCESS_TOKEN_HEADER, pageThatFits, shopifyGraphql } from './client.ts';
import {
  mapCustomer,
  mapLineItem,
  mapOrder,
  gidFor,
  isShopifyId,
  type MapOptions,
  type ShopifyCustomer,
  type ShopifyLineItem,
  type ShopifyOrder,
  type ShopifyPageInfo,
} from './mappers.ts';
import { SHOP_DOMAIN_PATTERN, verifyShopifyCallback } from './oauth-hmac.ts';
import {
  CUSTOMERS_BY_IDS,
  CUSTOMERS_LIST,
  CUSTOMER_COST,
  LINE_ITEMS_PER_ORDER,
  MAX_ITEMS,
  MORE_LINE_ITEMS_COST,
  ORDERS_BY_IDS,
  ORDERS_LINE_ITEMS,
  ORDERS_LIST,
  ORDER_COST,
  ORDER_LINE_ITEMS,
  ORDER_LINE_ITEMS_COST,
  perQuery,
  searchValue,
} from './queries.ts';
import { SHOPIFY_HMAC_HEADER, shopifyWebhooks } from './webhooks.ts';
import { LIST_ORDER_NAMES } from '../sdk/manifest.ts';

export const CUSTOMERS_PER_BATCH = perQuery(CUSTOMER_COST, false);
export const ORDERS_PER_BATCH = perQuery(ORDER_COST, false);
export const CUSTOMERS_PER_PAGE = perQuery(CUSTOMER_COST, true);
export const ORDERS_PER_PAGE = perQuery(ORDER_COST, true);
/** Orders whose first line items one nodes(ids:) query reads (18 points each). */
export const ORDER_LINE_ITEMS_PER_BATCH = perQuery(ORDER_LINE_ITEMS_COST, false);

const mapOptions = (ctx: ConnectorContext): MapOptions => ({
  shop: typeof ctx.connection.settings['shop'] === 'string' ? ctx.connection.settings['shop'] : null,
});

/** Splits ids into chunks of `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * nodes(ids:) per chunk; a null slot (no such record, or one of another type) is NOT_FOUND. A chunk
 * that fails puts its error in its own slots; ids Shopify cannot have are answered without a call.
 */
async function byIdsThroughNodes<M>(
  ids: readonly string[],
  type: 'Order' | 'Customer',
  size: number,
  read: (chunk: string[]) => Promise<Array<M | null>>,
): Promise<Array<M | ConnectorError>> {
  const distinct = [...new Set(ids)].filter(isShopifyId);
  const results = new Map<string, M | ConnectorError>();
  await Promise.all(
    chunks(distinct, size).map(async (chunk) => {
      try {
        const models = await read(chunk);
        chunk.forEach((id, i) => results.set(id, models[i] ?? notFound(type, id)));
      } catch (err) {
        const error =
          err instanceof ConnectorError
            ? err
            : new ConnectorError('MAPPING_FAILED', `unexpected failure: ${(err as Error).message}`, { cause: err, retryable: false });
        for (const id of chunk) results.set(id, error);
      }
    }),
  );
  return ids.map((id) => results.get(id) ?? notFound(type, id));
}

const notFound = (type: string, id: string) => new ConnectorError('UPSTREAM_NOT_FOUND', `Shopify has no ${type} ${JSON.stringify(id)}`, { retryable: false });

/** The search `query` argument and sort for a list filter. */
function searchArgs(args: ListArgs, extra: string[] = []): { query: string | null; sortKey: string; reverse: boolean } {
  const terms = [...extra];
  if (args.filter.updatedSince) {
    const since = new Date(args.filter.updatedSince);
    if (Number.isNaN(since.getTime())) throw new TypeError(`filter.updatedSince is not an ISO-8601 instant: ${String(args.filter.updatedSince)}`);
    terms.push(`updated_at:>=${searchValue(since.toISOString())}`);
  }
  const query = terms.length ? terms.join(' AND ') : null;
  // A requested order maps onto sortKey + reverse (both Customer and Order sort keys have CREATED_AT
  // and UPDATED_AT). Without one, changed-since reads oldest change first, so a sync can resume
  // from the last page; else by id.
  if (args.orderBy) return { query, sortKey: args.orderBy.field, reverse: args.orderBy.direction === 'DESC' };
  return { query, sortKey: args.filter.updatedSince ? 'UPDATED_AT' : 'ID', reverse: false };
}

function page<M>(nodes: M[], pageInfo: ShopifyPageInfo): ListPage<M> {
  return { nodes, endCursor: pageInfo.endCursor, hasNextPage: pageInfo.hasNextPage && nodes.length > 0 };
}

// ---------------------------------------------------------------------------------------------

const isType =
  <T>(typename: string) =>
  (n: unknown): n is T =>
    n !== null && typeof n === 'object' && (n as { __typename?: string }).__typename === typename;

type ShopifyLineItemPage = { nodes: ShopifyLineItem[]; pageInfo: ShopifyPageInfo };

/** Reads the line items beyond the first LINE_ITEMS_PER_ORDER (one call per 50). */
async function allLineItems(ctx: ConnectorContext, orderGid: string, first: ShopifyLineItemPage): Promise<ShopifyLineItem[]> {
  const nodes: ShopifyLineItem[] = [...first.nodes];
  if (!first.pageInfo?.hasNextPage) return nodes;
  let after = first.pageInfo.endCursor;
  for (;;) {
    const data = await shopifyGraphql<{ order: { lineItems: ShopifyLineItemPage } | null }>(ctx, {
      query: ORDER_LINE_ITEMS,
      variables: { id: orderGid, after },
      operation: 'orders.lineItems',
      cost: MORE_LINE_ITEMS_COST,
    });
    const more = data.order?.lineItems;
    if (!more) break;
    nodes.push(...more.nodes);
    if (!more.pageInfo.hasNextPage) break;
    after = more.pageInfo.endCursor;
  }
  return nodes;
}

/** Maps orders (line items deferred) and primes each embedded customer once. */
function mapOrders(ctx: ConnectorContext, raws: ShopifyOrder[]): OrderModel[] {
  const options = mapOptions(ctx);
  const primed = new Set<string>();
  const models: OrderModel[] = [];
  for (const raw of raws) {
    models.push(mapOrder(raw, options));
    if (raw.customer && !primed.has(raw.customer.id)) {
      primed.add(raw.customer.id);
      ctx.prime('Contact', mapCustomer(raw.customer, options));
    }
  }
  return models;
}

/**
 * The deferred line items of many orders: one nodes(ids:) query per ORDER_LINE_ITEMS_PER_BATCH
 * orders with their first LINE_ITEMS_PER_ORDER lines, plus ORDER_LINE_ITEMS calls for orders with
 * more. One slot per parent, in order.
 */
async function orderLineItems(parents: readonly OrderModel[], ctx: ConnectorContext): Promise<Array<LineItemModel[] | ConnectorError>> {
  const ids = [...new Set(parents.map((p) => p.source.remoteId))];
  const results = await byIdsThroughNodes<LineItemModel[]>(ids, 'Order', ORDER_LINE_ITEMS_PER_BATCH, async (chunk) => {
    const data = await shopifyGraphql<{ nodes: unknown[] }>(ctx, {
      query: ORDERS_LINE_ITEMS,
      variables: { ids: chunk.map((id) => gidFor('Order', id)) },
      operation: 'orders.lineItemsByIds',
      cost: chunk.length * ORDER_LINE_ITEMS_COST,
    });
    return Promise.all(
      chunk.map(async (_, i) => {
        const node = data.nodes?.[i];
        if (!isType<{ id: string; lineItems: ShopifyLineItemPage }>('Order')(node) || !node.lineItems) return null;
        const lines = await allLineItems(ctx, node.id, node.lineItems);
        return lines.map(mapLineItem);
      }),
    );
  });
  const byId = new Map(ids.map((id, i) => [id, results[i]!]));
  return parents.map((p) => byId.get(p.source.remoteId)!);
}

const contacts: EntityLoader<ContactModel> = {
  byIds: (ids, ctx) =>
    byIdsThroughNodes(ids, 'Customer', CUSTOMERS_PER_BATCH, async (chunk) => {
      const data = await shopifyGraphql<{ nodes: unknown[] }>(ctx, {
        query: CUSTOMERS_BY_IDS,
        variables: { ids: chunk.map((id) => gidFor('Customer', id)) },
        operation: 'customers.byIds',
        cost: chunk.length * CUSTOMER_COST,
      });
      return chunk.map((_, i) => {
        const node = data.nodes?.[i];
        return isType<ShopifyCustomer>('Customer')(node) ? mapCustomer(node, mapOptions(ctx)) : null;
      });
    }),

  async list(args, ctx) {
    const email = args.filter.email?.trim();
    const search = searchArgs(args, email ? [`email:${searchValue(email)}`] : []);
    const first = pageThatFits(ctx.connection.id, Math.max(1, Math.min(args.first, CUSTOMERS_PER_PAGE)), CUSTOMER_COST);
    const data = await shopifyGraphql<{ customers: { nodes: ShopifyCustomer[]; pageInfo: ShopifyPageInfo } }>(ctx, {
      query: CUSTOMERS_LIST,
      variables: { first, after: args.after ?? null, ...search },
      operation: 'customers.list',
      cost: 2 + first * CUSTOMER_COST,
    });
    return page(
      data.customers.nodes.map((c) => mapCustomer(c, mapOptions(ctx))),
      data.customers.pageInfo,
    );
  },
};

const orders: LineItemOwnerLoader<OrderModel> = {
  byIds: (ids, ctx) =>
    byIdsThroughNodes(ids, 'Order', ORDERS_PER_BATCH, async (chunk) => {
      const data = await shopifyGraphql<{ nodes: unknown[] }>(ctx, {
        query: ORDERS_BY_IDS,
        variables: { ids: chunk.map((id) => gidFor('Order', id)) },
        operation: 'orders.byIds',
        cost: chunk.length * ORDER_COST,
      });
      const found = chunk.map((_, i) => data.nodes?.[i]).map((n) => (isType<ShopifyOrder>('Order')(n) ? n : null));
      const mapped = mapOrders(
        ctx,
        found.filter((n): n is ShopifyOrder => n !== null),
      );
      let next = 0;
      return found.map((n) => (n === null ? null : (mapped[next++] as OrderModel)));
    }),

  async list(args, ctx) {
    const extra: string[] = [];
    if (args.filter.contactRemoteId) {
      // An id Shopify cannot have owns no orders; never send it into the search string.
      if (!isShopifyId(args.filter.contactRemoteId)) return { nodes: [], endCursor: null, hasNextPage: false };
      extra.push(`customer_id:${args.filter.contactRemoteId}`);
    }
    if (args.filter.email?.trim()) extra.push(`email:${searchValue(args.filter.email.trim())}`);
    const search = searchArgs(args, extra);
    const first = pageThatFits(ctx.connection.id, Math.max(1, Math.min(args.first, ORDERS_PER_PAGE)), ORDER_COST);
    const data = await shopifyGraphql<{ orders: { nodes: ShopifyOrder[]; pageInfo: ShopifyPageInfo } }>(ctx, {
      query: ORDERS_LIST,
      variables: { first, after: args.after ?? null, ...search },
      operation: 'orders.list',
      cost: 2 + first * ORDER_COST,
    });
    return page(mapOrders(ctx, data.orders.nodes), data.orders.pageInfo);
  },

  lineItems: orderLineItems,
};

export { LINE_ITEMS_PER_ORDER };

export const shopify = defineConnector({
  coverage,
  manifest: {
    id: 'shopify',
    displayName: 'Shopify',
    auth: {
      // Per-shop OAuth (public and custom distribution apps). Since 2025-12-10 offline tokens can
      // expire (3600 s, `expiring: 1` at the token endpoint) and come with a refresh token that is
      // replaced on every use.
      oauth2: {
        authorizationUrl: 'https://{shop}/admin/oauth/authorize',
        tokenUrl: 'https://{shop}/admin/oauth/access_token',
        // Uninstalling the app is the revocation; there is no token revocation endpoint.
        revocation: { type: 'none' },
        scopes: ['read_customers', 'read_orders'],
        scopeSeparator: ',',
        pkce: false,
        clientAuth: 'client_secret_post',
        grants: ['authorization_code'],
        refreshTokenRotation: 'always',
        connectParams: [{ name: 'shop', pattern: SHOP_DOMAIN_PATTERN, description: "The shop's permanent domain, e.g. acme.myshopify.com" }],
        settingsFromTokenResponse: { scope: 'scope' },
        // An expiring offline token (3600 s) with a rotating refresh token (REFERENCE.md §3 Lifetimes).
        tokenParams: { expiring: '1' },
        // Shopify's token response has no token_type; its tokens go in X-Shopify-Access-Token.
        tokenResponseDefaults: { token_type: 'bearer' },
      },
      // Custom apps created in a shop's admin get a static Admin API access token.
      apiKey: { label: 'Admin API access token (custom app)', pattern: '^shpat_[A-Za-z0-9]{16,}$' },
      // Every token goes in this header, never as a Bearer: the upstream layer renews a token
      // Shopify refuses (401) in the header Shopify reads.
      tokenPlacement: { header: ACCESS_TOKEN_HEADER, scheme: null },
    },
    // Per shop: connections set baseUrl to https://{shop} (contract v2: derived from connectParams).
    defaultBaseUrl: 'https://shop.myshopify.com',
    maxBatchSize: { Contact: CUSTOMERS_PER_BATCH, Order: ORDERS_PER_BATCH },
    maxConcurrency: 4,
    maxPageSize: MAX_ITEMS,
    entities: ['Contact', 'Order'],
    // customers(sortKey: CREATED_AT | UPDATED_AT, reverse:) and the same for orders.
    listOrders: {
      Contact: { orders: [...LIST_ORDER_NAMES] },
      Order: { orders: [...LIST_ORDER_NAMES] },
    },
    rateLimits: {
      // The cost bucket is what Shopify enforces: the shared budget plans every query from its
      // requested cost and corrects by extensions.cost (the reported size and restore rate replace
      // these Standard-plan figures). The request window is only a backstop.
      windows: [{ requests: 40, windowMs: 1000 }],
      costBucket: { capacity: 1000, restorePerSecond: 100 },
      notes:
        'GraphQL Admin: a cost bucket per app and shop (1000 points on Standard plans, restoring 100/s; Advanced 200/s, Plus 1000/s), a single query at most 1000 requested points. The shared budget plans from the requested cost and corrects by extensions.cost.throttleStatus.',
    },
    events: { source: 'webhooks' },
    // No timestamp in the MAC: replays are caught by the dedupe key (X-Shopify-Event-Id).
    webhooks: { toleranceSeconds: null, signatureHeader: SHOPIFY_HMAC_HEADER, timestampHeader: null },
  },
  loaders: { Contact: contacts, Order: orders },
  webhooks: shopifyWebhooks,
  auth: { verifyCallback: verifyShopifyCallback },
});
