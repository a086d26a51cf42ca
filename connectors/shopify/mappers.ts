// Pure mappers from the GraphQL Admin API's Customer and Order (the shapes queries.ts selects) to
// the unified Contact and Order. Money stays decimal strings end to end (MoneyV2.amount is a
// Decimal string); ids are the numeric part of Shopify's global ids (gid://shopify/Order/123 →
// "123"), which is also the REST/webhook `id`, so webhook events and reads name records alike.
import { ConnectorError } from '../sdk/errors.ts';
import type {
  AddressModel,
  AddressType,
  ContactModel,
  FulfillmentStatus,
  LineItemModel,
  MoneyModel,
  OrderModel,
  OrderStatus,
  PaymentStatus,
} from '../sdk/models.ts';
import { moneyFromDecimal } from '../sdk/money.ts';

export const PROVIDER = 'shopify';

export interface ShopifyMoneyV2 {
  amount: string;
  currencyCode: string;
}
export interface ShopifyMoneyBag {
  shopMoney: ShopifyMoneyV2;
}
export interface ShopifyMailingAddress {
  name?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  company?: string | null;
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  province?: string | null;
  provinceCode?: string | null;
  zip?: string | null;
  country?: string | null;
  countryCodeV2?: string | null;
  phone?: string | null;
}
export interface ShopifyCustomer {
  id: string;
  legacyResourceId?: string;
  firstName: string | null;
  lastName: string | null;
  displayName?: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  note?: string | null;
  state?: string | null;
  verifiedEmail?: boolean | null;
  createdAt: string;
  updatedAt: string;
  defaultAddress: ShopifyMailingAddress | null;
}
export interface ShopifyLineItem {
  id: string;
  name: string | null;
  title: string | null;
  sku: string | null;
  quantity: number;
  originalUnitPriceSet: ShopifyMoneyBag | null;
}
export interface ShopifyPageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}
export interface ShopifyOrder {
  id: string;
  legacyResourceId?: string;
  name: string;
  email: string | null;
  phone: string | null;
  createdAt: string;
  updatedAt: string;
  processedAt: string | null;
  cancelledAt: string | null;
  closedAt: string | null;
  cancelReason: string | null;
  currencyCode: string;
  displayFinancialStatus: string | null;
  displayFulfillmentStatus: string | null;
  subtotalPriceSet: ShopifyMoneyBag | null;
  totalShippingPriceSet: ShopifyMoneyBag | null;
  totalTaxSet: ShopifyMoneyBag | null;
  totalDiscountsSet: ShopifyMoneyBag | null;
  totalPriceSet: ShopifyMoneyBag | null;
  totalRefundedSet: ShopifyMoneyBag | null;
  billingAddress: ShopifyMailingAddress | null;
  shippingAddress: ShopifyMailingAddress | null;
  customer: ShopifyCustomer | null;
  /** Absent in the order reads (deferred: loaders.Order.lineItems reads them when selected). */
  lineItems?: { nodes: ShopifyLineItem[]; pageInfo: ShopifyPageInfo };
}

export interface MapOptions {
  /** The shop's domain (`acme.myshopify.com`), for admin links. */
  shop?: string | null;
}

const GID = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(?:\?.*)?$/;

/** gid://shopify/Order/123 → "123"; throws on anything else (a broken answer, not a missing record). */
export function idFromGid(gid: string, type?: string): string {
  const m = GID.exec(gid);
  if (!m || (type !== undefined && m[1] !== type))
    throw new ConnectorError('MAPPING_FAILED', `not a Shopify ${type ?? ''} global id: ${JSON.stringify(gid)}`, { retryable: false });
  return m[2] as string;
}

export const gidFor = (type: 'Order' | 'Customer', id: string) => `gid://shopify/${type}/${id}`;

/** The numeric ids Shopify issues; anything else cannot exist there. */
export const isShopifyId = (id: string) => /^[1-9]\d{0,19}$/.test(id);

const money = (bag: ShopifyMoneyBag | null | undefined): MoneyModel | null =>
  bag?.shopMoney ? moneyFromDecimal(bag.shopMoney.amount, bag.shopMoney.currencyCode) : null;

