// Pure functions from HubSpot's raw CRM objects to the unified models. No I/O, no clock: the same
// input always gives the same model. Values arrive as strings (or null); empty strings are
// treated as absent, as HubSpot returns "" for cleared properties.
import type {
  AddressModel,
  ContactModel,
  EmailModel,
  FulfillmentStatus,
  InvoiceModel,
  InvoiceStatus,
  LineItemModel,
  MoneyModel,
  OrderModel,
  OrderStatus,
  PaymentStatus,
  PhoneModel,
  SourceModel,
} from '../sdk/models.ts';
import { moneyFromDecimal, openInvoiceStatus } from '../sdk/money.ts';
import { REMOTE_URL_TEMPLATES } from './manifest.ts';
import { isoString } from '../sdk/time.ts';

export const PROVIDER = 'hubspot';

/** A v3 CRM object as HubSpot returns it (SimplePublicObject / ...WithAssociations). */
export interface HubSpotObject {
  id: string;
  properties: Record<string, string | null | undefined>;
  createdAt?: string | null;
  updatedAt?: string | null;
  archived?: boolean;
  archivedAt?: string | null;
  associations?: Record<string, { results?: Array<{ id: string; type?: string }>; paging?: { next?: { after?: string } } } | undefined>;
}

export interface MapOptions {
  /** The HubSpot portal (hub) id, from the connection's settings; without it remoteUrl is null. */
  portalId?: string | number | null;
}

/**
 * What an invoice or order needs besides its own record: its contact, a link HubSpot keeps as an
 * association. Line items are not part of the record's model (it leaves `lineItems` null): they cost
 * reads of their own, so the connector serves them only when asked (mapLineItems).
 */
export interface Related {
  contactRemoteId: string | null;
}

export class HubSpotMappingError extends Error {
  override readonly name = 'HubSpotMappingError';
}

// ---------------------------------------------------------------------------------------------
// Value helpers
// ---------------------------------------------------------------------------------------------

/** A property's value, or null when absent, null or blank. */
export function prop(obj: HubSpotObject, name: string): string | null {
  const v = obj.properties?.[name];
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
}

/** The form HubSpot gives most timestamps in, and the one toInstant returns: `2026-01-15T10:00:00.000Z`. */
const CANONICAL_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** HubSpot instants come as ISO strings (top-level, v3 datetime properties) or epoch-ms strings. */
export function toInstant(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  // Already canonical and a real calendar day: returned as it is. Re-serializing costs ~1 µs per
  // timestamp (toISOString), several per record, on every record read.
  const canonical = CANONICAL_INSTANT.exec(value);
  if (canonical) {
    const [, year, month, day] = canonical;
    const m = Number(month);
    const y = Number(year);
    const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (m >= 1 && m <= 12 && Number(day) >= 1 && Number(day) <= (DAYS_IN_MONTH[m - 1] as number) + (leap ? 1 : 0)) return value;
  }
  const v = value.trim();
  if (v === '') return null;
  const ms = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) return null;
  return isoString(ms);
}

/** Calendar dates: "2026-01-15", an ISO instant at midnight UTC, or epoch ms (midnight UTC). */
export function toCalendarDate(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const instant = toInstant(v);
  return instant ? instant.slice(0, 10) : null;
}

function money(obj: HubSpotObject, name: string, currency: string | null): MoneyModel | null {
  const value = prop(obj, name);
  if (value === null || currency === null) return null;
  try {
    return moneyFromDecimal(value, currency);
  } catch (err) {
    throw new HubSpotMappingError(`property ${name} of HubSpot object ${obj.id} is not a decimal amount`, { cause: err });
  }
}

function currencyCode(obj: HubSpotObject, name: string): string | null {
  const c = prop(obj, name);
  return c ? c.toUpperCase() : null;
}

function joinName(first: string | null, last: string | null): string | null {
  const parts = [first, last].filter((x): x is string => x !== null);
  return parts.length > 0 ? parts.join(' ') : null;
}

