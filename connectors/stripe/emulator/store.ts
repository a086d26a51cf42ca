// The emulator's mutable data: Stripe objects stored in the exact JSON shape the API returns, plus
// the Events log. Every mutation goes through a method here and appends the event Stripe would
// emit (with the object snapshot and previous_attributes), so /v1/events and, later, webhooks
// always agree with the objects.
import { seededRandom } from '../../sdk/emulator.ts';

/** The API version the emulator's objects are shaped after (stripe@23.1.0 pins it). */
export const EMULATOR_API_VERSION = '2026-10-28.endive';

export type Json = Record<string, unknown>;

export interface StripeObject extends Json {
  id: string;
  object: string;
  created: number;
}

export interface CustomerObject extends StripeObject {
  object: 'customer';
  email: string | null;
  name: string | null;
  currency: string | null;
  invoice_prefix: string;
  next_invoice_sequence: number;
}

export interface InvoiceObject extends StripeObject {
  object: 'invoice';
  customer: string;
  currency: string;
  status: 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
  collection_method: 'charge_automatically' | 'send_invoice';
  due_date: number | null;
}

export interface InvoiceLineObject extends Json {
  id: string;
  object: 'line_item';
  amount: number;
  discount_amounts: Array<{ amount: number; discount: string }>;
  taxes: Array<{ amount: number; tax_rate_details: { tax_rate: string }; taxable_amount: number } & Json>;
}

export interface SessionObject extends StripeObject {
  object: 'checkout.session';
  customer: string | null;
  status: 'open' | 'complete' | 'expired';
  payment_intent: string | null;
  payment_link: string | null;
  subscription: string | null;
  customer_details: (Json & { email: string | null }) | null;
}

export interface CheckoutItemObject extends Json {
  id: string;
  object: 'item';
  amount_subtotal: number;
  amount_discount: number;
  amount_tax: number;
  amount_total: number;
  price: Json & { product: string };
}

export interface EventObject extends StripeObject {
  object: 'event';
  type: string;
  data: { object: Json; previous_attributes?: Json };
}

export interface InvoiceRecord {
  invoice: InvoiceObject;
  lines: InvoiceLineObject[];
}

export interface SessionRecord {
  session: SessionObject;
  items: CheckoutItemObject[];
}

export type EventListener = (event: EventObject) => void;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** How many entries an embedded list (invoice.lines, expanded line_items) carries. */
export const EMBEDDED_LIST_SIZE = 10;

/** Stripe keeps events 30 days: older ones are never listed, and retrieving one answers 404. */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

const clone = <T>(v: T): T => structuredClone(v);

export class StripeStore {
  readonly customers = new Map<string, CustomerObject>();
  /** Last state of deleted customers: the API answers {id, object, deleted: true} for them. */
  readonly deletedCustomers = new Map<string, CustomerObject>();
  readonly invoices = new Map<string, InvoiceRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  readonly products = new Map<string, Json & { id: string }>();
  readonly prices = new Map<string, Json & { id: string }>();
  readonly paymentIntents = new Map<string, Json & { id: string }>();
  readonly events: EventObject[] = [];
  readonly eventsById = new Map<string, EventObject>();
  readonly accountId: string;
  private readonly rnd: () => number;
  private readonly listeners = new Set<EventListener>();

  /** `clock` is the emulator's notion of now (ms): the seed's present, mutation times, event retention. */
  constructor(
    seed: number,
    readonly livemode = false,
    readonly clock: () => number = Date.now,
  ) {
    this.rnd = seededRandom(seed ^ 0x5eed);
    this.accountId = `acct_1${this.chars(15)}`;
  }

  /** The emulator's clock in Unix seconds, the unit of every Stripe timestamp. */
  now(): number {
    return Math.floor(this.clock() / 1000);
  }

  // -------------------------------------------------------------------------------------------
  // Ids and randomness (seeded: the same seed and the same calls give the same ids)
  // -------------------------------------------------------------------------------------------

  random(): number {
    return this.rnd();
  }

