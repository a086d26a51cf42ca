// Admin mutations: create / update / delete customers, invoices and Checkout Sessions from plain
// JSON fields. Everything goes through the store's mutation methods, so each change appends the
// Event Stripe would emit (snapshot + previous_attributes), which /v1/events lists and the webhook
// sender delivers. Used by the /__emulator/records routes and the handle's helpers.
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
import { EmulatorAdminError } from '../../sdk/emulator-kit/index.ts';

export const RECORD_TYPES = ['customers', 'invoices', 'checkout_sessions'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** A rejected admin mutation (the kit's): 400 (bad body, impossible transition) or 404 (unknown type or id). */
export { EmulatorAdminError };

const bad = (message: string) => new EmulatorAdminError(400, message);
const DAY = 86_400;

export function isRecordType(type: string): type is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(type);
}

// ---------------------------------------------------------------------------------------------
// Field validation
// ---------------------------------------------------------------------------------------------

function onlyKeys(fields: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(fields)) {
    if (!allowed.includes(k)) throw bad(`Received unknown parameter: ${k} (allowed: ${allowed.join(', ')})`);
  }
}

function optString(fields: Json, key: string): string | null | undefined {
  const v = fields[key];
  if (v === undefined || v === null) return v as undefined | null;
  if (typeof v !== 'string') throw bad(`Invalid string: ${key}`);
  return v;
}

function optInt(fields: Json, key: string, min: number): number | undefined {
  const v = fields[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(`Invalid integer: ${key} (an integer >= ${min})`);
  return v;
}

function optEnum<T extends string>(fields: Json, key: string, values: readonly T[]): T | undefined {
  const v = fields[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw bad(`Invalid ${key}: must be one of ${values.join(', ')}`);
  return v as T;
}

/** Stripe's metadata update: keys merge; an empty string or null removes a key. */
function mergeMetadata(current: unknown, patch: unknown): Record<string, string> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw bad('Invalid hash: metadata');
  const out: Record<string, string> = { ...((current as Record<string, string> | null | undefined) ?? {}) };
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null || v === '') delete out[k];
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw bad(`Invalid metadata value for ${k}: a string`);
  }
  return out;
}

const ADDRESS_KEYS = ['city', 'country', 'line1', 'line2', 'postal_code', 'state'] as const;

function address(v: unknown, key: string): Json | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(`Invalid hash: ${key}`);
  const a = v as Json;
  onlyKeys(a, ADDRESS_KEYS);
  const out: Json = {};
  for (const k of ADDRESS_KEYS) out[k] = optString(a, k) ?? null;
  return out;
}

function shipping(v: unknown): Json | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('Invalid hash: shipping');
  const s = v as Json;
  onlyKeys(s, ['address', 'name', 'phone']);
  return {
    address: s['address'] === undefined ? null : address(s['address'], 'shipping[address]'),
    name: optString(s, 'name') ?? null,
    phone: optString(s, 'phone') ?? null,
  };
}

function currency(fields: Json, fallback: string): string {
  const c = optString(fields, 'currency');
  if (c === undefined || c === null) return fallback;
  if (!/^[a-zA-Z]{3}$/.test(c)) throw bad(`Invalid currency: ${c}`);
  return c.toLowerCase();
}

interface LineInput {
  description: string | null;
  quantity: number;
  /** Line total in minor units. */
  amount: number;
  /** Per-unit amount in minor units, as Stripe's decimal string. */
  unitDecimal: string;
}

/** `[{amount | unit_amount, quantity?, description?}]`: `amount` is the line total, like Stripe's line `amount`. */
function lineInputs(v: unknown, key: string): LineInput[] {
  if (!Array.isArray(v)) throw bad(`Invalid array: ${key}`);
  return v.map((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(`Invalid hash: ${key}[${i}]`);
    const l = raw as Json;
    onlyKeys(l, ['amount', 'unit_amount', 'quantity', 'description']);
    const quantity = optInt(l, 'quantity', 1) ?? 1;
    const unit = optInt(l, 'unit_amount', 0);
    const total = l['amount'] === undefined ? undefined : (optIntSigned(l, 'amount') as number);
    if (unit === undefined && total === undefined) throw bad(`Missing required param: ${key}[${i}][amount] (or unit_amount)`);
    const amount = total ?? (unit as number) * quantity;
    return {
      description: optString(l, 'description') ?? null,
      quantity,
      amount,
      unitDecimal: unit !== undefined ? String(unit) : decimalDiv(amount, quantity),
    };
  });
}

