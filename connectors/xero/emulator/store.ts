// The emulated organisations: each a Xero tenant with its own contacts and invoices, kept in Xero's
// own field names. Amounts are held as decimal strings and written into the JSON text as plain
// decimals with Xero's two places (`"Total": 46.00`), dates in Xero's `/Date(ms+0000)/` form, so
// what the connector parses is what Xero sends. Changes are announced to listeners (webhooks).
import { randomUUID } from 'node:crypto';
import { EmulatorAdminError } from '../../sdk/emulator-kit/index.ts';

export interface OrgRecord {
  tenantId: string;
  name: string;
  shortCode: string;
  baseCurrency: string;
  countryCode: string;
  contacts: Map<string, ContactRecord>;
  invoices: Map<string, InvoiceRecord>;
}

export interface ContactRecord {
  ContactID: string;
  ContactNumber?: string;
  ContactStatus: 'ACTIVE' | 'ARCHIVED' | 'GDPRREQUEST';
  Name: string;
  FirstName?: string;
  LastName?: string;
  EmailAddress?: string;
  Addresses: Array<Record<string, string>>;
  Phones: Array<Record<string, string>>;
  IsSupplier: boolean;
  IsCustomer: boolean;
  DefaultCurrency?: string;
  updatedMs: number;
}

export interface LineRecord {
  LineItemID: string;
  Description: string;
  /** Decimal strings. */
  Quantity: string;
  UnitAmount: string;
  LineAmount: string;
  TaxAmount: string;
  ItemCode?: string;
  AccountCode: string;
  TaxType: string;
}

export interface PaymentRecord {
  PaymentID: string;
  dateMs: number;
  Amount: string;
  Reference?: string;
  CurrencyRate: string;
}

export interface InvoiceRecord {
  InvoiceID: string;
  Type: 'ACCREC' | 'ACCPAY';
  InvoiceNumber: string;
  Reference?: string;
  ContactID: string;
  dateMs: number;
  dueDateMs: number;
  Status: 'DRAFT' | 'SUBMITTED' | 'AUTHORISED' | 'PAID' | 'VOIDED' | 'DELETED';
  LineAmountTypes: 'Exclusive' | 'Inclusive' | 'NoTax';
  lines: LineRecord[];
  CurrencyCode: string;
  /** Invoice-currency units per base unit, 6 places at most. */
  CurrencyRate: string;
  payments: PaymentRecord[];
  /** Credit-note allocations (what AmountCredited sums). */
  creditedCents: number;
  fullyPaidOnMs: number | null;
  updatedMs: number;
}

export type ChangeKind = 'CREATE' | 'UPDATE';
export interface StoreChange {
  tenantId: string;
  category: 'CONTACT' | 'INVOICE';
  resourceId: string;
  kind: ChangeKind;
  at: number;
}

/** Money kept in cents (the seeded currencies use two places, as Xero stores invoice totals). */
const toCents = (decimal: string): number => {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(decimal);
  if (!m) throw new EmulatorAdminError(400, `not an amount with at most 2 decimals: ${decimal}`);
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -cents : cents;
};
export const centsToDecimal = (cents: number): string => {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
};
export const msDate = (ms: number): string => `/Date(${ms}+0000)/`;
const dayString = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

/** A marker for decimals: JSON.stringify writes them as strings, `toXeroJson` unquotes them. */
const DEC = '\u0000dec:';
const dec = (decimal: string): string => `${DEC}${decimal}`;

/** JSON text with every marked decimal written as a JSON number exactly as given ("46.00"). */
export function toXeroJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000dec:(-?\d+(?:\.\d+)?)"/g, '$1');
}

export class XeroStore {
  readonly orgs = new Map<string, OrgRecord>();
  private listeners: Array<(c: StoreChange) => void> = [];
  private clock = 0;

