// WooCommerce `wc/v3` resources → the unified model, as pure functions. WooCommerce writes money as
// decimal strings (major units, `dp` decimals), instants as `YYYY-MM-DDTHH:MM:SS` without a zone
// (the `*_gmt` twin is UTC, the other one the site's time zone), and empty fields as "" — so the
// mappers read only the `_gmt` dates, turn "" into null, and never let a float touch an amount.
import { ConnectorError } from '../sdk/errors.ts';
import type {
  AddressModel,
  AddressType,
  ContactModel,
  LineItemModel,
  MoneyModel,
  OrderModel,
  OrderStatus,
  PaymentStatus,
  FulfillmentStatus,
  PhoneModel,
  SourceModel,
} from '../sdk/models.ts';
import { moneyFromDecimal } from '../sdk/money.ts';

export const PROVIDER = 'woocommerce';

export interface WooAddress {
  first_name?: string;
  last_name?: string;
  company?: string;
  address_1?: string;
  address_2?: string;
  city?: string;
  state?: string;
  postcode?: string;
  country?: string;
  email?: string;
  phone?: string;
}

export interface WooMeta {
  id?: number;
  key: string;
  value: unknown;
}

export interface WooCustomer {
  id: number;
  date_created: string | null;
  date_created_gmt: string | null;
  date_modified: string | null;
  date_modified_gmt: string | null;
  email: string;
  first_name: string;
  last_name: string;
  role: string;
  username: string;
  billing: WooAddress;
  shipping: WooAddress;
  is_paying_customer: boolean;
  avatar_url?: string;
  meta_data?: WooMeta[];
}

export interface WooLineItem {
  id: number;
  name: string;
  product_id: number;
  variation_id: number;
  quantity: number;
  subtotal: string;
  subtotal_tax: string;
  total: string;
  total_tax: string;
  sku: string | null;
  /** Unit price after discounts: a JSON number (WooCommerce divides total by quantity) or a string. */
  price: number | string | null;
}

export interface WooOrder {
  id: number;
  parent_id: number;
  number: string;
  status: string;
  currency: string;
  date_created: string | null;
  date_created_gmt: string | null;
  date_modified: string | null;
  date_modified_gmt: string | null;
  date_paid_gmt?: string | null;
  date_completed_gmt?: string | null;
  discount_total: string;
  shipping_total: string;
  total: string;
  total_tax: string;
  customer_id: number;
  billing: WooAddress;
  shipping: WooAddress;
  line_items: WooLineItem[];
  refunds?: Array<{ id: number; reason: string; total: string }>;
  meta_data?: WooMeta[];
}

/** Options that come from the connection, not the payload. */
export interface MapOptions {
  /** The store's base URL, for links into wp-admin; null leaves remoteUrl empty. */
  storeUrl?: string | null;
}

const blank = (v: string | null | undefined): string | null => (v === undefined || v === null || v.trim() === '' ? null : v.trim());

/** `2026-03-01T10:15:00` (UTC, from a `_gmt` field) → `2026-03-01T10:15:00Z`. */
export function gmtInstant(value: string | null | undefined): string | null {
  const v = blank(value);
  if (v === null) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(v)) throw new RangeError(`not a WooCommerce GMT date: "${v}"`);
  return `${v}Z`;
}

/** Milliseconds of a `_gmt` date: the version that orders changes of one record. */
export function gmtMillis(value: string | null | undefined): number | null {
  const instant = gmtInstant(value);
  return instant === null ? null : Date.parse(instant);
}

const fullName = (first: string | null | undefined, last: string | null | undefined): string | null =>
  blank([blank(first), blank(last)].filter(Boolean).join(' '));

function address(type: AddressType, a: WooAddress | null | undefined): AddressModel | null {
  if (!a) return null;
  const model: AddressModel = {
    type,
    name: fullName(a.first_name, a.last_name),
    line1: blank(a.address_1),
    line2: blank(a.address_2),
    city: blank(a.city),
    region: blank(a.state),
    postalCode: blank(a.postcode),
    country: blank(a.country),
  };
  const { type: _t, name: _n, ...place } = model;
  return Object.values(place).some((v) => v !== null) ? model : null;
}

function phone(number: string | null | undefined): PhoneModel | null {
  const n = blank(number);
  if (n === null) return null;
  const digits = n.replace(/[\s().-]/g, '');
  return { number: n, e164: /^\+[1-9]\d{1,14}$/.test(digits) ? digits : null, type: 'OTHER' };
}

