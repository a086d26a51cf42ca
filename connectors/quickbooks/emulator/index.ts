// A QuickBooks Online look-alike for tests, benchmarks and the demo: one company (realm) with
// seeded books, the Accounting API's query endpoint with its language, limits and Fault bodies,
// reads by id, Intuit's OAuth 2.0 (authorize with realmId on the callback, Basic-authenticated
// token endpoint, refresh tokens rotating on every refresh, revocation), the per-realm request
// window answered with 429 ThrottleExceeded, and signed webhooks in either payload format.
// See ../README.md.
import {
  startEmulator as startBaseEmulator,
  type EmulatorHandle,
  type EmulatorRequest,
  type ProviderEmulatorOptions,
  type StartProviderEmulator,
} from '../../sdk/emulator.ts';
import { EmulatorAdminError, RateWindows, webhookHandle, type AdminRecords, type EmulatorWebhookHandle } from '../../sdk/emulator-kit/index.ts';
import { authenticationFault, faultBody } from './errors.ts';
import { QboOAuth } from './oauth.ts';
import { accountingRoutes } from './routes.ts';
import { DEFAULT_SEED, seedStore } from './seed.ts';
import { QboStore } from './store.ts';
import { QboWebhookDelivery, type QboDeliveryInfo, type WebhookFormat } from './webhooks.ts';

export { DEFAULT_SCALE, DEFAULT_SEED, HOME_CURRENCY, QBO_PEOPLE_OFFSET } from './seed.ts';
export { QboStore } from './store.ts';
export { COMPANY_NAME } from './routes.ts';
export type { QboDelivery, WebhookFormat } from './webhooks.ts';

/** The seeded company's id, as a sandbox company's realmId looks. */
export const EMULATOR_REALM_ID = '9341453908051427';
/** Intuit's documented throttle: 500 requests per minute per realm. */
export const REQUESTS_PER_MINUTE = 500;

export interface QboEmulatorOptions extends ProviderEmulatorOptions {
  realmId?: string;
  requestsPerMinute?: number;
  webhookFormat?: WebhookFormat;
}

export interface QboEmulatorHandle extends EmulatorHandle, EmulatorWebhookHandle<QboDeliveryInfo> {
  readonly store: QboStore;
  readonly oauth: QboOAuth;
  readonly realmId: string;
  /** Same as POST/PATCH/DELETE /__emulator/records/:type[/:id]. */
  readonly records: AdminRecords;
  /** The minorversion parameter of every Accounting API request since the last reset (null: absent). */
  minorVersions(): Array<string | null>;
  setWebhookFormat(format: WebhookFormat): void;
}

export function createSeededStore(options: Pick<QboEmulatorOptions, 'seed' | 'scale' | 'realmId'> = {}): QboStore {
  const store = new QboStore(options.realmId ?? EMULATOR_REALM_ID);
  seedStore(store, options.seed ?? DEFAULT_SEED, options.scale ?? {});
  return store;
}

/** Admin changes in QuickBooks' own terms: edit a customer, receive a payment, void or delete an invoice. */
function adminRecords(store: QboStore): AdminRecords {
  const str = (v: unknown, name: string) => {
    if (typeof v !== 'string' || v === '') throw new EmulatorAdminError(400, `${name} must be a non-empty string`);
    return v;
  };
  return {
    create(type, fields) {
      if (type !== 'payments') throw new EmulatorAdminError(404, `records of type ${type} cannot be created here (payments: {invoiceId, amount?, method?})`);
      const amount = fields.amount;
      if (amount !== undefined && (typeof amount !== 'number' || !Number.isFinite(amount))) throw new EmulatorAdminError(400, 'amount must be a number');
      return store.payInvoice(
        str(fields.invoiceId, 'invoiceId'),
        (amount as number | undefined) ?? null,
        typeof fields.method === 'string' ? fields.method : 'Check',
      );
    },
    update(type, id, fields) {
      if (type === 'customers') {
        const c = store.get('Customer', id);
        for (const k of ['DisplayName', 'GivenName', 'FamilyName', 'CompanyName'] as const) if (fields[k] !== undefined) c[k] = str(fields[k], k);
        if (fields.PrimaryEmailAddr !== undefined) c.PrimaryEmailAddr = { Address: str(fields.PrimaryEmailAddr, 'PrimaryEmailAddr') };
        if (fields.Active !== undefined) c.Active = fields.Active === true;
        store.touch('Customer', c);
        return c;
      }
      if (type === 'invoices') {
        if (fields.void === true) return store.voidInvoice(id);
        const invoice = store.get('Invoice', id);
        if (fields.CustomerMemo !== undefined) invoice.CustomerMemo = { value: str(fields.CustomerMemo, 'CustomerMemo') };
        store.touch('Invoice', invoice);
        return invoice;
      }
      throw new EmulatorAdminError(404, `unknown record type ${type} (customers, invoices)`);
    },
    delete(type, id) {
      if (type === 'invoices') return store.deleteInvoice(id);
      if (type === 'customers') {
        // QuickBooks never deletes a customer: it makes it inactive.
        const c = store.get('Customer', id);
        c.Active = false;
        store.touch('Customer', c);
        return c;
      }
      throw new EmulatorAdminError(404, `records of type ${type} cannot be deleted here`);
    },
  };
}

