// A Salesforce org look-alike for tests, benchmarks and the demo: the REST API's SOQL query and
// queryAll (a strict SOQL subset, query locators), sObject Collections, OAuth 2.0 web-server flow
// with PKCE, the errors array, and the org's daily API allocation reported on every answer as
// `Sforce-Limit-Info: api-usage=N/M` (spent → 403 REQUEST_LIMIT_EXCEEDED). Salesforce sends no
// signed webhooks, so neither does the emulator: the gateway polls it. See ../README.md.
import {
  startEmulator as startBaseEmulator,
  type EmulatorHandle,
  type EmulatorRequest,
  type ProviderEmulatorOptions,
  type StartProviderEmulator,
} from '../../sdk/emulator.ts';
import { EmulatorAdminError, type AdminRecords } from '../../sdk/emulator-kit/index.ts';
import { SalesforceOAuth } from './oauth.ts';
import { salesforceRoutes, sfError } from './routes.ts';
import { DEFAULT_SEED, SalesforceStore, seedStore, SCHEMAS, type SObjectName } from './store.ts';

export { DEFAULT_SCALE, DEFAULT_SEED, SalesforceStore, caseSafeSuffix, sfDateTime } from './store.ts';

/** Developer Edition's daily allocation; tests pass a small one. */
export const DEFAULT_DAILY_API_LIMIT = 15_000;

export interface SalesforceEmulatorOptions extends ProviderEmulatorOptions {
  /** The org's rolling 24 h API allocation (Sforce-Limit-Info's M). */
  dailyApiLimit?: number;
  /** Records per query batch (default 2,000). */
  queryBatchSize?: number;
}

export interface SalesforceEmulatorHandle extends EmulatorHandle {
  readonly store: SalesforceStore;
  readonly records: AdminRecords;
  readonly oauth: SalesforceOAuth;
  /** API calls counted against the day so far. */
  apiUsage(): { used: number; limit: number };
  setApiUsage(used: number): void;
}

export function createSeededStore(options: Pick<ProviderEmulatorOptions, 'seed' | 'scale'> = {}): SalesforceStore {
  const store = new SalesforceStore();
  seedStore(store, options.seed ?? DEFAULT_SEED, { contacts: options.scale?.contacts, orders: options.scale?.orders });
  return store;
}

const ADMIN_TYPES: Record<string, SObjectName> = {
  contacts: 'Contact',
  Contact: 'Contact',
  orders: 'Order',
  Order: 'Order',
  orderitems: 'OrderItem',
  OrderItem: 'OrderItem',
};
const SYSTEM_FIELDS = new Set(['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp', 'IsDeleted', 'Name', 'OrderNumber', 'TotalAmount']);

/** Admin mutations in Salesforce's field names (Contact, Order, OrderItem; lower-case plurals accepted). */
function adminRecords(store: SalesforceStore): AdminRecords {
  const typeOf = (t: string): SObjectName => {
    const type = ADMIN_TYPES[t];
    if (!type) throw new EmulatorAdminError(404, `unknown record type ${t} (Contact, Order, OrderItem)`);
    return type;
  };
  const checked = (type: SObjectName, fields: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(fields)) {
      if (!(k in SCHEMAS[type]) || SYSTEM_FIELDS.has(k)) throw new EmulatorAdminError(400, `${k} is not a writable field of ${type}`);
      if (v !== null && typeof v === 'object') throw new EmulatorAdminError(400, `${k} must be a scalar`);
    }
    return fields;
  };
  return {
    create(t, fields) {
      const type = typeOf(t);
      if (type === 'Contact' && typeof fields['LastName'] !== 'string') throw new EmulatorAdminError(400, 'Required fields are missing: [LastName]');
      if (type === 'OrderItem' && !store.find('Order', String(fields['OrderId'] ?? ''))) throw new EmulatorAdminError(400, 'OrderId must name an order');
      const r = store.insert(type, checked(type, fields));
      if (type === 'OrderItem') store.rollUp(r['OrderId'] as string);
      return store.view(type, r);
    },
    update(t, id, fields) {
      const type = typeOf(t);
      const r = store.update(type, id, checked(type, fields));
      if (!r) throw new EmulatorAdminError(404, `no ${type} ${id}`);
      return store.view(type, r);
    },
    delete(t, id) {
      const type = typeOf(t);
      const r = store.delete(type, id);
      if (!r) throw new EmulatorAdminError(404, `no ${type} ${id}`);
      return store.view(type, r);
    },
  };
}

export async function startEmulator(options: SalesforceEmulatorOptions): Promise<SalesforceEmulatorHandle> {
  let url = 'http://127.0.0.1';
  const store = createSeededStore(options);
  const oauth = new SalesforceOAuth(
    (options.oauthClients ?? []).map((c) => ({ clientId: c.clientId, clientSecret: c.clientSecret, redirectUris: c.redirectUris })),
    () => url,
  );
  const statics = new Set(options.credentials);
  const limit = options.dailyApiLimit ?? DEFAULT_DAILY_API_LIMIT;
  let used = 0;
  const isApi = (req: EmulatorRequest) => req.path.startsWith('/services/data/v');
  const bearer = (req: EmulatorRequest) => /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1] ?? null;

  const base = await startBaseEmulator({
    name: 'salesforce',
    routes: [...salesforceRoutes(store, { batchSize: options.queryBatchSize ?? 2000 }), ...oauth.routes()],
    authenticate: (req) => {
      // The versions list and OAuth endpoints need no session.
      if (!isApi(req)) return null;
      const token = bearer(req);
      if (!token || !(statics.has(token) || oauth.accepts(token))) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      // Every authenticated REST call counts against the org's rolling day; past it, 403.
      if (used >= limit)
        return { ...sfError(403, 'REQUEST_LIMIT_EXCEEDED', `TotalRequests Limit exceeded.`), headers: { 'sforce-limit-info': `api-usage=${used}/${limit}` } };
      used++;
      return null;
    },
    credentialOf: bearer,
    errorBody: (status, message) => {
      const code =
        status === 401
          ? 'INVALID_SESSION_ID'
          : status === 403
            ? 'INSUFFICIENT_ACCESS'
            : status === 404
              ? 'NOT_FOUND'
              : status >= 500
                ? 'UNKNOWN_EXCEPTION'
                : 'BAD_REQUEST';
      return [{ message, errorCode: code }];
    },
    commonHeaders: (req): Record<string, string> => (isApi(req) ? { 'sforce-limit-info': `api-usage=${used}/${limit}` } : {}),
    latencyMs: options.latencyMs,
    port: options.port,
    admin: {
      records: adminRecords(store),
      oauth: { configure: (input) => oauth.configure(input), state: () => oauth.state(), grants: () => oauth.grants() },
      reset: () => {
        used = 0;
        oauth.book.resetGrants();
      },
    },
  });
  url = base.url;
  return Object.assign(base, {
    store,
    records: adminRecords(store),
    oauth,
    apiUsage: () => ({ used, limit }),
    setApiUsage: (n: number) => {
      used = n;
    },
  });
}

startEmulator satisfies StartProviderEmulator;
