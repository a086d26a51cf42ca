// Pure functions from Stripe's JSON (API version 2026-10-28.endive, tolerant of older shapes that
// arrive through webhooks pinned to older versions) to the unified model. No I/O, no clock.
import { ConnectorError } from '../sdk/errors.ts';
import type {
  AddressModel,
  AddressType,
  ContactModel,
  EmailModel,
  EntityType,
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
import { minorUnitExponent, moneyFromDecimal, moneyFromMinorUnits, openInvoiceStatus } from '../sdk/money.ts';
import { isoString } from '../sdk/time.ts';

export const PROVIDER_ID = 'stripe';

// ---------------------------------------------------------------------------------------------
// Raw shapes (only the fields we read; everything may be absent or null on the wire)
// ---------------------------------------------------------------------------------------------

export interface StripeAddress {
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  state?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

export interface StripeCustomer {
  id: string;
  object: 'customer';
  deleted?: boolean;
  name?: string | null;
  individual_name?: string | null;
  business_name?: string | null;
  email?: string | null;
  phone?: string | null;
  address?: StripeAddress | null;
  shipping?: { name?: string | null; phone?: string | null; address?: StripeAddress | null } | null;
  created?: number;
  metadata?: Record<string, string> | null;
  livemode?: boolean;
}

export interface StripeList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url?: string;
}

export interface StripePrice {
  id?: string;
  object?: 'price';
  product?: string | { id: string } | null;
  unit_amount?: number | null;
  unit_amount_decimal?: string | null;
}

export interface StripeInvoiceLine {
  id?: string;
  object?: 'line_item';
  amount?: number;
  currency?: string;
  description?: string | null;
  quantity?: number | null;
  quantity_decimal?: string | null;
  /** 2025-03-31.basil and later. */
  pricing?: {
    type?: string;
    unit_amount_decimal?: string | null;
    price_details?: { price?: string | { id: string } | null; product?: string | null } | null;
  } | null;
  /** Before 2025-03-31.basil. */
  price?: StripePrice | null;
}

export interface StripeInvoice {
  id: string;
  object: 'invoice';
  deleted?: boolean;
  number?: string | null;
  status?: string | null;
  currency?: string;
  customer?: string | StripeCustomer | null;
  amount_due?: number;
  amount_paid?: number;
  amount_remaining?: number;
  subtotal?: number;
  description?: string | null;
  total?: number;
  total_excluding_tax?: number | null;
  total_taxes?: Array<{ amount: number }> | null;
  /** Before 2025-03-31.basil. */
  total_tax_amounts?: Array<{ amount: number }> | null;
  /** Before 2022-ish versions. */
  tax?: number | null;
  total_discount_amounts?: Array<{ amount: number }> | null;
  created?: number;
  due_date?: number | null;
  effective_at?: number | null;
  status_transitions?: { finalized_at?: number | null; paid_at?: number | null; voided_at?: number | null; marked_uncollectible_at?: number | null } | null;
  lines?: StripeList<StripeInvoiceLine> | null;
  livemode?: boolean;
}

export interface StripeCheckoutLineItem {
  id?: string;
  object?: 'item';
  description?: string | null;
  quantity?: number | null;
  amount_subtotal?: number;
  amount_total?: number;
  currency?: string;
  price?: StripePrice | null;
}

export interface StripeCheckoutSession {
  id: string;
  object: 'checkout.session';
  mode?: string;
  status?: string | null;
  payment_status?: string | null;
  currency?: string | null;
  customer?: string | StripeCustomer | null;
  customer_email?: string | null;
  customer_details?: { email?: string | null; name?: string | null; phone?: string | null; address?: StripeAddress | null } | null;
  client_reference_id?: string | null;
  amount_subtotal?: number | null;
  amount_total?: number | null;
  total_details?: { amount_discount?: number | null; amount_shipping?: number | null; amount_tax?: number | null } | null;
  payment_intent?: string | { id: string } | null;
  shipping_address_collection?: unknown;
  shipping_cost?: unknown;
  /** 2025-03-31.basil and later. */
  collected_information?: { shipping_details?: { name?: string | null; address?: StripeAddress | null } | null } | null;
  /** Before 2025-03-31.basil. */
  shipping_details?: { name?: string | null; address?: StripeAddress | null } | null;
  line_items?: StripeList<StripeCheckoutLineItem> | null;
  created?: number;
  livemode?: boolean;
}

export interface StripeEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  data: { object: unknown; previous_attributes?: unknown };
}

