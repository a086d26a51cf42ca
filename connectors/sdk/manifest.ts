// The connector manifest: facts about a provider, as data, written once as a zod schema. The
// TypeScript types are inferred from it, so the shape the gateway reads and the shape
// defineConnector() checks cannot drift apart. Every field here is read by the gateway (or, for
// the webhook headers and tolerance, by the webhook route and the conformance suite).
import { z } from 'zod';
import { ENTITY_TYPES } from './models.ts';

const entity = z.enum(ENTITY_TYPES);
const httpsTemplate = z.string().regex(/^https:\/\/\S+$/, 'an https URL (may hold {param} placeholders)');

/**
 * How access is given back at disconnect, by kind (the gateway knows kinds, never providers):
 * - `rfc7009`: POST the refresh (else access) token to a token revocation endpoint;
 * - `token-in-path`: `DELETE <url>/<refresh token>` (HubSpot's v1 refresh-token endpoint);
 * - `account-deauthorize`: POST `client_id` + the connected account (a connection setting, under
 *   `accountParam`) with the app's secret as bearer (Stripe Connect); skipped while another
 *   connection uses the same account, since it unlinks the whole account;
 * - `remove-connection`: one grant reaches several provider accounts (Xero organisations), each a
 *   connection: `DELETE <removePath>` on the connection's API base URL with its access token
 *   (`{setting}` placeholders filled from its settings) takes this account out of the grant; once no
 *   other connection made by the same grant (same `grantSetting` value) is left, the refresh token
 *   is revoked at `url` (RFC 7009);
 * - `none`.
 */
const revocationSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('rfc7009'), url: httpsTemplate }),
  z.object({ type: z.literal('token-in-path'), url: httpsTemplate }),
  z.object({ type: z.literal('account-deauthorize'), url: httpsTemplate, accountSetting: z.string().min(1), accountParam: z.string().min(1) }),
  z.object({
    type: z.literal('remove-connection'),
    removePath: z.string().regex(/^\/\S*$/, 'a path on the API host, starting with /'),
    grantSetting: z.string().min(1),
    url: httpsTemplate,
  }),
  z.object({ type: z.literal('none') }),
]);

/**
 * How a tenant connects an account through OAuth 2.0 (authorization code or client credentials).
 * The operator's app registration (client id/secret) and endpoint overrides (sandboxes, emulators)
 * come from the gateway configuration.
 */
const oauth2Schema = z.object({
  /** May hold `{param}` placeholders filled from `connectParams` (Shopify: `https://{shop}/admin/oauth/authorize`). */
  authorizationUrl: httpsTemplate,
  /** Same placeholders allowed. */
  tokenUrl: httpsTemplate,
  revocation: revocationSchema,
  /** Scopes requested by default (the operator may override them). */
  scopes: z.array(z.string().min(1)),
  /** How the provider separates scopes in the `scope` parameter. */
  scopeSeparator: z.enum([' ', ',']),
  /** Send a PKCE S256 challenge (providers that reject or ignore it say false). */
  pkce: z.boolean(),
  /** How the gateway authenticates at the token endpoint. */
  clientAuth: z.enum(['client_secret_post', 'client_secret_basic']),
  /** Grants the provider offers for data access. */
  grants: z.array(z.enum(['authorization_code', 'client_credentials'])).min(1),
  /**
   * Refresh-token rotation: 'never' (the same refresh token forever), 'optional' (the provider may
   * return a new one; the gateway always stores what it gets), 'always' (Xero: every refresh
   * rotates; QuickBooks: rotates about daily).
   */
  refreshTokenRotation: z.enum(['never', 'optional', 'always']),
  /** Values the tenant supplies to start a connection (Shopify's shop domain), checked by pattern. */
  connectParams: z
    .array(z.object({ name: z.string().regex(/^[a-z][a-zA-Z0-9_]{0,31}$/), pattern: z.string().min(1), description: z.string().min(1) }))
    .optional(),
  /** Token-response fields kept as non-secret connection settings: settings key → response field. */
  settingsFromTokenResponse: z.record(z.string(), z.string()).optional(),
  /**
   * Token-response field holding this connection's API base URL (Salesforce: `instance_url`), with
   * the host pattern it must match: the URL receives the token, so it is never taken unchecked.
   */
  baseUrlFromTokenResponse: z.object({ field: z.string().min(1), hostPattern: z.string().min(1) }).optional(),
  /** Extra fixed authorize parameters (Salesforce: `prompt=consent`). */
  authorizeParams: z.record(z.string(), z.string()).optional(),
  /** Extra fixed parameters of the code exchange (Shopify: `expiring=1` asks for an expiring token with a refresh token). */
  tokenParams: z.record(z.string(), z.string()).optional(),
  /**
   * Token-response fields OAuth 2.0 requires (RFC 6749 §5.1) that the provider leaves out, filled in
   * before the response is read, at the code exchange and at every refresh (Shopify sends no
   * `token_type`: `{ token_type: 'bearer' }`). A field the provider does send is kept as sent.
   */
  tokenResponseDefaults: z.record(z.string(), z.string()).optional(),
});

