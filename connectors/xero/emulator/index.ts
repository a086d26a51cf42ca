// A Xero look-alike for tests, benchmarks and the demo: the Accounting API's Contacts, Invoices and
// Organisation routes for two seeded organisations, Xero Identity (authorize, token with PKCE and
// rotating refresh tokens, revocation) and the /connections tenant list, per-organisation minute
// and day windows plus the app's minute window with Xero's headers, and signed webhook delivery
// with the Intent-to-Receive check. Checked against Xero's official OpenAPI spec (Ajv) and the
// official xero-node SDK (see ../README.md).
import {
  startEmulator as startBaseEmulator,
  type EmulatorHandle,
  type EmulatorReply,
  type EmulatorRequest,
  type ProviderEmulatorOptions,
  type StartProviderEmulator,
} from '../../sdk/emulator.ts';
import { EmulatorAdminError, webhookHandle, type AdminRecords, type EmulatorWebhookHandle } from '../../sdk/emulator-kit/index.ts';
import { XeroOAuth, forbidden, unauthorized } from './oauth.ts';
import { API, XERO_LIMITS, XeroRateLimits, accountingRoutes, notFound, type XeroLimits } from './routes.ts';
import { DEFAULT_SEED, seedStore } from './seed.ts';
import { XeroStore, type ContactRecord, type InvoiceRecord, type OrgRecord } from './store.ts';
import { XeroWebhookDelivery, type IntentCheck, type XeroDeliveryInfo } from './webhooks.ts';

export { DEFAULT_SCALE, DEFAULT_SEED, SEED_ORGS, XERO_PEOPLE_OFFSETS } from './seed.ts';
export { XeroStore, toXeroJson } from './store.ts';
export { NOT_FOUND_TEXT, XERO_LIMITS } from './routes.ts';
export { EMULATOR_USER_ID } from './oauth.ts';

export interface XeroEmulatorOptions extends ProviderEmulatorOptions {
  /** Overrides of Xero's per-organisation and app-wide limits (tests). */
  limits?: Partial<XeroLimits>;
}

export interface XeroEmulatorHandle extends EmulatorHandle, EmulatorWebhookHandle<XeroDeliveryInfo> {
  readonly store: XeroStore;
  readonly oauth: XeroOAuth;
  readonly records: AdminRecords;
  /** The seeded organisations' tenant ids, in seed order. */
  tenantIds(): string[];
  /** Runs Xero's Intent-to-Receive check against `url` with `key` (POST /__emulator/intent-to-receive). */
  intentToReceive(url: string, key: string): Promise<IntentCheck>;
}

/** Builds the seeded store without a server (tests that need the seeded ids). */
export function createSeededStore(options: Pick<ProviderEmulatorOptions, 'seed' | 'scale'> = {}): XeroStore {
  const store = new XeroStore();
  seedStore(store, options.seed ?? DEFAULT_SEED, { contacts: options.scale?.contacts, invoices: options.scale?.invoices });
  return store;
}

const bearer = (req: EmulatorRequest): string | null => /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1] ?? null;
const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v === '') throw new EmulatorAdminError(400, `${name} must be a non-empty string`);
  return v;
};

/** Admin mutations in Xero's field names: contacts (Name, FirstName, LastName, EmailAddress), invoices (pay, Status). */
function adminRecords(store: XeroStore): AdminRecords {
  const find = <T>(type: string, id: string, pick: (org: OrgRecord) => Map<string, T>): { org: OrgRecord; record: T } => {
    for (const org of store.orgs.values()) {
      const record = pick(org).get(id.toLowerCase());
      if (record) return { org, record };
    }
    throw new EmulatorAdminError(404, `no ${type} ${id}`);
  };
  const known = (type: string) => {
    if (type !== 'contacts' && type !== 'invoices') throw new EmulatorAdminError(404, `unknown record type ${type} (contacts, invoices)`);
  };
  const CONTACT_FIELDS = ['Name', 'FirstName', 'LastName', 'EmailAddress'] as const;
  return {
    create(type, fields) {
      known(type);
      if (type !== 'contacts') throw new EmulatorAdminError(400, 'invoices are created in Xero by a user; pay or void a seeded one instead');
      const tenantId = typeof fields['tenantId'] === 'string' ? fields['tenantId'] : [...store.orgs.keys()][0]!;
      const org = store.org(tenantId);
      const c = store.addContact(org, {
        ContactStatus: 'ACTIVE',
        Name: str(fields['Name'], 'Name'),
        ...(typeof fields['FirstName'] === 'string' ? { FirstName: fields['FirstName'] } : {}),
        ...(typeof fields['LastName'] === 'string' ? { LastName: fields['LastName'] } : {}),
        ...(typeof fields['EmailAddress'] === 'string' ? { EmailAddress: fields['EmailAddress'] } : {}),
        Addresses: [],
        Phones: [],
        IsSupplier: false,
        IsCustomer: true,
        updatedMs: store.now(),
      });
      return store.contactJson(c);
    },
    update(type, id, fields) {
      known(type);
      if (type === 'contacts') {
        const { org, record } = find<ContactRecord>(type, id, (o) => o.contacts);
        for (const k of Object.keys(fields))
          if (!(CONTACT_FIELDS as readonly string[]).includes(k))
            throw new EmulatorAdminError(400, `unknown contact field ${k} (${CONTACT_FIELDS.join(', ')})`);
        for (const k of CONTACT_FIELDS) if (fields[k] !== undefined) record[k] = str(fields[k], k);
        store.touchContact(org, record);
        return store.contactJson(record);
      }
      const { org, record } = find<InvoiceRecord>(type, id, (o) => o.invoices);
      if (fields['pay'] !== undefined) {
        store.pay(org, record, str(fields['pay'], 'pay'));
      } else if (fields['Status'] !== undefined) {
        const status = str(fields['Status'], 'Status');
        if (!['DRAFT', 'SUBMITTED', 'AUTHORISED', 'VOIDED'].includes(status))
          throw new EmulatorAdminError(400, 'Status must be DRAFT, SUBMITTED, AUTHORISED or VOIDED (PAID comes from payments)');
        store.setInvoiceStatus(org, record, status as InvoiceRecord['Status']);
      } else throw new EmulatorAdminError(400, 'invoice changes: {"pay": "<amount>"} or {"Status": "…"}');
      return store.invoiceJson(org, record, true);
    },
    delete(type, id) {
      known(type);
      if (type === 'contacts') {
        // Xero never deletes a contact: it archives it.
        const { org, record } = find<ContactRecord>(type, id, (o) => o.contacts);
        record.ContactStatus = 'ARCHIVED';
        store.touchContact(org, record);
        return store.contactJson(record);
      }
      const { org, record } = find<InvoiceRecord>(type, id, (o) => o.invoices);
      store.setInvoiceStatus(org, record, record.Status === 'DRAFT' || record.Status === 'SUBMITTED' ? 'DELETED' : 'VOIDED');
      return store.invoiceJson(org, record, true);
    },
  };
}

