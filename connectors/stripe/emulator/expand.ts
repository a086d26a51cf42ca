// Stripe's `expand[]`: replaces an id with the object it names, or adds an "includable" property
// (checkout.session.line_items) that is absent by default. Paths are dotted, at most four levels,
// and on list endpoints must start with `data.`. Unknown paths fail with Stripe's message.
import { invalidRequest } from './errors.ts';
import type { Json, StripeStore } from './store.ts';

type Resolver = (value: unknown, parent: Json, store: StripeStore) => unknown;

const MAX_DEPTH = 4;

/** Fields that stay null in this data set (no payment methods, test clocks...): expanding is a no-op. */
const keepNull: Resolver = (value) => value;

const customer: Resolver = (value, _parent, store) => (typeof value === 'string' ? (store.customerView(value) ?? value) : value);

const invoice: Resolver = (value, _parent, store) => {
  if (typeof value !== 'string') return value;
  const record = store.invoices.get(value);
  return record ? store.invoiceView(record) : value;
};

const paymentIntent: Resolver = (value, _parent, store) => (typeof value === 'string' ? (structuredClone(store.paymentIntents.get(value)) ?? value) : value);

const product: Resolver = (value, _parent, store) => (typeof value === 'string' ? (structuredClone(store.products.get(value)) ?? value) : value);

const price: Resolver = (value, _parent, store) => (typeof value === 'string' ? (structuredClone(store.prices.get(value)) ?? value) : value);

const EXPANDABLE: Record<string, Record<string, Resolver>> = {
  customer: {
    default_source: keepNull,
    'invoice_settings.default_payment_method': keepNull,
    test_clock: keepNull,
  },
  invoice: {
    customer,
    account_tax_ids: keepNull,
    application: keepNull,
    default_payment_method: keepNull,
    default_source: keepNull,
    latest_revision: invoice,
    on_behalf_of: keepNull,
    test_clock: keepNull,
  },
  line_item: {
    'pricing.price_details.price': price,
    subscription: keepNull,
  },
  'checkout.session': {
    customer,
    invoice,
    payment_intent: paymentIntent,
    payment_link: keepNull,
    setup_intent: keepNull,
    subscription: keepNull,
    line_items: (value, parent, store) => {
      if (value !== undefined) return value;
      const record = store.sessions.get(String(parent['id']));
      return record ? store.sessionLineItems(record) : value;
    },
  },
  item: {
    discounts: (value) => value ?? [],
    taxes: (value) => value ?? [],
  },
  price: { product },
  payment_intent: { customer, latest_charge: keepNull, payment_method: keepNull, review: keepNull },
  product: { default_price: price, tax_code: keepNull },
  event: {},
};

/**
 * Applies `paths` to a response body in place. `isList` marks a list endpoint, where every path
 * must go through `data`.
 */
export function applyExpand(body: Json, paths: readonly string[], store: StripeStore, isList: boolean): void {
  for (const path of paths) {
    const segments = path.split('.');
    if (segments.length > MAX_DEPTH || segments.some((s) => s === '')) {
      throw invalidRequest(`You cannot expand more than ${MAX_DEPTH} levels of a property. Property: ${path}`, 'expand');
    }
    if (isList && segments[0] !== 'data') {
      throw invalidRequest(`This property cannot be expanded (${path}). You may want to try expanding 'data.${path}' instead.`);
    }
    expandOne(body, segments, path, store);
  }
}

function expandOne(target: unknown, segments: string[], fullPath: string, store: StripeStore): void {
  if (segments.length === 0 || target === null || typeof target !== 'object') return;
  const obj = target as Json;
  if (obj['object'] === 'list') {
    if (segments[0] !== 'data') throw invalidRequest(`This property cannot be expanded (${fullPath}).`);
    for (const item of obj['data'] as unknown[]) expandOne(item, segments.slice(1), fullPath, store);
    return;
  }
  if (obj['deleted'] === true) return;
  const table = EXPANDABLE[String(obj['object'])] ?? {};
  for (let k = segments.length; k >= 1; k--) {
    const key = segments.slice(0, k).join('.');
    const resolver = table[key];
    if (!resolver) continue;
    const holder = walk(obj, segments.slice(0, k - 1));
    const field = segments[k - 1] as string;
    if (!holder) return; // an intermediate hash is null: nothing to expand
    const expanded = resolver(holder[field], obj, store);
    if (expanded !== undefined) holder[field] = expanded;
    expandOne(expanded, segments.slice(k), fullPath, store);
    return;
  }
  // Not expandable here, but an embedded object (a line item's price) may be walked into.
  const [first, ...rest] = segments as [string, ...string[]];
  const inner = obj[first];
  if (rest.length > 0 && inner !== null && typeof inner === 'object' && 'object' in (inner as Json)) {
    expandOne(inner, rest, fullPath, store);
    return;
  }
  throw invalidRequest(`This property cannot be expanded (${fullPath}).`);
}

function walk(obj: Json, path: string[]): Json | null {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Json)[seg];
  }
  return cur !== null && typeof cur === 'object' ? (cur as Json) : null;
}
