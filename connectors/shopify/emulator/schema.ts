// The subset of the GraphQL Admin API schema the connector uses, with Shopify's type, field, enum
// and argument names, served by graphql-js over the ShopStore. Lists page with opaque cursors,
// refuse `first`/`last` above 250 and more than 250 `ids`, and filter with Shopify's search syntax
// (search.ts). Global ids are gid://shopify/<Type>/<id>.
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { matchesSearch, parseSearch, type SearchTerm } from './search.ts';
import { decimal, type AddressRecord, type CustomerRecord, type LineItemRecord, type OrderRecord, type ShopStore } from './store.ts';

const SDL = /* GraphQL */ `
  scalar DateTime
  scalar Decimal
  scalar UnsignedInt64
  scalar URL

  interface Node {
    id: ID!
  }

  enum CurrencyCode {
    USD
    EUR
    GBP
    CAD
    JPY
    KWD
    BHD
  }
  enum CountryCode {
    US
    GB
    DE
    FR
    JP
    CA
    NL
    KW
    BH
  }
  enum CustomerState {
    DECLINED
    DISABLED
    ENABLED
    INVITED
  }
  enum OrderCancelReason {
    CUSTOMER
    DECLINED
    FRAUD
    INVENTORY
    OTHER
    STAFF
  }
  enum OrderDisplayFinancialStatus {
    AUTHORIZED
    EXPIRED
    PAID
    PARTIALLY_PAID
    PARTIALLY_REFUNDED
    PENDING
    REFUNDED
    VOIDED
  }
  enum OrderDisplayFulfillmentStatus {
    FULFILLED
    IN_PROGRESS
    ON_HOLD
    OPEN
    PARTIALLY_FULFILLED
    PENDING_FULFILLMENT
    REQUEST_DECLINED
    RESTOCKED
    SCHEDULED
    UNFULFILLED
  }
  enum CustomerSortKeys {
    CREATED_AT
    ID
    LOCATION
    NAME
    RELEVANCE
    UPDATED_AT
  }
  enum OrderSortKeys {
    CREATED_AT
    CUSTOMER_NAME
    FINANCIAL_STATUS
    FULFILLMENT_STATUS
    ID
    ORDER_NUMBER
    PROCESSED_AT
    RELEVANCE
    TOTAL_PRICE
    UPDATED_AT
  }

  type MoneyV2 {
    amount: Decimal!
    currencyCode: CurrencyCode!
  }
  type MoneyBag {
    shopMoney: MoneyV2!
    presentmentMoney: MoneyV2!
  }

  type MailingAddress implements Node {
    id: ID!
    address1: String
    address2: String
    city: String
    company: String
    country: String
    countryCodeV2: CountryCode
    firstName: String
    lastName: String
    name: String
    phone: String
    province: String
    provinceCode: String
    zip: String
  }

  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type LineItem implements Node {
    id: ID!
    name: String!
    title: String!
    sku: String
    quantity: Int!
    originalUnitPriceSet: MoneyBag!
    originalTotalSet: MoneyBag!
  }
  type LineItemEdge {
    cursor: String!
    node: LineItem!
  }
  type LineItemConnection {
    edges: [LineItemEdge!]!
    nodes: [LineItem!]!
    pageInfo: PageInfo!
  }

  type Customer implements Node {
    id: ID!
    legacyResourceId: UnsignedInt64!
    firstName: String
    lastName: String
    displayName: String!
    email: String
    phone: String
    tags: [String!]!
    note: String
    state: CustomerState!
    verifiedEmail: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
    defaultAddress: MailingAddress
  }
  type CustomerEdge {
    cursor: String!
    node: Customer!
  }
  type CustomerConnection {
    edges: [CustomerEdge!]!
    nodes: [Customer!]!
    pageInfo: PageInfo!
  }

  type Order implements Node {
    id: ID!
    legacyResourceId: UnsignedInt64!
    name: String!
    email: String
    phone: String
    createdAt: DateTime!
    updatedAt: DateTime!
    processedAt: DateTime!
    cancelledAt: DateTime
    closedAt: DateTime
    cancelReason: OrderCancelReason
    currencyCode: CurrencyCode!
    displayFinancialStatus: OrderDisplayFinancialStatus
    displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
    subtotalPriceSet: MoneyBag
    totalShippingPriceSet: MoneyBag!
    totalTaxSet: MoneyBag
    totalDiscountsSet: MoneyBag
    totalPriceSet: MoneyBag!
    totalRefundedSet: MoneyBag!
    billingAddress: MailingAddress
    shippingAddress: MailingAddress
    customer: Customer
    test: Boolean!
    lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): LineItemConnection!
  }
  type OrderEdge {
    cursor: String!
    node: Order!
  }
  type OrderConnection {
    edges: [OrderEdge!]!
    nodes: [Order!]!
    pageInfo: PageInfo!
  }

  type Query {
    node(id: ID!): Node
    nodes(ids: [ID!]!): [Node]!
    customer(id: ID!): Customer
    order(id: ID!): Order
    customers(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
      sortKey: CustomerSortKeys = ID
      query: String
    ): CustomerConnection!
    orders(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
      sortKey: OrderSortKeys = PROCESSED_AT
      query: String
    ): OrderConnection!
  }
`;

