// The emulated company's books: customers, invoices, sales receipts and payments, held as
// QuickBooks' own JSON (amounts as numbers in major units, instants with the company's -08:00
// offset) so the query route answers them as they are. Money is computed in cents and only turned
// into a number at the edge. Every mutation reports the webhook change QuickBooks would send
// (entity name, id, operation, when).
import { EmulatorAdminError } from '../../sdk/emulator-kit/index.ts';
import type { QboCustomer, QboEntityName, QboInvoice, QboLine, QboPayment, QboSalesReceipt } from '../qbo-types.ts';
import type { PropertyReader, QueryValue } from './query.ts';

export type Operation = 'Create' | 'Update' | 'Delete' | 'Merge' | 'Void' | 'Emailed';
export interface StoreChange {
  name: QboEntityName;
  id: string;
  operation: Operation;
  /** Epoch ms of the change. */
  at: number;
}

/** The company's offset: QuickBooks shows instants in the company's time zone (Pacific here, no DST). */
const OFFSET_MS = -8 * 3_600_000;
export function qboInstant(ms: number): string {
  return `${new Date(ms + OFFSET_MS).toISOString().slice(0, 19)}-08:00`;
}
export const qboDate = (ms: number): string => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
export const fromCents = (cents: number): number => Math.round(cents) / 100;
export const toCents = (amount: number | undefined): number => Math.round((amount ?? 0) * 100);

type Entities = { Customer: QboCustomer; Invoice: QboInvoice; SalesReceipt: QboSalesReceipt; Payment: QboPayment };
export const ENTITY_NAMES: readonly QboEntityName[] = ['Customer', 'Invoice', 'SalesReceipt', 'Payment'];

/** Queryable properties per entity (lower case) and how to read them; any other is refused with 4001. */
const COMMON: Record<string, (r: Record<string, unknown>) => QueryValue | null> = {
  id: (r) => (r.Id as string) ?? null,
  'metadata.createtime': (r) => (r.MetaData as { CreateTime?: string } | undefined)?.CreateTime ?? null,
  'metadata.lastupdatedtime': (r) => (r.MetaData as { LastUpdatedTime?: string } | undefined)?.LastUpdatedTime ?? null,
};
const TXN: Record<string, (r: Record<string, unknown>) => QueryValue | null> = {
  ...COMMON,
  docnumber: (r) => (r.DocNumber as string) ?? null,
  txndate: (r) => (r.TxnDate as string) ?? null,
  customerref: (r) => (r.CustomerRef as { value?: string } | undefined)?.value ?? null,
  totalamt: (r) => (r.TotalAmt as number) ?? null,
};
const PROPERTIES: Record<QboEntityName, Record<string, (r: Record<string, unknown>) => QueryValue | null>> = {
  Customer: {
    ...COMMON,
    displayname: (r) => (r.DisplayName as string) ?? null,
    givenname: (r) => (r.GivenName as string) ?? null,
    familyname: (r) => (r.FamilyName as string) ?? null,
    companyname: (r) => (r.CompanyName as string) ?? null,
    primaryemailaddr: (r) => (r.PrimaryEmailAddr as { Address?: string } | undefined)?.Address ?? null,
    active: (r) => (r.Active as boolean) ?? true,
    balance: (r) => (r.Balance as number) ?? null,
  },
  Invoice: { ...TXN, duedate: (r) => (r.DueDate as string) ?? null, balance: (r) => (r.Balance as number) ?? null },
  SalesReceipt: TXN,
  Payment: TXN,
};

export function propertyReader(entity: QboEntityName): PropertyReader {
  const props = PROPERTIES[entity];
  return (record, field) => {
    const read = props[field.toLowerCase()];
    return read ? read(record) : undefined;
  };
}

export class QboStore {
  readonly customers = new Map<string, QboCustomer>();
  readonly invoices = new Map<string, QboInvoice>();
  readonly salesReceipts = new Map<string, QboSalesReceipt>();
  readonly payments = new Map<string, QboPayment>();
  private readonly nextId: Record<QboEntityName, number> = { Customer: 1, Invoice: 1001, SalesReceipt: 5001, Payment: 8001 };
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private seeding = false;

  constructor(
    readonly realmId: string,
    private readonly now: () => number = Date.now,
  ) {}

  table<E extends QboEntityName>(name: E): Map<string, Entities[E]> {
    const tables = { Customer: this.customers, Invoice: this.invoices, SalesReceipt: this.salesReceipts, Payment: this.payments };
    return tables[name] as unknown as Map<string, Entities[E]>;
  }

