// The emulator's shop: customers and orders, seeded deterministically (some customers are the
// demo people HubSpot and Stripe also hold, same e-mail), mutable through the admin API, and shown
// in two shapes: GraphQL objects for the Admin API and REST JSON for webhook payloads. Amounts are
// kept in minor units and formatted per currency (JPY 0 decimals, KWD 3), never as floats.
import { DEMO_EPOCH_MS, demoPeople } from '../../sdk/demo-data.ts';
import { seededRandom } from '../../sdk/emulator.ts';
import { moneyFromMinorUnits } from '../../sdk/money.ts';

export interface AddressRecord {
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  province: string | null;
  provinceCode: string | null;
  zip: string | null;
  country: string | null;
  countryCode: string | null;
  phone: string | null;
}
export interface CustomerRecord {
  id: number;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  note: string | null;
  state: 'ENABLED' | 'DISABLED' | 'INVITED' | 'DECLINED';
  verifiedEmail: boolean;
  createdAt: string;
  updatedAt: string;
  address: AddressRecord | null;
}
export interface LineItemRecord {
  id: number;
  title: string;
  sku: string | null;
  quantity: number;
  /** Unit price in minor units. */
  price: number;
}
export interface OrderRecord {
  id: number;
  number: number;
  email: string | null;
  phone: string | null;
  createdAt: string;
  updatedAt: string;
  processedAt: string;
  cancelledAt: string | null;
  closedAt: string | null;
  cancelReason: string | null;
  currency: string;
  financialStatus: string;
  fulfillmentStatus: string;
  customerId: number | null;
  lineItems: LineItemRecord[];
  /** Minor units. */
  shipping: number;
  tax: number;
  discount: number;
  refunded: number;
  billing: AddressRecord | null;
  shippingAddress: AddressRecord | null;
  test: boolean;
}

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = { contacts: 60, orders: 120 };
/** The shop's domain (the emulator serves one shop). */
export const EMULATOR_SHOP = 'switchboard-demo.myshopify.com';
/**
 * The first SHARED_PEOPLE customers are demo people [250, 262): HubSpot's seed holds [0, 300) and
 * Stripe's [250, 500), so these e-mails exist in all three providers.
 */
export const SHARED_PEOPLE = 12;
export const SHARED_PEOPLE_FROM = 250;
/** Shop-only customers come from past both populations, so nobody else holds them. */
const SHOP_ONLY_OFFSET = 500;

