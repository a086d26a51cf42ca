import type { ConnectorError } from './errors.ts';
import type { ContactModel, EntityModelMap, EntityType, InvoiceModel, LineItemModel, OrderModel } from './models.ts';

// ---------------------------------------------------------------------------------------------
// Manifest: facts about a provider, as data. Validated by defineConnector() and the conformance suite.
// ---------------------------------------------------------------------------------------------

/**
 * How a tenant connects an account of this provider through the OAuth 2.0 authorization-code flow
 * (or client credentials). Facts about the provider, as data: the gateway's connect flow, token
 * manager and disconnect read them; the operator's app registration (client id/secret) and any
 * endpoint overrides (sandboxes, emulators) come from the gateway configuration.
 */
export interface OAuth2Mode {
  /** May hold `{param}` placeholders filled from `connectParams` (Shopify: `https://{shop}/admin/oauth/authorize`). */
  authorizationUrl: string;
  /** Same placeholders allowed. */
  tokenUrl: string;
  /** How access is given back at disconnect. */
  revocation: { type: 'rfc7009'; url: string } | { type: 'hubspot-refresh-token'; url: string } | { type: 'stripe-deauthorize'; url: string } | { type: 'none' };
  /** Scopes requested by default (the operator may override them). */
  scopes: string[];
  /** How the provider separates scopes in the `scope` parameter. */
  scopeSeparator: ' ' | ',';
  /** Send a PKCE S256 challenge (providers that reject or ignore it say false). */
  pkce: boolean;
  /** How the gateway authenticates at the token endpoint. */
  clientAuth: 'client_secret_post' | 'client_secret_basic';
  /** Grants the provider offers for data access. */
  grants: Array<'authorization_code' | 'client_credentials'>;
  /**
   * Refresh-token rotation: 'never' (the same refresh token forever), 'optional' (the provider may
   * return a new one; the gateway always stores what it gets), 'always' (Xero: every refresh
   * rotates; QuickBooks: rotates about daily).
   */
  refreshTokenRotation: 'never' | 'optional' | 'always';
  /** Values the tenant supplies to start a connection (Shopify's shop domain), checked by pattern. */
  connectParams?: Array<{ name: string; pattern: string; description: string }>;
  /** Token-response fields kept as non-secret connection settings: settings key → response field. */
  settingsFromTokenResponse?: Record<string, string>;
  /**
   * Token-response field holding this connection's API base URL (Salesforce: `instance_url`), with
   * the host pattern it must match: the URL receives the token, so it is never taken unchecked.
   */
  baseUrlFromTokenResponse?: { field: string; hostPattern: string };
  /** Extra fixed authorize parameters (Salesforce: `prompt=consent`). */
  authorizeParams?: Record<string, string>;
}

/** A long-lived secret the tenant pastes in (private-app token, secret API key), sent as a bearer token. */
export interface ApiKeyMode {
  /** What the provider calls it, for error messages and docs ("private app access token"). */
  label: string;
  /** A pattern the key must match before it is tried against the provider. */
  pattern?: string;
}

/** User name + password (WooCommerce consumer key/secret), sent as HTTP Basic. */
export interface BasicMode {
  label: string;
}

/** Every way a connection to this provider can authenticate; at least one is present. */
export interface AuthModes {
  oauth2?: OAuth2Mode;
  apiKey?: ApiKeyMode;
  basic?: BasicMode;
}

export type WebhookSignatureScheme =
  | 'hubspot-v3'
  | 'stripe-v1'
  | 'shopify-hmac'
  | 'woocommerce-hmac'
  | 'quickbooks-hmac'
  | 'xero-hmac'
  | 'none';

export interface ConnectorManifest {
  /** Lower-case, URL-safe id: used in config files, webhook URLs, metrics labels, opaque ids. */
  id: string;
  displayName: string;
  auth: AuthModes;
  /** The real API's base URL; a connection may override it (emulator, sandbox, Prism). */
  defaultBaseUrl: string;
  /** Most ids one upstream batch read may carry, per entity (1 = the provider has no batch read). */
  maxBatchSize: Partial<Record<EntityType, number>>;
  /** Parallel upstream calls a single byIds() may have in flight (fan-out providers). */
  maxConcurrency: number;
  /** Largest page the provider's list endpoint serves. */
  maxPageSize: number;
  entities: EntityType[];
  rateLimits: {
    /** Requests allowed per window per connection, as documented. */
    requests: number;
    windowMs: number;
    notes?: string;
  };
  webhooks: {
    scheme: WebhookSignatureScheme;
    /** Seconds a signed timestamp may be away from now, in either direction. */
    toleranceSeconds: number | null;
    signatureHeader: string | null;
    timestampHeader: string | null;
  };
  /** Base URL pattern for a record in the provider's web app; {id} and connection settings fill it. */
  remoteUrlTemplate?: Partial<Record<EntityType, string>>;
}

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
  headers?: Record<string, string>;
  /** Metric label, e.g. "contacts.batchRead". Low cardinality: never an id. */
  operation: string;
  /**
   * Safe to retry. GETs are by default; a POST that only reads (HubSpot batch/read, search)
   * says so here.
   */
  idempotent?: boolean;
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
   * Hands over a related record that came embedded in a response (Stripe expand[], HubSpot
   * associations) so the gateway can serve it later in the request without another call.
   */
  prime<E extends EntityType>(entity: E, model: EntityModelMap[E]): void;
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

export interface ListArgs {
  /** 1..manifest.maxPageSize. The connector may return fewer (then hasNextPage tells). */
  first: number;
  /** The connector's own cursor from a previous page's endCursor; opaque to the gateway. */
  after?: string | null;
  filter: ListFilter;
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

export interface ConnectorLoaders {
  Contact?: EntityLoader<ContactModel>;
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

export interface ConnectorWebhooks {
  verify(input: WebhookVerifyInput): Result<void>;
  toEvents(rawBody: Buffer): Result<ChangeEvent[]>;
  /**
   * The connection setting that holds the account id events carry (`ChangeEvent.account`). With it,
   * the gateway also serves one app-level URL, POST /webhooks/<connector>, and routes each event to
   * the runtime connections whose setting matches (HubSpot public apps have one target URL per app).
   */
  accountSetting?: string;
}

// ---------------------------------------------------------------------------------------------
// The connector
// ---------------------------------------------------------------------------------------------

export interface Connector {
  manifest: ConnectorManifest;
  loaders: ConnectorLoaders;
  webhooks?: ConnectorWebhooks;
}
