// A WooCommerce store look-alike (WordPress REST wc/v3) for tests, benchmarks and the demo: the
// customers and orders routes with WordPress's parameters, validation errors and paging headers,
// REST-key authentication (Basic, query keys, OAuth 1.0a), seeded deterministic data, and signed
// webhook delivery through the emulator kit — no retries, like WooCommerce. See ../README.md.
import { startEmulator as startBaseEmulator, type EmulatorHandle, type ProviderEmulatorOptions, type StartProviderEmulator } from '../../sdk/emulator.ts';
import { EmulatorAdminError, webhookHandle, type AdminRecords, type EmulatorWebhookHandle } from '../../sdk/emulator-kit/index.ts';
import { KeyAuthenticator, consumerKeyOf, parseCredentials } from './auth.ts';
import { faultBody } from './errors.ts';
import { wooRoutes } from './routes.ts';
import { DEFAULT_SEED, seedStore } from './seed.ts';
import { WooStore, emptyAddress, type Address, type CustomerRecord, type OrderRecord } from './store.ts';
import { WooWebhookDelivery, type WooDeliveryInfo } from './webhooks.ts';

export { DEFAULT_SCALE, DEFAULT_SEED, GUEST_PEOPLE_OFFSET, WOO_PEOPLE_OFFSET } from './seed.ts';
export { WooStore, formatAmount } from './store.ts';
export { MAX_DELIVERY_FAILURES, USER_AGENT, WEBHOOK_IDS, phpJsonEncode, type WooDelivery } from './webhooks.ts';
export { parseCredentials } from './auth.ts';

export interface WooEmulatorHandle extends EmulatorHandle, EmulatorWebhookHandle<WooDeliveryInfo> {
  readonly store: WooStore;
  /** Same as POST/PATCH/DELETE /__emulator/records/:type[/:id]. */
  readonly records: AdminRecords;
  /** Whether WooCommerce would still deliver: disabled after more than 5 consecutive failures. */
  webhookStatus(): { status: 'active' | 'disabled'; consecutiveFailures: number };
}

/** Builds the seeded store without a server (tests that need the seeded ids). */
export function createSeededStore(options: Pick<ProviderEmulatorOptions, 'seed' | 'scale'> = {}, storeUrl = () => 'https://store.example.com'): WooStore {
  const store = new WooStore(storeUrl);
  seedStore(store, options.seed ?? DEFAULT_SEED, { contacts: options.scale?.contacts, orders: options.scale?.orders });
  return store;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string') throw new EmulatorAdminError(400, `${name} must be a string`);
  return v;
};
const ORDER_STATUSES = ['pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed', 'trash'];

function mergeAddress(current: Address, patch: unknown, name: string): Address {
  if (patch === undefined) return current;
  if (!isObject(patch)) throw new EmulatorAdminError(400, `${name} must be an object`);
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (!(k in emptyAddress()) && k !== 'email') throw new EmulatorAdminError(400, `unknown ${name} field ${k}`);
    (next as Record<string, unknown>)[k] = str(v, `${name}.${k}`);
  }
  return next;
}

