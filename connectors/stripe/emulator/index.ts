// A Stripe API v1 look-alike for tests, benchmarks and the embedded demo: the read endpoints the
// connector uses, with Stripe's parameters, pagination, expansion, error bodies, auth and rate
// limits, over a seeded, deterministic, mutable data set. See ../README.md for what it covers.
import { randomBytes } from 'node:crypto';
import {
  startEmulator as startBaseEmulator,
  type EmulatorHandle,
  type EmulatorReply,
  type EmulatorRequest,
  type EmulatorRoute,
  type ProviderEmulatorOptions,
  type StartProviderEmulator,
} from '../../sdk/emulator.ts';
import { RateWindows, webhookHandle, type EmulatorWebhookHandle } from '../../sdk/emulator-kit/index.ts';
import { StripeApiError, apiError, invalidRequest, maskApiKey, rateLimited, resourceMissing, stripeErrorBody } from './errors.ts';
import { applyExpand } from './expand.ts';
import { PAGINATION, inRange, parseParams, validateParams, type ParamSpec, type Range, type ValidatedParams } from './params.ts';
import { RecordMutations, type RecordType } from './records.ts';
import { DEFAULT_SCALE, DEFAULT_SEED, seedStore } from './seed.ts';
import { EMULATOR_API_VERSION, StripeStore, type Json } from './store.ts';
import { customerSearchPredicate, pageToken, readPageToken } from './search.ts';
import { apiVersionError } from './versions.ts';
import { StripeEventDelivery } from './webhooks.ts';
import { StripeOAuth, type StripeOAuthOptions } from './oauth.ts';

export { StripeStore, EMULATOR_API_VERSION } from './store.ts';
export { DEFAULT_SCALE, DEFAULT_SEED, STRIPE_PEOPLE_OFFSET } from './seed.ts';
export { EmulatorAdminError, RECORD_TYPES, type RecordType } from './records.ts';
export { DEFAULT_STRIPE_CODE_TTL_SECONDS, StripeOAuth } from './oauth.ts';
export type { StripeOAuthAdminInput, StripeOAuthClient, StripeOAuthGrantRecord, StripeOAuthOptions } from './oauth.ts';
export { DEFAULT_RETRY_DELAYS_MS, signStripePayload, type WebhookDelivery } from './webhooks.ts';

export interface StripeEmulatorOptions extends ProviderEmulatorOptions {
  /** Webhook deliveries in flight at once (default 10). 1 gives strict FIFO delivery. */
  webhookConcurrency?: number;
  /** How long one delivery may take before it counts as failed (default 10 s). */
  webhookTimeoutMs?: number;
  /**
   * Stripe Connect OAuth apps served at /oauth/authorize, /oauth/token, /oauth/deauthorize (real
   * host connect.stripe.com). Access tokens they issue are accepted by the API like `credentials`.
   */
  oauth?: StripeOAuthOptions;
  /** The emulator's clock in ms (default Date.now): the seed's present, mutation times and the 30-day event window. */
  clock?: () => number;
}

export interface StripeEmulatorHandle extends EmulatorHandle, EmulatorWebhookHandle<{ eventId: string; type: string }> {
  /** The live data: mutate it through its methods (they append the matching Events, and send webhooks). */
  readonly store: StripeStore;
  /** POST /__emulator/records/:type — throws EmulatorAdminError (status 400/404) where the route answers an error. */
  createRecord(type: RecordType, fields: Json): Json;
  /** PATCH /__emulator/records/:type/:id */
  updateRecord(type: RecordType, id: string, fields: Json): Json;
  /** DELETE /__emulator/records/:type/:id */
  deleteRecord(type: RecordType, id: string): Json;
  /** Connect OAuth state: token calls (`grants()`, `successfulGrants('refresh_token')`), switches (`configure`). */
  readonly oauth: StripeOAuth;
}

/** Stripe's documented global limits: live-mode keys 100 req/s, test-mode keys 25 req/s. */
export const LIVE_RATE_LIMIT = 100;
export const TEST_RATE_LIMIT = 25;

