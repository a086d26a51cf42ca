// The deterministic demo data set: customers from the shared demo population, a product catalog
// priced in six currencies (JPY zero-decimal, KWD three-decimal), invoices through their real
// lifecycle and Checkout Sessions. Everything is replayed through the store's mutation methods in
// time order, so the Events log holds the snapshots Stripe would have recorded.
import { demoPeople, type DemoPerson } from '../../sdk/demo-data.ts';
import {
  reorder,
  type CheckoutItemObject,
  type CustomerObject,
  type InvoiceLineObject,
  type InvoiceObject,
  type Json,
  type SessionObject,
  type StripeStore,
} from './store.ts';
import { checkoutItem, draftInvoice, newCheckoutSession, newPaymentIntent, newPrice, newProduct } from './objects.ts';

export interface SeedScale {
  contacts: number;
  invoices: number;
  orders: number;
}

export const DEFAULT_SCALE: SeedScale = { contacts: 250, invoices: 600, orders: 150 };
/** Stripe customers are demo people [250, 250 + contacts); HubSpot holds [0, 300), so 250..299 overlap. */
export const STRIPE_PEOPLE_OFFSET = 250;
export const DEMO_POPULATION = 500;
export const DEFAULT_SEED = 42;

const DAY = 86_400;
const HOUR = 3_600;

const CURRENCY_BY_COUNTRY: Record<string, string> = { US: 'usd', CA: 'cad', GB: 'gbp', DE: 'eur', FR: 'eur', NL: 'eur', JP: 'jpy' };
/** Exclusive tax in basis points per currency (a simplification of real tax rules, for variety). */
const TAX_BP: Record<string, number> = { usd: 0, cad: 1300, gbp: 2000, eur: 1900, jpy: 1000, kwd: 0 };
const CURRENCIES = ['usd', 'eur', 'gbp', 'cad', 'jpy', 'kwd'] as const;

/** Product catalog: name, USD price in cents, physical (needs shipping). */
const CATALOG: Array<[string, number, boolean]> = [
  ['Switchboard Starter plan', 1900, false],
  ['Switchboard Pro plan', 4900, false],
  ['Enterprise seat', 12900, false],
  ['Onboarding workshop', 45000, false],
  ['Support hours (block of 5)', 37500, false],
  ['API usage add-on', 999, false],
  ['Hardware gateway', 34900, true],
  ['Sensor kit', 8950, true],
  ['Printed field guide', 2499, true],
  ['Data migration service', 150000, false],
];

/** Converts a USD-cent price into the currency's minor units (exact integers; JPY whole yen, KWD fils). */
function priceIn(currency: string, usdCents: number): number {
  switch (currency) {
    case 'eur':
      return Math.round(usdCents * 0.92);
    case 'gbp':
      return Math.round(usdCents * 0.79);
    case 'cad':
      return Math.round(usdCents * 1.37);
    case 'jpy':
      return Math.round((usdCents * 1.5) / 10) * 10;
    case 'kwd':
      return Math.round(usdCents * 3.07);
    default:
      return usdCents;
  }
}
const SHIPPING_USD_CENTS = 1500;

interface Action {
  at: number;
  seq: number;
  run: () => void;
}

/**
 * Replays the data set's history up to the store clock's present. The history is anchored at the
 * clock rather than at a fixed date because Stripe keeps events only 30 days: a fixed past anchor
 * would leave /v1/events empty. Ids, amounts and the order of everything stay deterministic; only
 * the absolute times move with the clock.
 */