function optIntSigned(fields: Json, key: string): number | undefined {
  const v = fields[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`Invalid integer: ${key}`);
  return v;
}

/** amount / quantity as a decimal string with at most 12 decimals (Stripe's unit_amount_decimal precision). */
function decimalDiv(amount: number, quantity: number): string {
  if (amount % quantity === 0) return String(amount / quantity);
  return (amount / quantity).toFixed(12).replace(/0+$/, '');
}

// ---------------------------------------------------------------------------------------------
// Object builders (the same shapes the seed produces, API version 2026-10-28.endive)
// ---------------------------------------------------------------------------------------------

function adHocPrice(store: StripeStore, cur: string, unitDecimal: string, description: string | null, created: number): Json & { id: string; product: string } {
  const product = newProduct({ id: store.newId('prod'), created, livemode: store.livemode, name: description ?? 'Emulator item', shippable: null });
  const integral = /^-?\d+$/.test(unitDecimal);
  const price = newPrice({
    id: store.newId('price'),
    active: false,
    created,
    currency: cur,
    livemode: store.livemode,
    product: product.id,
    tax_behavior: 'unspecified',
    unit_amount: integral ? Number(unitDecimal) : null,
    unit_amount_decimal: unitDecimal,
  });
  store.products.set(product.id, product);
  store.prices.set(price.id, price);
  return price;
}

function invoiceLines(store: StripeStore, invoiceId: string, cur: string, inputs: LineInput[], created: number): InvoiceLineObject[] {
  return inputs.map((l) => {
    const price = adHocPrice(store, cur, l.unitDecimal, l.description, created);
    return reorder({
      id: store.newId('il'),
      object: 'line_item',
      amount: l.amount,
      currency: cur,
      description: l.description,
      discount_amounts: [],
      discountable: true,
      discounts: [],
      invoice: invoiceId,
      livemode: store.livemode,
      metadata: {},
      parent: {
        invoice_item_details: { invoice_item: store.newId('ii'), proration: false, proration_details: { credited_items: null }, subscription: null },
        subscription_item_details: null,
        type: 'invoice_item_details',
      },
      period: { end: created, start: created },
      pretax_credit_amounts: [],
      pricing: { price_details: { price: price.id, product: price.product }, type: 'price_details', unit_amount_decimal: l.unitDecimal },
      quantity: l.quantity,
      quantity_decimal: String(l.quantity),
      subscription: null,
      subtotal: l.amount,
      taxes: [],
    }) as InvoiceLineObject;
  });
}

function buildCustomer(store: StripeStore, fields: Json, created: number): CustomerObject {
  const customer: Json = {
    id: store.newId('cus'),
    object: 'customer',
    address: null,
    balance: 0,
    created,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: null,
    invoice_prefix: store
      .chars(8)
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, 'X'),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: store.livemode,
    metadata: {},
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
  Object.assign(customer, customerPatch(fields, customer));
  return reorder(customer) as CustomerObject;
}

const CUSTOMER_FIELDS = ['name', 'email', 'phone', 'description', 'business_name', 'currency', 'metadata', 'address', 'shipping'] as const;

function customerPatch(fields: Json, current: Json): Partial<CustomerObject> {
  onlyKeys(fields, CUSTOMER_FIELDS);
  const patch: Json = {};
  for (const k of ['name', 'email', 'phone', 'description', 'business_name'] as const) {
    const v = optString(fields, k);
    if (v !== undefined) patch[k] = v === '' ? null : v;
  }
  if (fields['currency'] !== undefined) patch['currency'] = currency(fields, 'usd');
  if (fields['metadata'] !== undefined) patch['metadata'] = mergeMetadata(current['metadata'], fields['metadata']);
  if (fields['address'] !== undefined) patch['address'] = address(fields['address'], 'address');
  if (fields['shipping'] !== undefined) patch['shipping'] = shipping(fields['shipping']);
  return patch as Partial<CustomerObject>;
}

