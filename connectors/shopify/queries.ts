// The GraphQL documents the connector sends to the Admin API, and what each costs. Shopify refuses
// any query whose requested cost is above 1000 points before running it, and charges the requested
// cost against the leaky bucket, so page and batch sizes are derived from the per-record cost of
// these selections (checked against the emulator's cost calculator in emulator.test.ts).

/** The Admin API version every request names (see README: why 2026-07). */
export const SHOPIFY_API_VERSION = '2026-07';
export const GRAPHQL_PATH = `/admin/api/${SHOPIFY_API_VERSION}/graphql.json`;

/** Shopify's single-query ceiling on requested cost. */
export const MAX_QUERY_COST = 1000;
/** Shopify-wide cap on `first` and on input arrays such as `nodes(ids:)`. */
export const MAX_ITEMS = 250;
/** Line items read per order by the deferred line-item read; an order with more pages in the rest (one call per such order). */
export const LINE_ITEMS_PER_ORDER = 5;

const ADDRESS = 'name firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone';
const MONEY = 'shopMoney { amount currencyCode }';

const CUSTOMER_FIELDS = `id legacyResourceId firstName lastName displayName email phone tags note state verifiedEmail createdAt updatedAt defaultAddress { ${ADDRESS} }`;
const LINE_ITEM_FIELDS = `id name title sku quantity originalUnitPriceSet { ${MONEY} }`;
const ORDER_FIELDS = `id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt closedAt cancelReason currencyCode displayFinancialStatus displayFulfillmentStatus
  subtotalPriceSet { ${MONEY} } totalShippingPriceSet { ${MONEY} } totalTaxSet { ${MONEY} } totalDiscountsSet { ${MONEY} } totalPriceSet { ${MONEY} } totalRefundedSet { ${MONEY} }
  billingAddress { ${ADDRESS} } shippingAddress { ${ADDRESS} }
  customer { ${CUSTOMER_FIELDS} }`;

/**
 * Requested cost of one record of each selection under Shopify's rules (object 1, scalar/enum 0,
 * connection 2 + first × node): a Customer is itself + defaultAddress = 2; an Order (line items
 * deferred) is itself 1 + six MoneyBags × (bag + shopMoney) 12 + two addresses 2 + customer 2 = 17;
 * an order's line items (ORDERS_LINE_ITEMS) cost the Order 1 + lineItems 2 + 5 × 3 = 18.
 */
export const CUSTOMER_COST = 2;
export const ORDER_COST = 1 + 12 + 2 + CUSTOMER_COST;
export const ORDER_LINE_ITEMS_COST = 1 + 2 + LINE_ITEMS_PER_ORDER * 3;

/** Records one query may carry: a connection pays 2 on top, a nodes() list does not. */
export const perQuery = (recordCost: number, connection: boolean) => Math.min(MAX_ITEMS, Math.floor((MAX_QUERY_COST - (connection ? 2 : 0)) / recordCost));

export const CUSTOMERS_BY_IDS = `query SwitchboardCustomersByIds($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Customer { ${CUSTOMER_FIELDS} } } }`;
export const ORDERS_BY_IDS = `query SwitchboardOrdersByIds($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Order { ${ORDER_FIELDS} } } }`;
/** The first LINE_ITEMS_PER_ORDER line items of many orders (the deferred part: read only when selected). */
export const ORDERS_LINE_ITEMS = `query SwitchboardOrdersLineItems($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Order { id lineItems(first: ${LINE_ITEMS_PER_ORDER}) { nodes { ${LINE_ITEM_FIELDS} } pageInfo { hasNextPage endCursor } } } } }`;

const LIST_ARGS = '$first: Int!, $after: String, $query: String, $sortKey: %SORT%, $reverse: Boolean';
const listArgs = (sortEnum: string) => LIST_ARGS.replace('%SORT%', sortEnum);
export const CUSTOMERS_LIST = `query SwitchboardCustomers(${listArgs('CustomerSortKeys')}) { customers(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) { nodes { ${CUSTOMER_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
export const ORDERS_LIST = `query SwitchboardOrders(${listArgs('OrderSortKeys')}) { orders(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) { nodes { ${ORDER_FIELDS} } pageInfo { hasNextPage endCursor } } }`;

/** Line items per call for the rest of a long order: 1 + 2 + 50 × 3 = 153 points. */
export const MORE_LINE_ITEMS = 50;
export const MORE_LINE_ITEMS_COST = 1 + 2 + MORE_LINE_ITEMS * 3;
/** The rest of one order's line items (orders with more than LINE_ITEMS_PER_ORDER). */
export const ORDER_LINE_ITEMS = `query SwitchboardOrderLineItems($id: ID!, $after: String) { order(id: $id) { id lineItems(first: ${MORE_LINE_ITEMS}, after: $after) { nodes { ${LINE_ITEM_FIELDS} } pageInfo { hasNextPage endCursor } } } }`;

/**
 * A value for Shopify's search syntax, always double-quoted with `\` and `"` escaped, so a
 * filter value can never end the term and add its own (`x" OR email:*` stays one e-mail).
 */
export function searchValue(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
