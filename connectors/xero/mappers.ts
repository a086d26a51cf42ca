// Xero Accounting API 2.0 resources → the unified model, as pure functions. Xero writes dates in the
// Microsoft JSON form `/Date(1539993600000+0000)/` (epoch milliseconds, UTC, an informational
// offset), money as JSON decimals in major units (`Total: 46.00`, parsed by JSON.parse into a
// double whose shortest form is the decimal Xero wrote for every amount with ≤ 15 significant
// digits — Xero stores 2 decimals, 4 for unit amounts with unitdp=4), and CurrencyRate as the number
// of invoice-currency units per one unit of the organisation's base currency (6 decimals).
//
// What is mapped, and why (see README.md for the field table):
// - Invoices of Type ACCREC → kind RECEIVABLE, ACCPAY (bills) → kind PAYABLE: the model has the
//   kind, and a bill is an invoice the organisation must pay; clients filter on kind.
// - Credit notes are a separate Xero resource (/CreditNotes, Type ACCRECCREDIT/ACCPAYCREDIT) and are
//   not served: what they allocate to an invoice already shows in its AmountCredited/AmountDue.
// - Reference → memo: on a sales invoice it is the free text printed for the customer (and on a
//   bill the supplier's reference); Xero has no other per-invoice note in the API.
// - Status: DRAFT and SUBMITTED (awaiting approval) → DRAFT; AUTHORISED → OPEN or PARTIALLY_PAID by
//   AmountDue vs Total; PAID → PAID; VOIDED → VOID; DELETED (a deleted draft) → VOID, remoteDeleted.
import { ConnectorError } from '../sdk/errors.ts';
import type {
  AddressModel,
  AddressType,
  ContactModel,
  EmailModel,
  InvoiceKind,
  InvoiceModel,
  InvoicePaymentModel,
  InvoiceStatus,
  LineItemModel,
  MoneyModel,
  PhoneModel,
  PhoneType,
  SourceModel,
} from '../sdk/models.ts';
import { compareDecimal, moneyFromDecimal, openInvoiceStatus } from '../sdk/money.ts';
import { isoString } from '../sdk/time.ts';

export const PROVIDER = 'xero';

/** A JSON decimal as Xero sends it; strings are accepted too (recorded payloads, XML-to-JSON tools). */
export type XeroNumber = number | string;

export interface XeroPhone {
  PhoneType?: string;
  PhoneNumber?: string;
  PhoneAreaCode?: string;
  PhoneCountryCode?: string;
}

export interface XeroAddress {
  AddressType?: string;
  AddressLine1?: string;
  AddressLine2?: string;
  AddressLine3?: string;
  AddressLine4?: string;
  City?: string;
  Region?: string;
  PostalCode?: string;
  Country?: string;
  AttentionTo?: string;
}

export interface XeroContactPerson {
  FirstName?: string;
  LastName?: string;
  EmailAddress?: string;
  IncludeInEmails?: boolean;
}

export interface XeroContact {
  ContactID: string;
  ContactNumber?: string;
  AccountNumber?: string;
  ContactStatus?: string;
  Name?: string;
  FirstName?: string;
  LastName?: string;
  EmailAddress?: string;
  ContactPersons?: XeroContactPerson[];
  Addresses?: XeroAddress[];
  Phones?: XeroPhone[];
  IsSupplier?: boolean;
  IsCustomer?: boolean;
  DefaultCurrency?: string;
  TaxNumber?: string;
  Website?: string;
  ContactGroups?: Array<{ Name?: string; ContactGroupID?: string }>;
  UpdatedDateUTC?: string;
  MergedToContactID?: string;
}

export interface XeroLineItem {
  LineItemID?: string;
  Description?: string;
  Quantity?: XeroNumber;
  UnitAmount?: XeroNumber;
  ItemCode?: string;
  AccountCode?: string;
  TaxType?: string;
  TaxAmount?: XeroNumber;
  LineAmount?: XeroNumber;
  DiscountRate?: XeroNumber;
  Item?: { ItemID?: string; Code?: string };
}