  /** Strictly increasing ms, so two changes in one ms still order (and If-Modified-Since sees them). */
  now(): number {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  onChange(listener: (c: StoreChange) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  addOrg(org: Omit<OrgRecord, 'contacts' | 'invoices'>): OrgRecord {
    const full: OrgRecord = { ...org, contacts: new Map(), invoices: new Map() };
    this.orgs.set(org.tenantId, full);
    return full;
  }

  org(tenantId: string): OrgRecord {
    const org = this.orgs.get(tenantId);
    if (!org) throw new EmulatorAdminError(404, `no organisation ${tenantId}`);
    return org;
  }

  contact(org: OrgRecord, id: string): ContactRecord {
    const c = org.contacts.get(id.toLowerCase());
    if (!c) throw new EmulatorAdminError(404, `no contact ${id} in ${org.name}`);
    return c;
  }

  invoice(org: OrgRecord, id: string): InvoiceRecord {
    const i = org.invoices.get(id.toLowerCase());
    if (!i) throw new EmulatorAdminError(404, `no invoice ${id} in ${org.name}`);
    return i;
  }

  addContact(org: OrgRecord, c: Omit<ContactRecord, 'ContactID'> & { ContactID?: string }, announce = true): ContactRecord {
    const record = { ...c, ContactID: c.ContactID ?? randomUUID() } as ContactRecord;
    org.contacts.set(record.ContactID.toLowerCase(), record);
    if (announce) this.emit(org, 'CONTACT', record.ContactID, 'CREATE', record.updatedMs);
    return record;
  }

  addInvoice(org: OrgRecord, i: Omit<InvoiceRecord, 'InvoiceID'> & { InvoiceID?: string }, announce = true): InvoiceRecord {
    const record = { ...i, InvoiceID: i.InvoiceID ?? randomUUID() } as InvoiceRecord;
    org.invoices.set(record.InvoiceID.toLowerCase(), record);
    if (announce) this.emit(org, 'INVOICE', record.InvoiceID, 'CREATE', record.updatedMs);
    return record;
  }

  touchContact(org: OrgRecord, c: ContactRecord): void {
    c.updatedMs = this.now();
    this.emit(org, 'CONTACT', c.ContactID, 'UPDATE', c.updatedMs);
  }

  /** Applies a payment of `amount` (decimal) dated now; the invoice becomes PAID when nothing is due. */
  pay(org: OrgRecord, inv: InvoiceRecord, amount: string): PaymentRecord {
    if (inv.Status !== 'AUTHORISED') throw new EmulatorAdminError(400, `Payments can only be made against Authorised documents (invoice is ${inv.Status})`);
    const cents = toCents(amount);
    const due = this.amounts(inv).dueCents;
    if (cents <= 0 || cents > due) throw new EmulatorAdminError(400, `Payment amount exceeds the amount outstanding on this document (${centsToDecimal(due)})`);
    const at = this.now();
    const payment: PaymentRecord = {
      PaymentID: randomUUID(),
      dateMs: Date.UTC(new Date(at).getUTCFullYear(), new Date(at).getUTCMonth(), new Date(at).getUTCDate()),
      Amount: centsToDecimal(cents),
      CurrencyRate: inv.CurrencyRate,
    };
    inv.payments.push(payment);
    if (cents === due) {
      inv.Status = 'PAID';
      inv.fullyPaidOnMs = payment.dateMs;
    }
    inv.updatedMs = at;
    this.emit(org, 'INVOICE', inv.InvoiceID, 'UPDATE', at);
    return payment;
  }

  setInvoiceStatus(org: OrgRecord, inv: InvoiceRecord, status: InvoiceRecord['Status']): void {
    inv.Status = status;
    inv.updatedMs = this.now();
    this.emit(org, 'INVOICE', inv.InvoiceID, 'UPDATE', inv.updatedMs);
  }

  amounts(inv: InvoiceRecord): { subCents: number; taxCents: number; totalCents: number; paidCents: number; dueCents: number } {
    const lineCents = inv.lines.reduce((s, l) => s + toCents(l.LineAmount), 0);
    const taxCents = inv.lines.reduce((s, l) => s + toCents(l.TaxAmount), 0);
    // Inclusive line amounts already hold the tax.
    const subCents = inv.LineAmountTypes === 'Inclusive' ? lineCents - taxCents : lineCents;
    const totalCents = subCents + taxCents;
    const paidCents = inv.payments.reduce((s, p) => s + toCents(p.Amount), 0);
    const dueCents = inv.Status === 'VOIDED' || inv.Status === 'DELETED' ? 0 : totalCents - paidCents - inv.creditedCents;
    return { subCents, taxCents, totalCents, paidCents, dueCents };
  }

  // ─── JSON as Xero writes it ─────────────────────────────────────────────────────────────────

  contactJson(c: ContactRecord): Record<string, unknown> {
    const { updatedMs, ...fields } = c;
    return {
      ...fields,
      ContactPersons: [],
      ContactGroups: [],
      HasAttachments: false,
      HasValidationErrors: false,
      UpdatedDateUTC: msDate(updatedMs),
    };
  }

  /** `full`: with LineItems (single reads and paged lists); unpaged lists leave them out, as Xero does. */
  invoiceJson(org: OrgRecord, inv: InvoiceRecord, full: boolean): Record<string, unknown> {
    const a = this.amounts(inv);
    const contact = org.contacts.get(inv.ContactID);
    return {
      Type: inv.Type,
      InvoiceID: inv.InvoiceID,
      InvoiceNumber: inv.InvoiceNumber,
      ...(inv.Reference !== undefined ? { Reference: inv.Reference } : {}),
      Payments: inv.payments.map((p) => ({
        PaymentID: p.PaymentID,
        Date: msDate(p.dateMs),
        Amount: dec(p.Amount),
        ...(p.Reference ? { Reference: p.Reference } : {}),
        CurrencyRate: dec(p.CurrencyRate),
        HasAccount: false,
        HasValidationErrors: false,
      })),
      CreditNotes: [],
      Prepayments: [],
      Overpayments: [],
      AmountDue: dec(centsToDecimal(a.dueCents)),
      AmountPaid: dec(centsToDecimal(a.paidCents)),
      AmountCredited: dec(centsToDecimal(inv.creditedCents)),
      CurrencyRate: dec(inv.CurrencyRate),
      IsDiscounted: false,
      HasAttachments: false,
      HasErrors: false,
      Contact: {
        ContactID: inv.ContactID,
        Name: contact?.Name ?? '',
        Addresses: [],
        Phones: [],
        ContactGroups: [],
        ContactPersons: [],
        HasValidationErrors: false,
      },
      DateString: dayString(inv.dateMs),
      Date: msDate(inv.dateMs),
      DueDateString: dayString(inv.dueDateMs),
      DueDate: msDate(inv.dueDateMs),
      Status: inv.Status,
      LineAmountTypes: inv.LineAmountTypes,
      LineItems: full
        ? inv.lines.map((l) => ({
            LineItemID: l.LineItemID,
            Description: l.Description,
            Quantity: dec(l.Quantity),
            UnitAmount: dec(l.UnitAmount),
            ...(l.ItemCode ? { ItemCode: l.ItemCode } : {}),
            AccountCode: l.AccountCode,
            TaxType: l.TaxType,
            TaxAmount: dec(l.TaxAmount),
            LineAmount: dec(l.LineAmount),
            Tracking: [],
          }))
        : [],
      SubTotal: dec(centsToDecimal(a.subCents)),
      TotalTax: dec(centsToDecimal(a.taxCents)),
      Total: dec(centsToDecimal(a.totalCents)),
      UpdatedDateUTC: msDate(inv.updatedMs),
      CurrencyCode: inv.CurrencyCode,
      ...(inv.fullyPaidOnMs !== null ? { FullyPaidOnDate: msDate(inv.fullyPaidOnMs) } : {}),
    };
  }

  private emit(org: OrgRecord, category: StoreChange['category'], resourceId: string, kind: ChangeKind, at: number): void {
    for (const l of this.listeners) l({ tenantId: org.tenantId, category, resourceId, kind, at });
  }
}
