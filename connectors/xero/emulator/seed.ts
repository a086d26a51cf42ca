// The emulated Xero's deterministic data: two organisations (a US and a UK company, so one grant
// reaches several tenants), their contacts drawn from the shared demo population so people share
// e-mails with the other providers — the US organisation holds people [150, 150 + n) (HubSpot holds
// [0, 300), Stripe [250, 500)), the UK one [260, 260 + n) — and their sales invoices and bills in
// every status Xero has: drafts, awaiting approval, open, partly paid, paid, voided, in the base
// currency and in foreign ones with a CurrencyRate.
import { DEMO_EPOCH_MS, demoPeople, type DemoPerson } from '../../sdk/demo-data.ts';
import { seededRandom } from '../../sdk/emulator.ts';
import { centsToDecimal, type ContactRecord, type InvoiceRecord, type LineRecord, type OrgRecord, XeroStore } from './store.ts';

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = { contacts: 60, invoices: 150 } as const;
export const XERO_PEOPLE_OFFSETS = [150, 260] as const;
const POPULATION = 500;
const DAY_MS = 86_400_000;

export interface SeedOrg {
  /** Fixed whatever the seed: demo and test connections name their organisation by it. */
  tenantId: string;
  name: string;
  shortCode: string;
  baseCurrency: string;
  countryCode: string;
  /** Foreign currencies invoiced, with the rate (currency units per base unit, 6 places). */
  foreign: Array<[string, string]>;
  taxRate: number;
  taxType: string;
}

export const SEED_ORGS: readonly SeedOrg[] = [
  {
    tenantId: '5b7a5d0e-3c1f-4a8e-9d2b-6f0c1e2a3b4c',
    name: 'Switchboard Demo (US)',
    shortCode: '!sWb01',
    baseCurrency: 'USD',
    countryCode: 'US',
    foreign: [
      ['EUR', '0.912345'],
      ['CAD', '1.364200'],
    ],
    taxRate: 0,
    taxType: 'NONE',
  },
  {
    tenantId: '8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b',
    name: 'Switchboard Demo (UK)',
    shortCode: '!sWb02',
    baseCurrency: 'GBP',
    countryCode: 'GB',
    foreign: [
      ['EUR', '1.168000'],
      ['USD', '1.270500'],
    ],
    taxRate: 20,
    taxType: 'OUTPUT2',
  },
];

const PRODUCTS = [
  { code: 'CONSULT', name: 'Consulting (hours)', cents: 15_000, quantity: ['1.5', '2', '8', '0.25'] },
  { code: 'LICENCE', name: 'Annual licence', cents: 120_000, quantity: ['1'] },
  { code: 'SUPPORT', name: 'Support plan', cents: 4_999, quantity: ['1', '3', '12'] },
  { code: 'TRAIN', name: 'Training day', cents: 85_000, quantity: ['1', '2'] },
];