const authSchema = z
  .object({
    oauth2: oauth2Schema.optional(),
    /** A long-lived secret the tenant pastes in (private-app token, secret API key). */
    apiKey: z.object({ label: z.string().min(1), pattern: z.string().optional() }).optional(),
    /** User name + password (WooCommerce consumer key/secret), sent as HTTP Basic. */
    basic: z.object({ label: z.string().min(1) }).optional(),
    /**
     * Where the upstream layer puts the credential: header (lower case) and scheme, null for the
     * bare token (Shopify: `x-shopify-access-token`). Default `authorization: Bearer`. A connector
     * that sets the header itself (HubSpot, Stripe) keeps it; renewal on a 401 works either way.
     */
    tokenPlacement: z.object({ header: z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name'), scheme: z.string().min(1).nullable() }).optional(),
  })
  .refine((a) => a.oauth2 || a.apiKey || a.basic, 'at least one auth mode (oauth2, apiKey, basic)');

/**
 * A connection's documented allowance, enforced by the shared budget (src/upstream/rate-budget.ts)
 * across every replica: each window (HubSpot 110 per 10 s; Xero 60 per minute and 5,000 per day)
 * and the concurrency limit (Xero 5, QuickBooks 10 in flight).
 */
const rateLimitsSchema = z.object({
  /**
   * Each window applies to every request, or, with `operations`, only to requests whose
   * `operation` label starts with one of them (HubSpot CRM search: 5 per second per account).
   */
  windows: z
    .array(
      z.object({
        requests: z.number().int().positive(),
        windowMs: z.number().int().positive(),
        operations: z.array(z.string().min(1)).min(1).optional(),
        /**
         * Whose allowance the window is: each connection's own (default), or the operator's app's,
         * shared by every connection of the connector (Xero: 10,000 calls a minute across all
         * organisations). A connection's own rateLimit override never replaces an app window.
         */
        scope: z.enum(['connection', 'app']).optional(),
        /**
         * false: requests are spaced evenly (windowMs / requests apart) instead of allowing a burst
         * of `requests` at once. For limits the provider counts over every rolling window (HubSpot
         * search's 5 per second), where a burst followed by the steady rate would let up to twice
         * the limit through one rolling window. Default true.
         */
        burst: z.boolean().optional(),
        /**
         * A lower-case response header in which the provider reports the calls left in this window
         * (Xero: `x-minlimit-remaining`, `x-daylimit-remaining`, `x-appminlimit-remaining`). The
         * shared budget then plans no more than that from the answer on: calls made elsewhere (another
         * deployment of the app, a restart that lost the count) are not spent twice.
         */
        remainingHeader: z
          .string()
          .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
          .optional(),
      }),
    )
    .min(1),
  /** Requests in flight at once per connection, across replicas. */
  concurrency: z.number().int().positive().optional(),
  /**
   * A daily allocation the provider reports on its responses (Salesforce `Sforce-Limit-Info:
   * api-usage=10018/100000`): the lower-case header and a regular expression with the named groups
   * `used` and `limit`. The shared budget reads it from every answer and stops a connection before
   * it spends more than its share (connection setting `dailyAllocationShare`, default 0.5).
   */
  dailyAllocation: z
    .object({
      header: z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name'),
      pattern: z
        .string()
        .min(1)
        .refine((p) => {
          try {
            new RegExp(p);
            return /\(\?<used>/.test(p) && /\(\?<limit>/.test(p);
          } catch {
            return false;
          }
        }, 'a regular expression with the named groups (?<used>…) and (?<limit>…)'),
      /** Fraction of the limit a connection lets the reported usage reach (default 0.8); a connection may set its own. */
      share: z.number().gt(0).max(1).optional(),
    })
    .optional(),
  /**
   * A query-cost leaky bucket (Shopify GraphQL: capacity in points, restored per second), shared by
   * every replica (src/upstream/cost-bucket.ts). Requests declare their requested cost
   * (UpstreamRequest.cost) and how to read the cost each answer reports; the reported bucket
   * (size, refill rate, level) corrects the declared one, so plans with larger buckets are followed.
   */
  costBucket: z.object({ capacity: z.number().int().positive(), restorePerSecond: z.number().positive() }).optional(),
  notes: z.string().optional(),
});

/** A sort a list serves natively (connectors/sdk/types.ts ListOrder, by name). */
export const LIST_ORDER_NAMES = ['CREATED_AT_ASC', 'CREATED_AT_DESC', 'UPDATED_AT_ASC', 'UPDATED_AT_DESC'] as const;
const listOrderName = z.enum(LIST_ORDER_NAMES);
type ListOrderName = (typeof LIST_ORDER_NAMES)[number];

/** Every order, each one also startable at a sort key: a provider whose list filters and sorts on both timestamps. */
export function everyOrderByKey(): { orders: ListOrderName[]; keyset: ListOrderName[] } {
  return { orders: [...LIST_ORDER_NAMES], keyset: [...LIST_ORDER_NAMES] };
}

/**
 * The orders an entity's `list` serves natively, in the provider's own sort (Stripe: newest
 * created first only): `orders` without an `updatedSince` filter, `withUpdatedSince` with one
 * (default: the same), since some providers answer that filter from another endpoint (Stripe's
 * event feed). The gateway merges connections in the order a client asks for; a connection that
 * cannot serve it is read whole and sorted by the gateway up to a bound, else the request fails
 * naming the connection and these orders (docs/lists.md).
 */
const listOrdersSchema = z.object({
  orders: z.array(listOrderName),
  withUpdatedSince: z.array(listOrderName).optional(),
  /**
   * Orders (of those served) the list can start at a sort key (ListArgs.keyset): the gateway then
   * reads a connection's next page from the last key it returned rather than from an offset, so an
   * offset-paginated provider shifting under a walk skips nothing (docs/lists.md).
   */
  keyset: z.array(listOrderName).optional(),
});

/** Calls one kind of read costs: the same for every entity, or per entity (absent: 1). */
const callsPerEntity = z.union([z.number().int().min(1), z.partialRecord(entity, z.number().int().min(1))]);

export const manifestSchema = z.object({
  /** Lower-case, URL-safe id: used in config files, webhook URLs, metrics labels, opaque ids. */
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'lower-case letters, digits and dashes, 2-32 chars'),
  displayName: z.string().min(1),
  auth: authSchema,
  /** The real API's base URL; a connection may override it (emulator, sandbox, Prism). */
  defaultBaseUrl: z.url(),
  /** Most ids one upstream batch read may carry, per entity (1 = the provider has no batch read). */
  maxBatchSize: z.partialRecord(entity, z.number().int().min(1).max(10_000)),
  /** Upstream calls one request may have in flight on one connection (fan-out providers); the upstream layer holds the rest back. */
  maxConcurrency: z.number().int().min(1).max(100),
  /** Largest page the provider's list endpoint serves. */
  maxPageSize: z.number().int().min(1).max(10_000),
  entities: z.array(entity).min(1),
  /** Orders each entity's list serves natively (absent: none; the gateway sorts a bounded list itself). */
  listOrders: z.partialRecord(entity, listOrdersSchema).optional(),
  rateLimits: rateLimitsSchema,
  /**
   * A lower-case response header by which the provider says whether a failed request may be sent
   * again (Stripe: `stripe-should-retry`). `false` stops the upstream layer from retrying an
   * otherwise retryable status (429, 5xx); any other value changes nothing.
   */
  retryAdviceHeader: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
    .optional(),
  /**
   * Upstream calls the connector's loader methods make at most, for the gateway's cost estimate
   * (docs/configuration.md, maxUpstreamCalls). Each defaults to 1: one call per list page, per byIds
   * chunk of maxBatchSize ids, per lineItems chunk of maxBatchSize parents, per listForContacts
   * chunk of `contactsPerCall` contacts (the records it returns count as byIds reads on top), per
   * findByEmails chunk of `emailsPerCall` addresses.
   */
  costs: z
    .object({
      /** listPage and batchRead: one number for every entity, or per entity (an absent entity: 1). */
      listPage: callsPerEntity.optional(),
      batchRead: callsPerEntity.optional(),
      lineItems: z.number().int().min(1).optional(),
      listForContacts: z.number().int().min(1).optional(),
      contactsPerCall: z.number().int().min(1).optional(),
      emailLookup: z.number().int().min(1).optional(),
      emailsPerCall: z.number().int().min(1).optional(),
      /**
       * Entities whose records come embedded in this connector's answers when another record links
       * to them (Stripe: customers expanded into invoices and checkout sessions, primed into the
       * loaders): following such a link costs no call.
       */
      embedded: z.array(entity).optional(),
    })
    .optional(),
  /**
   * Where changes come from: signed webhooks (the webhook route), polling (a per-connection poller
   * with a lease and a persisted cursor, built with the Salesforce connector), or both. Both feed
   * the same queue, dedupe, ordering and dead-letter path. Absent: the connector reports no changes.
   */
  events: z
    .object({
      source: z.enum(['webhooks', 'polling', 'both']),
      /** Default poll interval of this provider's connections (the gateway's default: 60 s); a connection may set its own. */
      pollIntervalMs: z.number().int().min(1_000).optional(),
    })
    .optional(),
  /**
   * Signed webhooks: the header carrying the signature (a request without it is refused before any
   * work), the header carrying the signed timestamp (null: inside the signature header) and the
   * tolerance in seconds, either way (null: the provider signs no timestamp).
   */
  webhooks: z.object({
    signatureHeader: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
      .nullable(),
    timestampHeader: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
      .nullable(),
    toleranceSeconds: z.number().int().positive().nullable(),
    /**
     * How the webhook route acknowledges an accepted delivery: 'json' (default) answers 200 with
     * `{received, …}`; 'empty' answers 200 with no body, for providers that refuse one (Xero's
     * Intent-to-Receive check fails on a response with a body).
     */
    acknowledge: z.enum(['json', 'empty']).optional(),
  }),
});

export type ConnectorManifest = z.infer<typeof manifestSchema>;
export type AuthModes = ConnectorManifest['auth'];
export type OAuth2Mode = NonNullable<AuthModes['oauth2']>;
export type ApiKeyMode = NonNullable<AuthModes['apiKey']>;
export type BasicMode = NonNullable<AuthModes['basic']>;
export type TokenPlacement = NonNullable<AuthModes['tokenPlacement']>;
export type Revocation = OAuth2Mode['revocation'];
export type ListOrders = z.infer<typeof listOrdersSchema>;
export type RateLimits = ConnectorManifest['rateLimits'];
export type RateWindow = RateLimits['windows'][number];
export type CostBucketLimits = NonNullable<RateLimits['costBucket']>;
export type EventSource = NonNullable<ConnectorManifest['events']>['source'];