  chars(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += ALNUM[Math.floor(this.rnd() * ALNUM.length)];
    return s;
  }

  /** Stripe-looking ids: `cus_` + 14 chars, most others `<prefix>_1` + 23 chars. */
  newId(prefix: string): string {
    if (prefix === 'cus' || prefix === 'prod') return `${prefix}_${this.chars(14)}`;
    if (prefix === 'cs') return `cs_${this.livemode ? 'live' : 'test'}_a1${this.chars(56)}`;
    if (prefix === 'req') return `req_${this.chars(14)}`;
    return `${prefix}_1${this.chars(23)}`;
  }

  // -------------------------------------------------------------------------------------------
  // Views: the JSON the API answers with (always fresh copies, safe to expand/mutate)
  // -------------------------------------------------------------------------------------------

  customerView(id: string): Json | undefined {
    const live = this.customers.get(id);
    if (live) return clone(live);
    if (this.deletedCustomers.has(id)) return { id, object: 'customer', deleted: true };
    return undefined;
  }

  invoiceView(record: InvoiceRecord): Json {
    const view: Json = clone(record.invoice);
    view['lines'] = this.listObject(
      record.lines.slice(0, EMBEDDED_LIST_SIZE).map(clone),
      record.lines.length > EMBEDDED_LIST_SIZE,
      `/v1/invoices/${record.invoice.id}/lines`,
      record.lines.length,
    );
    return reorder(view);
  }

  sessionView(record: SessionRecord): Json {
    return clone(record.session);
  }

  sessionLineItems(record: SessionRecord): Json {
    return this.listObject(
      record.items.slice(0, EMBEDDED_LIST_SIZE).map(clone),
      record.items.length > EMBEDDED_LIST_SIZE,
      `/v1/checkout/sessions/${record.session.id}/line_items`,
    );
  }

  listObject(data: unknown[], hasMore: boolean, url: string, totalCount?: number): Json {
    const list: Json = { object: 'list', data, has_more: hasMore };
    if (totalCount !== undefined) list['total_count'] = totalCount;
    list['url'] = url;
    return list;
  }

  // -------------------------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------------------------

  /** An event the API still serves (younger than the retention window), else undefined. */
  retainedEvent(id: string): EventObject | undefined {
    const event = this.eventsById.get(id);
    return event && this.isRetained(event) ? event : undefined;
  }

  /** Every event the API still serves, oldest first. */
  retainedEvents(): EventObject[] {
    return this.events.filter((e) => this.isRetained(e));
  }