function adminUrl(options: MapOptions, path: string): string | null {
  const store = options.storeUrl;
  if (!store) return null;
  return `${store.replace(/\/+$/, '')}/wp-admin/${path}`;
}

function wrap<T>(what: string, id: unknown, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConnectorError) throw err;
    throw new ConnectorError('MAPPING_FAILED', `WooCommerce ${what} ${String(id)} could not be mapped: ${(err as Error).message}`, {
      retryable: false,
      cause: err,
    });
  }
}

/** Source and dates from the *_gmt fields; a record never modified since creation reports its creation. */
function provenance(r: { id: number; date_created_gmt: string | null; date_modified_gmt: string | null }, remoteUrl: string | null, remoteDeleted: boolean) {
  const createdAt = gmtInstant(r.date_created_gmt);
  const updatedAt = gmtInstant(r.date_modified_gmt) ?? createdAt;
  const source: SourceModel = { provider: PROVIDER, remoteId: String(r.id), remoteUrl, remoteCreatedAt: createdAt, remoteUpdatedAt: updatedAt, remoteDeleted };
  return { source, createdAt, updatedAt };
}

function expectObject(raw: unknown, what: string): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || typeof (raw as { id?: unknown }).id !== 'number') {
    throw new ConnectorError('MAPPING_FAILED', `WooCommerce ${what} is not an object with a numeric id`, { retryable: false });
  }
  return raw as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Customers → Contact
// ---------------------------------------------------------------------------------------------