/** Exact decimal × integer quantity ("19.99" × 3 → "59.97"), no float involved. */
export function multiplyDecimal(amount: string, quantity: number): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!m || !Number.isSafeInteger(quantity)) throw new RangeError(`cannot multiply ${amount} by ${quantity}`);
  const frac = m[3] ?? '';
  const product = BigInt(`${m[1]}${m[2]}${frac}`) * BigInt(quantity);
  const negative = product < 0n;
  const digits = (negative ? -product : product).toString().padStart(frac.length + 1, '0');
  const whole = frac.length ? `${digits.slice(0, -frac.length)}.${digits.slice(-frac.length)}` : digits;
  return negative ? `-${whole}` : whole;
}

export function mapAddress(type: AddressType, a: ShopifyMailingAddress | null | undefined): AddressModel | null {
  if (!a) return null;
  const name = a.name ?? ([a.firstName, a.lastName].filter(Boolean).join(' ') || null);
  return {
    type,
    name,
    line1: a.address1 ?? null,
    line2: a.address2 ?? null,
    city: a.city ?? null,
    region: a.provinceCode ?? a.province ?? null,
    postalCode: a.zip ?? null,
    country: a.countryCodeV2 ?? a.country ?? null,
  };
}

const E164 = /^\+[1-9]\d{1,14}$/;

function adminUrl(options: MapOptions, path: string): string | null {
  return options.shop ? `https://${options.shop}/admin/${path}` : null;
}

export function mapCustomer(raw: unknown, options: MapOptions = {}): ContactModel {
  const c = raw as ShopifyCustomer;
  if (!c || typeof c.id !== 'string') throw new ConnectorError('MAPPING_FAILED', 'Shopify Customer without an id', { retryable: false });
  const remoteId = idFromGid(c.id, 'Customer');
  const name = c.displayName || [c.firstName, c.lastName].filter(Boolean).join(' ') || null;
  const address = mapAddress('MAILING', c.defaultAddress);
  return {
    entity: 'Contact',
    source: {
      provider: PROVIDER,
      remoteId,
      remoteUrl: adminUrl(options, `customers/${remoteId}`),
      remoteCreatedAt: c.createdAt ?? null,
      remoteUpdatedAt: c.updatedAt ?? null,
      remoteDeleted: false,
    },
    firstName: c.firstName ?? null,
    lastName: c.lastName ?? null,
    name,
    jobTitle: null,
    companyName: c.defaultAddress?.company ?? null,
    emails: c.email ? [{ address: c.email, type: 'OTHER', primary: true }] : [],
    // Shopify stores customer phones in E.164.
    phones: c.phone ? [{ number: c.phone, e164: E164.test(c.phone) ? c.phone : null, type: 'OTHER' }] : [],
    addresses: address ? [address] : [],
    tags: Array.isArray(c.tags) ? [...c.tags] : [],
    customFields: { state: c.state ?? null, verifiedEmail: c.verifiedEmail ?? null, note: c.note ?? null },
    createdAt: c.createdAt ?? null,
    updatedAt: c.updatedAt ?? null,
    raw: c,
  };
}

/** OrderDisplayFinancialStatus → PaymentStatus (authorized-but-uncaptured counts as unpaid). */
const PAYMENT: Record<string, PaymentStatus> = {
  PAID: 'PAID',
  PENDING: 'UNPAID',
  AUTHORIZED: 'UNPAID',
  EXPIRED: 'UNPAID',
  VOIDED: 'UNPAID',
  PARTIALLY_PAID: 'PARTIALLY_PAID',
  REFUNDED: 'REFUNDED',
  PARTIALLY_REFUNDED: 'PARTIALLY_REFUNDED',
};