/** A v4-shaped UUID from the seeded generator. */
function uuid(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(rnd() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Exact line amount: quantity (decimal string, ≤ 2 places) × unit cents, rounded half-up to cents. */
function lineCents(quantity: string, unitCents: number): number {
  const [whole, frac = ''] = quantity.split('.');
  const hundredths = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  return Math.round((hundredths * unitCents) / 100);
}

function contactOf(p: DemoPerson, rnd: () => number, org: SeedOrg, i: number): Omit<ContactRecord, 'ContactID'> & { ContactID: string } {
  const company = i % 3 === 0;
  return {
    ContactID: uuid(rnd),
    ContactNumber: `C-${String(1000 + i)}`,
    ContactStatus: i % 29 === 28 ? 'ARCHIVED' : 'ACTIVE',
    // Xero's Name is unique per organisation: companies by name + person, people by full name + index.
    Name: company ? `${p.company} (${p.firstName} ${p.lastName})` : `${p.firstName} ${p.lastName} #${p.index}`,
    FirstName: p.firstName,
    LastName: p.lastName,
    EmailAddress: p.email,
    Addresses: [
      {
        AddressType: 'POBOX',
        AddressLine1: p.address.line1,
        City: p.address.city,
        Region: p.address.region,
        PostalCode: p.address.postalCode,
        Country: p.address.country,
        AttentionTo: `${p.firstName} ${p.lastName}`,
      },
      { AddressType: 'STREET' },
    ],
    Phones: [
      { PhoneType: 'DEFAULT', PhoneNumber: p.phone.slice(5), PhoneAreaCode: p.phone.slice(2, 5), PhoneCountryCode: p.phone.slice(1, 2) },
      { PhoneType: 'DDI' },
      { PhoneType: 'FAX' },
      { PhoneType: 'MOBILE' },
    ],
    IsSupplier: i % 5 === 4,
    IsCustomer: i % 5 !== 4,
    DefaultCurrency: org.baseCurrency,
    updatedMs: DEMO_EPOCH_MS + i * 3_600_000,
  };
}

export function seedStore(store: XeroStore, seed = DEFAULT_SEED, scale: { contacts?: number; invoices?: number } = {}): void {
  const nContacts = scale.contacts ?? DEFAULT_SCALE.contacts;
  const nInvoices = scale.invoices ?? DEFAULT_SCALE.invoices;
  const people = demoPeople(POPULATION, seed);
  SEED_ORGS.forEach((o, orgIndex) => {
    const rnd = seededRandom(seed * 31 + orgIndex);
    const org: OrgRecord = store.addOrg({
      tenantId: o.tenantId,
      name: o.name,
      shortCode: o.shortCode,
      baseCurrency: o.baseCurrency,
      countryCode: o.countryCode,
    });
    const offset = XERO_PEOPLE_OFFSETS[orgIndex] ?? 0;
    const contacts = people.slice(offset, offset + nContacts).map((p, i) => store.addContact(org, contactOf(p, rnd, o, i), false));
    for (let i = 0; i < nInvoices && contacts.length > 0; i++) seedInvoice(store, org, o, contacts, rnd, i);
  });
}

function seedInvoice(
  store: XeroStore,
  org: OrgRecord,
  o: SeedOrg,
  contacts: Array<{ ContactID: string; IsSupplier: boolean }>,
  rnd: () => number,
  i: number,
): void {
  const bill = i % 5 === 4;
  const pool = contacts.filter((c) => c.IsSupplier === bill);
  const contact = (pool.length ? pool : contacts)[Math.floor(rnd() * (pool.length || contacts.length))]!;
  const foreign = i % 7 === 3 ? o.foreign[i % o.foreign.length] : undefined;
  const lines: LineRecord[] = [];
  const nLines = 1 + Math.floor(rnd() * 3);
  for (let l = 0; l < nLines; l++) {
    const product = PRODUCTS[Math.floor(rnd() * PRODUCTS.length)]!;
    const quantity = product.quantity[Math.floor(rnd() * product.quantity.length)]!;
    const amount = lineCents(quantity, product.cents);
    const tax = Math.round((amount * o.taxRate) / 100);
    lines.push({
      LineItemID: uuid(rnd),
      Description: product.name,
      Quantity: quantity,
      UnitAmount: centsToDecimal(product.cents),
      LineAmount: centsToDecimal(amount),
      TaxAmount: centsToDecimal(tax),
      ItemCode: product.code,
      AccountCode: bill ? '400' : '200',
      TaxType: bill ? (o.taxRate ? 'INPUT2' : 'NONE') : o.taxType,
    });
  }
  const dateMs = DEMO_EPOCH_MS + Math.floor(i / 2) * DAY_MS;
  const statuses: Array<InvoiceRecord['Status']> = [
    'AUTHORISED',
    'AUTHORISED',
    'PAID',
    'PAID',
    'DRAFT',
    'AUTHORISED',
    'SUBMITTED',
    'VOIDED',
    'AUTHORISED',
    'PAID',
  ];
  const status = statuses[i % statuses.length]!;
  const inv = store.addInvoice(
    org,
    {
      InvoiceID: uuid(rnd),
      Type: bill ? 'ACCPAY' : 'ACCREC',
      InvoiceNumber: bill ? `BILL-${String(i + 1).padStart(4, '0')}` : `INV-${String(i + 1).padStart(4, '0')}`,
      ...(i % 4 === 0 ? {} : { Reference: bill ? `PO-${7000 + i}` : `Order ${3000 + i}` }),
      ContactID: contact.ContactID,
      dateMs,
      dueDateMs: dateMs + 30 * DAY_MS,
      Status: status === 'PAID' ? 'AUTHORISED' : status,
      LineAmountTypes: 'Exclusive',
      lines,
      CurrencyCode: foreign?.[0] ?? o.baseCurrency,
      CurrencyRate: foreign?.[1] ?? '1.000000',
      payments: [],
      creditedCents: 0,
      fullyPaidOnMs: null,
      updatedMs: dateMs + 3_600_000,
    },
    false,
  );
  const { totalCents } = store.amounts(inv);
  const paymentDay = dateMs + 10 * DAY_MS;
  const addPayment = (cents: number) =>
    inv.payments.push({
      PaymentID: uuid(rnd),
      dateMs: paymentDay,
      Amount: centsToDecimal(cents),
      CurrencyRate: inv.CurrencyRate,
      ...(i % 3 ? { Reference: `Transfer ${i}` } : {}),
    });
  if (status === 'PAID') {
    // Some paid in two instalments.
    if (i % 4 === 2 && totalCents > 1) {
      addPayment(Math.floor(totalCents / 3));
      addPayment(totalCents - Math.floor(totalCents / 3));
    } else addPayment(totalCents);
    inv.Status = 'PAID';
    inv.fullyPaidOnMs = paymentDay;
  } else if (status === 'AUTHORISED' && i % 3 === 0 && totalCents > 1) {
    addPayment(Math.floor(totalCents / 2)); // partly paid
  } else if (status === 'AUTHORISED' && i % 11 === 5 && totalCents > 100) {
    inv.creditedCents = 100; // a credit note allocated
  }
  inv.updatedMs = Math.max(inv.updatedMs, inv.payments.length ? paymentDay : 0);
}