export const MAX_PAGE = 250;

const userError = (message: string, code = 'BAD_REQUEST') => new GraphQLError(message, { extensions: { code } });

type Typed<T> = T & { __typename: string };
interface Page<T> {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
}

const encodeCursor = (id: number) => Buffer.from(JSON.stringify({ last_id: id }), 'utf8').toString('base64url');
function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { last_id?: unknown };
    if (typeof parsed.last_id === 'number') return parsed.last_id;
  } catch {
    // fall through
  }
  throw userError('Invalid cursor for current pagination.', 'BAD_REQUEST');
}

/** Relay pagination over an already-sorted list, as Shopify answers it. */
export function connection<T extends { id: number }>(sorted: T[], args: Page<T>) {
  const { first, last } = args;
  if ((first ?? null) === null && (last ?? null) === null) throw userError('you must provide one of first or last');
  if (first != null && last != null) throw userError('providing both first and last is not supported');
  const size = (first ?? last) as number;
  if (size > MAX_PAGE || size < 0) throw userError(`The ${first != null ? 'first' : 'last'} argument must be between 0 and ${MAX_PAGE}.`);
  let from = 0;
  let to = sorted.length;
  if (args.after) {
    const id = decodeCursor(args.after);
    from = sorted.findIndex((x) => x.id === id) + 1;
    if (from === 0) throw userError('Invalid cursor for current pagination.');
  }
  if (args.before) {
    const id = decodeCursor(args.before);
    to = sorted.findIndex((x) => x.id === id);
    if (to < 0) throw userError('Invalid cursor for current pagination.');
  }
  const window = sorted.slice(from, to);
  const items = first != null ? window.slice(0, size) : window.slice(Math.max(0, window.length - size));
  return {
    nodes: items,
    edges: items.map((node) => ({ cursor: encodeCursor(node.id), node })),
    pageInfo: {
      hasNextPage: first != null ? window.length > size : to < sorted.length,
      hasPreviousPage: first != null ? from > 0 : window.length > size,
      startCursor: items[0] ? encodeCursor(items[0].id) : null,
      endCursor: items.at(-1) ? encodeCursor((items.at(-1) as T).id) : null,
    },
  };
}

const GID = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)$/;

function parseGid(gid: string): { type: string; id: number } {
  const m = GID.exec(gid);
  if (!m) throw userError(`Invalid global id '${gid}'`, 'argumentLiteralsIncompatible');
  return { type: m[1] as string, id: Number(m[2]) };
}

const bag = (minor: number, currency: string) => {
  const money = { amount: decimal(minor, currency), currencyCode: currency };
  return { shopMoney: money, presentmentMoney: money };
};

const sortValue: Record<string, (r: CustomerRecord & OrderRecord) => string | number> = {
  ID: (r) => r.id,
  CREATED_AT: (r) => r.createdAt,
  UPDATED_AT: (r) => r.updatedAt,
  PROCESSED_AT: (r) => r.processedAt,
  ORDER_NUMBER: (r) => r.number,
  NAME: (r) => `${r.firstName ?? ''} ${r.lastName ?? ''}`,
};

function sorted<T extends { id: number }>(items: T[], sortKey: string, reverse: boolean): T[] {
  const value = (sortValue[sortKey] ?? sortValue['ID']) as unknown as (r: T) => string | number;
  const out = [...items].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    return x < y ? -1 : x > y ? 1 : a.id - b.id;
  });
  return reverse ? out.reverse() : out;
}

function addressView(a: AddressRecord | null, owner: string) {
  if (!a) return null;
  return { ...a, id: `gid://shopify/MailingAddress/${owner}`, countryCodeV2: a.countryCode, name: [a.firstName, a.lastName].filter(Boolean).join(' ') || null };
}

