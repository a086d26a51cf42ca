// Pure mappers from QuickBooks Online's JSON to the unified model. Amounts arrive as JSON numbers
// in major units (QuickBooks keeps at most the currency's decimals, so every amount below 10^13 is
// exact as a double) and are turned into decimal strings by moneyFromDecimal, never by float
// arithmetic; differences (amount paid) are computed on scaled integers. QuickBooks has no invoice
// status field: it follows from Balance (0 → PAID, 0 < Balance < TotalAmt → PARTIALLY_PAID) and
// from a void (amounts zeroed, PrivateNote "Voided…").
import { ConnectorError } from '../sdk/errors.ts';
import type {
  AddressModel,
  ContactModel,
  EmailModel,
  InvoiceModel,
  InvoicePaymentModel,
  LineItemModel,
  MoneyModel,
  OrderModel,
  PhoneModel,
} from '../sdk/models.ts';
import { compareDecimal, moneyFromDecimal, openInvoiceStatus } from '../sdk/money.ts';
import type { QboAddress, QboCustomer, QboInvoice, QboLine, QboPayment, QboSalesReceipt, QboSalesTxn } from './qbo-types.ts';
import { isoString } from '../sdk/time.ts';

export const PROVIDER = 'quickbooks';
/** Where a person opens a record in QuickBooks (production; sandbox companies live on sandbox.qbo.intuit.com). */
export const APP_BASE = 'https://qbo.intuit.com/app';

export interface MapOptions {
  /** The company's home currency (Preferences.CurrencyPrefs.HomeCurrency), kept as a connection setting. */
  homeCurrency: string | null;
}

const text = (v: string | undefined | null): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** QuickBooks instants carry the company's offset; the model keeps UTC. */
export function utcInstant(v: string | undefined): string | null {
  if (!v) return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : isoString(ms);
}

const date = (v: string | undefined): string | null => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : null);

function money(amount: number | undefined | null, currency: string | null): MoneyModel | null {
  if (amount === undefined || amount === null || !currency) return null;
  try {
    return moneyFromDecimal(amount, currency);
  } catch (err) {
    throw new ConnectorError('MAPPING_FAILED', `QuickBooks amount ${String(amount)} is not a plain decimal: ${(err as Error).message}`, { retryable: false });
  }
}

function scaled(v: string, scale: number): bigint {
  const negative = v.startsWith('-');
  const [i = '0', f = ''] = v.replace('-', '').split('.');
  const n = BigInt(i + f.padEnd(scale, '0'));
  return negative ? -n : n;
}

