// Deterministic demo portal: contacts from the shared demo population, invoices and orders each
// associated with one contact and 1-4 line items. Same seed → same ids, values and timestamps.
import { DEMO_EPOCH_MS, demoPeople, type DemoPerson } from '../../sdk/demo-data.ts';
import { seededRandom } from '../../sdk/emulator.ts';
import { minorUnitExponent } from '../../sdk/money.ts';
import { HubSpotStore } from './store.ts';

export const DEFAULT_SEED = 42;
/** The demo population both the HubSpot and the Stripe emulator draw from. */
export const DEMO_POPULATION = 500;
export const DEFAULT_SCALE = { contacts: 300, invoices: 400, orders: 150 } as const;

/** First ids per type; ids then grow by 1-3, like a real portal's (non-contiguous) ids. */
const FIRST_IDS = { contacts: 1001, invoices: 30001, orders: 50001, line_items: 70001 } as const;

const DAY_MS = 86_400_000;

const CURRENCY_BY_COUNTRY: Record<string, string> = {
  US: 'USD',
  CA: 'CAD',
  GB: 'GBP',
  JP: 'JPY',
  DE: 'EUR',
  FR: 'EUR',
  NL: 'EUR',
};

const PRODUCTS: Array<{ name: string; sku: string; productId: string; minor: number }> = [
  { name: 'Starter plan (annual)', sku: 'PLAN-START-Y', productId: '1500001', minor: 19900 },
  { name: 'Growth plan (annual)', sku: 'PLAN-GROW-Y', productId: '1500002', minor: 89900 },
  { name: 'Onboarding workshop', sku: 'SRV-ONBOARD', productId: '1500003', minor: 45000 },
  { name: 'Extra seat', sku: 'ADD-SEAT', productId: '1500004', minor: 1950 },
  { name: 'Priority support', sku: 'ADD-SUPPORT', productId: '1500005', minor: 9900 },
  { name: 'API add-on', sku: 'ADD-API', productId: '1500006', minor: 4990 },
  { name: 'Hardware token', sku: 'HW-TOKEN', productId: '1500007', minor: 2500 },
];

const LIFECYCLE = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];
const ORDER_STAGES = ['open', 'processed', 'shipped', 'delivered', 'cancelled'];

export interface SeedOptions {
  seed?: number;
  scale?: { contacts?: number; invoices?: number; orders?: number };
}