/** Admin mutations in WooCommerce's own field names (the REST API's write shapes, a subset). */
function adminRecords(store: WooStore): AdminRecords {
  const id = (type: string, raw: string) => {
    if (!/^\d+$/.test(raw)) throw new EmulatorAdminError(404, `no ${type} ${raw}`);
    return Number(raw);
  };
  let nextWebhookId = 101;
  const known = (type: string) => {
    if (type !== 'customers' && type !== 'orders' && type !== 'webhooks')
      throw new EmulatorAdminError(404, `unknown record type ${type} (customers, orders, webhooks)`);
  };
  const applyCustomer = (c: CustomerRecord, f: Record<string, unknown>) => {
    for (const k of ['email', 'first_name', 'last_name', 'username', 'role'] as const) if (f[k] !== undefined) c[k] = str(f[k], k);
    c.billing = mergeAddress(c.billing, f['billing'], 'billing');
    c.shipping = mergeAddress(c.shipping, f['shipping'], 'shipping');
  };
  return {
    create(type, fields) {
      known(type);
      if (type === 'webhooks') return { id: nextWebhookId++, status: 'active', topic: typeof fields['topic'] === 'string' ? fields['topic'] : 'order.updated' };
      if (type === 'customers') {
        const email = str(fields['email'], 'email');
        const draft: CustomerRecord = {
          id: 0,
          createdMs: Date.now(),
          modifiedMs: null,
          email,
          first_name: '',
          last_name: '',
          role: 'customer',
          username: email.split('@')[0] ?? email,
          billing: emptyAddress(),
          shipping: emptyAddress(),
          is_paying_customer: false,
        };
        applyCustomer(draft, fields);
        // Complete before it is stored: customer.created carries the whole record.
        const { id: _draftId, ...complete } = draft;
        return store.customerJson(store.addCustomer(complete));
      }
      throw new EmulatorAdminError(400, 'orders are created by checkout; update or delete a seeded order instead');
    },
    update(type, raw, fields) {
      known(type);
      if (type === 'customers') {
        const c = store.customer(id(type, raw));
        applyCustomer(c, fields);
        store.touchCustomer(c);
        return store.customerJson(c);
      }
      if (type === 'orders') {
        const o: OrderRecord = store.order(id(type, raw));
        o.billing = mergeAddress(o.billing, fields['billing'], 'billing');
        if (fields['status'] !== undefined) {
          const status = str(fields['status'], 'status');
          if (!ORDER_STATUSES.includes(status)) throw new EmulatorAdminError(400, `status must be one of ${ORDER_STATUSES.join(', ')}`);
          store.setOrderStatus(o, status);
        } else store.touchOrder(o);
        return store.orderJson(o, 2);
      }
      throw new EmulatorAdminError(404, 'webhooks cannot be updated here');
    },
    delete(type, raw) {
      known(type);
      if (type === 'customers') return store.customerJson(store.deleteCustomer(id(type, raw)));
      if (type === 'orders') {
        // DELETE without force moves an order to the trash (order.deleted).
        const o = store.order(id(type, raw));
        store.setOrderStatus(o, 'trash');
        return store.orderJson(o, 2);
      }
      throw new EmulatorAdminError(404, 'webhooks cannot be deleted here');
    },
  };
}

export async function startEmulator(options: ProviderEmulatorOptions): Promise<WooEmulatorHandle> {
  let url = 'http://127.0.0.1';
  const storeUrl = () => url;
  const store = createSeededStore(options, storeUrl);
  const delivery = new WooWebhookDelivery(storeUrl);
  if (options.webhook) delivery.setTarget(options.webhook);
  const unsubscribe = store.onChange(({ topic, id }) => {
    if (topic.endsWith('.deleted')) return delivery.deliver(topic, id, { id });
    const payload = topic.startsWith('order.') ? store.orderJson(store.order(id), 2) : store.customerJson(store.customer(id));
    delivery.deliver(topic, id, payload);
  });
  const auth = new KeyAuthenticator(parseCredentials(options.credentials));
  const records = adminRecords(store);
  const withPing: AdminRecords = {
    ...records,
    create(type, fields) {
      const created = records.create(type, fields);
      // Creating a webhook at WooCommerce pings its delivery URL first.
      if (type === 'webhooks') delivery.ping((created as { id: number }).id);
      return created;
    },
  };

  const base = await startBaseEmulator({
    name: 'woocommerce',
    routes: wooRoutes(store),
    authenticate: (req) => auth.check(req),
    credentialOf: consumerKeyOf,
    errorBody: (status, message) => faultBody(status, message),
    latencyMs: options.latencyMs,
    port: options.port,
    admin: {
      records: withPing,
      webhooks: {
        setTarget: (input) => delivery.setTarget(input),
        describeTarget: () => delivery.sender.describeTarget(),
        state: () => delivery.sender.state(),
        deliveries: () => delivery.sender.deliveries(),
      },
      reset: () => {
        delivery.sender.clearLog();
        auth.resetNonces();
      },
    },
  });
  url = base.url;
  const stopBase = base.stop.bind(base);
  return Object.assign(base, webhookHandle(delivery.sender), {
    store,
    records: withPing,
    setWebhook: (target: unknown) => delivery.setTarget(target),
    webhookStatus: () => delivery.status(),
    async stop() {
      unsubscribe();
      await delivery.sender.stop();
      await stopBase();
    },
  });
}

startEmulator satisfies StartProviderEmulator;