const FINANCIAL = ['PAID', 'PAID', 'PAID', 'PENDING', 'AUTHORIZED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'PARTIALLY_PAID', 'VOIDED'];
const FULFILLMENT = ['FULFILLED', 'UNFULFILLED', 'PARTIALLY_FULFILLED', 'FULFILLED', 'UNFULFILLED', 'ON_HOLD'];
const PRODUCTS: Array<[string, string, number]> = [
  ['Espresso beans 1 kg', 'COF-1KG', 2450],
  ['Pour-over kettle', 'KET-POV', 6900],
  ['Ceramic mug', 'MUG-CER', 1800],
  ['Paper filters (100)', 'FLT-100', 650],
  ['Hand grinder', 'GRD-HND', 8900],
  ['Gift card', null as unknown as string, 5000],
];
/** Currency per order: mostly the shop's, some zero- and three-decimal ones. */
const CURRENCIES = ['USD', 'USD', 'USD', 'USD', 'EUR', 'JPY', 'KWD'];
/** Minor-unit factor from USD cents: JPY has no minor unit, KWD has three decimals. */
const FACTOR: Record<string, number> = { USD: 1, EUR: 1, JPY: 1, KWD: 10 };

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export class ShopStore {
  readonly customers = new Map<number, CustomerRecord>();
  readonly orders = new Map<number, OrderRecord>();
  private nextCustomerId = 7_000_000_001;
  private nextOrderId = 5_000_000_001;
  private nextLineItemId = 9_000_000_001;
  private nextOrderNumber = 1001;
  private readonly listeners = new Set<(topic: string, payload: Record<string, unknown>) => void>();

  constructor(seed = DEFAULT_SEED, scale = DEFAULT_SCALE) {
    this.seed(seed, scale);
  }

  /** Called after every admin mutation with the webhook topic and its REST payload. */
  onChange(listener: (topic: string, payload: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(topic: string, payload: Record<string, unknown>): void {
    for (const l of this.listeners) l(topic, payload);
  }

  private seed(seed: number, scale: { contacts: number; orders: number }): void {
    const rnd = seededRandom(seed + 3);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    // The shared demo population (seed 42 is the one every emulator's demo uses).
    const people = demoPeople(scale.contacts + SHOP_ONLY_OFFSET, seed);
    const customers: CustomerRecord[] = [];
    for (let i = 0; i < scale.contacts; i++) {
      const p = people[i < SHARED_PEOPLE ? SHARED_PEOPLE_FROM + i : SHOP_ONLY_OFFSET + i] as (typeof people)[number];
      const created = DEMO_EPOCH_MS + i * 3_600_000;
      const c: CustomerRecord = {
        id: this.nextCustomerId++,
        firstName: p.firstName,
        lastName: p.lastName,
        email: p.email,
        phone: p.phone,
        tags: i % 3 === 0 ? ['vip'] : [],
        note: null,
        state: 'ENABLED',
        verifiedEmail: true,
        createdAt: iso(created),
        updatedAt: iso(created + 60_000 * (1 + Math.floor(rnd() * 500))),
        address: {
          firstName: p.firstName,
          lastName: p.lastName,
          company: p.company,
          address1: p.address.line1,
          address2: null,
          city: p.address.city,
          province: null,
          provinceCode: p.address.region,
          zip: p.address.postalCode,
          country: p.address.country,
          countryCode: p.address.country,
          phone: p.phone,
        },
      };
      this.customers.set(c.id, c);
      customers.push(c);
    }
    for (let i = 0; i < scale.orders; i++) {
      // Every seventh order is a guest checkout (no customer record).
      const customer = i % 7 === 6 || customers.length === 0 ? null : pick(customers);
      const currency = pick(CURRENCIES);
      const lines = i % 50 === 3 ? 7 : 1 + Math.floor(rnd() * 3);
      const placed = DEMO_EPOCH_MS + 86_400_000 + i * 1_800_000;
      this.addOrder(
        {
          email: customer?.email ?? `guest.${i}@example.com`,
          customerId: customer?.id ?? null,
          currency,
          financialStatus: pick(FINANCIAL),
          fulfillmentStatus: pick(FULFILLMENT),
          lineItems: Array.from({ length: lines }, () => {
            const [title, sku, cents] = pick(PRODUCTS);
            return { title, sku, quantity: 1 + Math.floor(rnd() * 3), price: currency === 'JPY' ? cents : cents * (FACTOR[currency] ?? 1) };
          }),
          shipping: currency === 'JPY' ? 800 : 500 * (FACTOR[currency] ?? 1),
          cancelled: i % 19 === 5,
          closed: i % 5 === 0,
          billing: customer?.address ?? null,
        },
        placed,
        placed + 60_000 * (1 + Math.floor(rnd() * 900)),
      );
    }
  }

  addOrder(
    o: {
      email: string | null;
      customerId: number | null;
      currency: string;
      financialStatus: string;
      fulfillmentStatus: string;
      lineItems: Array<Omit<LineItemRecord, 'id'>>;
      shipping: number;
      cancelled?: boolean;
      closed?: boolean;
      billing: AddressRecord | null;
    },
    createdMs: number,
    updatedMs: number,
  ): OrderRecord {
    const subtotal = o.lineItems.reduce((s, li) => s + li.price * li.quantity, 0);
    const refunded = o.financialStatus === 'REFUNDED' ? subtotal + o.shipping : o.financialStatus === 'PARTIALLY_REFUNDED' ? Math.floor(subtotal / 2) : 0;
    const order: OrderRecord = {
      id: this.nextOrderId++,
      number: this.nextOrderNumber++,
      email: o.email,
      phone: null,
      createdAt: iso(createdMs),
      updatedAt: iso(updatedMs),
      processedAt: iso(createdMs),
      cancelledAt: o.cancelled ? iso(createdMs + 3_600_000) : null,
      closedAt: o.closed ? iso(createdMs + 7_200_000) : null,
      cancelReason: o.cancelled ? 'CUSTOMER' : null,
      currency: o.currency,
      financialStatus: o.financialStatus,
      fulfillmentStatus: o.fulfillmentStatus,
      customerId: o.customerId,
      lineItems: o.lineItems.map((li) => ({ ...li, id: this.nextLineItemId++ })),
      shipping: o.shipping,
      tax: Math.floor(subtotal / 10),
      discount: 0,
      refunded,
      billing: o.billing,
      shippingAddress: o.billing,
      test: false,
    };
    this.orders.set(order.id, order);
    return order;
  }

  subtotal(o: OrderRecord): number {
    return o.lineItems.reduce((s, li) => s + li.price * li.quantity, 0);
  }

  total(o: OrderRecord): number {
    return this.subtotal(o) + o.shipping + o.tax - o.discount;
  }

  newCustomerId(): number {
    return this.nextCustomerId++;
  }
}

/** Minor units → Shopify's decimal string for the currency. */
export function decimal(minor: number, currency: string): string {
  return moneyFromMinorUnits(minor, currency)?.amount ?? '0';
}

// ---------------------------------------------------------------------------------------------
// REST JSON (webhook payloads): snake_case, numeric ids, prices as decimal strings.
// ---------------------------------------------------------------------------------------------

function restAddress(a: AddressRecord | null): Record<string, unknown> | null {
  if (!a) return null;
  return {
    first_name: a.firstName,
    last_name: a.lastName,
    company: a.company,
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    province: a.province,
    province_code: a.provinceCode,
    zip: a.zip,
    country: a.country,
    country_code: a.countryCode,
    phone: a.phone,
    name: [a.firstName, a.lastName].filter(Boolean).join(' '),
  };
}

export function restCustomer(c: CustomerRecord): Record<string, unknown> {
  return {
    id: c.id,
    email: c.email,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    first_name: c.firstName,
    last_name: c.lastName,
    state: c.state.toLowerCase(),
    note: c.note,
    verified_email: c.verifiedEmail,
    tags: c.tags.join(', '),
    phone: c.phone,
    currency: 'USD',
    default_address: c.address ? { ...restAddress(c.address), customer_id: c.id, default: true } : null,
    admin_graphql_api_id: `gid://shopify/Customer/${c.id}`,
  };
}

const REST_FULFILLMENT: Record<string, string | null> = { FULFILLED: 'fulfilled', PARTIALLY_FULFILLED: 'partial', RESTOCKED: 'restocked' };

export function restOrder(store: ShopStore, o: OrderRecord): Record<string, unknown> {
  const money = (minor: number) => decimal(minor, o.currency);
  const set = (minor: number) => ({
    shop_money: { amount: money(minor), currency_code: o.currency },
    presentment_money: { amount: money(minor), currency_code: o.currency },
  });
  const customer = o.customerId === null ? null : store.customers.get(o.customerId);
  return {
    id: o.id,
    admin_graphql_api_id: `gid://shopify/Order/${o.id}`,
    name: `#${o.number}`,
    order_number: o.number,
    number: o.number - 1000,
    email: o.email,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    processed_at: o.processedAt,
    cancelled_at: o.cancelledAt,
    cancel_reason: o.cancelReason?.toLowerCase() ?? null,
    closed_at: o.closedAt,
    currency: o.currency,
    presentment_currency: o.currency,
    financial_status: o.financialStatus.toLowerCase(),
    fulfillment_status: REST_FULFILLMENT[o.fulfillmentStatus] ?? null,
    subtotal_price: money(store.subtotal(o)),
    total_tax: money(o.tax),
    total_discounts: money(o.discount),
    total_price: money(store.total(o)),
    total_price_set: set(store.total(o)),
    billing_address: restAddress(o.billing),
    shipping_address: restAddress(o.shippingAddress),
    customer: customer ? restCustomer(customer) : null,
    line_items: o.lineItems.map((li) => ({
      id: li.id,
      title: li.title,
      name: li.title,
      sku: li.sku,
      quantity: li.quantity,
      price: money(li.price),
      price_set: set(li.price),
      admin_graphql_api_id: `gid://shopify/LineItem/${li.id}`,
    })),
    test: o.test,
  };
}
