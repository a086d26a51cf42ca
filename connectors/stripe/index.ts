// The Stripe connector: Customers → Contact, Invoices → Invoice, Checkout Sessions → Order.
// Stripe has no batch read, so byIds fans out one GET per id (bounded); related customers come
// embedded through expand[] and are primed; "updated since" reads the Events API inside Stripe's
// 30-day event window and lists every record beyond it.
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import type { ContactModel, EntityType, InvoiceModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorContext, EntityLoader, ListArgs, ListPage, QueryValue } from '../sdk/types.ts';
import { expectList, fanOutByIds, fetchRemaining, isMissingParam, mapBounded, stripeGet } from './client.ts';
import {
  entityOfEvent,
  eventMapOptions,
  expectEvent,
  mapCheckoutSession,
  mapCustomer,
  mapInvoice,
  type StripeCheckoutLineItem,
  type StripeCheckoutSession,
  type StripeCustomer,
  type StripeEvent,
  type StripeInvoice,
  type StripeInvoiceLine,
} from './mappers.ts';
import { STRIPE_SIGNATURE_HEADER, STRIPE_WEBHOOK_TOLERANCE_SECONDS, stripeWebhooks } from './webhooks.ts';

export const MAX_CONCURRENCY = 10;
export const MAX_PAGE_SIZE = 100;

/**
 * Event types read for `filter.updatedSince`, per entity (Stripe allows at most 20 per call).
 * Checkout has no created/updated events: only completed/expired sessions are visible this way.
 */
export const CHANGE_EVENT_TYPES: Record<EntityType, readonly string[]> = {
  Contact: ['customer.created', 'customer.updated', 'customer.deleted'],
  Invoice: [
    'invoice.created',
    'invoice.updated',
    'invoice.deleted',
    'invoice.finalized',
    'invoice.finalization_failed',
    'invoice.paid',
    'invoice.payment_succeeded',
    'invoice.payment_failed',
    'invoice.payment_action_required',
    'invoice.marked_uncollectible',
    'invoice.voided',
    'invoice.sent',
  ],
  Order: ['checkout.session.completed', 'checkout.session.expired', 'checkout.session.async_payment_succeeded', 'checkout.session.async_payment_failed'],
};

const enc = encodeURIComponent;
const pageSize = (first: number) => Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(first)));

/** Primes each embedded (expanded) customer once per call. */
function primer(ctx: ConnectorContext) {
  const seen = new Set<string>();
  return (customer: unknown) => {
    if (customer === null || typeof customer !== 'object') return;
    const c = customer as StripeCustomer;
    if (c.object !== 'customer' || typeof c.id !== 'string' || seen.has(c.id)) return;
    seen.add(c.id);
    ctx.prime('Contact', mapCustomer(c));
  };
}

async function withAllLines(ctx: ConnectorContext, inv: StripeInvoice): Promise<StripeInvoice> {
  if (!inv.lines?.has_more) return inv;
  const data = await fetchRemaining<StripeInvoiceLine>(ctx, inv.lines, `/v1/invoices/${enc(inv.id)}/lines`, 'invoices.lines');
  return { ...inv, lines: { ...inv.lines, data, has_more: false } };
}

async function withAllLineItems(ctx: ConnectorContext, s: StripeCheckoutSession): Promise<StripeCheckoutSession> {
  if (!s.line_items?.has_more) return s;
  const data = await fetchRemaining<StripeCheckoutLineItem>(ctx, s.line_items, `/v1/checkout/sessions/${enc(s.id)}/line_items`, 'checkout.sessions.lineItems');
  return { ...s, line_items: { ...s.line_items, data, has_more: false } };
}

function page<M>(nodes: M[], data: Array<{ id?: string }>, hasMore: boolean): ListPage<M> {
  return { nodes, endCursor: data.at(-1)?.id ?? null, hasNextPage: hasMore && data.length > 0 };
}

// ---------------------------------------------------------------------------------------------
// updatedSince through the Events API
// ---------------------------------------------------------------------------------------------

/** Stripe keeps events 30 days; `/v1/events` cannot tell what changed before that. */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;
/**
 * An `updatedSince` must be this much younger than the retention edge to be read from events: room
 * for clock skew between us and Stripe and for the pages of a walk that takes a while.
 */