function unscaled(n: bigint, scale: number): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, '0');
  const out = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${out}` : out;
}

const scaleOf = (...vs: string[]) => Math.max(...vs.map((v) => v.split('.')[1]?.length ?? 0));

/** a − b on decimal strings, exactly (scaled bigint), keeping the larger scale. */
export function subtractDecimal(a: string, b: string): string {
  const s = scaleOf(a, b);
  return unscaled(scaled(a, s) - scaled(b, s), s);
}

/** The sum of decimal strings, exactly. */
export function sumDecimal(values: readonly string[]): string {
  const s = scaleOf('0', ...values);
  return unscaled(
    values.reduce((acc, v) => acc + scaled(v, s), 0n),
    s,
  );
}

/** A JSON number as the shortest plain decimal ("1.25", "2"), no float arithmetic. */
export function decimalText(n: number): string {
  return (moneyFromDecimal(n, 'XXX') as MoneyModel).amount.replace(/\.?0+$/, '');
}

function address(a: QboAddress | undefined, type: AddressModel['type']): AddressModel | null {
  if (!a) return null;
  const line2 = [a.Line2, a.Line3].map(text).filter(Boolean).join(', ') || null;
  const m: AddressModel = {
    type,
    name: null,
    line1: text(a.Line1),
    line2,
    city: text(a.City),
    region: text(a.CountrySubDivisionCode),
    postalCode: text(a.PostalCode),
    country: text(a.Country),
  };
  return m.line1 || m.city || m.postalCode || m.country ? m : null;
}

function e164(raw: string): string | null {
  const trimmed = raw.trim();
  // Only numbers already written with a country code; no guessing.
  if (!trimmed.startsWith('+')) return null;
  const digits = trimmed.replace(/[^\d]/g, '');
  return digits.length >= 8 && digits.length <= 15 && !digits.startsWith('0') ? `+${digits}` : null;
}

export function mapCustomer(c: QboCustomer): ContactModel {
  // PrimaryEmailAddr may hold several addresses separated by commas.
  const addresses = (c.PrimaryEmailAddr?.Address ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s.includes('@'));
  const emails: EmailModel[] = addresses.map((address, i) => ({ address, type: 'WORK', primary: i === 0 }));
  const phones: PhoneModel[] = [];
  const phone = (v: { FreeFormNumber?: string } | undefined, type: PhoneModel['type']) => {
    const n = text(v?.FreeFormNumber);
    if (n) phones.push({ number: n, e164: e164(n), type });
  };
  phone(c.PrimaryPhone, 'WORK');
  phone(c.Mobile, 'MOBILE');
  phone(c.AlternatePhone, 'OTHER');
  phone(c.Fax, 'FAX');
  const created = utcInstant(c.MetaData?.CreateTime);
  const updated = utcInstant(c.MetaData?.LastUpdatedTime);
  const firstName = text(c.GivenName);
  const lastName = text(c.FamilyName);
  return {
    entity: 'Contact',
    source: {
      provider: PROVIDER,
      remoteId: c.Id,
      remoteUrl: `${APP_BASE}/customerdetail?nameId=${encodeURIComponent(c.Id)}`,
      remoteCreatedAt: created,
      remoteUpdatedAt: updated,
      // QuickBooks never deletes a customer; "deleting" one makes it inactive.
      remoteDeleted: c.Active === false,
    },
    firstName,
    lastName,
    name: text(c.DisplayName) ?? ([firstName, lastName].filter(Boolean).join(' ') || null),
    // Title is an honorific (Mr., Dr.), not a job title.
    jobTitle: null,
    companyName: text(c.CompanyName),
    emails,
    phones,
    addresses: [address(c.BillAddr, 'BILLING'), address(c.ShipAddr, 'SHIPPING')].filter((a): a is AddressModel => a !== null),
    tags: [],
    customFields: {},
    createdAt: created,
    updatedAt: updated,
    raw: c,
  };
}

/** The sold lines of a sales transaction: item lines, and the item lines inside bundles (groups). */
function lineItems(lines: QboLine[] | undefined, currency: string | null): LineItemModel[] {
  const out: LineItemModel[] = [];
  const visit = (line: QboLine) => {
    if (line.DetailType === 'GroupLineDetail') for (const inner of line.GroupLineDetail?.Line ?? []) visit(inner);
    if (line.DetailType !== 'SalesItemLineDetail') return;
    const d = line.SalesItemLineDetail ?? {};
    out.push({
      remoteId: line.Id ?? null,
      description: text(line.Description) ?? text(d.ItemRef?.name),
      quantity: d.Qty === undefined ? null : decimalText(d.Qty),
      unitPrice: money(d.UnitPrice, currency),
      amount: money(line.Amount, currency),
      sku: null,
      productRemoteId: d.ItemRef?.value ?? null,
    });
  };
  for (const line of lines ?? []) visit(line);
  return out;
}

/** Subtotal, discount and tax as QuickBooks computes them: the SubTotal and Discount lines, TxnTaxDetail. */
function totals(t: QboSalesTxn, currency: string | null) {
  const lines = t.Line ?? [];
  const subtotalLine = lines.find((l) => l.DetailType === 'SubTotalLineDetail');
  let subtotal: MoneyModel | null;
  if (subtotalLine) subtotal = money(subtotalLine.Amount, currency);
  else {
    // No subtotal line: the sum of the item lines, added exactly.
    const items = lineItems(lines, currency)
      .map((l) => l.amount?.amount)
      .filter((a): a is string => typeof a === 'string');
    subtotal = currency ? moneyFromDecimal(sumDecimal(items), currency) : null;
  }
  const discountLines = lines.filter((l) => l.DetailType === 'DiscountLineDetail');
  const discount = discountLines.length
    ? moneyFromDecimal(sumDecimal(discountLines.map((l) => money(l.Amount ?? 0, currency)?.amount ?? '0')), currency)
    : null;
  return { subtotal, discount, tax: money(t.TxnTaxDetail?.TotalTax ?? 0, currency), total: money(t.TotalAmt, currency) };
}

/** The part of each payment applied to `invoiceId`, in the invoice's currency. */
export function paymentsFor(invoiceId: string, payments: readonly QboPayment[], currency: string | null): InvoicePaymentModel[] {
  const out: InvoicePaymentModel[] = [];
  for (const p of payments) {
    const lines = (p.Line ?? []).filter((line) => (line.LinkedTxn ?? []).some((l) => l.TxnType === 'Invoice' && l.TxnId === invoiceId));
    if (lines.length === 0 || !currency) continue;
    const applied = sumDecimal(lines.map((line) => decimalText(line.Amount ?? 0)));
    out.push({ remoteId: p.Id, amount: moneyFromDecimal(applied, currency) as MoneyModel, date: date(p.TxnDate), method: text(p.PaymentMethodRef?.name) });
  }
  return out.sort((a, b) => (a.date ?? '').localeCompare(b.date ?? ''));
}

/** Ids of the Payment transactions an invoice links (LinkedTxn of type Payment). */
export const linkedPaymentIds = (invoice: QboInvoice): string[] => (invoice.LinkedTxn ?? []).filter((l) => l.TxnType === 'Payment').map((l) => l.TxnId);

export const isVoided = (t: QboSalesTxn): boolean => /^Voided\b/i.test(t.PrivateNote ?? '') && (t.TotalAmt ?? 0) === 0;

/**
 * An invoice. `payments`: the Payment records it links, when the caller read them (null: not read,
 * so `payments` stays null rather than claiming none were made).
 */
export function mapInvoice(inv: QboInvoice, options: MapOptions, payments: readonly QboPayment[] | null): InvoiceModel {
  const currency = text(inv.CurrencyRef?.value)?.toUpperCase() ?? options.homeCurrency;
  const { subtotal, discount, tax, total } = totals(inv, currency);
  const balance = money(inv.Balance, currency);
  const amountPaid = total && balance ? moneyFromDecimal(subtractDecimal(total.amount, balance.amount), total.currency) : null;
  let status: InvoiceModel['status'];
  if (isVoided(inv)) status = 'VOID';
  else if (balance && compareDecimal(balance.amount, '0') === 0) status = 'PAID';
  else if (balance) status = openInvoiceStatus(balance, total);
  else status = 'UNKNOWN';
  const created = utcInstant(inv.MetaData?.CreateTime);
  const updated = utcInstant(inv.MetaData?.LastUpdatedTime);
  const rate = inv.ExchangeRate;
  const exchangeRate = typeof rate === 'number' && Number.isFinite(rate) && rate > 0 ? decimalText(rate) : null;
  const model: InvoiceModel = {
    entity: 'Invoice',
    source: {
      provider: PROVIDER,
      remoteId: inv.Id,
      remoteUrl: `${APP_BASE}/invoice?txnId=${encodeURIComponent(inv.Id)}`,
      remoteCreatedAt: created,
      remoteUpdatedAt: updated,
      remoteDeleted: false,
    },
    number: text(inv.DocNumber),
    // QuickBooks invoices bill customers; supplier bills are the separate Bill entity, not read.
    kind: 'RECEIVABLE',
    status,
    // QuickBooks has no status field; the status is derived (see above).
    statusRaw: null,
    contactRemoteId: inv.CustomerRef?.value ?? null,
    orderRemoteId: null,
    issueDate: date(inv.TxnDate),
    dueDate: date(inv.DueDate),
    paidAt: null, // withPayments
    currency,
    subtotal,
    tax,
    discount,
    total,
    amountPaid,
    balance,
    memo: text(inv.CustomerMemo?.value),
    paymentTerms: text(inv.SalesTermRef?.name),
    exchangeRate,
    baseCurrency: exchangeRate ? options.homeCurrency : null,
    payments: null, // withPayments
    lineItems: lineItems(inv.Line, currency),
    createdAt: created,
    updatedAt: updated,
    raw: inv,
  };
  return payments === null ? model : withPayments(model, payments);
}

/**
 * Fills what an invoice's Payment records give (mapInvoice without them leaves both null): its
 * payments, and its paid date, a date only (the last payment's TxnDate) at midnight UTC. Apart so
 * that a page can be mapped while its payments are still being read.
 */
export function withPayments(model: InvoiceModel, payments: readonly QboPayment[]): InvoiceModel {
  const mapped = paymentsFor(model.source.remoteId, payments, model.currency);
  const last = mapped.at(-1)?.date ?? null;
  model.payments = mapped;
  model.paidAt = model.status === 'PAID' && last ? `${last}T00:00:00.000Z` : null;
  return model;
}

/**
 * A sales receipt as an order: a sale paid at the time it was made (QuickBooks Online has no
 * sales order), so COMPLETED and PAID; QuickBooks tracks no fulfilment for it.
 */
export function mapSalesReceipt(r: QboSalesReceipt, options: MapOptions): OrderModel {
  const currency = text(r.CurrencyRef?.value)?.toUpperCase() ?? options.homeCurrency;
  const { subtotal, discount, tax, total } = totals(r, currency);
  const created = utcInstant(r.MetaData?.CreateTime);
  const updated = utcInstant(r.MetaData?.LastUpdatedTime);
  const voided = isVoided(r);
  return {
    entity: 'Order',
    source: {
      provider: PROVIDER,
      remoteId: r.Id,
      remoteUrl: `${APP_BASE}/salesreceipt?txnId=${encodeURIComponent(r.Id)}`,
      remoteCreatedAt: created,
      remoteUpdatedAt: updated,
      remoteDeleted: false,
    },
    number: text(r.DocNumber),
    status: voided ? 'CANCELLED' : 'COMPLETED',
    statusRaw: null,
    paymentStatus: voided ? 'UNKNOWN' : 'PAID',
    paymentStatusRaw: text(r.PaymentMethodRef?.name),
    fulfillmentStatus: 'UNKNOWN',
    fulfillmentStatusRaw: null,
    customerRemoteId: r.CustomerRef?.value ?? null,
    customerEmail: text(r.BillEmail?.Address),
    customerName: text(r.CustomerRef?.name),
    currency,
    lineItems: lineItems(r.Line, currency),
    subtotal,
    shipping: null,
    tax,
    discount,
    total,
    refunded: null,
    billingAddress: address(r.BillAddr, 'BILLING'),
    shippingAddress: address(r.ShipAddr, 'SHIPPING'),
    // TxnDate is a date; the record's creation is the closest instant.
    placedAt: created,
    createdAt: created,
    updatedAt: updated,
    raw: r,
  };
}