/** Extra facts a mapper cannot read from the object itself. */
export interface MapOptions {
  /** When the record last changed, if known (an Event's `created`); Stripe objects carry no such field. */
  updatedAt?: string | null;
  /** The record was deleted (a `*.deleted` event's snapshot still carries the full object). */
  deleted?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

export function mappingError(message: string, cause?: unknown): ConnectorError {
  return new ConnectorError('MAPPING_FAILED', message, { retryable: false, cause });
}

function expectObject<T extends { id: string; object: string }>(raw: unknown, object: T['object']): T {
  if (raw === null || typeof raw !== 'object') throw mappingError(`expected a Stripe ${object} object, got ${raw === null ? 'null' : typeof raw}`);
  const r = raw as { id?: unknown; object?: unknown };
  if (r.object !== object) throw mappingError(`expected a Stripe ${object} object, got object=${JSON.stringify(r.object)}`);
  if (typeof r.id !== 'string' || r.id === '') throw mappingError(`Stripe ${object} object has no id`);
  return raw as T;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** Unix seconds → ISO-8601 instant in UTC (`2026-01-01T00:00:00Z`). */
export function isoFromUnix(seconds: number | null | undefined): string | null {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return null;
  return isoString(seconds * 1000, false);
}

/** Unix seconds → calendar date in UTC (`2026-01-01`). */
export function dateFromUnix(seconds: number | null | undefined): string | null {
  return isoFromUnix(seconds)?.slice(0, 10) ?? null;
}

const idOf = (v: unknown): string | null =>
  typeof v === 'string' ? v : v !== null && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : null;

/** Stripe amounts are integers in the currency's minor unit: 1999 + usd → "19.99" USD. */
const minor = (amount: number | null | undefined, currency: string | null): MoneyModel | null =>
  typeof amount === 'number' ? moneyFromMinorUnits(amount, currency) : null;

/**
 * `unit_amount_decimal` is a decimal string in minor units that may carry fractions of a cent
 * ("1999.5" usd → "19.995"). Shifted by the currency's exponent without floats.
 */
export function moneyFromMinorDecimal(value: string | number | null | undefined, currency: string | null): MoneyModel | null {
  if (value === null || value === undefined || value === '' || !currency) return null;
  const raw = String(value).trim();
  if (/^-?\d+$/.test(raw)) return moneyFromMinorUnits(raw, currency);
  const m = /^(-?)(\d*)\.(\d+)$/.exec(raw);
  if (!m) throw new RangeError(`not a decimal minor-unit amount: "${raw}"`);
  const exp = minorUnitExponent(currency);
  const padded = (m[2] || '0').padStart(exp + 1, '0');
  const intPart = padded.slice(0, padded.length - exp);
  const frac = padded.slice(padded.length - exp) + (m[3] ?? '');
  return moneyFromDecimal(`${m[1]}${intPart}.${frac}`, currency);
}

const sum = (xs: Array<{ amount: number }> | null | undefined): number | null =>
  Array.isArray(xs) ? xs.reduce((acc, x) => acc + (typeof x.amount === 'number' ? x.amount : 0), 0) : null;

/** "1.000000000000" → "1"; integers as-is. */
function decimalQuantity(decimal: string | null | undefined, integer: number | null | undefined): string | null {
  if (typeof decimal === 'string' && /^-?\d+(\.\d+)?$/.test(decimal)) return decimal.includes('.') ? decimal.replace(/\.?0+$/, '') : decimal;
  return typeof integer === 'number' ? String(integer) : null;
}

/** Best-effort split: "Ada Lovelace" → Ada / Lovelace, "Guido van Rossum" → Guido / van Rossum, "Hopper, Grace" → Grace / Hopper. */
export function splitName(full: string | null | undefined): { firstName: string | null; lastName: string | null } {
  const t = full?.trim().replace(/\s+/g, ' ');
  if (!t) return { firstName: null, lastName: null };
  const comma = t.indexOf(',');
  if (comma > 0) {
    const last = t.slice(0, comma).trim();
    const first = t.slice(comma + 1).trim();
    return { firstName: first || null, lastName: last || null };
  }
  const space = t.indexOf(' ');
  if (space < 0) return { firstName: t, lastName: null };
  return { firstName: t.slice(0, space), lastName: t.slice(space + 1) };
}

/** E.164 only when the number already says its country ("+1 415-555-0100" → "+14155550100"). */
export function toE164(phone: string | null | undefined): string | null {
  const t = phone?.trim();
  if (!t || !t.startsWith('+')) return null;
  if (!/^\+[\d\s().-]+$/.test(t)) return null;
  const digits = t.slice(1).replace(/\D/g, '');
  return /^[1-9]\d{1,14}$/.test(digits) ? `+${digits}` : null;
}

function address(a: StripeAddress | null | undefined, type: AddressType, name: string | null): AddressModel | null {
  if (!a) return null;
  const model: AddressModel = {
    type,
    name,
    line1: text(a.line1),
    line2: text(a.line2),
    city: text(a.city),
    region: text(a.state),
    postalCode: text(a.postal_code),
    country: text(a.country),
  };
  const { type: _t, name: _n, ...fields } = model;
  return Object.values(fields).some((v) => v !== null) ? model : null;
}

function dashboardUrl(kind: string, id: string, livemode: boolean | undefined): string {
  return `https://dashboard.stripe.com/${livemode === true ? '' : 'test/'}${kind}/${id}`;
}

function source(id: string, remoteUrl: string | null, created: number | undefined, options: MapOptions, deleted: boolean): SourceModel {
  return {
    provider: PROVIDER_ID,
    remoteId: id,
    remoteUrl,
    remoteCreatedAt: isoFromUnix(created),
    remoteUpdatedAt: options.updatedAt ?? null,
    remoteDeleted: deleted,
  };
}

function guard<T>(what: string, id: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConnectorError) throw err;
    throw mappingError(`could not map Stripe ${what} ${id}: ${(err as Error).message}`, err);
  }
}