export interface XeroPayment {
  PaymentID?: string;
  Date?: string;
  Amount?: XeroNumber;
  Reference?: string;
  CurrencyRate?: XeroNumber;
  PaymentType?: string;
  Status?: string;
}

export interface XeroInvoice {
  Type: string;
  InvoiceID: string;
  InvoiceNumber?: string;
  Reference?: string;
  Contact?: { ContactID?: string; Name?: string };
  Date?: string;
  DueDate?: string;
  Status?: string;
  LineAmountTypes?: string;
  LineItems?: XeroLineItem[];
  SubTotal?: XeroNumber;
  TotalTax?: XeroNumber;
  Total?: XeroNumber;
  TotalDiscount?: XeroNumber;
  AmountDue?: XeroNumber;
  AmountPaid?: XeroNumber;
  AmountCredited?: XeroNumber;
  CurrencyCode?: string;
  CurrencyRate?: XeroNumber;
  FullyPaidOnDate?: string;
  Payments?: XeroPayment[];
  UpdatedDateUTC?: string;
  Url?: string;
}

export interface MapOptions {
  /** The organisation's base currency (GET /Organisation BaseCurrency, stored at connect). */
  baseCurrency?: string | null;
  /** The organisation's short code, for deep links into Xero's web app. */
  shortCode?: string | null;
}

// ─── dates ─────────────────────────────────────────────────────────────────────────────────────