export const EVENT_WINDOW_MARGIN_SECONDS = 3_600;

/**
 * How a list call is answered. `events`: the change feed, for an `updatedSince` inside Stripe's event
 * window. Otherwise the plain list from `after`: without `updatedSince`, or with one older than the
 * window, where every record is listed (a superset of the changed ones) rather than silently missing
 * the changes whose events Stripe no longer has. A walk that started on events and whose
 * `updatedSince` has since left the window starts over on the plain list (its `evt_` cursor means
 * nothing there).
 */
export function listPlan(args: ListArgs, nowMs = Date.now()): { source: 'events' } | { source: 'list'; after: string | null } {
  if (!args.filter.updatedSince) return { source: 'list', after: args.after ?? null };
  const since = Date.parse(args.filter.updatedSince);
  if (Number.isNaN(since)) throw new TypeError(`filter.updatedSince is not an ISO-8601 instant: ${String(args.filter.updatedSince)}`);
  const eventCursor = !args.after || args.after.startsWith('evt_');
  const windowStartMs = nowMs - (EVENT_RETENTION_SECONDS - EVENT_WINDOW_MARGIN_SECONDS) * 1000;
  if (eventCursor && since >= windowStartMs) return { source: 'events' };
  return { source: 'list', after: eventCursor ? null : (args.after ?? null) };
}

/** listPlan for a loader call, saying in the log when an old `updatedSince` turns into a full listing. */
function planList(args: ListArgs, ctx: ConnectorContext): ReturnType<typeof listPlan> {
  const plan = listPlan(args);
  if (plan.source === 'list' && args.filter.updatedSince) {
    ctx.log.info({ updatedSince: args.filter.updatedSince }, "updatedSince is older than Stripe's 30-day event window: listing every record");
  }
  return plan;
}

/**
 * One page of `GET /v1/events?types[]=…&created[gte]=…`, newest first. Each object appears once per
 * page with its newest snapshot (an object changed several times may reappear on a later page with
 * an older snapshot). The cursor is the last event id. Only used inside the 30-day event window (listPlan).
 */
async function listChanged<M extends ContactModel | InvoiceModel | OrderModel>(
  entity: EntityType,
  args: ListArgs,
  ctx: ConnectorContext,
  map: (raw: unknown, event: StripeEvent) => Promise<M | null>,
): Promise<ListPage<M>> {
  const since = Date.parse(args.filter.updatedSince ?? '');
  const query: Record<string, QueryValue> = {
    'types[]': CHANGE_EVENT_TYPES[entity],
    'created[gte]': Math.floor(since / 1000),
    limit: pageSize(args.first),
    starting_after: args.after ?? undefined,
  };
  const list = expectList<unknown>(await stripeGet(ctx, { path: '/v1/events', query, operation: 'events.list' }), 'events.list');
  const events = list.data.map(expectEvent);
  const seen = new Set<string>();
  const latest: StripeEvent[] = [];
  for (const e of events) {
    const id = (e.data.object as { id?: unknown }).id;
    if (entityOfEvent(e) !== entity || typeof id !== 'string' || seen.has(id)) continue;
    seen.add(id);
    latest.push(e);
  }
  const mapped = await mapBounded(latest, MAX_CONCURRENCY, (e) => map(e.data.object, e));
  return page(
    mapped.filter((m): m is M => m !== null),
    events,
    list.has_more,
  );
}

const customerIdOf = (v: unknown): string | null =>
  typeof v === 'string' ? v : v !== null && typeof v === 'object' ? ((v as { id?: string }).id ?? null) : null;

// ---------------------------------------------------------------------------------------------
// Loaders
// ---------------------------------------------------------------------------------------------