/** Turns "+49 (30) 1234-5678" into "+493012345678" when it is plausibly E.164; never guesses a country. */
export function toE164(number: string): string | null {
  const trimmed = number.trim();
  if (!trimmed.startsWith('+')) return null;
  const digits = trimmed.slice(1).replace(/[\s().\-/]/g, '');
  return /^[1-9]\d{6,14}$/.test(digits) ? `+${digits}` : null;
}

export function remoteUrl(entity: keyof typeof REMOTE_URL_TEMPLATES, id: string, options: MapOptions): string | null {
  const portalId = options.portalId;
  if (portalId === null || portalId === undefined || String(portalId).trim() === '') return null;
  return REMOTE_URL_TEMPLATES[entity].replace('{portalId}', encodeURIComponent(String(portalId))).replace('{id}', encodeURIComponent(id));
}

function source(entity: keyof typeof REMOTE_URL_TEMPLATES, raw: HubSpotObject, options: MapOptions): SourceModel {
  if (typeof raw.id !== 'string' || raw.id === '') throw new HubSpotMappingError('HubSpot object without an id');
  return {
    provider: PROVIDER,
    remoteId: raw.id,
    remoteUrl: remoteUrl(entity, raw.id, options),
    remoteCreatedAt: toInstant(raw.createdAt),
    remoteUpdatedAt: toInstant(raw.updatedAt),
    remoteDeleted: raw.archived === true,
  };
}

/**
 * Ids of associated records from a v3 object's `associations` map. HubSpot keys the map by the
 * plural object name, except line items, which come as "line items" (with a space). Returns null
 * when the object carries no associations map at all (it was not requested).
 */
export function associatedIds(raw: HubSpotObject, toType: 'contacts' | 'line_items'): string[] | null {
  if (!raw.associations) return null;
  const keys = toType === 'line_items' ? ['line items', 'line_items', 'lineItems'] : ['contacts', 'contact'];
  const ids: string[] = [];
  for (const key of keys) {
    for (const r of raw.associations[key]?.results ?? []) {
      if (r && typeof r.id === 'string' && !ids.includes(r.id)) ids.push(r.id);
    }
  }
  return ids;
}

/** True when an embedded association collection says more pages exist (it was truncated). */
export function associationsTruncated(raw: HubSpotObject, toType: 'contacts' | 'line_items'): boolean {
  const keys = toType === 'line_items' ? ['line items', 'line_items', 'lineItems'] : ['contacts', 'contact'];
  return keys.some((k) => Boolean(raw.associations?.[k]?.paging?.next?.after));
}

// ---------------------------------------------------------------------------------------------
// Contact
// ---------------------------------------------------------------------------------------------

export function mapContact(raw: HubSpotObject, options: MapOptions = {}): ContactModel {
  const firstName = prop(raw, 'firstname');
  const lastName = prop(raw, 'lastname');

  const emails: EmailModel[] = [];
  const addEmail = (address: string, primary: boolean) => {
    const a = address.trim();
    if (a === '' || emails.some((e) => e.address.toLowerCase() === a.toLowerCase())) return;
    // HubSpot does not classify e-mail addresses.
    emails.push({ address: a, type: 'OTHER', primary });
  };
  const primaryEmail = prop(raw, 'email');
  if (primaryEmail) addEmail(primaryEmail, true);
  for (const extra of (prop(raw, 'hs_additional_emails') ?? '').split(';')) addEmail(extra, false);

  const phones: PhoneModel[] = [];
  const phone = prop(raw, 'phone');
  if (phone) phones.push({ number: phone, e164: toE164(phone), type: 'WORK' });
  const mobile = prop(raw, 'mobilephone');
  if (mobile) phones.push({ number: mobile, e164: toE164(mobile), type: 'MOBILE' });

  const addresses: AddressModel[] = [];
  const line1 = prop(raw, 'address');
  const city = prop(raw, 'city');
  const region = prop(raw, 'state');
  const postalCode = prop(raw, 'zip');
  const country = prop(raw, 'country');
  if (line1 || city || region || postalCode || country) {
    addresses.push({ type: 'MAILING', name: null, line1, line2: null, city, region, postalCode, country });
  }

  const customFields: Record<string, unknown> = {};
  const lifecycle = prop(raw, 'lifecyclestage');
  if (lifecycle) customFields.lifecyclestage = lifecycle;

  const src = source('Contact', raw, options);
  return {
    entity: 'Contact',
    source: src,
    firstName,
    lastName,
    name: joinName(firstName, lastName),
    jobTitle: prop(raw, 'jobtitle'),
    companyName: prop(raw, 'company'),
    emails,
    phones,
    addresses,
    tags: [],
    customFields,
    createdAt: src.remoteCreatedAt ?? toInstant(prop(raw, 'createdate')),
    updatedAt: src.remoteUpdatedAt ?? toInstant(prop(raw, 'lastmodifieddate')),
    raw,
  };
}

