// Pure functions: Salesforce records (REST JSON, `attributes` included) → the unified models.
// Datetimes arrive as `2026-01-05T10:00:00.000+0000` and leave as ISO-8601 UTC; currency fields
// are JSON numbers in major units (exact through moneyFromDecimal); a single-currency org has no
// CurrencyIsoCode field, so the connection's `currency` setting (the org's corporate currency)
// names it.
import { ConnectorError } from '../sdk/errors.ts';
import type { AddressModel, ContactModel, EmailModel, LineItemModel, OrderModel, OrderStatus, PhoneModel } from '../sdk/models.ts';
import { moneyFromDecimal } from '../sdk/money.ts';
import { isoString } from '../sdk/time.ts';

export interface SfAttributes {
  type: string;
  url: string;
}

export interface SfContact {
  attributes?: SfAttributes;
  Id: string;
  FirstName: string | null;
  LastName: string | null;
  Name?: string | null;
  Salutation?: string | null;
  Email: string | null;
  Phone: string | null;
  MobilePhone?: string | null;
  Title?: string | null;
  AccountId?: string | null;
  MailingStreet?: string | null;
  MailingCity?: string | null;
  MailingState?: string | null;
  MailingPostalCode?: string | null;
  MailingCountry?: string | null;
  CreatedDate: string | null;
  LastModifiedDate: string | null;
  SystemModstamp: string | null;
  IsDeleted?: boolean;
}

export interface SfOrder {
  attributes?: SfAttributes;
  Id: string;
  OrderNumber: string | null;
  AccountId: string | null;
  Status: string | null;
  StatusCode?: string | null;
  EffectiveDate: string | null;
  TotalAmount: number | null;
  Type?: string | null;
  Description?: string | null;
  BillToContactId: string | null;
  BillingStreet?: string | null;
  BillingCity?: string | null;
  BillingState?: string | null;
  BillingPostalCode?: string | null;
  BillingCountry?: string | null;
  ShippingStreet?: string | null;
  ShippingCity?: string | null;
  ShippingState?: string | null;
  ShippingPostalCode?: string | null;
  ShippingCountry?: string | null;
  ActivatedDate?: string | null;
  CreatedDate: string | null;
  LastModifiedDate: string | null;
  SystemModstamp: string | null;
  IsDeleted?: boolean;
  CurrencyIsoCode?: string | null;
}

export interface SfOrderItem {
  attributes?: SfAttributes;
  Id: string;
  OrderId: string;
  Product2Id: string | null;
  Quantity: number | null;
  UnitPrice: number | null;
  TotalPrice: number | null;
  Description: string | null;
}

export const CONTACT_FIELDS = [
  'Id',
  'FirstName',
  'LastName',
  'Name',
  'Salutation',
  'Email',
  'Phone',
  'MobilePhone',
  'Title',
  'AccountId',
  'MailingStreet',
  'MailingCity',
  'MailingState',
  'MailingPostalCode',
  'MailingCountry',
  'CreatedDate',
  'LastModifiedDate',
  'SystemModstamp',
  'IsDeleted',
] as const;

export const ORDER_FIELDS = [
  'Id',
  'OrderNumber',
  'AccountId',
  'Status',
  'StatusCode',
  'EffectiveDate',
  'TotalAmount',
  'Type',
  'Description',
  'BillToContactId',
  'BillingStreet',
  'BillingCity',
  'BillingState',
  'BillingPostalCode',
  'BillingCountry',
  'ShippingStreet',
  'ShippingCity',
  'ShippingState',
  'ShippingPostalCode',
  'ShippingCountry',
  'ActivatedDate',
  'CreatedDate',
  'LastModifiedDate',
  'SystemModstamp',
  'IsDeleted',
] as const;

export const ORDER_ITEM_FIELDS = ['Id', 'OrderId', 'Product2Id', 'Quantity', 'UnitPrice', 'TotalPrice', 'Description'] as const;

export interface MapOptions {
  /** The org's instance URL, for remoteUrl (Lightning record pages). */
  instanceUrl?: string | null;
  /** The org's corporate currency when records carry no CurrencyIsoCode (single-currency orgs). */
  currency?: string | null;
}

/** `2026-01-05T10:00:00.000+0000` → `2026-01-05T10:00:00.000Z`; null for anything else. */
export function sfInstant(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)(Z|[+-]\d{2}:?\d{2})$/.exec(value);
  if (!m) return null;
  const zone = m[2] === 'Z' ? 'Z' : `${(m[2] as string).slice(0, 3)}:${(m[2] as string).slice(-2)}`;
  const ms = Date.parse(`${m[1]}${zone}`);
  return Number.isNaN(ms) ? null : isoString(ms);
}

const text = (v: string | null | undefined): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

function phone(number: string | null | undefined, type: PhoneModel['type']): PhoneModel | null {
  const n = text(number);
  if (!n) return null;
  const digits = n.replace(/[\s().-]/g, '');
  return { number: n, e164: /^\+[1-9]\d{1,14}$/.test(digits) ? digits : null, type };
}

function address(type: AddressModel['type'], r: Record<string, unknown>, prefix: string): AddressModel | null {
  const get = (k: string) => text(r[`${prefix}${k}`] as string | null | undefined);
  const street = get('Street');
  const [line1, ...rest] = street ? street.split(/\r?\n/) : [];
  const a: AddressModel = {
    type,
    name: null,
    line1: line1 ?? null,
    line2: rest.length ? rest.join(', ') : null,
    city: get('City'),
    region: get('State'),
    postalCode: get('PostalCode'),
    country: get('Country'),
  };
  return a.line1 || a.city || a.region || a.postalCode || a.country ? a : null;
}

