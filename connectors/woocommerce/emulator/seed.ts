// The emulated store's deterministic data, drawn from the shared demo population so that people
// exist in several providers with the same e-mail: customers are people [200, 200 + n) (HubSpot
// holds [0, 300), Stripe [250, 500)), guest orders are placed by people [400, 500) (Stripe-only),
// and a few buyers are shop managers rather than customers (role ≠ customer).
import { DEMO_EPOCH_MS, demoPeople, type DemoPerson } from '../../sdk/demo-data.ts';
import { seededRandom } from '../../sdk/emulator.ts';
import { emptyAddress, type Address, type CustomerRecord, WooStore } from './store.ts';
import { minorUnitExponent } from '../../sdk/money.ts';

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = { contacts: 120, orders: 300 } as const;
export const WOO_PEOPLE_OFFSET = 200;
export const GUEST_PEOPLE_OFFSET = 400;
const POPULATION = 500;
const DAY_MS = 86_400_000;

/** Currencies of the seeded orders: mostly EUR/USD, some zero- and three-decimal ones. */
const CURRENCIES = ['EUR', 'EUR', 'USD', 'USD', 'GBP', 'JPY', 'KWD'];
const STATUSES = ['completed', 'completed', 'completed', 'processing', 'processing', 'on-hold', 'pending', 'cancelled', 'refunded', 'failed'];
const PRODUCTS = [
  { id: 11, name: 'Hoodie', sku: 'woo-hoodie', price: 45_000 },
  { id: 12, name: 'T-Shirt', sku: 'woo-tshirt', price: 18_000 },
  { id: 13, name: 'Beanie', sku: 'woo-beanie', price: 20_000 },
  { id: 14, name: 'Album', sku: 'woo-album', price: 15_000 },
  { id: 15, name: 'Cap', sku: 'woo-cap', price: 16_500 },
];

export function addressOf(p: DemoPerson, withEmail: boolean): Address {
  return {
    ...emptyAddress(),
    first_name: p.firstName,
    last_name: p.lastName,
    company: p.company,
    address_1: p.address.line1,
    city: p.address.city,
    state: p.address.region,
    postcode: p.address.postalCode,
    country: p.address.country,
    phone: p.phone,
    ...(withEmail ? { email: p.email } : {}),
  };
}

/**
 * An amount (thousandths) rounded to what the currency can charge, as WooCommerce stores order
 * amounts rounded to the store's price decimals: cents for USD, whole yen, fils for KWD.
 */
function chargeable(currency: string, thousandths: number): number {
  const unit = 10 ** (3 - Math.min(3, minorUnitExponent(currency)));
  return Math.round(thousandths / unit) * unit;
}

/** Converts a major-unit price (thousandths) into what a currency charges: whole yen, three-decimal dinars. */
function priceIn(currency: string, thousandths: number): number {
  if (currency === 'JPY') return Math.round(thousandths / 1000) * 150_000;
  if (currency === 'KWD') return Math.round(thousandths * 0.307);
  return thousandths;
}

export function seedStore(store: WooStore, seed = DEFAULT_SEED, scale: { contacts?: number; orders?: number } = {}): void {
  const nCustomers = scale.contacts ?? DEFAULT_SCALE.contacts;
  const nOrders = scale.orders ?? DEFAULT_SCALE.orders;
  const rnd = seededRandom((seed ^ 0x0c0ffee5) >>> 0);
  const int = (min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const people = demoPeople(Math.max(POPULATION, WOO_PEOPLE_OFFSET + nCustomers), seed);
  const yearStart = DEMO_EPOCH_MS - 365 * DAY_MS;

  const customers: CustomerRecord[] = people.slice(WOO_PEOPLE_OFFSET, WOO_PEOPLE_OFFSET + nCustomers).map((p, i) => {
    const createdMs = yearStart + Math.floor((i * 200 * DAY_MS) / Math.max(1, nCustomers)) + int(0, 86_399) * 1000;
    return store.addCustomer(
      {
        createdMs,
        modifiedMs: i % 4 === 0 ? null : createdMs + int(1, 120) * DAY_MS,
        email: p.email,
        first_name: p.firstName,
        last_name: p.lastName,
        // Every 15th buyer is staff: the default role=customer filter hides them.
        role: i % 15 === 7 ? 'shop_manager' : 'customer',
        username: p.email.split('@')[0] ?? `user${i}`,
        billing: addressOf(p, true),
        shipping: addressOf(p, false),
        is_paying_customer: i % 3 !== 0,
      },
      true,
    );
  });
  const guests = people.slice(GUEST_PEOPLE_OFFSET, POPULATION);

  for (let i = 0; i < nOrders; i++) {
    // One order in five is a guest checkout (customer_id 0, the buyer only in billing).
    const guest = customers.length === 0 || i % 5 === 4;
    const buyer = guest ? null : pick(customers);
    const person = guest ? pick(guests) : null;
    const currency = pick(CURRENCIES);
    const lines = Array.from({ length: int(1, 3) }, () => {
      const product = pick(PRODUCTS);
      const quantity = int(1, 3);
      const unit = priceIn(currency, product.price);
      const subtotal = unit * quantity;
      const discount = i % 7 === 0 ? chargeable(currency, subtotal / 10) : 0;
      const tax = currency === 'JPY' ? Math.round((subtotal - discount) / 10_000) * 1000 : chargeable(currency, (subtotal - discount) * 0.19);
      return { name: product.name, product_id: product.id, variation_id: 0, quantity, sku: product.sku, subtotal, total: subtotal - discount, tax };
    });
    const status = pick(STATUSES);
    const createdMs = yearStart + Math.floor((i * 330 * DAY_MS) / Math.max(1, nOrders)) + int(0, 86_399) * 1000;
    const modifiedMs = createdMs + int(0, 20) * DAY_MS + int(0, 3600) * 1000;
    const paid = ['completed', 'processing', 'refunded'].includes(status);
    const billing = buyer ? { ...buyer.billing } : addressOf(person as DemoPerson, true);
    const shippingTotal = currency === 'JPY' ? 0 : 4_990;
    const grand = lines.reduce((a, l) => a + l.total + l.tax, 0) + shippingTotal;
    store.addOrder(
      {
        status,
        currency,
        createdMs,
        modifiedMs,
        paidMs: paid ? createdMs + 60_000 : null,
        completedMs: status === 'completed' ? modifiedMs : null,
        customer_id: buyer?.id ?? 0,
        billing,
        shipping: { ...billing, email: undefined },
        lines,
        shipping_total: shippingTotal,
        discount_total: lines.reduce((a, l) => a + (l.subtotal - l.total), 0),
        refunds:
          status === 'refunded'
            ? [{ id: 9000 + i, reason: 'Customer request', total: grand }]
            : i % 11 === 3 && paid
              ? [{ id: 9000 + i, reason: 'Damaged item', total: lines[0]?.total ?? 0 }]
              : [],
      },
      true,
    );
  }
}