// ---------------------------------------------------------------------------------------------
// Customer → Contact
// ---------------------------------------------------------------------------------------------

export function mapCustomer(raw: unknown, options: MapOptions = {}): ContactModel {
  const c = expectObject<StripeCustomer>(raw, 'customer');
  return guard('customer', c.id, () => {
    const deleted = options.deleted === true || c.deleted === true;
    const name = text(c.name) ?? text(c.individual_name) ?? text(c.shipping?.name);
    const { firstName, lastName } = splitName(name);
    const emails: EmailModel[] = text(c.email) ? [{ address: (c.email as string).trim(), type: 'WORK', primary: true }] : [];
    const phones: PhoneModel[] = [];
    const phone = text(c.phone);
    if (phone) phones.push({ number: phone, e164: toE164(phone), type: 'WORK' });
    const shippingPhone = text(c.shipping?.phone);
    if (shippingPhone && shippingPhone !== phone) phones.push({ number: shippingPhone, e164: toE164(shippingPhone), type: 'OTHER' });
    const addresses = [address(c.address, 'BILLING', name), address(c.shipping?.address, 'SHIPPING', text(c.shipping?.name) ?? name)].filter(
      (a): a is AddressModel => a !== null,
    );
    const createdAt = isoFromUnix(c.created);
    return {
      entity: 'Contact',
      source: source(c.id, c.deleted === true ? null : dashboardUrl('customers', c.id, c.livemode), c.created, options, deleted),
      firstName,
      lastName,
      name,
      jobTitle: null,
      companyName: text(c.business_name),
      emails,
      phones,
      addresses,
      tags: [],
      customFields: c.metadata && typeof c.metadata === 'object' ? { ...c.metadata } : {},
      createdAt,
      updatedAt: options.updatedAt ?? null,
      raw,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Invoice → Invoice
// ---------------------------------------------------------------------------------------------

const INVOICE_STATUS: Record<string, InvoiceStatus> = {
  draft: 'DRAFT',
  open: 'OPEN',
  paid: 'PAID',
  uncollectible: 'UNCOLLECTIBLE',
  void: 'VOID',
};

function invoiceLine(line: StripeInvoiceLine, currency: string | null): LineItemModel {
  const lineCurrency = text(line.currency)?.toUpperCase() ?? currency;
  const unit = line.pricing?.unit_amount_decimal ?? line.price?.unit_amount_decimal ?? line.price?.unit_amount ?? null;
  return {
    remoteId: text(line.id),
    description: text(line.description),
    quantity: decimalQuantity(line.quantity_decimal, line.quantity),
    unitPrice: moneyFromMinorDecimal(unit, lineCurrency),
    amount: minor(line.amount, lineCurrency),
    sku: null,
    productRemoteId: text(line.pricing?.price_details?.product) ?? idOf(line.price?.product),
  };
}

export function mapInvoice(raw: unknown, options: MapOptions = {}): InvoiceModel {
  const inv = expectObject<StripeInvoice>(raw, 'invoice');
  return guard('invoice', inv.id, () => {
    const currency = text(inv.currency)?.toUpperCase() ?? null;
    const statusRaw = text(inv.status);
    const tax =
      sum(inv.total_taxes) ??
      sum(inv.total_tax_amounts) ??
      (typeof inv.tax === 'number' ? inv.tax : null) ??
      (typeof inv.total === 'number' && typeof inv.total_excluding_tax === 'number' ? inv.total - inv.total_excluding_tax : null);
    const createdAt = isoFromUnix(inv.created);
    const total = minor(inv.total, currency);
    const balance = minor(inv.amount_remaining, currency);
    const status = (statusRaw && INVOICE_STATUS[statusRaw]) || 'UNKNOWN';
    return {
      entity: 'Invoice',
      source: source(inv.id, dashboardUrl('invoices', inv.id, inv.livemode), inv.created, options, options.deleted === true || inv.deleted === true),
      number: text(inv.number),
      kind: 'RECEIVABLE',
      status: status === 'OPEN' ? openInvoiceStatus(balance, total) : status,
      statusRaw,
      contactRemoteId: idOf(inv.customer),
      orderRemoteId: null,
      issueDate: dateFromUnix(inv.effective_at ?? inv.created),
      dueDate: dateFromUnix(inv.due_date),
      paidAt: isoFromUnix(inv.status_transitions?.paid_at),
      currency,
      subtotal: minor(inv.subtotal, currency),
      tax: minor(tax, currency),
      discount: minor(sum(inv.total_discount_amounts), currency),
      total,
      amountPaid: minor(inv.amount_paid, currency),
      balance,
      // Stripe's dashboard shows `description` as the invoice memo.
      memo: text(inv.description),
      paymentTerms: null,
      exchangeRate: null,
      baseCurrency: null,
      payments: null,
      lineItems: Array.isArray(inv.lines?.data) ? inv.lines.data.map((l) => invoiceLine(l, currency)) : [],
      createdAt,
      updatedAt: options.updatedAt ?? null,
      raw,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Checkout Session → Order
// ---------------------------------------------------------------------------------------------

const ORDER_STATUS: Record<string, OrderStatus> = { open: 'OPEN', complete: 'COMPLETED', expired: 'EXPIRED' };
const PAYMENT_STATUS: Record<string, PaymentStatus> = { paid: 'PAID', unpaid: 'UNPAID', no_payment_required: 'NOT_REQUIRED' };

function checkoutLine(item: StripeCheckoutLineItem, currency: string | null): LineItemModel {
  const lineCurrency = text(item.currency)?.toUpperCase() ?? currency;
  return {
    remoteId: text(item.id),
    description: text(item.description),
    quantity: typeof item.quantity === 'number' ? String(item.quantity) : null,
    unitPrice: moneyFromMinorDecimal(item.price?.unit_amount_decimal ?? item.price?.unit_amount ?? null, lineCurrency),
    amount: minor(item.amount_subtotal, lineCurrency),
    sku: null,
    productRemoteId: idOf(item.price?.product),
  };
}

export function mapCheckoutSession(raw: unknown, options: MapOptions = {}): OrderModel {
  const s = expectObject<StripeCheckoutSession>(raw, 'checkout.session');
  return guard('checkout session', s.id, () => {
    const currency = text(s.currency)?.toUpperCase() ?? null;
    const statusRaw = text(s.status);
    const paymentStatusRaw = text(s.payment_status);
    const details = s.customer_details ?? null;
    const customerName = text(details?.name);
    const shippingDetails = s.collected_information?.shipping_details ?? s.shipping_details ?? null;
    const collectsShipping = (s.shipping_address_collection ?? null) !== null || (s.shipping_cost ?? null) !== null || shippingDetails !== null;
    const totals = s.total_details ?? null;
    const pi = idOf(s.payment_intent);
    const createdAt = isoFromUnix(s.created);
    return {
      entity: 'Order',
      source: source(s.id, pi ? dashboardUrl('payments', pi, s.livemode) : null, s.created, options, options.deleted === true),
      number: text(s.client_reference_id),
      status: (statusRaw && ORDER_STATUS[statusRaw]) || 'UNKNOWN',
      statusRaw,
      paymentStatus: (paymentStatusRaw && PAYMENT_STATUS[paymentStatusRaw]) || 'UNKNOWN',
      paymentStatusRaw,
      // Checkout does not track fulfilment: nothing to ship means NOT_REQUIRED, otherwise unknown.
      fulfillmentStatus: collectsShipping ? 'UNKNOWN' : 'NOT_REQUIRED',
      fulfillmentStatusRaw: null,
      customerRemoteId: idOf(s.customer),
      customerEmail: text(details?.email) ?? text(s.customer_email),
      customerName,
      currency,
      lineItems: Array.isArray(s.line_items?.data) ? s.line_items.data.map((li) => checkoutLine(li, currency)) : [],
      subtotal: minor(s.amount_subtotal, currency),
      shipping: minor(totals?.amount_shipping, currency),
      tax: minor(totals?.amount_tax, currency),
      discount: minor(totals?.amount_discount, currency),
      total: minor(s.amount_total, currency),
      refunded: null,
      billingAddress: address(details?.address, 'BILLING', customerName),
      shippingAddress: address(shippingDetails?.address, 'SHIPPING', text(shippingDetails?.name) ?? customerName),
      placedAt: createdAt,
      createdAt,
      updatedAt: options.updatedAt ?? null,
      raw,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

const ENTITY_BY_OBJECT: Record<string, EntityType> = { customer: 'Contact', invoice: 'Invoice', 'checkout.session': 'Order' };

/** The entity an event's snapshot maps to, or null when it is about something we do not serve. */
export function entityOfEvent(event: StripeEvent): EntityType | null {
  const object = (event.data?.object as { object?: unknown } | undefined)?.object;
  return typeof object === 'string' ? (ENTITY_BY_OBJECT[object] ?? null) : null;
}

export function expectEvent(raw: unknown): StripeEvent {
  const e = expectObject<StripeEvent>(raw, 'event');
  if (typeof e.type !== 'string' || typeof e.created !== 'number' || !e.data || typeof e.data.object !== 'object' || e.data.object === null) {
    throw mappingError(`Stripe event ${e.id} has no type, created or data.object`);
  }
  return e;
}

/** Options for mapping an event's snapshot: changed at the event's time; deleted for *.deleted. */
export function eventMapOptions(event: StripeEvent): MapOptions {
  return { updatedAt: isoFromUnix(event.created), deleted: event.type.endsWith('.deleted') };
}
