import type { CoverageDeclaration } from './coverage.ts';
import type { ConnectorError } from './errors.ts';
import type { ContactModel, EntityModelMap, EntityType, InvoiceModel, LineItemModel, OrderModel } from './models.ts';

// ---------------------------------------------------------------------------------------------
// Manifest: facts about a provider, as data (connectors/sdk/manifest.ts: the zod schema, and the
// types inferred from it). Validated by defineConnector() and the conformance suite.
// ---------------------------------------------------------------------------------------------

export type {
  ApiKeyMode,
  AuthModes,
  BasicMode,
  ConnectorManifest,
  CostBucketLimits,
  EventSource,
  ListOrders,
  OAuth2Mode,
  RateLimits,
  RateWindow,
  Revocation,
  TokenPlacement,
} from './manifest.ts';
import type { ConnectorManifest } from './manifest.ts';

// ---------------------------------------------------------------------------------------------
// Context handed to every connector call: all I/O goes through here.
// ---------------------------------------------------------------------------------------------

export interface ConnectionInfo {
  id: string;
  tenantId: string;
  provider: string;
  /** Where requests go: the real API, a sandbox, or an emulator. */
  baseUrl: string;
  /** Provider-specific, non-secret settings (portal id, account id, ...). */
  settings: Record<string, unknown>;
}

export type QueryValue = string | number | boolean | null | undefined | ReadonlyArray<string | number | boolean>;

export interface UpstreamRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path (and optional query string) relative to the connection's baseUrl. */
  path: string;
  /** Appended to the URL; arrays repeat the key (`expand[]=a&expand[]=b`). */
  query?: Record<string, QueryValue>;
  /** JSON body (serialized with JSON.stringify) ... */
  json?: unknown;
  /** ... or a form body (application/x-www-form-urlencoded, Stripe style). */
  form?: Record<string, QueryValue>;
  /** ... or a text body sent as-is (QuickBooks' query endpoint takes the query as `application/text`). */
  text?: { contentType: string; body: string };
  headers?: Record<string, string>;
  /** Metric label, e.g. "contacts.batchRead". Low cardinality: never an id. */
  operation: string;
  /**
   * Safe to retry. GETs are by default; a POST that only reads (HubSpot batch/read, search)
   * says so here.
   */
  idempotent?: boolean;
  /**
   * Providers that charge by query cost (manifest.rateLimits.costBucket): the points this request
   * asks for, and how to read what the answer reports. The shared budget debits `requested` before
   * sending, corrects by the report, and when the report says the provider throttled the request,
   * waits for the bucket to refill and sends it again (the connector sees the throttled answer only
   * when no refill fits before the request deadline).
   */
  cost?: RequestCost;
  /**
   * Where the socket may connect, for a host the tenant chose (WooCommerce's store URL in
   * production). The upstream layer resolves the host name when it opens the connection and hands
   * every address to this check; one refused address and nothing is sent (UPSTREAM_FORBIDDEN with
   * the check's reason). Checking the address the socket really uses is what stops a name that
   * resolves to a public address at connect time and to a private one later (DNS rebinding). Keep
   * the function a module-level constant: the layer keeps one connection pool per check.
   */
  addressCheck?: AddressCheck;
}

/** Why a resolved address must not be connected to, or null when it may. */
export type AddressCheck = (address: string) => string | null;

export interface RequestCost {
  /** Points the provider will charge at most (its requested/planned cost). */
  requested: number;
  /** What the answer reports; null when it reports nothing (error pages, bodies without cost). */
  report(response: UpstreamResponse): CostReport | null;
}