/** Builds the seeded store without starting a server (tests of the data itself, fixtures). */
export function createSeededStore(options: Pick<StripeEmulatorOptions, 'seed' | 'scale' | 'clock'> = {}): StripeStore {
  const seed = options.seed ?? DEFAULT_SEED;
  const store = new StripeStore(seed, false, options.clock);
  seedStore(store, seed, {
    contacts: options.scale?.contacts ?? DEFAULT_SCALE.contacts,
    invoices: options.scale?.invoices ?? DEFAULT_SCALE.invoices,
    orders: options.scale?.orders ?? DEFAULT_SCALE.orders,
  });
  return store;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-cache, no-store' };

export async function startEmulator(options: StripeEmulatorOptions): Promise<StripeEmulatorHandle> {
  const store = createSeededStore(options);
  // Attached after seeding: the seed's history is in /v1/events but is never delivered.
  const sender = new StripeEventDelivery({ concurrency: options.webhookConcurrency, timeoutMs: options.webhookTimeoutMs });
  if (options.webhook) sender.webhooks.setTarget(options.webhook);
  const unsubscribe = store.onEvent((event) => sender.enqueue(event));
  const records = new RecordMutations(store);
  const credentials = new Set(options.credentials);
  const oauth = new StripeOAuth(
    options.oauth ??
      (options.oauthClients ? { clients: options.oauthClients.map((c) => ({ clientId: c.clientId, redirectUris: c.redirectUris })) } : undefined),
    credentials,
    store.livemode,
  );
  const requestIds = new WeakMap<EmulatorRequest, string>();
  const requestId = (req: EmulatorRequest): string => {
    let id = requestIds.get(req);
    if (!id) {
      id = `req_${randomBytes(10).toString('base64url').replace(/[-_]/g, '0').slice(0, 14)}`;
      requestIds.set(req, id);
    }
    return id;
  };
  // Bodies are always rendered in the one version the emulator knows (a different one is refused).
  const headersFor = (req: EmulatorRequest): Record<string, string> => ({
    'request-id': requestId(req),
    'stripe-version': EMULATOR_API_VERSION,
  });
  const fail = (err: StripeApiError, req: EmulatorRequest, extra: Record<string, string> = {}): EmulatorReply => ({
    status: err.status,
    headers: { ...JSON_HEADERS, ...headersFor(req), ...extra },
    body: JSON.stringify(stripeErrorBody(err, requestId(req), store.livemode), null, 2),
  });

  // --- rate limit: a rolling one-second window per key ------------------------------------------
  const windows = new RateWindows();
  const allow = (key: string): boolean => {
    const max = options.rateLimitPerSecond ?? (/^[rs]k_live_/.test(key) ? LIVE_RATE_LIMIT : TEST_RATE_LIMIT);
    return windows.take(key, [{ name: 'global-rate', max, intervalMs: 1000 }]).allowed;
  };

  const authenticate = (req: EmulatorRequest): EmulatorReply | null => {
    // Connect OAuth endpoints check the platform key themselves and answer OAuth-style errors.
    if (req.path.startsWith('/oauth/')) return null;
    const key = apiKeyOf(req);
    if (key === null) {
      return fail(
        new StripeApiError(
          401,
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        ),
        req,
        { 'www-authenticate': 'Basic realm="Stripe"' },
      );
    }
    const issued = credentials.has(key) ? null : oauth.checkAccessToken(key);
    if (issued && !issued.ok && issued.reason === 'expired') {
      return fail(new StripeApiError(401, `Expired API Key provided: ${maskApiKey(key)}. Application access may have been revoked.`), req, {
        'www-authenticate': 'Basic realm="Stripe"',
      });
    }
    if (!credentials.has(key) && !issued?.ok) {
      return fail(new StripeApiError(401, `Invalid API Key provided: ${maskApiKey(key)}`), req, { 'www-authenticate': 'Basic realm="Stripe"' });
    }
    if (!allow(key)) return fail(rateLimited(), req, { 'stripe-rate-limited-reason': 'global-rate' });
    const version = header(req, 'stripe-version');
    const versionRefusal = version === undefined ? null : apiVersionError(version);
    if (versionRefusal) return fail(versionRefusal, req);
    const account = header(req, 'stripe-account');
    if (account !== undefined && account !== store.accountId) {
      return fail(
        new StripeApiError(
          403,
          `The provided key '${maskApiKey(key)}' does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.`,
        ),
        req,
      );
    }
    return null;
  };

  /** Wraps a handler: parses and validates parameters, serializes like Stripe (pretty JSON). */
  const route = (path: string, operation: string, specs: Record<string, ParamSpec>, fn: (req: EmulatorRequest, p: ValidatedParams) => Json): EmulatorRoute => ({
    method: 'GET',
    path,
    operation,
    handler: (req) => {
      try {
        const params = validateParams(parseParams(req.query), specs);
        return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(fn(req, params), null, 2) };
      } catch (err) {
        if (err instanceof StripeApiError) return fail(err, req);
        throw err;
      }
    },
  });

  const list = (url: string, page: { data: unknown[]; has_more: boolean }, p: ValidatedParams): Json => {
    const body: Json = { object: 'list', data: page.data, has_more: page.has_more, url };
    applyExpand(body, p.expand, store, true);
    return body;
  };
  const one = (obj: Json, p: ValidatedParams): Json => {
    applyExpand(obj, p.expand, store, false);
    return obj;
  };
  const customerExists = (id: string) => store.customers.has(id) || store.deletedCustomers.has(id);
  const requireCustomerParam = (id: unknown) => {
    if (typeof id === 'string' && !customerExists(id)) throw resourceMissing('customer', id, 'customer', 400);
  };

  const routes: EmulatorRoute[] = [
    ...oauth.routes(),
    // --- customers ------------------------------------------------------------------------------
    route('/v1/customers', 'customers.list', { ...PAGINATION, created: 'range', email: 'string', test_clock: 'string' }, (_req, p) => {
      if (typeof p['test_clock'] === 'string') throw resourceMissing('test_clock', p['test_clock'], 'test_clock', 400);
      const all = [...store.customers.values()].filter(
        (c) => inRange(c.created, p['created'] as Range | undefined) && (p['email'] === undefined || c.email === p['email']),
      );
      const lookup = (id: string) => store.customers.get(id) ?? store.deletedCustomers.get(id);
      return list('/v1/customers', newestFirst(all, p, lookup, 'customer'), p);
    }),
    // Before /v1/customers/:id, so "search" is never taken for a customer id.
    route('/v1/customers/search', 'customers.search', { query: 'string', limit: 'integer', page: 'string', expand: 'string_array' }, (_req, p) => {
      if (p['query'] === undefined) throw invalidRequest('Missing required param: query.', 'query');
      const matches = customerSearchPredicate(p['query'] as string);
      const after = typeof p['page'] === 'string' ? readPageToken(p['page']) : null;
      const hits = [...store.customers.values()].filter(matches).sort(desc);
      const rest = after ? hits.filter((c) => desc(c, after) > 0) : hits;
      const data = rest.slice(0, p.limit).map((c) => structuredClone(c));
      const hasMore = rest.length > p.limit;
      const expandData = p.expand.filter((path) => path !== 'total_count');
      const expanded = list('/v1/customers/search', { data, has_more: hasMore }, { ...p, expand: expandData });
      const body: Json = {
        object: 'search_result',
        data: expanded['data'],
        has_more: hasMore,
        next_page: hasMore ? pageToken(data.at(-1) as Sortable) : null,
        url: '/v1/customers/search',
      };
      if (p.expand.includes('total_count')) body['total_count'] = hits.length;
      return body;
    }),
    route('/v1/customers/:id', 'customers.get', { expand: 'string_array' }, (req, p) => {
      const id = req.params['id'] ?? '';
      const view = store.customerView(id);
      if (!view) throw resourceMissing('customer', id, 'id', 404);
      return one(view, p);
    }),

    // --- invoices -------------------------------------------------------------------------------
    route(
      '/v1/invoices',
      'invoices.list',
      {
        ...PAGINATION,
        collection_method: { enum: ['charge_automatically', 'send_invoice'] },
        created: 'range',
        customer: 'string',
        customer_account: 'string',
        due_date: 'range',
        status: { enum: ['draft', 'open', 'paid', 'uncollectible', 'void'] },
        subscription: 'string',
      },
      (_req, p) => {
        requireCustomerParam(p['customer']);
        if (typeof p['subscription'] === 'string') throw resourceMissing('subscription', p['subscription'], 'subscription', 400);
        const all = [...store.invoices.values()]
          .map((r) => r.invoice)
          .filter(
            (inv) =>
              inRange(inv.created, p['created'] as Range | undefined) &&
              (p['customer'] === undefined || inv.customer === p['customer']) &&
              (p['status'] === undefined || inv.status === p['status']) &&
              (p['collection_method'] === undefined || inv.collection_method === p['collection_method']) &&
              (p['customer_account'] === undefined || inv['customer_account'] === p['customer_account']) &&
              (p['due_date'] === undefined || (inv.due_date !== null && inRange(inv.due_date, p['due_date'] as Range))),
          );
        const page = newestFirst(all, p, (id) => store.invoices.get(id)?.invoice, 'invoice');
        const data = page.data.map((inv) => store.invoiceView(store.invoices.get(inv.id) as NonNullable<ReturnType<typeof store.invoices.get>>));
        return list('/v1/invoices', { data, has_more: page.has_more }, p);
      },
    ),
    route('/v1/invoices/:id', 'invoices.get', { expand: 'string_array' }, (req, p) => {
      const id = req.params['id'] ?? '';
      const record = store.invoices.get(id);
      if (!record) throw resourceMissing('invoice', id, 'id', 404);
      return one(store.invoiceView(record), p);
    }),
    route('/v1/invoices/:id/lines', 'invoices.lines', PAGINATION, (req, p) => {
      const id = req.params['id'] ?? '';
      const record = store.invoices.get(id);
      if (!record) throw resourceMissing('invoice', id, 'id', 404);
      return list(`/v1/invoices/${id}/lines`, inOrder(record.lines, p, 'invoice line item'), p);
    }),

    // --- checkout sessions ----------------------------------------------------------------------
    route(
      '/v1/checkout/sessions',
      'checkout.sessions.list',
      {
        ...PAGINATION,
        created: 'range',
        customer: 'string',
        customer_account: 'string',
        customer_details: { hash: { email: 'string' } },
        payment_intent: 'string',
        payment_link: 'string',
        status: { enum: ['complete', 'expired', 'open'] },
        subscription: 'string',
      },
      (_req, p) => {
        requireCustomerParam(p['customer']);
        const pi = p['payment_intent'];
        if (typeof pi === 'string' && !store.paymentIntents.has(pi)) throw resourceMissing('payment_intent', pi, 'payment_intent', 400);
        if (typeof p['payment_link'] === 'string') throw resourceMissing('payment_link', p['payment_link'], 'payment_link', 400);
        if (typeof p['subscription'] === 'string') throw resourceMissing('subscription', p['subscription'], 'subscription', 400);
        const email = (p['customer_details'] as { email?: string } | undefined)?.email;
        const all = [...store.sessions.values()]
          .map((r) => r.session)
          .filter(
            (s) =>
              inRange(s.created, p['created'] as Range | undefined) &&
              (p['customer'] === undefined || s.customer === p['customer']) &&
              (p['status'] === undefined || s.status === p['status']) &&
              (pi === undefined || s.payment_intent === pi) &&
              (p['customer_account'] === undefined || s['customer_account'] === p['customer_account']) &&
              (email === undefined || s.customer_details?.email === email),
          );
        const page = newestFirst(all, p, (id) => store.sessions.get(id)?.session, 'checkout.session');
        return list('/v1/checkout/sessions', { data: page.data.map((s) => structuredClone(s)), has_more: page.has_more }, p);
      },
    ),
    route('/v1/checkout/sessions/:id', 'checkout.sessions.get', { expand: 'string_array' }, (req, p) => {
      const id = req.params['id'] ?? '';
      const record = store.sessions.get(id);
      if (!record) throw resourceMissing('checkout.session', id, 'id', 404);
      return one(store.sessionView(record), p);
    }),
    route('/v1/checkout/sessions/:id/line_items', 'checkout.sessions.lineItems', PAGINATION, (req, p) => {
      const id = req.params['id'] ?? '';
      const record = store.sessions.get(id);
      if (!record) throw resourceMissing('checkout.session', id, 'id', 404);
      return list(`/v1/checkout/sessions/${id}/line_items`, inOrder(record.items, p, 'line item'), p);
    }),

    // --- events ---------------------------------------------------------------------------------
    route('/v1/events', 'events.list', { ...PAGINATION, created: 'range', delivery_success: 'boolean', type: 'string', types: 'string_array' }, (_req, p) => {
      const type = p['type'] as string | undefined;
      const types = p['types'] as string[] | undefined;
      if (type !== undefined && types !== undefined) throw invalidRequest('You may only specify one of these parameters: type, types.', 'types');
      if (types && types.length > 20) throw invalidRequest(`You may pass at most 20 types (you passed ${types.length}).`, 'types');
      const matchType = (t: string) =>
        type !== undefined ? (type.endsWith('*') ? t.startsWith(type.slice(0, -1)) : t === type) : types ? types.includes(t) : true;
      // delivery_success: true = delivered to the endpoint; false = still pending or given up.
      // Events created while no endpoint was configured match neither.
      const success = p['delivery_success'] as boolean | undefined;
      const all = store
        .retainedEvents()
        .filter(
          (e) => matchType(e.type) && inRange(e.created, p['created'] as Range | undefined) && (success === undefined || sender.deliveredOk(e.id) === success),
        );
      const page = newestFirst(all, p, (id) => store.retainedEvent(id), 'event');
      return list('/v1/events', { data: page.data.map((e) => structuredClone(e)), has_more: page.has_more }, p);
    }),
    route('/v1/events/:id', 'events.get', { expand: 'string_array' }, (req, p) => {
      const id = req.params['id'] ?? '';
      // Stripe keeps events 30 days: an older one is gone, like one that never existed.
      const event = store.retainedEvent(id);
      if (!event) throw resourceMissing('event', id, 'id', 404);
      return one(structuredClone(event), p);
    }),
  ];

  // Anything else: authenticated first (like Stripe), then "Unrecognized request URL".
  for (const method of ['GET', 'POST', 'DELETE', 'PUT', 'PATCH']) {
    for (let depth = 1; depth <= 6; depth++) {
      routes.push({
        method,
        path: Array.from({ length: depth }, (_, i) => `/:p${i}`).join(''),
        operation: 'unrecognized',
        handler: (req) => fail(unrecognized(req), req),
      });
    }
  }

  const base = await startBaseEmulator({
    name: 'stripe',
    routes,
    // The kit's admin API: records, webhook target, OAuth switches, reset.
    admin: {
      records,
      webhooks: sender.webhooks,
      oauth,
      reset: () => {
        windows.reset();
        sender.webhooks.clearLog();
        oauth.resetGrants();
      },
    },
    authenticate,
    credentialOf: apiKeyOf,
    latencyMs: options.latencyMs,
    port: options.port,
    commonHeaders: (req) => headersFor(req),
    errorBody: (status, message, req) => {
      if (status === 404 && message.startsWith('No route for')) return stripeErrorBody(unrecognized(req), requestId(req));
      return stripeErrorBody(errorForStatus(status, req), requestId(req), store.livemode);
    },
  });
  const stopBase = base.stop.bind(base);
  const handle: StripeEmulatorHandle = Object.assign(base, webhookHandle(sender.webhooks), {
    store,
    oauth,
    async stop() {
      unsubscribe();
      await sender.webhooks.stop();
      await stopBase();
    },
    createRecord: (type: RecordType, fields: Json) => records.create(type, fields),
    updateRecord: (type: RecordType, id: string, fields: Json) => records.update(type, id, fields),
    deleteRecord: (type: RecordType, id: string) => records.delete(type, id),
  });
  return handle;
}