function buildInvoice(store: StripeStore, customer: CustomerObject, fields: Json, created: number): { invoice: InvoiceObject; lines: InvoiceLineObject[] } {
  const id = store.newId('in');
  const cur = currency(fields, customer.currency ?? 'usd');
  const collection = optEnum(fields, 'collection_method', ['charge_automatically', 'send_invoice'] as const) ?? 'charge_automatically';
  const dueDate = optInt(fields, 'due_date', 0);
  if (dueDate !== undefined && collection !== 'send_invoice') throw bad('due_date requires collection_method send_invoice');
  const lines = invoiceLines(store, id, cur, fields['lines'] === undefined ? [] : lineInputs(fields['lines'], 'lines'), created);
  const description = optString(fields, 'description') ?? null;
  const metadata = fields['metadata'] === undefined ? {} : mergeMetadata({}, fields['metadata']);
  const invoice = draftInvoice({
    id,
    customer,
    currency: cur,
    collection_method: collection,
    created,
    livemode: store.livemode,
    due_date: collection === 'send_invoice' ? (dueDate ?? created + 30 * DAY) : null,
    description,
    discounts: [],
    metadata,
    auto_advance: false,
    automatically_finalizes_at: null,
  });
  return { invoice, lines };
}

function buildSession(
  store: StripeStore,
  customer: CustomerObject | null,
  fields: Json,
  created: number,
): { session: SessionObject; items: CheckoutItemObject[] } {
  const id = store.newId('cs');
  const cur = currency(fields, customer?.currency ?? 'usd');
  const inputs = fields['line_items'] === undefined ? [] : lineInputs(fields['line_items'], 'line_items');
  if (inputs.length === 0) throw bad('Missing required param: line_items (at least one {amount | unit_amount, quantity, description})');
  const items = inputs.map((l) => {
    const price = adHocPrice(store, cur, l.unitDecimal, l.description, created);
    return checkoutItem({
      id: store.newId('li'),
      currency: cur,
      description: l.description,
      price,
      quantity: l.quantity,
      amount_subtotal: l.amount,
      amount_discount: 0,
      amount_tax: 0,
    });
  });
  const email = optString(fields, 'customer_email') ?? null;
  const session = newCheckoutSession({
    id,
    created,
    currency: cur,
    livemode: store.livemode,
    customer,
    customer_email: email,
    client_reference_id: optString(fields, 'client_reference_id') ?? null,
    coupon: null,
    metadata: fields['metadata'] === undefined ? {} : mergeMetadata({}, fields['metadata']),
    shipping: null,
    url_fragment: store.chars(40),
  });
  return { session, items };
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

const INVOICE_CREATE = ['customer', 'currency', 'lines', 'description', 'metadata', 'collection_method', 'due_date', 'status'] as const;
const INVOICE_UPDATE = ['description', 'metadata', 'due_date', 'lines', 'status', 'payment_attempt'] as const;
const INVOICE_STATUSES = ['draft', 'open', 'paid', 'uncollectible', 'void'] as const;
const SESSION_CREATE = [
  'customer',
  'customer_email',
  'currency',
  'line_items',
  'client_reference_id',
  'metadata',
  'status',
  'payment_status',
  'customer_details',
] as const;
const SESSION_UPDATE = ['metadata', 'status', 'payment_status', 'customer_details', 'async_payment'] as const;

export class RecordMutations {
  constructor(private readonly store: StripeStore) {}

  /** Creates a record (emits customer.created / invoice.created; a session emits nothing until it completes or expires). */
  create(type: string, fields: Json): Json {
    const store = this.store;
    const at = store.now();
    switch (this.type(type)) {
      case 'customers': {
        const customer = store.insertCustomer(buildCustomer(store, fields, at), at);
        return structuredClone(customer);
      }
      case 'invoices': {
        onlyKeys(fields, INVOICE_CREATE);
        const customer = this.liveCustomer(fields['customer'], true) as CustomerObject;
        const status = optEnum(fields, 'status', INVOICE_STATUSES);
        const { invoice, lines } = buildInvoice(store, customer, fields, at);
        const record = store.insertInvoice(invoice, lines, at);
        if (status !== undefined) this.moveInvoice(invoice.id, status, at);
        return store.invoiceView(record);
      }
      case 'checkout_sessions': {
        onlyKeys(fields, SESSION_CREATE);
        const customer = this.liveCustomer(fields['customer'], false);
        const status = optEnum(fields, 'status', ['open', 'complete', 'expired'] as const);
        if (fields['payment_status'] !== undefined && status !== 'complete') throw bad('payment_status applies with status complete');
        if (fields['customer_details'] !== undefined && status !== 'complete') throw bad('customer_details applies with status complete');
        const { session, items } = buildSession(store, customer, fields, at);
        const record = store.insertSession(session, items);
        if (status === 'complete') this.completeSession(session.id, fields, at);
        else if (status === 'expired') store.expireSession(session.id, at);
        return store.sessionView(record);
      }
    }
  }

  update(type: string, id: string, fields: Json): Json {
    const store = this.store;
    const at = store.now();
    switch (this.type(type)) {
      case 'customers': {
        const current = store.customers.get(id);
        if (!current) throw this.missing('customer', id);
        store.updateCustomer(id, customerPatch(fields, current), at);
        return structuredClone(current);
      }
      case 'invoices': {
        onlyKeys(fields, INVOICE_UPDATE);
        const record = store.invoices.get(id);
        if (!record) throw this.missing('invoice', id);
        const status = optEnum(fields, 'status', INVOICE_STATUSES);
        const attempt = optEnum(fields, 'payment_attempt', ['failed'] as const);
        const patch: Json = {};
        const description = optString(fields, 'description');
        if (description !== undefined) patch['description'] = description === '' ? null : description;
        if (fields['metadata'] !== undefined) patch['metadata'] = mergeMetadata(record.invoice['metadata'], fields['metadata']);
        const dueDate = optInt(fields, 'due_date', 0);
        if (dueDate !== undefined) {
          if (record.invoice.collection_method !== 'send_invoice') throw bad('due_date requires collection_method send_invoice');
          patch['due_date'] = dueDate;
        }
        let lines: InvoiceLineObject[] | undefined;
        if (fields['lines'] !== undefined) {
          if (record.invoice.status !== 'draft') throw bad(`You can only change the lines of a draft invoice; ${id} is ${record.invoice.status}.`);
          lines = invoiceLines(store, id, record.invoice.currency, lineInputs(fields['lines'], 'lines'), at);
        }
        // Check the whole request before the first event goes out.
        if (status !== undefined) this.checkInvoiceMove(record.invoice.status, status, id);
        if (attempt !== undefined && (status ?? record.invoice.status) !== 'open')
          throw bad(`payment_attempt needs an open invoice; ${id} is ${status ?? record.invoice.status}.`);
        if (Object.keys(patch).length > 0 || lines) store.updateInvoice(id, patch as Partial<InvoiceObject>, at, lines);
        if (status !== undefined) this.moveInvoice(id, status, at);
        if (attempt === 'failed') store.failInvoicePayment(id, at);
        return store.invoiceView(record);
      }
      case 'checkout_sessions': {
        onlyKeys(fields, SESSION_UPDATE);
        const record = store.sessions.get(id);
        if (!record) throw this.missing('checkout.session', id);
        const s = record.session;
        const status = optEnum(fields, 'status', ['open', 'complete', 'expired'] as const);
        const asyncPayment = optEnum(fields, 'async_payment', ['succeeded', 'failed'] as const);
        if (status !== undefined && status !== s.status) {
          if (s.status !== 'open') throw bad(`Checkout Session ${id} is ${s.status}; only an open session can complete or expire.`);
          if (status === 'open') throw bad('A session cannot be reopened.');
        }
        if ((fields['payment_status'] !== undefined || fields['customer_details'] !== undefined) && !(status === 'complete' && s.status === 'open')) {
          throw bad('payment_status and customer_details apply when completing an open session (status complete).');
        }
        if (
          asyncPayment !== undefined &&
          !((status === 'complete' && fields['payment_status'] === 'unpaid') || (s.status === 'complete' && s['payment_status'] === 'unpaid'))
        ) {
          throw bad(`async_payment needs a completed session whose payment is still pending (payment_status unpaid).`);
        }
        // Stripe emits no event for a metadata change on a session.
        if (fields['metadata'] !== undefined) s['metadata'] = mergeMetadata(s['metadata'], fields['metadata']);
        if (status === 'complete' && s.status === 'open') this.completeSession(id, fields, at);
        else if (status === 'expired' && s.status === 'open') store.expireSession(id, at);
        if (asyncPayment !== undefined) store.settleSessionPayment(id, asyncPayment === 'succeeded', at);
        return store.sessionView(record);
      }
    }
  }

  /** Deletes a customer (customer.deleted) or a draft invoice (invoice.deleted); answers Stripe's deleted stub. */
  delete(type: string, id: string): Json {
    const store = this.store;
    const at = store.now();
    switch (this.type(type)) {
      case 'customers':
        if (!store.customers.has(id)) throw this.missing('customer', id);
        store.deleteCustomer(id, at);
        return { id, object: 'customer', deleted: true };
      case 'invoices': {
        const record = store.invoices.get(id);
        if (!record) throw this.missing('invoice', id);
        if (record.invoice.status !== 'draft') throw bad(`You can only delete draft invoices; ${id} is ${record.invoice.status} (void it instead).`);
        store.deleteInvoice(id, at);
        return { id, object: 'invoice', deleted: true };
      }
      case 'checkout_sessions':
        if (!store.sessions.has(id)) throw this.missing('checkout.session', id);
        throw bad('Checkout Sessions cannot be deleted; PATCH {"status":"expired"} instead.');
    }
  }

  // -------------------------------------------------------------------------------------------

  private type(type: string): RecordType {
    if (!isRecordType(type)) throw new EmulatorAdminError(404, `Unknown record type ${JSON.stringify(type)} (one of ${RECORD_TYPES.join(', ')}).`);
    return type;
  }

  private missing(noun: string, id: string): EmulatorAdminError {
    return new EmulatorAdminError(404, `No such ${noun}: '${id}'`);
  }

  private liveCustomer(value: unknown, required: boolean): CustomerObject | null {
    if (value === undefined || value === null) {
      if (required) throw bad('Missing required param: customer');
      return null;
    }
    if (typeof value !== 'string') throw bad('Invalid string: customer');
    const customer = this.store.customers.get(value);
    if (!customer) throw bad(`No such customer: '${value}'`);
    return customer;
  }

  /** The invoice lifecycle, walked one Stripe call at a time (draft → open → paid|void|uncollectible). */
  private checkInvoiceMove(from: InvoiceObject['status'], to: InvoiceObject['status'], id: string): void {
    if (from === to) return;
    const allowed: Record<InvoiceObject['status'], readonly InvoiceObject['status'][]> = {
      draft: ['open', 'paid', 'void', 'uncollectible'],
      open: ['paid', 'void', 'uncollectible'],
      uncollectible: ['paid', 'void'],
      paid: [],
      void: [],
    };
    if (!allowed[from].includes(to)) throw bad(`Invoice ${id} cannot go from ${from} to ${to}.`);
  }

  private moveInvoice(id: string, to: InvoiceObject['status'], at: number): void {
    const store = this.store;
    const record = store.invoices.get(id);
    if (!record) throw this.missing('invoice', id);
    this.checkInvoiceMove(record.invoice.status, to, id);
    if (record.invoice.status === to) return;
    // A draft is finalized first (invoice.finalized), as the /pay, /void and /mark_uncollectible calls need.
    if (record.invoice.status === 'draft') store.finalizeInvoice(id, at);
    if (to === 'paid') store.payInvoice(id, at);
    else if (to === 'void') store.voidInvoice(id, at);
    else if (to === 'uncollectible') store.markUncollectible(id, at);
  }

  private completeSession(id: string, fields: Json, at: number): void {
    const store = this.store;
    const record = store.sessions.get(id);
    if (!record) throw this.missing('checkout.session', id);
    const s = record.session;
    const paymentStatus =
      optEnum(fields, 'payment_status', ['paid', 'unpaid', 'no_payment_required'] as const) ?? (s['amount_total'] === 0 ? 'no_payment_required' : 'paid');
    const detailsIn = fields['customer_details'];
    if (detailsIn !== undefined && (detailsIn === null || typeof detailsIn !== 'object' || Array.isArray(detailsIn)))
      throw bad('Invalid hash: customer_details');
    const d = (detailsIn ?? {}) as Json;
    onlyKeys(d, ['name', 'email', 'phone', 'address']);
    const customer = s.customer ? store.customers.get(s.customer) : undefined;
    const details = {
      address: d['address'] === undefined ? ((customer?.['address'] as Json | null | undefined) ?? null) : address(d['address'], 'customer_details[address]'),
      business_name: null,
      email: optString(d, 'email') ?? customer?.email ?? s.customer_details?.email ?? (s['customer_email'] as string | null) ?? null,
      individual_name: null,
      name: optString(d, 'name') ?? customer?.name ?? null,
      phone: optString(d, 'phone') ?? null,
      tax_exempt: 'none',
      tax_ids: [],
    };
    let paymentIntent: string | null = null;
    if (paymentStatus !== 'no_payment_required') {
      paymentIntent = store.newId('pi');
      store.paymentIntents.set(paymentIntent, newPaymentIntent(store, paymentIntent, s, at, paymentStatus === 'paid' ? 'succeeded' : 'processing'));
    }
    store.completeSession(id, { customer_details: details, payment_intent: paymentIntent, payment_status: paymentStatus } as Partial<SessionObject>, at);
  }
}