/** OrderDisplayFulfillmentStatus → FulfillmentStatus; every not-yet-shipped state is UNFULFILLED. */
const FULFILLMENT: Record<string, FulfillmentStatus> = {
  FULFILLED: 'FULFILLED',
  PARTIALLY_FULFILLED: 'PARTIALLY_FULFILLED',
  UNFULFILLED: 'UNFULFILLED',
  OPEN: 'UNFULFILLED',
  PENDING_FULFILLMENT: 'UNFULFILLED',
  IN_PROGRESS: 'UNFULFILLED',
  ON_HOLD: 'UNFULFILLED',
  SCHEDULED: 'UNFULFILLED',
  REQUEST_DECLINED: 'UNFULFILLED',
};

/** Shopify's own order states (the REST `status` filter's words): cancelled wins over closed. */
function orderStatus(o: ShopifyOrder): { status: OrderStatus; raw: string } {
  if (o.cancelledAt) return { status: 'CANCELLED', raw: 'cancelled' };
  if (o.closedAt) return { status: 'COMPLETED', raw: 'closed' };
  return { status: 'OPEN', raw: 'open' };
}

export function mapLineItem(li: ShopifyLineItem): LineItemModel {
  const unit = li.originalUnitPriceSet?.shopMoney;
  const unitPrice = unit ? moneyFromDecimal(unit.amount, unit.currencyCode) : null;
  return {
    remoteId: idFromGid(li.id, 'LineItem'),
    description: li.name ?? li.title ?? null,
    quantity: Number.isFinite(li.quantity) ? String(li.quantity) : null,
    unitPrice,
    // originalTotalSet is unit × quantity by definition; computed exactly saves a MoneyBag per line (2 cost points).
    amount: unit && Number.isSafeInteger(li.quantity) ? moneyFromDecimal(multiplyDecimal(unit.amount, li.quantity), unit.currencyCode) : null,
    sku: li.sku || null,
    productRemoteId: null,
  };
}

export function mapOrder(raw: unknown, options: MapOptions = {}): OrderModel {
  const o = raw as ShopifyOrder;
  if (!o || typeof o.id !== 'string') throw new ConnectorError('MAPPING_FAILED', 'Shopify Order without an id', { retryable: false });
  const remoteId = idFromGid(o.id, 'Order');
  const { status, raw: statusRaw } = orderStatus(o);
  const financial = o.displayFinancialStatus ?? null;
  const fulfillment = o.displayFulfillmentStatus ?? null;
  const customer = o.customer ?? null;
  return {
    entity: 'Order',
    source: {
      provider: PROVIDER,
      remoteId,
      remoteUrl: adminUrl(options, `orders/${remoteId}`),
      remoteCreatedAt: o.createdAt ?? null,
      remoteUpdatedAt: o.updatedAt ?? null,
      remoteDeleted: false,
    },
    number: o.name ?? null,
    status,
    statusRaw,
    paymentStatus: financial ? (PAYMENT[financial] ?? 'UNKNOWN') : 'UNKNOWN',
    paymentStatusRaw: financial,
    fulfillmentStatus: fulfillment ? (FULFILLMENT[fulfillment] ?? 'UNKNOWN') : 'UNKNOWN',
    fulfillmentStatusRaw: fulfillment,
    customerRemoteId: customer ? idFromGid(customer.id, 'Customer') : null,
    customerEmail: o.email ?? customer?.email ?? null,
    customerName: customer?.displayName || mapAddress('BILLING', o.billingAddress)?.name || null,
    currency: o.currencyCode ?? null,
    // Not selected by the order reads: null (deferred), served by loaders.Order.lineItems.
    lineItems: o.lineItems ? o.lineItems.nodes.map(mapLineItem) : null,
    subtotal: money(o.subtotalPriceSet),
    shipping: money(o.totalShippingPriceSet),
    tax: money(o.totalTaxSet),
    discount: money(o.totalDiscountsSet),
    total: money(o.totalPriceSet),
    refunded: money(o.totalRefundedSet),
    billingAddress: mapAddress('BILLING', o.billingAddress),
    shippingAddress: mapAddress('SHIPPING', o.shippingAddress),
    placedAt: o.processedAt ?? o.createdAt ?? null,
    createdAt: o.createdAt ?? null,
    updatedAt: o.updatedAt ?? null,
    raw: o,
  };
}