export function buildShopSchema(store: ShopStore): GraphQLSchema {
  const customerFields = (c: CustomerRecord): Record<string, unknown> => ({
    email: c.email,
    first_name: c.firstName,
    last_name: c.lastName,
    updated_at: c.updatedAt,
    created_at: c.createdAt,
    id: c.id,
    state: c.state,
    tag: c.tags,
  });
  const orderFields = (o: OrderRecord): Record<string, unknown> => ({
    email: o.email,
    updated_at: o.updatedAt,
    created_at: o.createdAt,
    processed_at: o.processedAt,
    id: o.id,
    customer_id: o.customerId,
    financial_status: o.financialStatus.toLowerCase(),
    name: `#${o.number}`,
  });
  const byGid = (gid: string): Typed<object> | null => {
    const { type, id } = parseGid(gid);
    if (type === 'Customer') {
      const c = store.customers.get(id);
      return c ? { ...c, __typename: 'Customer' } : null;
    }
    if (type === 'Order') {
      const o = store.orders.get(id);
      return o ? { ...o, __typename: 'Order' } : null;
    }
    return null;
  };
  const search = (query: string | null | undefined): SearchTerm[] => (query ? parseSearch(query) : []);

  return makeExecutableSchema({
    typeDefs: SDL,
    resolvers: {
      Node: { __resolveType: (obj: { __typename?: string }) => obj.__typename ?? null },
      Query: {
        node: (_: unknown, { id }: { id: string }) => byGid(id),
        nodes: (_: unknown, { ids }: { ids: string[] }) => {
          if (ids.length > MAX_PAGE)
            throw userError(`The input array size of ${ids.length} is greater than the maximum allowed of ${MAX_PAGE}.`, 'MAX_INPUT_SIZE_EXCEEDED');
          return ids.map(byGid);
        },
        customer: (_: unknown, { id }: { id: string }) => {
          const n = byGid(id);
          return n?.__typename === 'Customer' ? n : null;
        },
        order: (_: unknown, { id }: { id: string }) => {
          const n = byGid(id);
          return n?.__typename === 'Order' ? n : null;
        },
        customers: (_: unknown, args: Page<CustomerRecord> & { sortKey: string; query?: string | null }) => {
          const terms = search(args.query);
          const all = [...store.customers.values()].filter((c) => matchesSearch(terms, customerFields(c)));
          return connection(sorted(all, args.sortKey, Boolean(args.reverse)), args);
        },
        orders: (_: unknown, args: Page<OrderRecord> & { sortKey: string; query?: string | null }) => {
          const terms = search(args.query);
          const all = [...store.orders.values()].filter((o) => matchesSearch(terms, orderFields(o)));
          return connection(sorted(all, args.sortKey, Boolean(args.reverse)), args);
        },
      },
      Customer: {
        id: (c: CustomerRecord) => `gid://shopify/Customer/${c.id}`,
        legacyResourceId: (c: CustomerRecord) => String(c.id),
        displayName: (c: CustomerRecord) => [c.firstName, c.lastName].filter(Boolean).join(' ') || c.email || '',
        defaultAddress: (c: CustomerRecord) => addressView(c.address, `c${c.id}`),
      },
      Order: {
        id: (o: OrderRecord) => `gid://shopify/Order/${o.id}`,
        legacyResourceId: (o: OrderRecord) => String(o.id),
        name: (o: OrderRecord) => `#${o.number}`,
        currencyCode: (o: OrderRecord) => o.currency,
        displayFinancialStatus: (o: OrderRecord) => o.financialStatus,
        displayFulfillmentStatus: (o: OrderRecord) => o.fulfillmentStatus,
        subtotalPriceSet: (o: OrderRecord) => bag(store.subtotal(o), o.currency),
        totalShippingPriceSet: (o: OrderRecord) => bag(o.shipping, o.currency),
        totalTaxSet: (o: OrderRecord) => bag(o.tax, o.currency),
        totalDiscountsSet: (o: OrderRecord) => bag(o.discount, o.currency),
        totalPriceSet: (o: OrderRecord) => bag(store.total(o), o.currency),
        totalRefundedSet: (o: OrderRecord) => bag(o.refunded, o.currency),
        billingAddress: (o: OrderRecord) => addressView(o.billing, `b${o.id}`),
        shippingAddress: (o: OrderRecord) => addressView(o.shippingAddress, `s${o.id}`),
        customer: (o: OrderRecord) => (o.customerId === null ? null : (store.customers.get(o.customerId) ?? null)),
        lineItems: (o: OrderRecord, args: Page<LineItemRecord>) => {
          const items = lineItemsWithCurrency(o);
          return connection(args.reverse ? items.reverse() : items, args);
        },
      },
      LineItem: {
        id: (li: LineItemRecord) => `gid://shopify/LineItem/${li.id}`,
        name: (li: LineItemRecord) => li.title,
        originalUnitPriceSet: (li: PricedLineItem) => bag(li.price, li.currency),
        originalTotalSet: (li: PricedLineItem) => bag(li.price * li.quantity, li.currency),
      },
    },
  });
}

type PricedLineItem = LineItemRecord & { currency: string };

/** Line items need their order's currency: attached when the order resolves them. */
function lineItemsWithCurrency(o: OrderRecord): PricedLineItem[] {
  return o.lineItems.map((li) => ({ ...li, currency: o.currency }));
}