const bearer = (req: EmulatorRequest): string | null => /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1] ?? null;

export async function startEmulator(options: QboEmulatorOptions): Promise<QboEmulatorHandle> {
  const store = createSeededStore(options);
  const realmId = store.realmId;
  const oauth = new QboOAuth(options.oauthClients ?? [], realmId);
  const staticTokens = new Set(options.credentials);
  const delivery = new QboWebhookDelivery(options.webhookFormat ?? 'legacy');
  if (options.webhook) delivery.sender.setTarget(options.webhook);
  const unsubscribe = store.onChange((change) => delivery.deliver(realmId, change));
  const windows = new RateWindows();
  const perMinute = options.requestsPerMinute ?? (options.rateLimitPerSecond ? options.rateLimitPerSecond * 60 : REQUESTS_PER_MINUTE);
  let minorVersions: Array<string | null> = [];
  const records = adminRecords(store);

  const authenticate = (req: EmulatorRequest) => {
    if (!req.path.startsWith('/v3/company/')) return null; // the OAuth endpoints authenticate clients themselves
    minorVersions.push(req.query.get('minorversion'));
    const token = bearer(req);
    const json = { 'content-type': 'application/json;charset=UTF-8' };
    if (!token) return { status: 401, headers: json, body: authenticationFault('Malformed bearer token: no bearer token') };
    let tokenRealm: string;
    if (staticTokens.has(token)) tokenRealm = realmId;
    else {
      const issued = oauth.realmOf(token);
      if (issued === null) return { status: 401, headers: json, body: authenticationFault('Token invalid: unknown token') };
      if ('refused' in issued) return { status: 401, headers: json, body: authenticationFault(issued.refused) };
      tokenRealm = issued.realmId;
    }
    const pathRealm = req.path.split('/')[3] ?? '';
    if (pathRealm !== tokenRealm) return { status: 403, headers: json, body: faultBody(403, `the token is not authorized for company ${pathRealm}`) };
    const decision = windows.take(pathRealm, [{ name: 'realm-minute', max: perMinute, intervalMs: 60_000 }]);
    if (!decision.allowed) return { status: 429, headers: json, body: faultBody(429, 'ThrottleExceeded') };
    return null;
  };

  const base = await startBaseEmulator({
    name: 'quickbooks',
    routes: [...oauth.routes(), ...accountingRoutes(store)],
    authenticate,
    credentialOf: bearer,
    errorBody: (status, message) => faultBody(status, message),
    commonHeaders: () => ({ intuit_tid: `1-${Date.now().toString(16)}-emulator` }),
    latencyMs: options.latencyMs,
    port: options.port,
    admin: {
      records,
      webhooks: {
        setTarget: (input) => delivery.sender.setTarget(input),
        describeTarget: () => delivery.sender.describeTarget(),
        state: () => delivery.sender.state(),
        deliveries: () => delivery.sender.deliveries(),
      },
      oauth,
      reset: () => {
        windows.reset();
        delivery.sender.clearLog();
        oauth.book.resetGrants();
        minorVersions = [];
      },
    },
  });
  const stopBase = base.stop.bind(base);
  const resetRequests = base.resetRequests.bind(base);
  return Object.assign(base, webhookHandle(delivery.sender), {
    store,
    oauth,
    realmId,
    records,
    minorVersions: () => minorVersions.slice(),
    resetRequests: () => {
      resetRequests();
      minorVersions = [];
    },
    setWebhookFormat: (format: WebhookFormat) => {
      delivery.format = format;
    },
    async stop() {
      unsubscribe();
      await delivery.sender.stop();
      await stopBase();
    },
  });
}

startEmulator satisfies StartProviderEmulator;