const remoteUrl = (options: MapOptions, id: string) => (options.instanceUrl ? `${options.instanceUrl.replace(/\/$/, '')}/${id}` : null);

function requireId(raw: unknown, type: string): string {
  const id = raw && typeof raw === 'object' ? (raw as { Id?: unknown }).Id : undefined;
  if (typeof id !== 'string' || id === '') throw new ConnectorError('MAPPING_FAILED', `Salesforce ${type} without an Id`, { retryable: false });
  return id;
}

export function mapContact(raw: unknown, options: MapOptions = {}): ContactModel {
  const id = requireId(raw, 'Contact');
  const c = raw as SfContact;
  const emails: EmailModel[] = text(c.Email) ? [{ address: c.Email as string, type: 'WORK', primary: true }] : [];
  const phones = [phone(c.Phone, 'WORK'), phone(c.MobilePhone, 'MOBILE')].filter((p): p is PhoneModel => p !== null);
  const mailing = address('MAILING', c as unknown as Record<string, unknown>, 'Mailing');
  const name = text(c.Name) ?? ([c.FirstName, c.LastName].filter(text).join(' ') || null);
  const createdAt = sfInstant(c.CreatedDate);
  return {
    entity: 'Contact',
    source: {
      provider: 'salesforce',
      remoteId: id,
      remoteUrl: remoteUrl(options, id),
      remoteCreatedAt: createdAt,
      remoteUpdatedAt: sfInstant(c.SystemModstamp) ?? sfInstant(c.LastModifiedDate),
      remoteDeleted: c.IsDeleted === true,
    },
    firstName: text(c.FirstName),
    lastName: text(c.LastName),
    name,
    jobTitle: text(c.Title),
    companyName: null,
    emails,
    phones,
    addresses: mailing ? [mailing] : [],
    tags: [],
    customFields: { ...(text(c.AccountId) ? { accountId: c.AccountId } : {}), ...(text(c.Salutation) ? { salutation: c.Salutation } : {}) },
    createdAt,
    updatedAt: sfInstant(c.LastModifiedDate),
    raw,
  };
}

/** Order.StatusCode is the fixed category behind the org's picklist labels: Draft or Activated (Object Reference, OrderStatus); Cancelled as REFERENCE.md §6 names it. */
function orderStatus(o: SfOrder): OrderStatus {
  const code = (o.StatusCode ?? o.Status ?? '').toLowerCase();
  if (code === 'draft' || code === 'activated') return 'OPEN';
  if (code === 'cancelled' || code === 'canceled') return 'CANCELLED';
  if (code === 'expired') return 'EXPIRED';
  return 'UNKNOWN';
}

export function mapOrder(raw: unknown, options: MapOptions = {}): OrderModel {
  const id = requireId(raw, 'Order');
  const o = raw as SfOrder;
  const currency = text(o.CurrencyIsoCode)?.toUpperCase() ?? options.currency?.toUpperCase() ?? null;
  const createdAt = sfInstant(o.CreatedDate);
  const effective = o.EffectiveDate && /^\d{4}-\d{2}-\d{2}$/.test(o.EffectiveDate) ? `${o.EffectiveDate}T00:00:00.000Z` : null;
  return {
    entity: 'Order',
    source: {
      provider: 'salesforce',
      remoteId: id,
      remoteUrl: remoteUrl(options, id),
      remoteCreatedAt: createdAt,
      remoteUpdatedAt: sfInstant(o.SystemModstamp) ?? sfInstant(o.LastModifiedDate),
      remoteDeleted: o.IsDeleted === true,
    },
    number: text(o.OrderNumber),
    status: orderStatus(o),
    statusRaw: text(o.Status),
    // Core orders carry no payment or fulfilment state (that lives in Billing / Order Management).
    paymentStatus: 'UNKNOWN',
    paymentStatusRaw: null,
    fulfillmentStatus: 'UNKNOWN',
    fulfillmentStatusRaw: null,
    customerRemoteId: text(o.BillToContactId),
    customerEmail: null,
    customerName: null,
    currency,
    // Deferred: OrderItems cost a query of their own (loaders.Order.lineItems).
    lineItems: null,
    subtotal: null,
    shipping: null,
    tax: null,
    discount: null,
    total: o.TotalAmount === null || o.TotalAmount === undefined ? null : moneyFromDecimal(o.TotalAmount, currency),
    refunded: null,
    billingAddress: address('BILLING', o as unknown as Record<string, unknown>, 'Billing'),
    shippingAddress: address('SHIPPING', o as unknown as Record<string, unknown>, 'Shipping'),
    placedAt: sfInstant(o.ActivatedDate) ?? effective,
    createdAt,
    updatedAt: sfInstant(o.LastModifiedDate),
    raw,
  };
}

export function mapOrderItem(raw: SfOrderItem, currency: string | null): LineItemModel {
  return {
    remoteId: raw.Id,
    description: text(raw.Description),
    quantity: raw.Quantity === null || raw.Quantity === undefined ? null : String(raw.Quantity),
    unitPrice: raw.UnitPrice === null || raw.UnitPrice === undefined ? null : moneyFromDecimal(raw.UnitPrice, currency),
    amount: raw.TotalPrice === null || raw.TotalPrice === undefined ? null : moneyFromDecimal(raw.TotalPrice, currency),
    sku: null,
    productRemoteId: text(raw.Product2Id),
  };
}
