// The emulated company's deterministic books, drawn from the shared demo population so the same
// people exist in several providers with one e-mail: customers are people [230, 230 + n) (HubSpot
// holds [0, 300), Stripe [250, 500), WooCommerce [200, 320)). Invoices are open, partly paid, paid
// (by Payment records linked both ways) or voided; a few customers are billed in EUR or GBP with an
// exchange rate into the company's home currency (USD), as multicurrency companies are.
import { DEMO_EPOCH_MS, demoPeople } from '../../sdk/demo-data.ts';
import { seededRandom } from '../../sdk/emulator.ts';
import type { QboAddress, QboCustomer, QboInvoice, QboLine, QboRef, QboSalesReceipt } from '../qbo-types.ts';
import { METHODS, QboStore, fromCents, qboDate } from './store.ts';

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = { contacts: 60, invoices: 200, orders: 60 } as const;
export const QBO_PEOPLE_OFFSET = 230;
export const HOME_CURRENCY = 'USD';
const DAY_MS = 86_400_000;

const CURRENCIES: Record<string, { name: string; rate: number | null }> = {
  USD: { name: 'United States Dollar', rate: null },
  EUR: { name: 'Euro', rate: 1.0843 },
  GBP: { name: 'British Pound Sterling', rate: 1.2671 },
};
const ITEMS = [
  { id: '1', name: 'Services', price: 15_000 },
  { id: '2', name: 'Hours', price: 9_500 },
  { id: '3', name: 'Design', price: 42_550 },
  { id: '4', name: 'Hosting', price: 1_999 },
  { id: '5', name: 'Installation', price: 27_500 },
];
const TERMS: QboRef[] = [
  { value: '1', name: 'Due on receipt' },
  { value: '2', name: 'Net 15' },
  { value: '3', name: 'Net 30' },
  { value: '4', name: 'Net 60' },
];
/** Sales tax in basis points (8.25 %). */
const TAX_BP = 825;

function address(p: { address: { line1: string; city: string; region: string; postalCode: string; country: string } }, id: string): QboAddress {
  return {
    Id: id,
    Line1: p.address.line1,
    City: p.address.city,
    CountrySubDivisionCode: p.address.region,
    PostalCode: p.address.postalCode,
    Country: p.address.country,
  };
}

