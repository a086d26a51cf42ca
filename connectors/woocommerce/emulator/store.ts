// The emulated store's data: customers (WordPress users with a role) and orders, kept with amounts
// in thousandths so any `dp` can be served, and shown exactly as wc/v3 shows them (dates without a
// zone in site time and in GMT, money as strings rounded to `dp`, "" for empty fields). Every
// mutation reports the webhook topic WooCommerce would fire.
import { EmulatorAdminError } from '../../sdk/emulator-kit/index.ts';

/** The emulated site's time zone: date_* fields are this far ahead of their *_gmt twins. */
export const SITE_UTC_OFFSET_MS = 60 * 60 * 1000;

export interface Address {
  first_name: string;
  last_name: string;
  company: string;
  address_1: string;
  address_2: string;
  city: string;
  state: string;
  postcode: string;
  country: string;
  email?: string;
  phone: string;
}

export interface CustomerRecord {
  id: number;
  createdMs: number;
  /** null until the customer is saved again after registration. */
  modifiedMs: number | null;
  email: string;
  first_name: string;
  last_name: string;
  role: string;
  username: string;
  billing: Address;
  shipping: Address;
  is_paying_customer: boolean;
}

export interface LineRecord {
  id: number;
  name: string;
  product_id: number;
  variation_id: number;
  quantity: number;
  sku: string;
  /** Thousandths of the currency's major unit. */
  subtotal: number;
  total: number;
  tax: number;
}

export interface OrderRecord {
  id: number;
  status: string;
  currency: string;
  createdMs: number;
  modifiedMs: number;
  paidMs: number | null;
  completedMs: number | null;
  customer_id: number;
  billing: Address;
  shipping: Address;
  lines: LineRecord[];
  shipping_total: number;
  discount_total: number;
  refunds: Array<{ id: number; reason: string; total: number }>;
  /** Status before trashing, for order.restored. */
  statusBeforeTrash: string | null;
}

export type Topic = 'customer.created' | 'customer.updated' | 'customer.deleted' | 'order.created' | 'order.updated' | 'order.deleted' | 'order.restored';
export type Change = { topic: Topic; id: number };

export const emptyAddress = (): Address => ({
  first_name: '',
  last_name: '',
  company: '',
  address_1: '',
  address_2: '',
  city: '',
  state: '',
  postcode: '',
  country: '',
  phone: '',
});

/** PHP's round() to `dp` decimals (half away from zero), as wc_format_decimal applies it. */
export function formatAmount(thousandths: number, dp: number): string {
  const negative = thousandths < 0;
  const abs = Math.abs(thousandths);
  let text: string;
  if (dp >= 3) text = `${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}${'0'.repeat(dp - 3)}`;
  else {
    const unit = 10 ** (3 - dp);
    const rounded = Math.floor((abs + unit / 2) / unit);
    const scale = 10 ** dp;
    text = dp === 0 ? String(rounded) : `${Math.floor(rounded / scale)}.${String(rounded % scale).padStart(dp, '0')}`;
  }
  return negative && /[1-9]/.test(text) ? `-${text}` : text;
}

const wpDate = (ms: number | null, offsetMs: number): string | null =>
  ms === null ? null : new Date(Math.floor(ms / 1000) * 1000 + offsetMs).toISOString().slice(0, 19);
const dates = (name: string, ms: number | null) => ({ [name]: wpDate(ms, SITE_UTC_OFFSET_MS), [`${name}_gmt`]: wpDate(ms, 0) });

const lineTotal = (o: OrderRecord, f: (l: LineRecord) => number) => o.lines.reduce((a, l) => a + f(l), 0);

export class WooStore {
  readonly customers = new Map<number, CustomerRecord>();
  readonly orders = new Map<number, OrderRecord>();
  private nextCustomerId = 1;
  private nextOrderId = 1001;
  private nextLineId = 1;
  private readonly listeners = new Set<(change: Change) => void>();

  constructor(readonly storeUrl: () => string) {}

  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(topic: Topic, id: number): void {
    for (const l of this.listeners) l({ topic, id });
  }

  addCustomer(fields: Omit<CustomerRecord, 'id'>, silent = false): CustomerRecord {
    const c = { id: this.nextCustomerId++, ...fields };
    this.customers.set(c.id, c);
    if (!silent) this.emit('customer.created', c.id);
    return c;
  }

  addOrder(fields: Omit<OrderRecord, 'id' | 'lines' | 'statusBeforeTrash'> & { lines: Array<Omit<LineRecord, 'id'>> }, silent = false): OrderRecord {
    const o: OrderRecord = { ...fields, id: this.nextOrderId, statusBeforeTrash: null, lines: fields.lines.map((l) => ({ ...l, id: this.nextLineId++ })) };
    this.nextOrderId += 1 + (o.id % 3);
    this.orders.set(o.id, o);
    if (!silent) this.emit('order.created', o.id);
    return o;
  }

  customer(id: number): CustomerRecord {
    const c = this.customers.get(id);
    if (!c) throw new EmulatorAdminError(404, `no customer ${id}`);
    return c;
  }