  /** Rows of one entity for the query route. Name-list entities answer only active rows unless the query asks for Active. */
  rows(name: QboEntityName): Array<Record<string, unknown>> {
    return [...this.table(name).values()] as unknown as Array<Record<string, unknown>>;
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` without emitting changes (seeding). */
  seed(fn: () => void): void {
    this.seeding = true;
    try {
      fn();
    } finally {
      this.seeding = false;
    }
  }

  newId(name: QboEntityName): string {
    return String(this.nextId[name]++);
  }

  add<E extends QboEntityName>(name: E, record: Entities[E], createdMs = this.now(), updatedMs = createdMs): Entities[E] {
    record.MetaData = { CreateTime: qboInstant(createdMs), LastUpdatedTime: qboInstant(updatedMs) };
    this.table(name).set(record.Id, record);
    this.emit(name, record.Id, 'Create', updatedMs);
    return record;
  }

  get<E extends QboEntityName>(name: E, id: string): Entities[E] {
    const r = this.table(name).get(id);
    if (!r) throw new EmulatorAdminError(404, `no ${name} ${id}`);
    return r;
  }

  /** Bumps SyncToken and LastUpdatedTime and reports the change. */
  touch(
    name: QboEntityName,
    record: { Id: string; SyncToken: string; MetaData?: { CreateTime?: string; LastUpdatedTime?: string } },
    operation: Operation = 'Update',
  ): void {
    const at = this.now();
    record.SyncToken = String(Number(record.SyncToken) + 1);
    record.MetaData = { ...record.MetaData, LastUpdatedTime: qboInstant(at) };
    this.emit(name, record.Id, operation, at);
  }

  /**
   * Receives a payment against an invoice, as "Receive payment" does: a Payment whose one line
   * links the invoice, the invoice's Balance lowered and the payment added to its LinkedTxn.
   * Both changes are reported (Payment Create, then Invoice Update).
   */
  payInvoice(invoiceId: string, amount: number | null, method = 'Check', dateMs = this.now()): QboPayment {
    const invoice = this.get('Invoice', invoiceId);
    const balance = toCents(invoice.Balance);
    const cents = amount === null ? balance : toCents(amount);
    if (cents <= 0 || cents > balance) throw new EmulatorAdminError(400, `amount must be more than 0 and at most the balance ${fromCents(balance)}`);
    const payment: QboPayment = {
      Id: this.newId('Payment'),
      SyncToken: '0',
      TxnDate: qboDate(dateMs),
      CustomerRef: invoice.CustomerRef ? { ...invoice.CustomerRef } : { value: '' },
      CurrencyRef: invoice.CurrencyRef ? { ...invoice.CurrencyRef } : { value: 'USD', name: 'United States Dollar' },
      ...(invoice.ExchangeRate !== undefined ? { ExchangeRate: invoice.ExchangeRate } : {}),
      TotalAmt: fromCents(cents),
      UnappliedAmt: 0,
      PaymentMethodRef: { value: String(METHODS.indexOf(method) + 1 || 1), name: method },
      Line: [{ Amount: fromCents(cents), LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
    };
    this.add('Payment', payment, dateMs);
    invoice.Balance = fromCents(balance - cents);
    invoice.LinkedTxn = [...(invoice.LinkedTxn ?? []), { TxnId: payment.Id, TxnType: 'Payment' }];
    if (this.seeding) {
      invoice.MetaData = { ...invoice.MetaData, LastUpdatedTime: qboInstant(Math.max(dateMs, Date.parse(invoice.MetaData?.LastUpdatedTime ?? '') || 0)) };
    } else this.touch('Invoice', invoice);
    return payment;
  }

  /** Voids an invoice as QuickBooks does: amounts zeroed, "Voided" prefixed to the private note. */
  voidInvoice(invoiceId: string): QboInvoice {
    const invoice = this.get('Invoice', invoiceId);
    for (const line of invoice.Line ?? []) zeroLine(line);
    invoice.TotalAmt = 0;
    invoice.Balance = 0;
    if (invoice.TxnTaxDetail) invoice.TxnTaxDetail.TotalTax = 0;
    invoice.PrivateNote = `Voided${invoice.PrivateNote ? ` - ${invoice.PrivateNote}` : ''}`;
    if (!this.seeding) this.touch('Invoice', invoice, 'Void');
    return invoice;
  }

  deleteInvoice(invoiceId: string): QboInvoice {
    const invoice = this.get('Invoice', invoiceId);
    this.invoices.delete(invoiceId);
    this.emit('Invoice', invoiceId, 'Delete', this.now());
    return invoice;
  }

  private emit(name: QboEntityName, id: string, operation: Operation, at: number): void {
    if (this.seeding) return;
    for (const l of this.listeners) l({ name, id, operation, at });
  }
}

export const METHODS = ['Cash', 'Check', 'Credit Card', 'Bank Transfer'];

function zeroLine(line: QboLine): void {
  line.Amount = 0;
  if (line.SalesItemLineDetail) line.SalesItemLineDetail = { ...line.SalesItemLineDetail, Qty: 0, UnitPrice: 0 };
}