const contacts: EntityLoader<ContactModel> = {
  byIds: (ids, ctx) =>
    fanOutByIds(ids, MAX_CONCURRENCY, async (id) => mapCustomer(await stripeGet(ctx, { path: `/v1/customers/${enc(id)}`, operation: 'customers.get' }))),

  async list(args, ctx) {
    const email = args.filter.email?.trim() || null;
    const plan = planList(args, ctx);
    if (plan.source === 'events') {
      return listChanged<ContactModel>('Contact', args, ctx, async (raw, event) => {
        const c = raw as StripeCustomer;
        if (email && c.email?.toLowerCase() !== email.toLowerCase()) return null;
        return mapCustomer(raw, eventMapOptions(event));
      });
    }
    // Stripe's email filter is an exact, case-sensitive match.
    const query = { limit: pageSize(args.first), starting_after: plan.after ?? undefined, email: email ?? undefined };
    const list = expectList<StripeCustomer>(await stripeGet(ctx, { path: '/v1/customers', query, operation: 'customers.list' }), 'customers.list');
    return page(
      list.data.map((c) => mapCustomer(c)),
      list.data,
      list.has_more,
    );
  },
};

const invoices: EntityLoader<InvoiceModel> = {
  byIds(ids, ctx) {
    const prime = primer(ctx);
    return fanOutByIds(ids, MAX_CONCURRENCY, async (id) => {
      const raw = await stripeGet<StripeInvoice>(ctx, { path: `/v1/invoices/${enc(id)}`, query: { 'expand[]': ['customer'] }, operation: 'invoices.get' });
      const model = mapInvoice(await withAllLines(ctx, raw));
      prime(raw.customer);
      return model;
    });
  },

  async list(args, ctx) {
    const contactId = args.filter.contactRemoteId ?? null;
    const plan = planList(args, ctx);
    if (plan.source === 'events') {
      return listChanged<InvoiceModel>('Invoice', args, ctx, async (raw, event) => {
        const inv = raw as StripeInvoice;
        if (contactId && customerIdOf(inv.customer) !== contactId) return null;
        return mapInvoice(await withAllLines(ctx, inv), eventMapOptions(event));
      });
    }
    const query = { limit: pageSize(args.first), starting_after: plan.after ?? undefined, customer: contactId ?? undefined, 'expand[]': ['data.customer'] };
    let body: unknown;
    try {
      body = await stripeGet(ctx, { path: '/v1/invoices', query, operation: 'invoices.list' });
    } catch (err) {
      // Stripe answers 400 "No such customer" for an unknown customer filter: that contact has no invoices.
      if (isMissingParam(err, 'customer')) return { nodes: [], endCursor: null, hasNextPage: false };
      throw err;
    }
    const list = expectList<StripeInvoice>(body, 'invoices.list');
    const prime = primer(ctx);
    const complete = await mapBounded(list.data, MAX_CONCURRENCY, (inv) => withAllLines(ctx, inv));
    const nodes = complete.map((inv) => {
      const model = mapInvoice(inv);
      prime(inv.customer);
      return model;
    });
    return page(nodes, list.data, list.has_more);
  },
};

const orders: EntityLoader<OrderModel> = {
  byIds(ids, ctx) {
    const prime = primer(ctx);
    return fanOutByIds(ids, MAX_CONCURRENCY, async (id) => {
      const raw = await stripeGet<StripeCheckoutSession>(ctx, {
        path: `/v1/checkout/sessions/${enc(id)}`,
        query: { 'expand[]': ['line_items', 'customer'] },
        operation: 'checkout.sessions.get',
      });
      const model = mapCheckoutSession(await withAllLineItems(ctx, raw));
      prime(raw.customer);
      return model;
    });
  },

  async list(args, ctx) {
    const contactId = args.filter.contactRemoteId ?? null;
    const email = args.filter.email?.trim() || null;
    const plan = planList(args, ctx);
    if (plan.source === 'events') {
      // Event snapshots carry no line_items: one line_items call per session on the page.
      return listChanged<OrderModel>('Order', args, ctx, async (raw, event) => {
        const s = raw as StripeCheckoutSession;
        if (contactId && customerIdOf(s.customer) !== contactId) return null;
        if (email && s.customer_details?.email?.toLowerCase() !== email.toLowerCase()) return null;
        const items = await fetchRemaining<StripeCheckoutLineItem>(ctx, null, `/v1/checkout/sessions/${enc(s.id)}/line_items`, 'checkout.sessions.lineItems');
        return mapCheckoutSession({ ...s, line_items: { object: 'list', data: items, has_more: false } }, eventMapOptions(event));
      });
    }
    const query = {
      limit: pageSize(args.first),
      starting_after: plan.after ?? undefined,
      customer: contactId ?? undefined,
      'customer_details[email]': email ?? undefined,
      'expand[]': ['data.customer', 'data.line_items'],
    };
    let body: unknown;
    try {
      body = await stripeGet(ctx, { path: '/v1/checkout/sessions', query, operation: 'checkout.sessions.list' });
    } catch (err) {
      if (isMissingParam(err, 'customer')) return { nodes: [], endCursor: null, hasNextPage: false };
      throw err;
    }
    const list = expectList<StripeCheckoutSession>(body, 'checkout.sessions.list');
    const prime = primer(ctx);
    const complete = await mapBounded(list.data, MAX_CONCURRENCY, (s) => withAllLineItems(ctx, s));
    const nodes = complete.map((s) => {
      const model = mapCheckoutSession(s);
      prime(s.customer);
      return model;
    });
    return page(nodes, list.data, list.has_more);
  },
};