  order(id: number): OrderRecord {
    const o = this.orders.get(id);
    if (!o) throw new EmulatorAdminError(404, `no order ${id}`);
    return o;
  }

  touchCustomer(c: CustomerRecord, now = Date.now()): void {
    c.modifiedMs = now;
    this.emit('customer.updated', c.id);
  }

  deleteCustomer(id: number): CustomerRecord {
    const c = this.customer(id);
    this.customers.delete(id);
    this.emit('customer.deleted', id);
    return c;
  }

  /** Status changes; leaving the trash is order.restored, entering it order.deleted. */
  setOrderStatus(o: OrderRecord, status: string, now = Date.now()): void {
    const was = o.status;
    o.modifiedMs = now;
    if (status === 'trash' && was !== 'trash') {
      o.statusBeforeTrash = was;
      o.status = 'trash';
      return this.emit('order.deleted', o.id);
    }
    o.status = status;
    if (status === 'completed' && o.completedMs === null) o.completedMs = now;
    if ((status === 'processing' || status === 'completed') && o.paidMs === null) o.paidMs = now;
    this.emit(was === 'trash' ? 'order.restored' : 'order.updated', o.id);
  }

  touchOrder(o: OrderRecord, now = Date.now()): void {
    o.modifiedMs = now;
    this.emit('order.updated', o.id);
  }

  customerJson(c: CustomerRecord): Record<string, unknown> {
    const base = this.storeUrl();
    return {
      id: c.id,
      ...dates('date_created', c.createdMs),
      ...dates('date_modified', c.modifiedMs),
      email: c.email,
      first_name: c.first_name,
      last_name: c.last_name,
      role: c.role,
      username: c.username,
      billing: { ...c.billing, email: c.billing.email ?? '' },
      shipping: { ...c.shipping, email: undefined },
      is_paying_customer: c.is_paying_customer,
      avatar_url: `https://secure.gravatar.com/avatar/${c.id.toString(16).padStart(32, '0')}?s=96&d=mm&r=g`,
      meta_data: [],
      _links: { self: [{ href: `${base}/wp-json/wc/v3/customers/${c.id}` }], collection: [{ href: `${base}/wp-json/wc/v3/customers` }] },
    };
  }

  orderJson(o: OrderRecord, dp: number): Record<string, unknown> {
    const money = (n: number) => formatAmount(n, dp);
    const base = this.storeUrl();
    const totalTax = lineTotal(o, (l) => l.tax);
    const total = lineTotal(o, (l) => l.total) + totalTax + o.shipping_total;
    return {
      id: o.id,
      parent_id: 0,
      status: o.status,
      currency: o.currency,
      version: '9.4.2',
      prices_include_tax: false,
      ...dates('date_created', o.createdMs),
      ...dates('date_modified', o.modifiedMs),
      discount_total: money(o.discount_total),
      discount_tax: money(0),
      shipping_total: money(o.shipping_total),
      shipping_tax: money(0),
      cart_tax: money(totalTax),
      total: money(total),
      total_tax: money(totalTax),
      customer_id: o.customer_id,
      order_key: `wc_order_${o.id.toString(36).padStart(13, 'k')}`,
      billing: { ...o.billing, email: o.billing.email ?? '' },
      shipping: { ...o.shipping, email: undefined },
      payment_method: 'stripe',
      payment_method_title: 'Credit card',
      transaction_id: o.paidMs ? `pi_${o.id}` : '',
      customer_ip_address: '',
      customer_user_agent: '',
      created_via: 'checkout',
      customer_note: '',
      ...dates('date_completed', o.completedMs),
      ...dates('date_paid', o.paidMs),
      cart_hash: '',
      number: String(o.id),
      meta_data: [],
      line_items: o.lines.map((l) => ({
        id: l.id,
        name: l.name,
        product_id: l.product_id,
        variation_id: l.variation_id,
        quantity: l.quantity,
        tax_class: '',
        subtotal: money(l.subtotal),
        subtotal_tax: money(l.tax),
        total: money(l.total),
        total_tax: money(l.tax),
        taxes: [],
        meta_data: [],
        sku: l.sku,
        // WooCommerce computes this as a float: total / quantity.
        price: l.total / 1000 / Math.max(1, l.quantity),
        image: { id: '', src: '' },
        parent_name: null,
      })),
      tax_lines: [],
      shipping_lines: [],
      fee_lines: [],
      coupon_lines: [],
      refunds: o.refunds.map((r) => ({ id: r.id, reason: r.reason, total: money(-r.total) })),
      payment_url: `${base}/checkout/order-pay/${o.id}/`,
      is_editable: o.status === 'pending' || o.status === 'on-hold',
      needs_payment: o.status === 'pending' || o.status === 'failed',
      needs_processing: true,
      currency_symbol: o.currency,
      _links: {
        self: [{ href: `${base}/wp-json/wc/v3/orders/${o.id}` }],
        collection: [{ href: `${base}/wp-json/wc/v3/orders` }],
        ...(o.customer_id ? { customer: [{ href: `${base}/wp-json/wc/v3/customers/${o.customer_id}` }] } : {}),
      },
    };
  }
}