export async function startEmulator(options: XeroEmulatorOptions): Promise<XeroEmulatorHandle> {
  let url = 'http://127.0.0.1';
  const store = createSeededStore(options);
  const oauth = new XeroOAuth(
    (options.oauthClients ?? []).map((c) => ({ clientId: c.clientId, clientSecret: c.clientSecret, redirectUris: c.redirectUris })),
    store,
  );
  const perMinute = options.rateLimitPerSecond !== undefined ? options.rateLimitPerSecond * 60 : undefined;
  const limits = new XeroRateLimits({ ...XERO_LIMITS, ...(perMinute !== undefined ? { perMinute } : {}), ...options.limits });
  const credentials = new Set(options.credentials);
  const delivery = new XeroWebhookDelivery(() => url);
  if (options.webhook) delivery.sender.setTarget(options.webhook);
  const unsubscribe = store.onChange((c) => delivery.deliver(c));

  /** Static credentials (a Custom Connection's token, the tests') reach every organisation. */
  const tenantsOf = (token: string): Set<string> | null => (credentials.has(token) ? new Set(store.orgs.keys()) : oauth.tenantsOf(token));

  const orgOf = (req: EmulatorRequest): OrgRecord | EmulatorReply => {
    const tenants = tenantsOf(bearer(req) ?? '');
    if (!tenants) return unauthorized();
    const header = req.headers['xero-tenant-id'];
    const tenantId = typeof header === 'string' ? header.trim().toLowerCase() : '';
    const org = tenantId ? store.orgs.get(tenantId) : undefined;
    if (!org || !tenants.has(org.tenantId)) return forbidden();
    const decision = limits.take(org.tenantId);
    if (!decision.ok)
      return { status: 429, headers: { 'retry-after': String(decision.retryAfterSeconds), 'x-rate-limit-problem': decision.problem }, body: '' };
    return org;
  };

  const records = adminRecords(store);
  const base = await startBaseEmulator({
    name: 'xero',
    routes: [...oauth.routes(), ...accountingRoutes(store, orgOf)],
    authenticate: (req) => (req.path.startsWith(`${API}/`) && !tenantsOf(bearer(req) ?? '') ? unauthorized() : null),
    credentialOf: (req) => bearer(req),
    errorBody: (status, message) =>
      status === 404
        ? notFound().body
        : status === 429
          ? ''
          : status === 401
            ? unauthorized().body
            : status === 403
              ? forbidden().body
              : { Title: status >= 500 ? 'An error occurred' : 'Bad request', Detail: message, Status: status },
    commonHeaders: (req) => {
      if (!req.path.startsWith(`${API}/`)) return {};
      const header = req.headers['xero-tenant-id'];
      const tenantId = typeof header === 'string' && store.orgs.has(header.trim().toLowerCase()) ? header.trim().toLowerCase() : null;
      return limits.headers(tenantId);
    },
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
      oauth: {
        configure: (input) => oauth.book.configure(input),
        state: () => ({ ...oauth.book.state(), connections: oauth.connections.size }),
        grants: () => oauth.book.grants(),
      },
      reset: () => {
        delivery.sender.clearLog();
        limits.windows.reset();
        oauth.book.resetGrants();
      },
    },
  });
  url = base.url;
  const stopBase = base.stop.bind(base);
  return Object.assign(base, webhookHandle(delivery.sender), {
    store,
    oauth,
    records,
    tenantIds: () => [...store.orgs.keys()],
    intentToReceive: (target: string, key: string) => delivery.intentToReceive(target, key),
    async stop() {
      unsubscribe();
      await delivery.sender.stop();
      await stopBase();
    },
  });
}

startEmulator satisfies StartProviderEmulator;