// ---------------------------------------------------------------------------------------------
// Line items
// ---------------------------------------------------------------------------------------------

export function mapLineItem(raw: HubSpotObject, parentCurrency: string | null): LineItemModel {
  const currency = currencyCode(raw, 'hs_line_item_currency_code') ?? parentCurrency;
  const quantity = prop(raw, 'quantity');
  return {
    remoteId: raw.id,
    description: prop(raw, 'name'),
    quantity: quantity !== null && /^-?\d+(\.\d+)?$/.test(quantity) ? quantity : null,
    unitPrice: money(raw, 'price', currency),
    amount: money(raw, 'amount', currency),
    sku: prop(raw, 'hs_sku'),
    productRemoteId: prop(raw, 'hs_product_id'),
  };
}

/**
 * An invoice's or order's line items in association order (`ids`), from the line item records read
 * for it; an id without a record (deleted since) is left out. Amounts default to the parent's currency.
 */
export function mapLineItems(ids: readonly string[], records: ReadonlyMap<string, HubSpotObject>, parentCurrency: string | null): LineItemModel[] {
  const out: LineItemModel[] = [];
  for (const id of ids) {
    const li = records.get(id);
    if (li) out.push(mapLineItem(li, parentCurrency));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Invoice
// ---------------------------------------------------------------------------------------------

const INVOICE_STATUS: Record<string, InvoiceStatus> = { draft: 'DRAFT', open: 'OPEN', paid: 'PAID', voided: 'VOID', void: 'VOID' };

export function mapInvoice(raw: HubSpotObject, related: Related, options: MapOptions = {}): InvoiceModel {
  const currency = currencyCode(raw, 'hs_currency');
  const statusRaw = prop(raw, 'hs_invoice_status');
  const src = source('Invoice', raw, options);
  const total = money(raw, 'hs_amount_billed', currency);
  const balance = money(raw, 'hs_balance_due', currency);
  const status = statusRaw ? (INVOICE_STATUS[statusRaw.toLowerCase()] ?? 'UNKNOWN') : 'UNKNOWN';
  return {
    entity: 'Invoice',
    source: src,
    number: prop(raw, 'hs_number'),
    kind: 'RECEIVABLE',
    status: status === 'OPEN' ? openInvoiceStatus(balance, total) : status,
    statusRaw,
    contactRemoteId: related.contactRemoteId,
    orderRemoteId: null,
    issueDate: toCalendarDate(prop(raw, 'hs_invoice_date')),
    dueDate: toCalendarDate(prop(raw, 'hs_due_date')),
    paidAt: toInstant(prop(raw, 'hs_payment_date')),
    currency,
    subtotal: money(raw, 'hs_subtotal', currency),
    tax: money(raw, 'hs_tax', currency),
    discount: money(raw, 'hs_discount', currency),
    total,
    amountPaid: money(raw, 'hs_amount_paid', currency),
    balance,
    memo: null,
    paymentTerms: null,
    exchangeRate: null,
    baseCurrency: null,
    payments: null,
    lineItems: null,
    createdAt: src.remoteCreatedAt ?? toInstant(prop(raw, 'hs_createdate')),
    updatedAt: src.remoteUpdatedAt ?? toInstant(prop(raw, 'hs_lastmodifieddate')),
    raw,
  };
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

const norm = (v: string) =>
  v
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

const ORDER_STATUS: Record<string, OrderStatus> = {
  open: 'OPEN',
  processed: 'OPEN',
  processing: 'OPEN',
  shipped: 'OPEN',
  delivered: 'COMPLETED',
  completed: 'COMPLETED',
  complete: 'COMPLETED',
  closed: 'COMPLETED',
  cancelled: 'CANCELLED',
  canceled: 'CANCELLED',
  expired: 'EXPIRED',
};

const PAYMENT_STATUS: Record<string, PaymentStatus> = {
  paid: 'PAID',
  pending: 'UNPAID',
  unpaid: 'UNPAID',
  authorized: 'UNPAID',
  failed: 'UNPAID',
  partially_paid: 'PARTIALLY_PAID',
  partial: 'PARTIALLY_PAID',
  refunded: 'REFUNDED',
  partially_refunded: 'PARTIALLY_REFUNDED',
  no_payment_required: 'NOT_REQUIRED',
  not_required: 'NOT_REQUIRED',
};

const FULFILLMENT_STATUS: Record<string, FulfillmentStatus> = {
  fulfilled: 'FULFILLED',
  unfulfilled: 'UNFULFILLED',
  partially_fulfilled: 'PARTIALLY_FULFILLED',
  partial: 'PARTIALLY_FULFILLED',
  not_required: 'NOT_REQUIRED',
  no_fulfillment_required: 'NOT_REQUIRED',
};

function address(raw: HubSpotObject, prefix: string, type: AddressModel['type']): AddressModel | null {
  const name = joinName(prop(raw, `${prefix}_firstname`), prop(raw, `${prefix}_lastname`));
  const line1 = prop(raw, `${prefix}_street`);
  const city = prop(raw, `${prefix}_city`);
  const region = prop(raw, `${prefix}_state`);
  const postalCode = prop(raw, `${prefix}_postal_code`);
  const country = prop(raw, `${prefix}_country`);
  if (!name && !line1 && !city && !region && !postalCode && !country) return null;
  return { type, name, line1, line2: null, city, region, postalCode, country };
}

export function mapOrder(raw: HubSpotObject, related: Related, options: MapOptions = {}): OrderModel {
  const currency = currencyCode(raw, 'hs_currency_code');
  const statusRaw = prop(raw, 'hs_pipeline_stage');
  const paymentRaw = prop(raw, 'hs_payment_status');
  const fulfillmentRaw = prop(raw, 'hs_fulfillment_status');
  const src = source('Order', raw, options);
  const createdAt = src.remoteCreatedAt ?? toInstant(prop(raw, 'hs_createdate'));
  return {
    entity: 'Order',
    source: src,
    number: prop(raw, 'hs_order_name') ?? prop(raw, 'hs_external_order_id'),
    status: statusRaw ? (ORDER_STATUS[norm(statusRaw)] ?? 'UNKNOWN') : 'UNKNOWN',
    statusRaw,
    paymentStatus: paymentRaw ? (PAYMENT_STATUS[norm(paymentRaw)] ?? 'UNKNOWN') : 'UNKNOWN',
    paymentStatusRaw: paymentRaw,
    fulfillmentStatus: fulfillmentRaw ? (FULFILLMENT_STATUS[norm(fulfillmentRaw)] ?? 'UNKNOWN') : 'UNKNOWN',
    fulfillmentStatusRaw: fulfillmentRaw,
    customerRemoteId: related.contactRemoteId,
    customerEmail: prop(raw, 'hs_billing_address_email'),
    customerName: joinName(prop(raw, 'hs_billing_address_firstname'), prop(raw, 'hs_billing_address_lastname')),
    currency,
    lineItems: null,
    subtotal: money(raw, 'hs_subtotal_price', currency),
    shipping: money(raw, 'hs_shipping_cost', currency),
    tax: money(raw, 'hs_tax', currency),
    discount: money(raw, 'hs_order_discount', currency),
    total: money(raw, 'hs_total_price', currency),
    refunded: money(raw, 'hs_refund_amount', currency),
    billingAddress: address(raw, 'hs_billing_address', 'BILLING'),
    shippingAddress: address(raw, 'hs_shipping_address', 'SHIPPING'),
    // HubSpot orders have no separate "placed" property we could confirm; the record's creation is it.
    placedAt: createdAt,
    createdAt,
    updatedAt: src.remoteUpdatedAt ?? toInstant(prop(raw, 'hs_lastmodifieddate')),
    raw,
  };
}