export function seedStore(store: StripeStore, seed: number, scale: SeedScale): void {
  const present = store.now();
  const r = () => store.random();
  const int = (min: number, max: number) => min + Math.floor(r() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const live = store.livemode;

  // --- catalog --------------------------------------------------------------------------------
  const catalogCreated = present - 700 * DAY;
  const taxRates = new Map<string, string>();
  for (const c of CURRENCIES) taxRates.set(c, store.newId('txr'));
  const products = CATALOG.map(([name, usd, physical]) => {
    const product = newProduct({ id: store.newId('prod'), created: catalogCreated, livemode: live, name, shippable: physical ? true : null });
    const prices = new Map<string, Json & { id: string; product: string; unit_amount: number }>();
    for (const currency of CURRENCIES) {
      const unit = priceIn(currency, usd);
      const price = newPrice({
        id: store.newId('price'),
        active: true,
        created: catalogCreated,
        currency,
        livemode: live,
        product: product.id,
        tax_behavior: 'exclusive',
        unit_amount: unit,
        unit_amount_decimal: String(unit),
      });
      prices.set(currency, price);
      store.prices.set(price.id, price);
    }
    product['default_price'] = prices.get('usd')?.id ?? null;
    store.products.set(product.id, product);
    return { product, prices, physical, name };
  });

  // --- people ---------------------------------------------------------------------------------
  const deletedCount = Math.max(1, Math.floor(scale.contacts / 50));
  const population = Math.max(DEMO_POPULATION, STRIPE_PEOPLE_OFFSET + scale.contacts, DEMO_POPULATION + deletedCount);
  const people = demoPeople(population, seed);
  const livePeople = people.slice(STRIPE_PEOPLE_OFFSET, STRIPE_PEOPLE_OFFSET + scale.contacts);
  const deletedPeople = people.slice(DEMO_POPULATION, DEMO_POPULATION + deletedCount);
  const guestPeople = people.slice(0, STRIPE_PEOPLE_OFFSET);

  const actions: Action[] = [];
  let seq = 0;
  const at = (time: number, run: () => void) => actions.push({ at: time, seq: seq++, run });

  const address = (p: DemoPerson): Json => ({
    city: p.address.city,
    country: p.address.country,
    line1: p.address.line1,
    line2: null,
    postal_code: p.address.postalCode,
    state: p.address.region,
  });

  interface PlannedCustomer {
    customer: CustomerObject;
    person: DemoPerson;
    /** Last second at which the customer exists (deletion time - 1 h for deleted ones). */
    limit: number;
    deleted: boolean;
  }

  const buildCustomer = (p: DemoPerson, created: number): CustomerObject => {
    const currency = r() < 0.07 ? 'kwd' : (CURRENCY_BY_COUNTRY[p.address.country] ?? 'usd');
    const name = `${p.firstName} ${p.lastName}`;
    const hasShipping = r() < 0.4;
    const otherShipping = r() < 0.3;
    const taxRoll = r();
    const customer: Json = {
      id: store.newId('cus'),
      object: 'customer',
      address: address(p),
      balance: r() < 0.1 ? -int(5, 50) * 100 : 0,
      created,
      currency,
      customer_account: null,
      default_source: null,
      delinquent: false,
      description: r() < 0.5 ? `${p.jobTitle} at ${p.company}` : null,
      discount: null,
      email: p.email,
      invoice_prefix: store
        .chars(8)
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, 'X'),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: live,
      metadata: r() < 0.5 ? { crm_segment: pick(['smb', 'mid-market', 'enterprise']), account_manager: pick(['alice', 'bob', 'chen']) } : {},
      name,
      next_invoice_sequence: 1,
      phone: r() < 0.8 ? p.phone : null,
      preferred_locales: r() < 0.3 ? [pick(['en', 'de', 'fr', 'ja'])] : [],
      shipping: hasShipping
        ? {
            address: otherShipping ? { ...address(p), line1: `${int(1, 400)} Warehouse Road`, line2: `Unit ${int(1, 40)}` } : address(p),
            name,
            phone: p.phone,
          }
        : null,
      tax_exempt: taxRoll < 0.9 ? 'none' : taxRoll < 0.95 ? 'exempt' : 'reverse',
      test_clock: null,
    };
    if (r() < 0.3) customer['business_name'] = p.company;
    return reorder(customer) as CustomerObject;
  };

  const planned: PlannedCustomer[] = [];
  for (const p of livePeople) {
    const created = present - int(30 * DAY, 540 * DAY);
    const customer = buildCustomer(p, created);
    planned.push({ customer, person: p, limit: present - 60, deleted: false });
    at(created, () => store.insertCustomer(customer));
    if (r() < 0.25) {
      const when = created + int(DAY, present - created - HOUR);
      const kind = int(0, 3);
      at(when, () => {
        const current = store.customers.get(customer.id);
        if (!current) return;
        const patch: Partial<CustomerObject> =
          kind === 0
            ? { phone: `+4930${String(int(1_000_000, 9_999_999))}` }
            : kind === 1
              ? { metadata: { ...(current['metadata'] as Json), vip: 'true' } }
              : kind === 2
                ? { address: { ...(current['address'] as Json), line1: `${int(1, 999)} Market Street` } }
                : { description: `Renewed ${new Date(when * 1000).toISOString().slice(0, 7)}` };
        store.updateCustomer(customer.id, patch, when);
      });
    }
  }
  for (const p of deletedPeople) {
    const created = present - int(200 * DAY, 400 * DAY);
    const deletedAt = present - int(2 * DAY, 20 * DAY);
    const customer = buildCustomer(p, created);
    planned.push({ customer, person: p, limit: deletedAt - HOUR, deleted: true });
    at(created, () => store.insertCustomer(customer));
    at(deletedAt, () => store.deleteCustomer(customer.id, deletedAt));
  }
  const liveCustomers = planned.filter((c) => !c.deleted);
  const deletedCustomers = planned.filter((c) => c.deleted);

  // --- invoices -------------------------------------------------------------------------------
  for (let i = 0; i < scale.invoices; i++) {
    const owner = deletedCustomers.length > 0 && r() < 0.03 ? pick(deletedCustomers) : pick(liveCustomers);
    const c = owner.customer;
    const currency = c.currency ?? 'usd';
    const roll = r();
    const status: InvoiceObject['status'] = roll < 0.55 ? 'paid' : roll < 0.75 ? 'open' : roll < 0.85 ? 'draft' : roll < 0.93 ? 'void' : 'uncollectible';
    const collection: InvoiceObject['collection_method'] = r() < 0.7 ? 'send_invoice' : 'charge_automatically';
    const earliest = c.created + HOUR;
    const created =
      status === 'draft' ? Math.max(earliest, owner.limit - int(HOUR, 20 * DAY)) : earliest + int(0, Math.max(0, owner.limit - 2 * DAY - earliest));
    const id = store.newId('in');
    const discountPct = r() < 0.12 ? pick([10, 15, 20]) : 0;
    const discountId = discountPct > 0 ? store.newId('di') : null;
    const taxBp = c['tax_exempt'] === 'none' ? (TAX_BP[currency] ?? 0) : 0;
    const lineCount = int(1, 6);
    const lines: InvoiceLineObject[] = [];
    for (let l = 0; l < lineCount; l++) {
      const item = pick(products);
      const price = item.prices.get(currency);
      if (!price) continue;
      const quantity = r() < 0.6 ? 1 : int(2, 5);
      const amount = price.unit_amount * quantity;
      const discount = discountPct > 0 ? Math.round((amount * discountPct) / 100) : 0;
      const taxable = amount - discount;
      lines.push(
        reorder({
          id: store.newId('il'),
          object: 'line_item',
          amount,
          currency,
          description: item.name,
          discount_amounts: discountId ? [{ amount: discount, discount: discountId }] : [],
          discountable: true,
          discounts: discountId ? [discountId] : [],
          invoice: id,
          livemode: live,
          metadata: {},
          parent: {
            invoice_item_details: { invoice_item: store.newId('ii'), proration: false, proration_details: { credited_items: null }, subscription: null },
            subscription_item_details: null,
            type: 'invoice_item_details',
          },
          period: { end: created, start: created },
          pretax_credit_amounts: [],
          pricing: { price_details: { price: price.id, product: item.product.id }, type: 'price_details', unit_amount_decimal: String(price.unit_amount) },
          quantity,
          quantity_decimal: String(quantity),
          subscription: null,
          subtotal: amount,
          taxes:
            taxBp > 0
              ? [
                  {
                    amount: Math.round((taxable * taxBp) / 10_000),
                    tax_behavior: 'exclusive',
                    tax_rate_details: { tax_rate: taxRates.get(currency) ?? '' },
                    taxability_reason: 'standard_rated',
                    taxable_amount: taxable,
                    type: 'tax_rate_details',
                  },
                ]
              : [],
        }) as InvoiceLineObject,
      );
    }
    // The two draws stay in this order (description, then metadata): the seed's random stream.
    const description = r() < 0.3 ? 'Thank you for your business.' : null;
    const metadata: Record<string, string> = r() < 0.2 ? { po_number: `PO-${int(1000, 9999)}` } : {};
    const invoice = draftInvoice({
      id,
      customer: c,
      currency,
      collection_method: collection,
      created,
      livemode: live,
      due_date: collection === 'send_invoice' ? created + HOUR + 30 * DAY : null,
      description,
      discounts: discountId ? [discountId] : [],
      metadata,
      auto_advance: status !== 'draft',
      automatically_finalizes_at: status !== 'draft' ? created + HOUR : null,
    });

    at(created, () => store.insertInvoice(invoice, lines, created));
    const cap = (t: number) => Math.min(t, owner.limit);
    if (status === 'draft') {
      if (r() < 0.3) {
        const when = cap(created + int(60, 2 * HOUR));
        at(when, () => store.updateInvoice(id, { description: 'Draft: awaiting purchase order' }, when));
      }
      continue;
    }
    const finalizedAt = cap(created + HOUR);
    at(finalizedAt, () => store.finalizeInvoice(id, finalizedAt));
    if (status === 'paid') {
      const paidAt = cap(finalizedAt + (collection === 'charge_automatically' ? int(5, 2 * HOUR) : int(DAY, 25 * DAY)));
      at(paidAt, () => store.payInvoice(id, paidAt));
    } else if (status === 'void') {
      const voidedAt = cap(finalizedAt + int(DAY, 15 * DAY));
      at(voidedAt, () => store.voidInvoice(id, voidedAt));
    } else if (status === 'uncollectible') {
      const markedAt = cap(finalizedAt + int(40 * DAY, 60 * DAY));
      at(markedAt, () => store.markUncollectible(id, markedAt));
    } else if (r() < 0.15) {
      const when = cap(finalizedAt + int(HOUR, 5 * DAY));
      at(when, () => store.updateInvoice(id, { metadata: { reminder_sent: 'true' } }, when));
    }
  }

  // --- checkout sessions ----------------------------------------------------------------------
  for (let i = 0; i < scale.orders; i++) {
    const guest = r() < 0.1;
    const owner = guest ? null : pick(liveCustomers);
    const person = guest ? pick(guestPeople) : (owner as PlannedCustomer).person;
    const customer = owner?.customer ?? null;
    const currency = customer?.currency ?? CURRENCY_BY_COUNTRY[person.address.country] ?? 'usd';
    const roll = r();
    const status: SessionObject['status'] = roll < 0.7 ? 'complete' : roll < 0.85 ? 'expired' : 'open';
    const earliest = (customer?.created ?? present - 400 * DAY) + HOUR;
    const created = status === 'open' ? present - int(HOUR, 20 * HOUR) : earliest + int(0, Math.max(0, present - 2 * DAY - earliest));
    const id = store.newId('cs');
    const free = status === 'complete' && r() < 0.04;
    const discountPct = free ? 100 : r() < 0.1 ? pick([10, 20]) : 0;
    const coupon = discountPct > 0 ? store.chars(8) : null;
    const taxBp = currency === 'eur' || currency === 'gbp' ? (TAX_BP[currency] ?? 0) : 0;
    const items: CheckoutItemObject[] = [];
    let physical = false;
    const itemCount = int(1, 4);
    for (let k = 0; k < itemCount; k++) {
      const item = pick(products);
      const price = item.prices.get(currency);
      if (!price) continue;
      physical ||= item.physical;
      const quantity = r() < 0.7 ? 1 : int(2, 3);
      const subtotal = price.unit_amount * quantity;
      const discount = Math.round((subtotal * discountPct) / 100);
      const tax = Math.round(((subtotal - discount) * taxBp) / 10_000);
      items.push(
        checkoutItem({
          id: store.newId('li'),
          currency,
          description: item.name,
          price,
          quantity,
          amount_subtotal: subtotal,
          amount_discount: discount,
          amount_tax: tax,
        }),
      );
    }
    const shipping = physical && !free;
    const shippingAmount = priceIn(currency, SHIPPING_USD_CENTS);
    const shippingRate = shipping ? store.newId('shr') : null;
    // The draws happen in this order (client reference, guest email, URL fragment): keep it.
    const clientReferenceId = r() < 0.6 ? `ORD-${10_000 + i}` : null;
    const guestEmail = !customer && r() < 0.5 ? person.email : null;
    const session = newCheckoutSession({
      id,
      created,
      currency,
      livemode: live,
      customer,
      customer_email: guestEmail,
      client_reference_id: clientReferenceId,
      coupon,
      metadata: {},
      shipping: shipping && shippingRate ? { amount: shippingAmount, rate: shippingRate } : null,
      url_fragment: store.chars(40),
    });
    at(created, () => store.insertSession(session, items));

    if (status === 'expired') {
      at(created + DAY, () => store.expireSession(id, created + DAY));
    } else if (status === 'complete') {
      const completedAt = created + int(60, 30 * 60);
      const pending = !free && r() < 0.06; // async payment method still processing
      const piId = free ? null : store.newId('pi');
      const shippingAddress = shipping && r() < 0.3 ? { ...address(person), line1: `${int(1, 400)} Dock Street` } : address(person);
      at(completedAt, () => {
        const record = store.sessions.get(id);
        if (!record) return;
        if (piId) {
          store.paymentIntents.set(piId, newPaymentIntent(store, piId, record.session, completedAt, pending ? 'processing' : 'succeeded'));
        }
        store.completeSession(
          id,
          {
            customer_details: {
              address: address(person),
              business_name: null,
              email: customer?.email ?? person.email,
              individual_name: null,
              name: `${person.firstName} ${person.lastName}`,
              phone: null,
              tax_exempt: 'none',
              tax_ids: [],
            },
            collected_information: {
              business_name: null,
              individual_name: null,
              shipping_details: shipping ? { address: shippingAddress, name: `${person.firstName} ${person.lastName}` } : null,
            },
            payment_intent: piId,
            payment_status: free ? 'no_payment_required' : pending ? 'unpaid' : 'paid',
          } as Partial<SessionObject>,
          completedAt,
        );
      });
    }
  }

  actions.sort((a, b) => a.at - b.at || a.seq - b.seq);
  for (const a of actions) a.run();

  // Delinquency is derived state (Stripe sets it when an invoice goes unpaid past its due date).
  for (const record of store.invoices.values()) {
    const inv = record.invoice;
    const overdue = inv.status === 'open' && inv.due_date !== null && inv.due_date < present;
    if (overdue || inv.status === 'uncollectible') {
      const customer = store.customers.get(inv.customer);
      if (customer) customer['delinquent'] = true;
    }
  }
}