startEmulator satisfies StartProviderEmulator;

// ---------------------------------------------------------------------------------------------

function header(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Authorization: Bearer <key>` or Basic with the key as user name (empty password). */
function apiKeyOf(req: EmulatorRequest): string | null {
  const auth = header(req, 'authorization')?.trim();
  if (!auth) return null;
  const [scheme, value = ''] = auth.split(/\s+/, 2) as [string, string?];
  if (/^bearer$/i.test(scheme)) return value.trim() || null;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const user = decoded.split(':', 1)[0] ?? '';
    return user || null;
  }
  return null;
}

function unrecognized(req: EmulatorRequest): StripeApiError {
  return new StripeApiError(
    404,
    `Unrecognized request URL (${req.method}: ${req.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  );
}

/** Bodies for injected faults: what Stripe sends with each status. */
function errorForStatus(status: number, req: EmulatorRequest): StripeApiError {
  if (status === 429) return rateLimited();
  if (status >= 500) return new StripeApiError(status, apiError().message, { type: 'api_error' });
  if (status === 401) {
    const key = apiKeyOf(req);
    return new StripeApiError(401, key ? `Invalid API Key provided: ${maskApiKey(key)}` : 'You did not provide an API key.');
  }
  if (status === 403) {
    return new StripeApiError(403, 'The provided key does not have the required permissions for this endpoint on this account.');
  }
  if (status === 404) return new StripeApiError(404, 'No such object.', { code: 'resource_missing', param: 'id' });
  if (status === 402) return new StripeApiError(402, 'Your card was declined.', { type: 'card_error', code: 'card_declined' });
  return new StripeApiError(status, 'Invalid request.');
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

interface Sortable {
  id: string;
  created: number;
}

/** created desc, then id desc: Stripe's order for every top-level list. */
const desc = (a: Sortable, b: Sortable) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function newestFirst<T extends Sortable>(
  items: T[],
  p: ValidatedParams,
  lookup: (id: string) => Sortable | undefined,
  noun: string,
): { data: T[]; has_more: boolean } {
  const after = p.starting_after !== undefined ? lookup(p.starting_after) : undefined;
  if (p.starting_after !== undefined && !after) throw resourceMissing(noun, p.starting_after, 'starting_after', 400);
  const before = p.ending_before !== undefined ? lookup(p.ending_before) : undefined;
  if (p.ending_before !== undefined && !before) throw resourceMissing(noun, p.ending_before, 'ending_before', 400);
  if (after && before) throw invalidRequest('Received both starting_after and ending_before parameters. Please pass in only one.');
  const sorted = [...items].sort(desc);
  if (after) {
    const rest = sorted.filter((x) => desc(x, after) > 0);
    return { data: rest.slice(0, p.limit), has_more: rest.length > p.limit };
  }
  if (before) {
    const newer = sorted.filter((x) => desc(x, before) < 0);
    return { data: newer.slice(Math.max(0, newer.length - p.limit)), has_more: newer.length > p.limit };
  }
  return { data: sorted.slice(0, p.limit), has_more: sorted.length > p.limit };
}

/** Sub-lists (invoice lines, checkout line items) keep their own order. */
function inOrder<T extends { id: string }>(items: T[], p: ValidatedParams, noun: string): { data: T[]; has_more: boolean } {
  const index = (id: string, param: string) => {
    const i = items.findIndex((x) => x.id === id);
    if (i < 0) throw resourceMissing(noun, id, param, 400);
    return i;
  };
  const a = p.starting_after !== undefined ? index(p.starting_after, 'starting_after') : undefined;
  const b = p.ending_before !== undefined ? index(p.ending_before, 'ending_before') : undefined;
  if (a !== undefined && b !== undefined) throw invalidRequest('Received both starting_after and ending_before parameters. Please pass in only one.');
  const copy = (xs: T[]) => xs.map((x) => structuredClone(x));
  if (a !== undefined) {
    const rest = items.slice(a + 1);
    return { data: copy(rest.slice(0, p.limit)), has_more: rest.length > p.limit };
  }
  if (b !== undefined) {
    const head = items.slice(0, b);
    return { data: copy(head.slice(Math.max(0, head.length - p.limit))), has_more: head.length > p.limit };
  }
  return { data: copy(items.slice(0, p.limit)), has_more: items.length > p.limit };
}