const MS_DATE = /^\/Date\((-?\d{1,15})([+-]\d{4})?\)\/$/;
const ISO_LOCAL = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms of a Xero date: `/Date(ms+0000)/`, or the ISO forms its `…String` twins use (read as UTC). */
export function xeroMillis(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const ms = MS_DATE.exec(value);
  if (ms) return Number(ms[1]);
  const iso = ISO_LOCAL.exec(value);
  if (iso) {
    const fraction = iso[2]?.includes('.') ? iso[2].replace(/(\.\d{3})\d+$/, '$1') : (iso[2] ?? '00:00:00');
    const zone = iso[3] ? (iso[3] === 'Z' ? 'Z' : iso[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z';
    const parsed = Date.parse(`${iso[1]}T${fraction}${zone}`);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw new ConnectorError('MAPPING_FAILED', `Xero sent a date in no known form: ${JSON.stringify(value.slice(0, 40))}`, { retryable: false });
}

/** An instant (UpdatedDateUTC) as ISO-8601 UTC. */
export function xeroInstant(value: string | null | undefined): string | null {
  const ms = xeroMillis(value);
  return ms === null ? null : isoString(ms);
}

/**
 * A calendar date (Date, DueDate, FullyPaidOnDate) as YYYY-MM-DD. Xero encodes the organisation's
 * calendar day as midnight UTC with +0000, so the UTC day is the day; a non-zero offset shifts to
 * the local day it names.
 */
export function xeroDate(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const m = MS_DATE.exec(value);
  const ms = xeroMillis(value);
  if (ms === null) return null;
  const offset = m?.[2] ? (m[2].startsWith('-') ? -1 : 1) * (Number(m[2].slice(1, 3)) * 60 + Number(m[2].slice(3, 5))) * 60_000 : 0;
  return isoString(ms + offset).slice(0, 10);
}

// ─── money ─────────────────────────────────────────────────────────────────────────────────────

function money(value: XeroNumber | null | undefined, currency: string | null): MoneyModel | null {
  if (value === null || value === undefined || currency === null) return null;
  try {
    return moneyFromDecimal(value, currency);
  } catch (err) {
    throw new ConnectorError('MAPPING_FAILED', `Xero sent an amount that is not a decimal: ${(err as Error).message}`, { retryable: false });
  }
}

function decimalText(value: XeroNumber): string {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw new ConnectorError('MAPPING_FAILED', `Xero sent a rate that is not a decimal: ${text}`, { retryable: false });
  return text;
}

/** Decimal places kept when inverting a rate whose inverse does not terminate. */
export const RATE_DECIMALS = 12;

/**
 * 1 / rate as a decimal string, exact when the inverse terminates within RATE_DECIMALS places,
 * else rounded half-up to RATE_DECIMALS (integer arithmetic, no floats): 0.8 → "1.25",
 * 0.75 → "1.333333333333". Trailing zeros are trimmed.
 */
export function invertRate(rate: string): string | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(rate);
  if (!m) return null;
  const fraction = m[2] ?? '';
  const numerator = BigInt(m[1]! + fraction);
  if (numerator === 0n) return null;
  // 1 / (numerator / 10^f) = 10^f / numerator, scaled by 10^RATE_DECIMALS, with one guard digit.
  const scaled = 10n ** BigInt(fraction.length + RATE_DECIMALS + 1) / numerator;
  const rounded = (scaled + 5n) / 10n;
  const digits = rounded.toString().padStart(RATE_DECIMALS + 1, '0');
  const whole = digits.slice(0, -RATE_DECIMALS);
  const frac = digits.slice(-RATE_DECIMALS).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

// ─── contacts ──────────────────────────────────────────────────────────────────────────────────

const text = (v: string | null | undefined): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

const PHONE_TYPES: Record<string, PhoneType> = { DEFAULT: 'WORK', DDI: 'WORK', OFFICE: 'WORK', MOBILE: 'MOBILE', FAX: 'FAX' };
const ADDRESS_TYPES: Record<string, AddressType> = { POBOX: 'MAILING', STREET: 'OTHER', DELIVERY: 'SHIPPING' };

/** Xero splits a number into country, area and local parts; E.164 only when all digits are there. */
function phone(p: XeroPhone): PhoneModel | null {
  const local = text(p.PhoneNumber);
  if (!local) return null;
  const parts = [p.PhoneCountryCode, p.PhoneAreaCode, local].map((x) => (x ?? '').trim()).filter(Boolean);
  const number = parts.join(' ');
  const country = (p.PhoneCountryCode ?? '').replace(/\D/g, '');
  const area = (p.PhoneAreaCode ?? '').replace(/\D/g, '').replace(/^0+/, '');
  const digits = `${country}${area}${local.replace(/\D/g, '').replace(/^0+/, '')}`;
  const e164 =
    country && /^[1-9]\d{7,14}$/.test(digits)
      ? `+${digits}`
      : local.startsWith('+') && /^\+[1-9]\d{7,14}$/.test(local.replace(/[\s-]/g, ''))
        ? local.replace(/[\s-]/g, '')
        : null;
  return { number, e164, type: PHONE_TYPES[(p.PhoneType ?? '').toUpperCase()] ?? 'OTHER' };
}

function address(a: XeroAddress): AddressModel | null {
  const lines = [a.AddressLine1, a.AddressLine2, a.AddressLine3, a.AddressLine4].map(text).filter((l): l is string => l !== null);
  const fields = [lines[0], a.City, a.Region, a.PostalCode, a.Country].map(text);
  if (fields.every((f) => f === null)) return null;
  return {
    type: ADDRESS_TYPES[(a.AddressType ?? '').toUpperCase()] ?? 'OTHER',
    name: text(a.AttentionTo),
    line1: lines[0] ?? null,
    line2: lines.length > 1 ? lines.slice(1).join(', ') : null,
    city: text(a.City),
    region: text(a.Region),
    postalCode: text(a.PostalCode),
    country: text(a.Country),
  };
}

function emails(c: XeroContact): EmailModel[] {
  const out: EmailModel[] = [];
  const seen = new Set<string>();
  const add = (address: string | undefined, primary: boolean) => {
    const a = text(address);
    if (!a || !a.includes('@') || seen.has(a.toLowerCase())) return;
    seen.add(a.toLowerCase());
    out.push({ address: a, type: 'WORK', primary });
  };
  add(c.EmailAddress, true);
  for (const p of c.ContactPersons ?? []) add(p.EmailAddress, false);
  return out;
}

/**
 * A Xero contact (customer, supplier or both) → Contact. Xero's Name is the contact's display and
 * company name (required, unique per organisation); FirstName/LastName are the primary person.
 */
export function mapContact(raw: unknown, options: MapOptions = {}): ContactModel {
  const c = raw as XeroContact;
  if (!c || typeof c !== 'object' || typeof c.ContactID !== 'string' || c.ContactID === '')
    throw new ConnectorError('MAPPING_FAILED', 'Xero contact without a ContactID', { retryable: false });
  const first = text(c.FirstName);
  const last = text(c.LastName);
  const person = [first, last].filter(Boolean).join(' ') || null;
  const name = text(c.Name) ?? person;
  const updated = xeroInstant(c.UpdatedDateUTC);
  const tags = [
    ...(c.IsCustomer ? ['customer'] : []),
    ...(c.IsSupplier ? ['supplier'] : []),
    ...(c.ContactGroups ?? []).map((g) => g.Name).filter((n): n is string => !!n),
  ];
  return {
    entity: 'Contact',
    source: source(c.ContactID, contactUrl(c.ContactID, options), null, updated, c.ContactStatus === 'ARCHIVED' || c.ContactStatus === 'GDPRREQUEST'),
    firstName: first,
    lastName: last,
    name,
    jobTitle: null,
    // Xero's Name names the business when it differs from the person.
    companyName: name !== null && name !== person ? name : null,
    emails: emails(c),
    phones: (c.Phones ?? []).map(phone).filter((p): p is PhoneModel => p !== null),
    addresses: (c.Addresses ?? []).map(address).filter((a): a is AddressModel => a !== null),
    tags,
    customFields: {
      ...(c.ContactNumber ? { contactNumber: c.ContactNumber } : {}),
      ...(c.AccountNumber ? { accountNumber: c.AccountNumber } : {}),
      ...(c.TaxNumber ? { taxNumber: c.TaxNumber } : {}),
      ...(c.DefaultCurrency ? { defaultCurrency: c.DefaultCurrency } : {}),
      ...(c.ContactStatus ? { contactStatus: c.ContactStatus } : {}),
      ...(c.MergedToContactID ? { mergedToContactId: c.MergedToContactID } : {}),
    },
    createdAt: null,
    updatedAt: updated,
    raw,
  };
}

// ─── invoices ──────────────────────────────────────────────────────────────────────────────────

export const INVOICE_KINDS: Readonly<Record<string, InvoiceKind>> = { ACCREC: 'RECEIVABLE', ACCPAY: 'PAYABLE' };

function invoiceStatus(raw: string | undefined, balance: MoneyModel | null, total: MoneyModel | null): InvoiceStatus {
  switch ((raw ?? '').toUpperCase()) {
    case 'DRAFT':
    case 'SUBMITTED':
      return 'DRAFT';
    case 'AUTHORISED':
      // Fully paid but not yet flipped (a zero-total invoice) reads as PAID only when Xero says so.
      return openInvoiceStatus(balance, total);
    case 'PAID':
      return 'PAID';
    case 'VOIDED':
    case 'DELETED':
      return 'VOID';
    default:
      return 'UNKNOWN';
  }
}

function lineItem(li: XeroLineItem, currency: string | null): LineItemModel {
  return {
    remoteId: text(li.LineItemID),
    description: text(li.Description),
    quantity: li.Quantity === undefined || li.Quantity === null ? null : decimalText(li.Quantity),
    unitPrice: money(li.UnitAmount, currency),
    amount: money(li.LineAmount, currency),
    sku: text(li.ItemCode) ?? text(li.Item?.Code),
    productRemoteId: text(li.Item?.ItemID),
  };
}

function payment(p: XeroPayment, currency: string | null): InvoicePaymentModel | null {
  const amount = money(p.Amount, currency);
  if (!amount) return null;
  return { remoteId: text(p.PaymentID), amount, date: xeroDate(p.Date), method: text(p.PaymentType) };
}

/** A Xero invoice (ACCREC sales invoice or ACCPAY bill) → Invoice. Other types are refused. */
export function mapInvoice(raw: unknown, options: MapOptions = {}): InvoiceModel {
  const inv = raw as XeroInvoice;
  if (!inv || typeof inv !== 'object' || typeof inv.InvoiceID !== 'string' || inv.InvoiceID === '')
    throw new ConnectorError('MAPPING_FAILED', 'Xero invoice without an InvoiceID', { retryable: false });
  const kind = INVOICE_KINDS[inv.Type];
  if (!kind)
    throw new ConnectorError('MAPPING_FAILED', `Xero invoice ${inv.InvoiceID} has Type ${JSON.stringify(inv.Type)} (only ACCREC and ACCPAY are invoices)`, {
      retryable: false,
    });
  const currency = text(inv.CurrencyCode)?.toUpperCase() ?? null;
  const total = money(inv.Total, currency);
  const balance = money(inv.AmountDue, currency);
  const updated = xeroInstant(inv.UpdatedDateUTC);
  const baseCurrency = options.baseCurrency ? options.baseCurrency.toUpperCase() : null;
  // CurrencyRate: invoice-currency units per base unit; the model wants base units per invoice unit.
  let exchangeRate: string | null = null;
  if (inv.CurrencyRate !== undefined && inv.CurrencyRate !== null && baseCurrency) {
    const rate = decimalText(inv.CurrencyRate);
    exchangeRate = currency === baseCurrency || compareDecimal(rate, '1') === 0 ? '1' : invertRate(rate);
  }
  const paidDate = xeroDate(inv.FullyPaidOnDate);
  const status = (inv.Status ?? '').toUpperCase();
  return {
    entity: 'Invoice',
    source: source(inv.InvoiceID, invoiceUrl(inv, options), null, updated, status === 'DELETED'),
    number: text(inv.InvoiceNumber),
    kind,
    status: invoiceStatus(inv.Status, balance, total),
    statusRaw: inv.Status ?? null,
    contactRemoteId: text(inv.Contact?.ContactID),
    orderRemoteId: null,
    issueDate: xeroDate(inv.Date),
    dueDate: xeroDate(inv.DueDate),
    paidAt: paidDate && status === 'PAID' ? `${paidDate}T00:00:00.000Z` : null,
    currency,
    subtotal: money(inv.SubTotal, currency),
    tax: money(inv.TotalTax, currency),
    discount: money(inv.TotalDiscount, currency),
    total,
    amountPaid: money(inv.AmountPaid, currency),
    balance,
    memo: text(inv.Reference),
    // Xero keeps payment terms on the contact and the organisation, not on the invoice (only DueDate).
    paymentTerms: null,
    exchangeRate,
    baseCurrency: exchangeRate ? baseCurrency : null,
    payments: Array.isArray(inv.Payments) ? inv.Payments.map((p) => payment(p, currency)).filter((p): p is InvoicePaymentModel => p !== null) : null,
    // Xero leaves LineItems out of unpaged lists only; byIds and list always ask with `page`.
    lineItems: Array.isArray(inv.LineItems) ? inv.LineItems.map((li) => lineItem(li, currency)) : [],
    createdAt: null,
    updatedAt: updated,
    raw,
  };
}

// ─── shared ────────────────────────────────────────────────────────────────────────────────────

function source(remoteId: string, remoteUrl: string | null, created: string | null, updated: string | null, deleted: boolean): SourceModel {
  return { provider: PROVIDER, remoteId, remoteUrl, remoteCreatedAt: created, remoteUpdatedAt: updated, remoteDeleted: deleted };
}

/** Deep links into Xero's web app (the organisation is chosen by its short code). */
function contactUrl(id: string, options: MapOptions): string | null {
  return options.shortCode
    ? `https://go.xero.com/organisationlogin/default.aspx?shortcode=${encodeURIComponent(options.shortCode)}&redirecturl=/Contacts/View/${id}`
    : null;
}

function invoiceUrl(inv: XeroInvoice, options: MapOptions): string | null {
  if (!options.shortCode) return null;
  const path = inv.Type === 'ACCPAY' ? `/AccountsPayable/Edit.aspx?InvoiceID=${inv.InvoiceID}` : `/AccountsReceivable/View.aspx?InvoiceID=${inv.InvoiceID}`;
  return `https://go.xero.com/organisationlogin/default.aspx?shortcode=${encodeURIComponent(options.shortCode)}&redirecturl=${path}`;
}