export const stripe = defineConnector({
  coverage,
  manifest: {
    id: 'stripe',
    displayName: 'Stripe',
    // A secret (sk_…) or restricted (rk_…) key, sent as `Authorization: Bearer`; or Stripe Connect
    // OAuth, whose access_token is a non-expiring secret key for the connected account. Platforms
    // may instead keep their own key and set connection.settings.stripeAccount (→ Stripe-Account).
    auth: {
      oauth2: {
        authorizationUrl: 'https://connect.stripe.com/oauth/authorize',
        tokenUrl: 'https://connect.stripe.com/oauth/token',
        revocation: {
          type: 'account-deauthorize',
          url: 'https://connect.stripe.com/oauth/deauthorize',
          accountSetting: 'connectedAccountId',
          accountParam: 'stripe_user_id',
        },
        scopes: ['read_only'],
        scopeSeparator: ' ',
        // Stripe Connect OAuth has no PKCE; state still guards the callback.
        pkce: false,
        // The platform's secret key is the client secret (form field client_secret).
        clientAuth: 'client_secret_post',
        grants: ['authorization_code'],
        refreshTokenRotation: 'never',
        settingsFromTokenResponse: { connectedAccountId: 'stripe_user_id' },
      },
      apiKey: { label: 'secret API key', pattern: '^(sk|rk)_(test|live)_[A-Za-z0-9_]+$' },
    },
    defaultBaseUrl: 'https://api.stripe.com',
    maxBatchSize: { Contact: 1, Invoice: 1, Order: 1 },
    // Invoices and checkout sessions are read with expand[]=customer and the customers primed.
    costs: { embedded: ['Contact'] },
    maxConcurrency: MAX_CONCURRENCY,
    maxPageSize: MAX_PAGE_SIZE,
    entities: ['Contact', 'Invoice', 'Order'],
    // Stripe lists are newest created first, and nothing else; `updatedSince` reads the event feed
    // (newest event first, a record may repeat), which no unified order matches: sorted by the gateway.
    listOrders: {
      Contact: { orders: ['CREATED_AT_DESC'], withUpdatedSince: [] },
      Invoice: { orders: ['CREATED_AT_DESC'], withUpdatedSince: [] },
      Order: { orders: ['CREATED_AT_DESC'], withUpdatedSince: [] },
    },
    rateLimits: {
      windows: [{ requests: 100, windowMs: 1000 }],
      notes:
        'Live-mode keys; test-mode (sk_test_) keys get 25 req/s. Stripe also runs per-endpoint and concurrency limiters (429, or 400 with code rate_limit).',
    },
    // Stripe-Should-Retry: false on a 429/5xx means "do not send this again".
    retryAdviceHeader: 'stripe-should-retry',
    events: { source: 'webhooks' },
    // The timestamp travels inside Stripe-Signature (t=…), so there is no separate timestamp header.
    webhooks: { toleranceSeconds: STRIPE_WEBHOOK_TOLERANCE_SECONDS, signatureHeader: STRIPE_SIGNATURE_HEADER, timestampHeader: null },
  },
  loaders: { Contact: contacts, Invoice: invoices, Order: orders },
  webhooks: stripeWebhooks,
});
