// Admin mutations of the emulator's shop (POST/PATCH/DELETE /__emulator/records/:type), in
// Shopify's REST field names, each followed by the webhooks Shopify sends for it: a paid order
// fires orders/updated and orders/paid, a cancelled one orders/updated and orders/cancelled, with
// one X-Shopify-Event-Id shared by the topics of one change.
import { randomUUID } from 'node:crypto';
import { EmulatorAdminError, type AdminRecords } from '../../sdk/emulator-kit/index.ts';
import { minorUnitExponent } from '../../sdk/money.ts';
import { restCustomer, restOrder, type CustomerRecord, type OrderRecord, type ShopStore } from './store.ts';

export const RECORD_TYPES = ['customers', 'orders'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const str = (v: unknown, name: string): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new EmulatorAdminError(400, `${name} must be a string`);
  return v;
};

/** "12.50" in `currency` → minor units, exactly. */
function minor(amount: unknown, currency: string, name: string): number {
  if (typeof amount !== 'string' || !/^\d+(\.\d+)?$/.test(amount)) throw new EmulatorAdminError(400, `${name} must be a decimal string like "12.50"`);
  const exp = minorUnitExponent(currency);
  const [whole, frac = ''] = amount.split('.') as [string, string?];
  if (frac.length > exp) throw new EmulatorAdminError(400, `${name} has more decimals than ${currency} allows`);
  return Number(whole) * 10 ** exp + Number(frac.padEnd(exp, '0') || '0');
}

export class ShopRecords implements AdminRecords {
  constructor(
    private readonly store: ShopStore,
    private readonly now: () => number = Date.now,
  ) {}

  private type(type: string): RecordType {
    if (!(RECORD_TYPES as readonly string[]).includes(type))
      throw new EmulatorAdminError(404, `unknown record type ${type} (known: ${RECORD_TYPES.join(', ')})`);
    return type as RecordType;
  }

  private customer(id: string): CustomerRecord {
    const c = this.store.customers.get(Number(id));
    if (!c) throw new EmulatorAdminError(404, `no customer ${id}`);
    return c;
  }

  private order(id: string): OrderRecord {
    const o = this.store.orders.get(Number(id));
    if (!o) throw new EmulatorAdminError(404, `no order ${id}`);
    return o;
  }

  private fire(topics: string[], payload: Record<string, unknown>): void {
    const eventId = randomUUID();
    for (const topic of topics) this.store.emit(topic, { ...payload, __eventId: eventId });
  }

  create(type: string, f: Record<string, unknown>): unknown {
    const t = this.type(type);
    const now = this.now();
    if (t === 'customers') {
      const c: CustomerRecord = {
        id: this.store.newCustomerId(),
        firstName: str(f['first_name'], 'first_name'),
        lastName: str(f['last_name'], 'last_name'),
        email: str(f['email'], 'email'),
        phone: str(f['phone'], 'phone'),
        tags: [],
        note: str(f['note'], 'note'),
        state: 'ENABLED',
        verifiedEmail: true,
        createdAt: iso(now),
        updatedAt: iso(now),
        address: null,
      };
      this.store.customers.set(c.id, c);
      const body = restCustomer(c);
      this.fire(['customers/create'], body);
      return body;
    }
    const currency = str(f['currency'], 'currency') ?? 'USD';
    const customerId = f['customer_id'] === undefined || f['customer_id'] === null ? null : this.customer(String(f['customer_id'])).id;
    const lines = Array.isArray(f['line_items']) ? (f['line_items'] as Array<Record<string, unknown>>) : [];
    if (lines.length === 0) throw new EmulatorAdminError(400, 'line_items must be a non-empty array');
    const order = this.store.addOrder(
      {
        email: str(f['email'], 'email') ?? (customerId ? (this.store.customers.get(customerId)?.email ?? null) : null),
        customerId,
        currency,
        financialStatus: 'PENDING',
        fulfillmentStatus: 'UNFULFILLED',
        lineItems: lines.map((li, i) => ({
          title: str(li['title'], `line_items[${i}].title`) ?? 'Item',
          sku: str(li['sku'], `line_items[${i}].sku`),
          quantity: Number(li['quantity'] ?? 1),
          price: minor(li['price'], currency, `line_items[${i}].price`),
        })),
        shipping: 0,
        billing: customerId ? (this.store.customers.get(customerId)?.address ?? null) : null,
      },
      now,
      now,
    );
    const body = restOrder(this.store, order);
    this.fire(['orders/create'], body);
    return body;
  }

  update(type: string, id: string, f: Record<string, unknown>): unknown {
    const t = this.type(type);
    const now = iso(this.now());
    if (t === 'customers') {
      const c = this.customer(id);
      if ('first_name' in f) c.firstName = str(f['first_name'], 'first_name');
      if ('last_name' in f) c.lastName = str(f['last_name'], 'last_name');
      if ('email' in f) c.email = str(f['email'], 'email');
      if ('phone' in f) c.phone = str(f['phone'], 'phone');
      if ('note' in f) c.note = str(f['note'], 'note');
      c.updatedAt = now;
      const body = restCustomer(c);
      this.fire(['customers/update'], body);
      return body;
    }
    const o = this.order(id);
    const topics = ['orders/updated'];
    if ('financial_status' in f) {
      const status = String(str(f['financial_status'], 'financial_status')).toUpperCase();
      o.financialStatus = status;
      if (status === 'PAID') topics.push('orders/paid');
    }
    if ('fulfillment_status' in f) o.fulfillmentStatus = String(str(f['fulfillment_status'], 'fulfillment_status')).toUpperCase();
    if ('email' in f) o.email = str(f['email'], 'email');
    if (f['cancelled'] === true) {
      o.cancelledAt = now;
      o.cancelReason = 'CUSTOMER';
      topics.push('orders/cancelled');
    }
    o.updatedAt = now;
    const body = restOrder(this.store, o);
    this.fire(topics, body);
    return body;
  }

  delete(type: string, id: string): unknown {
    const t = this.type(type);
    if (t === 'customers') {
      const c = this.customer(id);
      this.store.customers.delete(c.id);
      const body = {
        id: c.id,
        phone: c.phone,
        addresses: [],
        tax_exemptions: [],
        email_marketing_consent: null,
        sms_marketing_consent: null,
        admin_graphql_api_id: `gid://shopify/Customer/${c.id}`,
      };
      this.fire(['customers/delete'], body);
      return body;
    }
    const o = this.order(id);
    this.store.orders.delete(o.id);
    const body = { id: o.id };
    this.fire(['orders/delete'], body);
    return body;
  }
}