/** The cost bucket as one answer reports it (Shopify: `extensions.cost`). */
export interface CostReport {
  /** Points actually charged; null when the provider did not run the request (throttled). */
  actual: number | null;
  /** Points left in the bucket after this request, by the provider's count. */
  available?: number | null;
  /** The bucket's size and refill rate for this account (plans differ), when reported. */
  capacity?: number | null;
  restorePerSecond?: number | null;
  /** The provider refused the request for lack of points. */
  throttled: boolean;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body; null when the body was empty. */
  body: unknown;
  /** Raw text, for diagnostics. Connectors must not put it in errors verbatim. */
  text: string;
  url: string;
}

/**
 * The wrapped fetch: timeout, retries (idempotent only, jittered, honouring Retry-After, bounded
 * by the request deadline), circuit breaker per provider × connection, metrics. Answers with any
 * HTTP status (the connector maps provider error bodies); throws ConnectorError on transport
 * failure (UPSTREAM_TIMEOUT / UPSTREAM_UNAVAILABLE), on an open breaker, and on a 2xx whose body
 * is not valid JSON (UPSTREAM_BAD_RESPONSE).
 */
export type UpstreamFetch = (request: UpstreamRequest) => Promise<UpstreamResponse>;

export interface ConnectorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConnectorContext {
  fetch: UpstreamFetch;
  log: ConnectorLogger;
  signal: AbortSignal;
  connection: ConnectionInfo;
  /** The credential to present (private-app token, secret key, OAuth access token). */
  accessToken(): Promise<string>;
  /**
   * True in production, where a connector refuses what tests and the demo allow (a tenant-chosen
   * host that resolves to a private address). Absent: not production.
   */
  production?: boolean;
  /**
   * Hands over a related record that came embedded in a response (Stripe expand[], HubSpot
   * associations) so the gateway can serve it later in the request without another call.
   */
  prime<E extends EntityType>(entity: E, model: EntityModelMap[E]): void;
  /**
   * Resolves once the upstream calls of this request started so far have left for the provider
   * (past their rate budget and credential) or failed, after one macrotask turn and at most a few
   * milliseconds (a call its rate budget holds back is not waited for). Use `afterCallsLeave`
   * (scheduling.ts), which falls back to one turn where the gateway gives no such signal.
   */
  callsLeft?(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Loaders
// ---------------------------------------------------------------------------------------------

export interface ListFilter {
  /** Exact (case-insensitive) e-mail match. Contacts only. */
  email?: string | null;
  /** ISO-8601 instant: records changed at or after it. */
  updatedSince?: string | null;
  /** Records that belong to this contact (remote id in the same connection). Invoices, orders. */
  contactRemoteId?: string | null;
}

/** A sort the gateway may ask a list for (the unified `orderBy`). */
export type ListOrderField = 'CREATED_AT' | 'UPDATED_AT';
export type ListOrderDirection = 'ASC' | 'DESC';
export interface ListOrder {
  /** CREATED_AT sorts by `source.remoteCreatedAt`, UPDATED_AT by `source.remoteUpdatedAt`. */
  field: ListOrderField;
  direction: ListOrderDirection;
}
/** The name a manifest declares an order by (`manifest.listOrders`): `CREATED_AT_DESC` etc. */
export type ListOrderName = `${ListOrderField}_${ListOrderDirection}`;

export interface ListArgs {
  /** 1..manifest.maxPageSize. The connector may return fewer (then hasNextPage tells). */
  first: number;
  /** The connector's own cursor from a previous page's endCursor; opaque to the gateway. */
  after?: string | null;
  filter: ListFilter;
  /**
   * The order to list in: only one the manifest declares for this entity and filter
   * (`manifest.listOrders`); the gateway never asks for another. Absent: the connector's own order
   * (per-contact lists, the poller). A cursor continues in the order it was made with.
   */
  orderBy?: ListOrder | null;
  /**
   * Keyset start (only with `orderBy`, and only for an order the manifest lists in
   * `listOrders[entity].keyset`): the list holds only records whose order timestamp is at `from` or
   * later in the order (ASC: at or after it, DESC: at or before it), inclusive, so that a walk can
   * restart at the last key it returned instead of at an offset that shifts when records change.
   * `after` then continues this same bounded query.
   */
  keyset?: { from: string } | null;
}

export interface ListPage<M> {
  nodes: M[];
  endCursor: string | null;
  hasNextPage: boolean;
  /** Only when the provider reports it without an extra call. */
  totalCount?: number | null;
}

export interface EntityLoader<M> {
  /**
   * Same length and order as `ids`; each slot is the model or a ConnectorError (UPSTREAM_NOT_FOUND
   * for a missing id). `ids` has no duplicates and at most maxBatchSize × (whatever the gateway
   * decides) entries; the connector chunks by its own maxBatchSize.
   */
  byIds(ids: readonly string[], ctx: ConnectorContext): Promise<Array<M | ConnectorError>>;
  list(args: ListArgs, ctx: ConnectorContext): Promise<ListPage<M>>;
  /**
   * Optional: the first page of records of each of many contacts at once (Contact.invoices for a
   * page of contacts), where the provider can read them for many parents in a few calls (HubSpot: one
   * v4 association read, then batch reads). Same length and order as `contactRemoteIds`; each slot
   * a page or a ConnectorError. A page's `endCursor` must continue in `list` with the filter
   * `{ contactRemoteId }`, in the same order. Without it, the gateway calls `list` once per contact.
   */
  listForContacts?(contactRemoteIds: readonly string[], args: { first: number }, ctx: ConnectorContext): Promise<Array<ListPage<M> | ConnectorError>>;
}

/**
 * Reads a part that a connector's models leave null because it costs upstream calls of its own
 * (HubSpot line items: an association read and batch reads), for many records at once. The gateway
 * calls it only when a query selects the part, batched per connection and tick like byIds, and
 * caches the result with the record read it belongs to. `parents` are models this connector
 * returned, without duplicates (`raw` is absent for records served from the cache). Same length
 * and order as `parents`; each slot the part or a ConnectorError.
 */
export type DeferredPartLoader<M, P> = (parents: readonly M[], ctx: ConnectorContext) => Promise<Array<P | ConnectorError>>;

/** Loader of records that carry line items; `lineItems` is required when the models defer them (null). */
export interface LineItemOwnerLoader<M> extends EntityLoader<M> {
  lineItems?: DeferredPartLoader<M, LineItemModel[]>;
}

/**
 * Contact loaders may also find contacts by e-mail for many addresses in one call (HubSpot: one CRM
 * search with `IN` on `email`). `emails` are lower-case, without duplicates; the answer has the
 * same length and order, each slot the contacts whose e-mail is exactly that address (any case) or
 * a ConnectorError. Without it, the gateway reads one `list` page with `filter.email` per address
 * (Stripe `email=`, WooCommerce `email=`, QuickBooks `PrimaryEmailAddr =`, …). The identity layer
 * (Person) uses it.
 */
export interface ContactLoader extends EntityLoader<ContactModel> {
  findByEmails?(emails: readonly string[], ctx: ConnectorContext): Promise<Array<ContactModel[] | ConnectorError>>;
}

export interface ConnectorLoaders {
  Contact?: ContactLoader;
  Invoice?: LineItemOwnerLoader<InvoiceModel>;
  Order?: LineItemOwnerLoader<OrderModel>;
}

// ---------------------------------------------------------------------------------------------
// Webhooks (implemented by the event-pipeline issue; the shape is fixed here)
// ---------------------------------------------------------------------------------------------

export type Result<T, E = ConnectorError> = { ok: true; value: T } | { ok: false; error: E };

export interface WebhookVerifyInput {
  rawBody: Buffer;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** The full URL as the provider called it (scheme, host, path, query). */
  url: string;
  method: string;
  secret: string;
  now: number;
}

export interface ChangeEvent {
  /** Unique per connection for the provider's event (the dedupe key). */
  eventId: string;
  type: 'CREATED' | 'UPDATED' | 'DELETED';
  entity: EntityType;
  remoteId: string;
  occurredAt: string;
  /**
   * Orders changes of one record: a larger version is newer (provider updated-at in ms, or a
   * sequence). Null when the payload carries none; the pipeline then uses the refetched record's.
   */
  version: number | null;
  /** The full record when the payload carried it (Stripe); null when only ids came (HubSpot). */
  model: EntityModelMap[EntityType] | null;
  /**
   * The provider account the event belongs to (HubSpot portalId, Stripe Connect `account`), when
   * the payload names one: app-level webhooks (one URL for every installation) are routed by it.
   */
  account?: string | null;
}

/** A record a privacy request names: its entity and remote id in the connection. */
export interface PersonRecord {
  entity: EntityType;
  remoteId: string;
}

/**
 * A privacy request a verified delivery carries (Shopify's mandatory compliance topics): the
 * gateway acts on it for the connection's tenant (src/events/compliance.ts), never queued as a change.
 * - `redact-person`: forget one person: the named records and anything cached or logged for them;
 * - `redact-account`: forget everything cached or logged for the connection (the shop uninstalled);
 * - `data-request`: a person asked for their data: recorded for the tenant to answer.
 */
export type ComplianceEvent = (
  | { kind: 'redact-person'; records: PersonRecord[]; email: string | null }
  | { kind: 'redact-account' }
  | { kind: 'data-request'; records: PersonRecord[]; email: string | null; providerRequestId: string | null }
) & {
  /** The provider's id of this delivery (stable across its retries). */
  requestId: string;
  /** The provider account it concerns (as ChangeEvent.account): app-level URLs are routed by it. */
  account?: string | null;
};

export interface ConnectorWebhooks {
  verify(input: WebhookVerifyInput): Result<void>;
  /**
   * The privacy requests in a verified delivery (none for ordinary changes). The webhook route acts
   * on them before answering, so a failure is answered 503 and the provider delivers again.
   */
  compliance?(rawBody: Buffer, headers: Record<string, string | undefined>): Result<ComplianceEvent[]>;
  /**
   * The verified body as changes. `headers` (lower-cased names) carry what some providers put
   * outside the body: Shopify and WooCommerce send topic, event id and shop there. The gateway
   * always passes them; unit tests of providers that need only the body may leave them out.
   */
  toEvents(rawBody: Buffer, headers?: Record<string, string | undefined>): Result<ChangeEvent[]>;
  /**
   * Optional, for providers whose single-event deliveries carry the whole record (Stripe): the same
   * changes as `toEvents` (same count, order, ids, accounts and refusals of a malformed body) but
   * every `model` left null, without mapping it. The webhook route answers from these and stores
   * the body; a worker maps the model later with `toEvents(body)` (headers are not kept, so only
   * for bodies `toEvents` reads alone). Mapping is most of what the intake would spend per delivery.
   */
  toEventsWithoutModels?(rawBody: Buffer): Result<ChangeEvent[]>;
  /**
   * The connection setting that holds the account id events carry (`ChangeEvent.account`). With it,
   * the gateway also serves one app-level URL, POST /webhooks/<connector>, and routes each event to
   * the runtime connections whose setting matches (HubSpot public apps have one target URL per app).
   */
  accountSetting?: string;
  /**
   * A delivery that is part of the provider's subscription handshake and carries no change, sent
   * unsigned (WooCommerce's `webhook_id=<id>` ping when a webhook is created): the gateway answers it
   * 200 before verification and enqueues nothing, so accepting it unsigned reveals and changes nothing.
   */
  isHandshake?(rawBody: Buffer, headers: Record<string, string | undefined>): boolean;
}

// ---------------------------------------------------------------------------------------------
// Polling (manifest.events.source "polling" or "both", or a connection switched to polling): the
// gateway's poller reads `list({ filter: { updatedSince } })` of every served entity; a connector
// adds what lists cannot show.
// ---------------------------------------------------------------------------------------------

export interface DeletedRecord {
  remoteId: string;
  /** ISO-8601 instant of the deletion (the poller's cursor for deletions). */
  deletedAt: string;
}

export interface ConnectorPolling {
  /**
   * Records of `entity` deleted at or after `since` (Salesforce: queryAll with IsDeleted = true),
   * oldest first. Absent: polling sees no deletions (the connector's README says so).
   */
  deletedSince?(entity: EntityType, since: string, ctx: ConnectorContext): Promise<DeletedRecord[]>;
}

// ---------------------------------------------------------------------------------------------
// Auth hooks: what differs between providers after the OAuth exchange
// ---------------------------------------------------------------------------------------------

/** What the connect flow learnt from one authorization, before any connection is stored. */
export interface ConnectGrant {
  /** The token endpoint's whole answer (access_token, scope, provider-specific fields). */
  tokenResponse: Readonly<Record<string, unknown>>;
  /** The query the provider sent back to the callback (QuickBooks: `realmId`); empty for client credentials. */
  callbackParams: Readonly<Record<string, string>>;
  /** Settings known so far: the tenant's connect parameters and `settingsFromTokenResponse`. */
  settings: Readonly<Record<string, string>>;
}

/** One connection to create from a grant: its settings (merged over the grant's) and a label for people. */
export interface GrantedConnection {
  settings: Record<string, string>;
  label?: string;
}

/** The callback of an authorization-code grant, as the provider sent it, for the connector to check. */
export interface CallbackCheckInput {
  /** The callback's query (code, state and whatever else the provider adds and signs). */
  query: URLSearchParams;
  /** The operator's OAuth app secret (the key of callback signatures). */
  clientSecret: string;
  /** The tenant's connect parameters this authorization started with (Shopify: `shop`). */
  params: Readonly<Record<string, string>>;
  now: number;
}

/** What a tenant supplies to connect with a stored secret (API key, Basic), for the connector to check. */
export interface ConnectionParamsInput {
  settings: Readonly<Record<string, unknown>>;
  /** Production refuses what tests and the demo allow (a loopback store over plain HTTP). */
  production: boolean;
}

export interface ConnectorAuthHooks {
  /**
   * Checks the callback before the code is redeemed (Shopify: the `hmac` query signature, the shop
   * domain and the timestamp). A failure refuses the callback (400) and nothing is stored.
   */
  verifyCallback?(input: CallbackCheckInput): Result<void>;
  /**
   * Checks the connection parameters of a secret-based connection before anything is sent or
   * stored, and answers the connection's base URL when the tenant chooses it (WooCommerce: the
   * store URL, checked against internal addresses). null: the operator's or the manifest's.
   */
  connectionTarget?(input: ConnectionParamsInput): Promise<Result<{ baseUrl: string | null }>>;
  /**
   * Runs after the token exchange, with a context carrying the new token. Answers the connections
   * to create: one per provider account the grant reaches (Xero: one per organisation listed by
   * `GET /connections`), with the values the token response lacks (QuickBooks: `realmId` from the
   * callback). An empty list refuses the connection; a ConnectorError refuses it with its message.
   * Without the hook, a grant makes one connection with the grant's settings.
   */
  afterConnect?(grant: ConnectGrant, ctx: ConnectorContext): Promise<GrantedConnection[]>;
}

// ---------------------------------------------------------------------------------------------
// The connector
// ---------------------------------------------------------------------------------------------

export interface Connector {
  manifest: ConnectorManifest;
  loaders: ConnectorLoaders;
  webhooks?: ConnectorWebhooks;
  auth?: ConnectorAuthHooks;
  polling?: ConnectorPolling;
  /** Per normalized field: whether and from which provider field the connector fills it (coverage.ts). */
  coverage: CoverageDeclaration;
}