export function mapCustomer(raw: unknown, options: MapOptions = {}): ContactModel {
  const c = expectObject(raw, 'customer') as unknown as WooCustomer;
  return wrap('customer', c.id, () => {
    const id = String(c.id);
    const primary = blank(c.email);
    const billingEmail = blank(c.billing?.email);
    const emails = [
      ...(primary ? [{ address: primary, type: 'OTHER' as const, primary: true }] : []),
      ...(billingEmail && billingEmail.toLowerCase() !== primary?.toLowerCase()
        ? [{ address: billingEmail, type: 'OTHER' as const, primary: primary === null }]
        : []),
    ];
    const phones = [phone(c.billing?.phone), phone((c.shipping as WooAddress | undefined)?.phone)].filter((p): p is PhoneModel => p !== null);
    const uniquePhones = phones.filter((p, i) => phones.findIndex((q) => q.number === p.number) === i);
    // date_modified is null until the customer is first saved again.
    const { source, createdAt, updatedAt } = provenance(c, adminUrl(options, `user-edit.php?user_id=${id}`), false);
    return {
      entity: 'Contact',
      source,
      firstName: blank(c.first_name) ?? blank(c.billing?.first_name),
      lastName: blank(c.last_name) ?? blank(c.billing?.last_name),
      name: fullName(c.first_name, c.last_name) ?? fullName(c.billing?.first_name, c.billing?.last_name) ?? blank(c.username),
      jobTitle: null,
      companyName: blank(c.billing?.company),
      emails,
      phones: uniquePhones,
      addresses: [address('BILLING', c.billing), address('SHIPPING', c.shipping)].filter((a): a is AddressModel => a !== null),
      tags: [],
      customFields: { role: c.role ?? null, username: blank(c.username), isPayingCustomer: c.is_paying_customer ?? null },
      createdAt,
      updatedAt,
      raw,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Orders → Order
// ---------------------------------------------------------------------------------------------

/** Exact sum of decimal strings (WooCommerce writes refunds as negative amounts): no floats. */
export function sumDecimals(values: ReadonlyArray<string | number | null | undefined>): string {
  const parts = values.filter((v): v is string | number => v !== null && v !== undefined && v !== '').map((v) => String(v).trim());
  let scale = 0;
  for (const p of parts) {
    if (!/^-?\d+(\.\d+)?$/.test(p)) throw new RangeError(`not a decimal amount: "${p}"`);
    scale = Math.max(scale, (p.split('.')[1] ?? '').length);
  }
  let total = 0n;
  for (const p of parts) {
    const [int = '0', frac = ''] = p.replace('-', '').split('.');
    const scaled = BigInt(int + frac.padEnd(scale, '0'));
    total += p.startsWith('-') ? -scaled : scaled;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

const OPEN_STATUSES = new Set(['pending', 'processing', 'on-hold', 'checkout-draft']);

function orderStatus(status: string): OrderStatus {
  if (OPEN_STATUSES.has(status)) return 'OPEN';
  if (status === 'completed' || status === 'refunded') return 'COMPLETED';
  if (status === 'cancelled' || status === 'failed') return 'CANCELLED';
  return 'UNKNOWN';
}

function paymentStatus(o: WooOrder, refunded: string | null): PaymentStatus {
  const isZero = (v: string | null) => v === null || /^-?0*(\.0*)?$/.test(v);
  if (o.status === 'refunded') return 'REFUNDED';
  if (o.status === 'processing' || o.status === 'completed') {
    if (isZero(o.total)) return 'NOT_REQUIRED';
    return isZero(refunded) ? 'PAID' : 'PARTIALLY_REFUNDED';
  }
  if (o.status === 'pending' || o.status === 'on-hold' || o.status === 'failed' || o.status === 'checkout-draft') return 'UNPAID';
  // Cancelled orders may or may not have been paid: WooCommerce records the payment date.
  if (o.status === 'cancelled') return o.date_paid_gmt ? 'PAID' : 'UNPAID';
  return 'UNKNOWN';
}

/** WooCommerce core tracks no shipments: `completed` means fulfilled, `processing` awaits it. */
function fulfillmentStatus(status: string): FulfillmentStatus {
  if (status === 'completed') return 'FULFILLED';
  if (OPEN_STATUSES.has(status)) return 'UNFULFILLED';
  return 'UNKNOWN';
}

function money(value: string | number | null | undefined, currency: string): MoneyModel | null {
  return moneyFromDecimal(value, currency);
}

function lineItem(li: WooLineItem, currency: string): LineItemModel {
  const product = li.variation_id || li.product_id;
  return {
    remoteId: String(li.id),
    description: blank(li.name),
    quantity: String(li.quantity),
    unitPrice: li.price === null || li.price === undefined ? null : money(li.price, currency),
    amount: money(li.total, currency),
    sku: blank(li.sku),
    productRemoteId: product ? String(product) : null,
  };
}

export function mapOrder(raw: unknown, options: MapOptions = {}): OrderModel {
  const o = expectObject(raw, 'order') as unknown as WooOrder;
  return wrap('order', o.id, () => {
    const id = String(o.id);
    const currency = blank(o.currency)?.toUpperCase() ?? null;
    if (currency === null) throw new RangeError('order has no currency');
    const items = Array.isArray(o.line_items) ? o.line_items : [];
    const refundedSum = o.refunds?.length ? sumDecimals(o.refunds.map((r) => r.total)).replace(/^-/, '') : null;
    const { source, createdAt, updatedAt } = provenance(o, adminUrl(options, `post.php?post=${id}&action=edit`), o.status === 'trash');
    return {
      entity: 'Order',
      source,
      number: blank(o.number) ?? id,
      status: orderStatus(o.status),
      statusRaw: o.status,
      paymentStatus: paymentStatus(o, refundedSum),
      paymentStatusRaw: o.status,
      fulfillmentStatus: fulfillmentStatus(o.status),
      fulfillmentStatusRaw: o.status,
      // Guest checkouts have customer_id 0: no contact, but the billing e-mail and name stay.
      customerRemoteId: o.customer_id ? String(o.customer_id) : null,
      customerEmail: blank(o.billing?.email),
      customerName: fullName(o.billing?.first_name, o.billing?.last_name),
      currency,
      lineItems: items.map((li) => lineItem(li, currency)),
      subtotal: items.length ? money(sumDecimals(items.map((li) => li.subtotal)), currency) : null,
      shipping: money(o.shipping_total, currency),
      tax: money(o.total_tax, currency),
      discount: money(o.discount_total, currency),
      total: money(o.total, currency),
      refunded: refundedSum === null ? null : money(refundedSum, currency),
      billingAddress: address('BILLING', o.billing),
      shippingAddress: address('SHIPPING', o.shipping),
      placedAt: createdAt,
      createdAt,
      updatedAt,
      raw,
    };
  });
}

/**
 * The `dp` the connector asks for: WooCommerce rounds every amount to `dp` decimals (default: the
 * store's price decimals, usually 2), which would cut a three-decimal currency (KWD) short. Asking
 * for the largest ISO exponent keeps every currency exact; extra zeros are trimmed by the mapper.
 */
export const REQUEST_DECIMALS = 3;