/** Formats integer minor units as HubSpot's decimal string, e.g. 1990 USD → "19.90" (fixed) or "19.9" (trimmed). */
function decimal(minor: number, currency: string, trim = false): string {
  const exp = minorUnitExponent(currency);
  const negative = minor < 0;
  const abs = String(Math.abs(minor)).padStart(exp + 1, '0');
  let text = exp === 0 ? abs : `${abs.slice(0, -exp)}.${abs.slice(-exp)}`;
  if (trim && exp > 0) text = text.replace(/\.?0+$/, '');
  return negative ? `-${text}` : text;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function dateOnly(ms: number): string {
  return iso(ms).slice(0, 10);
}

/** Builds a store holding the deterministic demo data for these options. */
export function seedStore(options: SeedOptions = {}): HubSpotStore {
  const seed = options.seed ?? DEFAULT_SEED;
  const nContacts = options.scale?.contacts ?? DEFAULT_SCALE.contacts;
  const nInvoices = options.scale?.invoices ?? DEFAULT_SCALE.invoices;
  const nOrders = options.scale?.orders ?? DEFAULT_SCALE.orders;
  // Independent stream from the people's so the population stays identical to the Stripe emulator's.
  const rnd = seededRandom((seed ^ 0x4b1d5eed) >>> 0);
  const int = (min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const store = new HubSpotStore({ ...FIRST_IDS });

  // People [0, nContacts) of the shared population: the Stripe emulator takes [250, 500), so with
  // the default scale 50 people exist in both, with the same e-mail.
  const people = demoPeople(Math.max(DEMO_POPULATION, nContacts), seed).slice(0, nContacts);
  const yearStart = DEMO_EPOCH_MS - 365 * DAY_MS;
  const contacts: Array<{ id: string; person: DemoPerson; createdMs: number }> = [];

  people.forEach((person, i) => {
    const createdMs = yearStart + Math.floor((i * 300 * DAY_MS) / Math.max(1, nContacts)) + int(0, 86_399) * 1000;
    const contact = store.create(
      'contacts',
      {
        email: person.email,
        firstname: person.firstName,
        lastname: person.lastName,
        phone: person.phone,
        // Some mobiles in national format (no country code) so E.164 cannot be derived.
        mobilephone: i % 3 === 0 ? `(415) 555-${String(2000 + i).slice(-4)}` : i % 3 === 1 ? `+1 415 555 ${String(3000 + i).slice(-4)}` : null,
        company: person.company,
        jobtitle: person.jobTitle,
        address: person.address.line1,
        city: person.address.city,
        state: person.address.region,
        zip: person.address.postalCode,
        country: person.address.country,
        lifecyclestage: pick(LIFECYCLE),
        hs_additional_emails: i % 7 === 0 ? `${person.firstName.toLowerCase()}@personal.example;${person.email.toUpperCase()}` : null,
      },
      iso(createdMs),
      int(1, 3),
    );
    contacts.push({ id: contact.id, person, createdMs });
  });

  const lastModified = (createdMs: number) => createdMs + Math.floor(rnd() * Math.max(0, DEMO_EPOCH_MS + 30 * DAY_MS - createdMs));

  const makeLineItems = (currency: string, createdMs: number) => {
    const items: Array<{ id: string; minor: number }> = [];
    const count = int(1, 4);
    for (let k = 0; k < count; k++) {
      const product = pick(PRODUCTS);
      const quantity = int(1, 5);
      // Zero-decimal currencies: the catalogue's cents become whole units (¥19900 for a plan).
      const unitMinor = product.minor;
      const amountMinor = unitMinor * quantity;
      const li = store.create(
        'line_items',
        {
          name: product.name,
          quantity: String(quantity),
          price: decimal(unitMinor, currency, true),
          amount: decimal(amountMinor, currency, true),
          hs_sku: product.sku,
          hs_product_id: product.productId,
          hs_line_item_currency_code: currency,
        },
        iso(createdMs),
        int(1, 2),
      );
      items.push({ id: li.id, minor: amountMinor });
    }
    return items;
  };

  if (contacts.length > 0) {
    for (let i = 0; i < nInvoices; i++) {
      const owner = pick(contacts);
      const currency = CURRENCY_BY_COUNTRY[owner.person.address.country] ?? 'USD';
      const createdMs = owner.createdMs + int(1, 60) * DAY_MS + int(0, 86_399) * 1000;
      const items = makeLineItems(currency, createdMs);
      const subtotal = items.reduce((s, li) => s + li.minor, 0);
      const discount = rnd() < 0.2 ? Math.round(subtotal / 10) : 0;
      const tax = Math.round((subtotal - discount) / 10);
      const billed = subtotal - discount + tax;
      const r = rnd();
      const status = r < 0.15 ? 'draft' : r < 0.45 ? 'open' : r < 0.9 ? 'paid' : 'voided';
      const paid = status === 'paid' ? billed : status === 'open' && rnd() < 0.3 ? Math.round(billed / 2) : 0;
      const balance = status === 'paid' || status === 'voided' ? 0 : billed - paid;
      const modifiedMs = lastModified(createdMs);
      const invoice = store.create(
        'invoices',
        {
          hs_number: status === 'draft' ? null : `INV-${String(1001 + i)}`,
          hs_title: `Invoice for ${owner.person.company}`,
          hs_invoice_status: status,
          hs_currency: currency,
          hs_invoice_date: dateOnly(createdMs),
          hs_due_date: dateOnly(createdMs + 30 * DAY_MS),
          hs_payment_date: status === 'paid' ? iso(Math.min(modifiedMs, createdMs + int(1, 30) * DAY_MS)) : null,
          hs_subtotal: decimal(subtotal, currency),
          hs_tax: decimal(tax, currency),
          hs_discount: decimal(discount, currency),
          hs_amount_billed: decimal(billed, currency),
          hs_amount_paid: decimal(paid, currency),
          hs_balance_due: decimal(balance, currency),
        },
        iso(createdMs),
        int(1, 3),
      );
      setModified(store, 'invoices', invoice.id, modifiedMs);
      store.associate('invoices', invoice.id, 'contacts', owner.id);
      for (const li of items) store.associate('invoices', invoice.id, 'line_items', li.id);
    }

    for (let i = 0; i < nOrders; i++) {
      const owner = pick(contacts);
      const p = owner.person;
      const currency = CURRENCY_BY_COUNTRY[p.address.country] ?? 'USD';
      const createdMs = owner.createdMs + int(1, 90) * DAY_MS + int(0, 86_399) * 1000;
      const items = makeLineItems(currency, createdMs);
      const subtotal = items.reduce((s, li) => s + li.minor, 0);
      const discount = rnd() < 0.25 ? Math.round(subtotal / 20) : 0;
      const shipping = rnd() < 0.5 ? 0 : 995;
      const tax = Math.round((subtotal - discount) / 10);
      const total = subtotal - discount + shipping + tax;
      const stage = pick(ORDER_STAGES);
      const cancelled = stage === 'cancelled';
      const paymentStatus = cancelled
        ? rnd() < 0.5
          ? 'refunded'
          : 'pending'
        : stage === 'open'
          ? pick(['pending', 'paid'])
          : pick(['paid', 'paid', 'partially_refunded']);
      const refund = paymentStatus === 'refunded' ? total : paymentStatus === 'partially_refunded' ? Math.round(total / 4) : 0;
      const fulfillment =
        stage === 'delivered' || stage === 'shipped' ? 'fulfilled' : stage === 'processed' ? pick(['partially_fulfilled', 'unfulfilled']) : 'unfulfilled';
      const order = store.create(
        'orders',
        {
          hs_order_name: `#${String(5001 + i)}`,
          hs_external_order_id: `ext-${String(880000 + i * 7)}`,
          hs_source_store: 'demo-store.example',
          hs_currency_code: currency,
          hs_subtotal_price: decimal(subtotal, currency),
          hs_shipping_cost: decimal(shipping, currency),
          hs_tax: decimal(tax, currency),
          hs_order_discount: decimal(discount, currency),
          hs_total_price: decimal(total, currency),
          hs_refund_amount: refund > 0 ? decimal(refund, currency) : null,
          hs_pipeline_stage: stage,
          hs_payment_status: paymentStatus,
          hs_fulfillment_status: fulfillment,
          hs_billing_address_firstname: p.firstName,
          hs_billing_address_lastname: p.lastName,
          hs_billing_address_email: p.email,
          hs_billing_address_phone: p.phone,
          hs_billing_address_street: p.address.line1,
          hs_billing_address_city: p.address.city,
          hs_billing_address_state: p.address.region,
          hs_billing_address_postal_code: p.address.postalCode,
          hs_billing_address_country: p.address.country,
          hs_shipping_address_firstname: p.firstName,
          hs_shipping_address_lastname: p.lastName,
          hs_shipping_address_phone: p.phone,
          hs_shipping_address_street: p.address.line1,
          hs_shipping_address_city: p.address.city,
          hs_shipping_address_state: p.address.region,
          hs_shipping_address_postal_code: p.address.postalCode,
          hs_shipping_address_country: p.address.country,
        },
        iso(createdMs),
        int(1, 3),
      );
      setModified(store, 'orders', order.id, lastModified(createdMs));
      store.associate('orders', order.id, 'contacts', owner.id);
      for (const li of items) store.associate('orders', order.id, 'line_items', li.id);
    }
  }

  // Contacts are modified after creation too (spread over the year), for updatedSince searches.
  for (const c of contacts) setModified(store, 'contacts', c.id, lastModified(c.createdMs));
  return store;
}

function setModified(store: HubSpotStore, type: 'contacts' | 'invoices' | 'orders', id: string, ms: number): void {
  const obj = store.get(type, id);
  if (obj && ms > Date.parse(obj.createdAt)) store.update(type, id, {}, iso(ms));
}