  private isRetained(event: EventObject): boolean {
    return event.created >= this.now() - EVENT_RETENTION_SECONDS;
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(type: string, snapshot: Json, at: number, previous?: Json, automatic = false): EventObject {
    const event: EventObject = {
      id: this.newId('evt'),
      object: 'event',
      api_version: EMULATOR_API_VERSION,
      created: at,
      data: previous ? { object: snapshot, previous_attributes: previous } : { object: snapshot },
      livemode: this.livemode,
      pending_webhooks: 0,
      request: automatic ? { id: null, idempotency_key: null } : { id: this.newId('req'), idempotency_key: null },
      type,
    };
    this.events.push(event);
    this.eventsById.set(event.id, event);
    for (const l of this.listeners) l(event);
    return event;
  }

  // -------------------------------------------------------------------------------------------
  // Customers
  // -------------------------------------------------------------------------------------------

  insertCustomer(customer: CustomerObject, at = customer.created): CustomerObject {
    this.customers.set(customer.id, customer);
    this.emit('customer.created', clone(customer), at);
    return customer;
  }

  updateCustomer(id: string, patch: Partial<CustomerObject>, at = this.now()): CustomerObject {
    const customer = this.customers.get(id);
    if (!customer) throw new Error(`no live customer ${id}`);
    const previous = applyPatch(customer, patch);
    if (Object.keys(previous).length > 0) this.emit('customer.updated', clone(customer), at, previous);
    return customer;
  }

  deleteCustomer(id: string, at = this.now()): void {
    const customer = this.customers.get(id);
    if (!customer) throw new Error(`no live customer ${id}`);
    this.customers.delete(id);
    this.deletedCustomers.set(id, customer);
    this.emit('customer.deleted', clone(customer), at);
  }

  // -------------------------------------------------------------------------------------------
  // Invoices
  // -------------------------------------------------------------------------------------------

  insertInvoice(invoice: InvoiceObject, lines: InvoiceLineObject[], at = invoice.created): InvoiceRecord {
    const record: InvoiceRecord = { invoice, lines };
    recomputeInvoice(record);
    this.invoices.set(invoice.id, record);
    this.emit('invoice.created', this.invoiceView(record), at);
    return record;
  }

  /** Generic change (description, metadata, lines on a draft): emits invoice.updated. */
  updateInvoice(id: string, patch: Partial<InvoiceObject>, at = this.now(), lines?: InvoiceLineObject[]): InvoiceRecord {
    const record = this.requireInvoice(id);
    const before = this.invoiceView(record);
    const previous = applyPatch(record.invoice, patch);
    if (lines) {
      record.lines = lines;
      recomputeInvoice(record);
      previous['lines'] = before['lines'];
      for (const k of ['subtotal', 'total', 'amount_due', 'amount_remaining', 'total_excluding_tax'] as const) {
        if (before[k] !== record.invoice[k]) previous[k] = before[k];
      }
    }
    if (Object.keys(previous).length > 0) this.emit('invoice.updated', this.invoiceView(record), at, previous);
    return record;
  }

  finalizeInvoice(id: string, at = this.now()): InvoiceRecord {
    const record = this.requireInvoice(id);
    const inv = record.invoice;
    if (inv.status !== 'draft') throw new Error(`invoice ${id} is ${inv.status}, not draft`);
    const customer = this.customers.get(inv.customer) ?? this.deletedCustomers.get(inv.customer);
    const seq = customer ? customer.next_invoice_sequence++ : 1;
    const transitions = inv['status_transitions'] as Json;
    const previous = applyPatch(inv, {
      status: 'open',
      number: customer ? `${customer.invoice_prefix}-${String(seq).padStart(4, '0')}` : null,
      effective_at: at,
      status_transitions: { ...transitions, finalized_at: at },
      hosted_invoice_url: `https://invoice.stripe.com/i/${this.accountId}/${this.livemode ? 'live' : 'test'}_${this.chars(40)}?s=ap`,
      invoice_pdf: `https://pay.stripe.com/invoice/${this.accountId}/${this.livemode ? 'live' : 'test'}_${this.chars(40)}/pdf?s=ap`,
      ending_balance: 0,
      automatically_finalizes_at: null,
      auto_advance: inv.collection_method === 'charge_automatically',
      due_date: inv.collection_method === 'send_invoice' ? (inv.due_date ?? at + 30 * 86400) : null,
      webhooks_delivered_at: at,
      customer_name: customer?.name ?? null,
      customer_email: customer?.email ?? null,
      customer_phone: (customer?.['phone'] as string | null | undefined) ?? null,
      customer_address: (customer?.['address'] as Json | null | undefined) ?? null,
      customer_shipping: (customer?.['shipping'] as Json | null | undefined) ?? null,
    } as Partial<InvoiceObject>);
    this.emit('invoice.finalized', this.invoiceView(record), at, previous);
    return record;
  }

  payInvoice(id: string, at = this.now()): InvoiceRecord {
    const record = this.requireInvoice(id);
    const inv = record.invoice;
    if (inv.status !== 'open' && inv.status !== 'uncollectible') throw new Error(`invoice ${id} is ${inv.status}`);
    const transitions = inv['status_transitions'] as Json;
    const previous = applyPatch(inv, {
      status: 'paid',
      amount_paid: inv['amount_due'],
      amount_remaining: 0,
      attempted: true,
      attempt_count: inv.collection_method === 'charge_automatically' ? 1 : 0,
      auto_advance: false,
      status_transitions: { ...transitions, paid_at: at },
    } as Partial<InvoiceObject>);
    this.emit('invoice.paid', this.invoiceView(record), at, previous, inv.collection_method === 'charge_automatically');
    this.emit('invoice.payment_succeeded', this.invoiceView(record), at, undefined, true);
    return record;
  }

  voidInvoice(id: string, at = this.now()): InvoiceRecord {
    return this.closeInvoice(id, 'void', 'voided_at', 'invoice.voided', at);
  }

  markUncollectible(id: string, at = this.now()): InvoiceRecord {
    return this.closeInvoice(id, 'uncollectible', 'marked_uncollectible_at', 'invoice.marked_uncollectible', at);
  }

  /** Void / uncollectible: the new status, auto_advance off, the status_transitions stamp, the event. */
  private closeInvoice(
    id: string,
    status: 'void' | 'uncollectible',
    transition: 'voided_at' | 'marked_uncollectible_at',
    type: string,
    at: number,
  ): InvoiceRecord {
    const record = this.requireInvoice(id);
    const transitions = record.invoice['status_transitions'] as Json;
    const previous = applyPatch(record.invoice, {
      status,
      auto_advance: false,
      status_transitions: { ...transitions, [transition]: at },
    } as Partial<InvoiceObject>);
    this.emit(type, this.invoiceView(record), at, previous);
    return record;
  }

  /** A failed collection attempt on an open invoice: emits invoice.payment_failed. */
  failInvoicePayment(id: string, at = this.now()): InvoiceRecord {
    const record = this.requireInvoice(id);
    const inv = record.invoice;
    if (inv.status !== 'open') throw new Error(`invoice ${id} is ${inv.status}, not open`);
    const previous = applyPatch(inv, {
      attempted: true,
      attempt_count: ((inv['attempt_count'] as number | undefined) ?? 0) + 1,
    } as Partial<InvoiceObject>);
    this.emit('invoice.payment_failed', this.invoiceView(record), at, previous, inv.collection_method === 'charge_automatically');
    return record;
  }

  /** Only drafts can be deleted (like Stripe); the invoice.deleted snapshot is the full invoice. */
  deleteInvoice(id: string, at = this.now()): void {
    const record = this.requireInvoice(id);
    if (record.invoice.status !== 'draft') throw new Error(`invoice ${id} is ${record.invoice.status}, not draft`);
    const snapshot = this.invoiceView(record);
    this.invoices.delete(id);
    this.emit('invoice.deleted', snapshot, at);
  }

  private requireInvoice(id: string): InvoiceRecord {
    const record = this.invoices.get(id);
    if (!record) throw new Error(`no invoice ${id}`);
    return record;
  }

  // -------------------------------------------------------------------------------------------
  // Checkout Sessions (Stripe emits no event when a session is created: only completed/expired)
  // -------------------------------------------------------------------------------------------

  insertSession(session: SessionObject, items: CheckoutItemObject[]): SessionRecord {
    const record: SessionRecord = { session, items };
    recomputeSession(record);
    this.sessions.set(session.id, record);
    return record;
  }

  completeSession(id: string, patch: Partial<SessionObject>, at = this.now()): SessionRecord {
    const record = this.requireSession(id);
    if (record.session.status !== 'open') throw new Error(`session ${id} is ${record.session.status}`);
    applyPatch(record.session, { ...patch, status: 'complete', url: null } as Partial<SessionObject>);
    this.emit('checkout.session.completed', this.sessionView(record), at, undefined, true);
    return record;
  }

  expireSession(id: string, at = this.now()): SessionRecord {
    const record = this.requireSession(id);
    if (record.session.status !== 'open') throw new Error(`session ${id} is ${record.session.status}`);
    applyPatch(record.session, { status: 'expired', url: null } as Partial<SessionObject>);
    this.emit('checkout.session.expired', this.sessionView(record), at, undefined, true);
    return record;
  }

  /** A delayed payment method (bank debit) settled or failed after checkout.session.completed. */
  settleSessionPayment(id: string, succeeded: boolean, at = this.now()): SessionRecord {
    const record = this.requireSession(id);
    const s = record.session;
    if (s.status !== 'complete' || s['payment_status'] !== 'unpaid') throw new Error(`session ${id} has no pending async payment`);
    if (succeeded) applyPatch(s, { payment_status: 'paid' } as Partial<SessionObject>);
    this.emit(`checkout.session.async_payment_${succeeded ? 'succeeded' : 'failed'}`, this.sessionView(record), at, undefined, true);
    return record;
  }

  private requireSession(id: string): SessionRecord {
    const record = this.sessions.get(id);
    if (!record) throw new Error(`no checkout session ${id}`);
    return record;
  }
}

/** Applies `patch` in place and returns Stripe's previous_attributes for the keys that changed. */
function applyPatch<T extends Json>(target: T, patch: Partial<T>): Json {
  const previous: Json = {};
  for (const [k, v] of Object.entries(patch)) {
    const before = target[k];
    if (JSON.stringify(before) === JSON.stringify(v)) continue;
    previous[k] = before === undefined ? null : clone(before);
    (target as Json)[k] = v;
  }
  return previous;
}

/** Stripe's key order: id, object, then alphabetical. */
export function reorder<T extends Json>(view: T): T {
  const out: Json = {};
  for (const k of Object.keys(view).sort((a, b) => (a === 'id' ? -1 : b === 'id' ? 1 : a === 'object' ? -1 : b === 'object' ? 1 : a < b ? -1 : 1))) {
    out[k] = view[k];
  }
  return out as T;
}

/** Derives every invoice total from its lines, like Stripe does (exclusive tax, per-line discounts). */
export function recomputeInvoice(record: InvoiceRecord): void {
  const inv = record.invoice;
  let subtotal = 0;
  let discount = 0;
  let tax = 0;
  const byRate = new Map<string, { amount: number; taxable_amount: number; template: Json }>();
  const byDiscount = new Map<string, number>();
  for (const line of record.lines) {
    subtotal += line.amount;
    for (const d of line.discount_amounts) {
      discount += d.amount;
      byDiscount.set(d.discount, (byDiscount.get(d.discount) ?? 0) + d.amount);
    }
    for (const t of line.taxes) {
      tax += t.amount;
      const key = t.tax_rate_details.tax_rate;
      const agg = byRate.get(key) ?? { amount: 0, taxable_amount: 0, template: t };
      agg.amount += t.amount;
      agg.taxable_amount += t.taxable_amount;
      byRate.set(key, agg);
    }
  }
  const totalExcludingTax = subtotal - discount;
  const total = totalExcludingTax + tax;
  const paid = inv.status === 'paid' ? total : ((inv['amount_paid'] as number | undefined) ?? 0);
  Object.assign(inv, {
    subtotal,
    subtotal_excluding_tax: subtotal,
    total_excluding_tax: totalExcludingTax,
    total,
    amount_due: total,
    amount_paid: paid,
    amount_remaining: total - paid,
    total_discount_amounts: [...byDiscount].map(([d, amount]) => ({ amount, discount: d })),
    total_taxes: [...byRate.values()].map((r) => ({ ...r.template, amount: r.amount, taxable_amount: r.taxable_amount })),
  });
}

export function recomputeSession(record: SessionRecord): void {
  const s = record.session;
  let subtotal = 0;
  let discount = 0;
  let tax = 0;
  for (const item of record.items) {
    subtotal += item.amount_subtotal;
    discount += item.amount_discount;
    tax += item.amount_tax;
  }
  const shippingCost = s['shipping_cost'] as { amount_subtotal: number; amount_tax: number } | null;
  const shipping = shippingCost?.amount_subtotal ?? 0;
  tax += shippingCost?.amount_tax ?? 0;
  Object.assign(s, {
    amount_subtotal: subtotal,
    amount_total: subtotal - discount + shipping + tax,
    total_details: { amount_discount: discount, amount_shipping: shipping, amount_tax: tax },
  });
}