export function seedStore(store: QboStore, seed = DEFAULT_SEED, scale: { contacts?: number; invoices?: number; orders?: number } = {}): void {
  const nCustomers = Math.max(1, scale.contacts ?? DEFAULT_SCALE.contacts);
  const nInvoices = scale.invoices ?? DEFAULT_SCALE.invoices;
  const nReceipts = scale.orders ?? DEFAULT_SCALE.orders;
  const rnd = seededRandom((seed ^ 0x0b00c5) >>> 0);
  const int = (min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const people = demoPeople(QBO_PEOPLE_OFFSET + nCustomers, seed).slice(QBO_PEOPLE_OFFSET);
  const yearStart = DEMO_EPOCH_MS - 365 * DAY_MS;

  store.seed(() => {
    const customers: QboCustomer[] = people.map((p, i) => {
      const currency = i % 9 === 4 ? 'EUR' : i % 13 === 6 ? 'GBP' : 'USD';
      const createdMs = yearStart + Math.floor((i * 120 * DAY_MS) / nCustomers) + int(0, 86_399) * 1000;
      // Display names are unique in a company: the index keeps them so.
      const customer: QboCustomer = {
        Id: store.newId('Customer'),
        SyncToken: '0',
        DisplayName: i % 4 === 1 ? `${p.company} (${p.firstName} ${p.lastName}) #${i}` : `${p.firstName} ${p.lastName} #${i}`,
        GivenName: p.firstName,
        FamilyName: p.lastName,
        CompanyName: p.company,
        PrimaryEmailAddr: { Address: p.email },
        PrimaryPhone: { FreeFormNumber: `(415) 555-${p.phone.slice(-4)}` },
        ...(i % 3 === 0 ? { Mobile: { FreeFormNumber: p.phone } } : {}),
        BillAddr: address(p, String(100 + i * 2)),
        ...(i % 2 === 0 ? { ShipAddr: address(p, String(101 + i * 2)) } : {}),
        Active: i % 17 !== 9,
        Balance: 0,
        CurrencyRef: { value: currency, name: CURRENCIES[currency]?.name ?? currency },
      };
      return store.add('Customer', customer, createdMs, createdMs + int(0, 40) * DAY_MS);
    });

    const salesLines = (currency: string): { lines: QboLine[]; subtotal: number } => {
      const lines: QboLine[] = [];
      let subtotal = 0;
      for (let n = 1, count = int(1, 3); n <= count; n++) {
        const item = pick(ITEMS);
        const qty = pick([1, 1, 2, 3, 0.5, 1.25]);
        const unit = currency === 'USD' ? item.price : Math.round(item.price * 0.9);
        const amount = Math.round(unit * qty);
        subtotal += amount;
        lines.push({
          Id: String(n),
          LineNum: n,
          Description: `${item.name} — ${pick(['January', 'February', 'March', 'April'])} work`,
          Amount: fromCents(amount),
          DetailType: 'SalesItemLineDetail',
          SalesItemLineDetail: { ItemRef: { value: item.id, name: item.name }, Qty: qty, UnitPrice: fromCents(unit), TaxCodeRef: { value: 'TAX' } },
        });
      }
      lines.push({ Amount: fromCents(subtotal), DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} });
      return { lines, subtotal };
    };
    const money = (customer: QboCustomer) => {
      const currency = customer.CurrencyRef?.value ?? HOME_CURRENCY;
      const rate = CURRENCIES[currency]?.rate;
      return { CurrencyRef: { ...(customer.CurrencyRef ?? { value: 'USD' }) }, ...(rate ? { ExchangeRate: rate } : {}) };
    };

    for (let i = 0; i < nInvoices; i++) {
      const customer = customers[i % 7 === 3 ? 0 : int(0, customers.length - 1)] as QboCustomer;
      const createdMs = yearStart + Math.floor((i * 300 * DAY_MS) / Math.max(1, nInvoices)) + int(0, 86_399) * 1000;
      const { lines, subtotal } = salesLines(customer.CurrencyRef?.value ?? HOME_CURRENCY);
      const discount = i % 6 === 2 ? Math.round(subtotal / 10) : 0;
      if (discount)
        lines.push({ Amount: fromCents(discount), DetailType: 'DiscountLineDetail', DiscountLineDetail: { PercentBased: true, DiscountPercent: 10 } });
      const tax = Math.round(((subtotal - discount) * TAX_BP) / 10_000);
      const total = subtotal - discount + tax;
      const terms = pick(TERMS);
      const days = terms.name === 'Net 15' ? 15 : terms.name === 'Net 30' ? 30 : terms.name === 'Net 60' ? 60 : 0;
      const invoice: QboInvoice = {
        Id: store.newId('Invoice'),
        SyncToken: '0',
        DocNumber: String(1001 + i),
        TxnDate: qboDate(createdMs),
        DueDate: qboDate(createdMs + days * DAY_MS),
        SalesTermRef: terms,
        CustomerRef: { value: customer.Id, name: customer.DisplayName },
        ...money(customer),
        BillEmail: { Address: customer.PrimaryEmailAddr?.Address ?? '' },
        ...(customer.BillAddr ? { BillAddr: { ...customer.BillAddr } } : {}),
        Line: lines,
        TxnTaxDetail: { TotalTax: fromCents(tax), TxnTaxCodeRef: { value: '2', name: 'California' } },
        TotalAmt: fromCents(total),
        Balance: fromCents(total),
        ...(i % 3 === 0 ? { CustomerMemo: { value: 'Thank you for your business and have a great day!' } } : {}),
        EmailStatus: i % 2 ? 'EmailSent' : 'NotSet',
        PrintStatus: 'NotSet',
        LinkedTxn: [],
      };
      store.add('Invoice', invoice, createdMs, createdMs + int(0, 5) * 3_600_000);
      const fate = i % 10;
      if (fate < 4) store.payInvoice(invoice.Id, null, pick(METHODS), createdMs + int(1, 20) * DAY_MS);
      else if (fate < 6) {
        // Partly paid, in one or two payments.
        const part = Math.max(1, Math.floor(total / 3));
        store.payInvoice(invoice.Id, fromCents(part), pick(METHODS), createdMs + int(1, 10) * DAY_MS);
        if (fate === 5) store.payInvoice(invoice.Id, fromCents(Math.max(1, Math.floor(part / 2))), pick(METHODS), createdMs + int(11, 20) * DAY_MS);
      } else if (fate === 9 && i % 20 === 19) store.voidInvoice(invoice.Id);
      const owed = store.get('Invoice', invoice.Id).Balance ?? 0;
      customer.Balance = fromCents(Math.round((customer.Balance ?? 0) * 100) + Math.round(owed * 100));
    }

    for (let i = 0; i < nReceipts; i++) {
      const customer = pick(customers);
      const createdMs = yearStart + Math.floor((i * 300 * DAY_MS) / Math.max(1, nReceipts)) + int(0, 86_399) * 1000;
      const { lines, subtotal } = salesLines(customer.CurrencyRef?.value ?? HOME_CURRENCY);
      const tax = Math.round((subtotal * TAX_BP) / 10_000);
      const receipt: QboSalesReceipt = {
        Id: store.newId('SalesReceipt'),
        SyncToken: '0',
        DocNumber: `SR-${1001 + i}`,
        TxnDate: qboDate(createdMs),
        CustomerRef: { value: customer.Id, name: customer.DisplayName },
        ...money(customer),
        ...(customer.BillAddr ? { BillAddr: { ...customer.BillAddr } } : {}),
        ...(customer.ShipAddr ? { ShipAddr: { ...customer.ShipAddr } } : {}),
        Line: lines,
        TxnTaxDetail: { TotalTax: fromCents(tax) },
        TotalAmt: fromCents(subtotal + tax),
        Balance: 0,
        PaymentMethodRef: { value: '3', name: pick(METHODS) },
        DepositToAccountRef: { value: '4', name: 'Undeposited Funds' },
      };
      store.add('SalesReceipt', receipt, createdMs);
    }
  });
}
