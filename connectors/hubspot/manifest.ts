// HubSpot provider facts as data. Sources: providers/REFERENCE.md §1 and the official OpenAPI
// specs (security schemes, servers); see README.md for what is UNCONFIRMED.
import type { ConnectorManifest } from '../sdk/types.ts';
import { everyOrderByKey } from '../sdk/manifest.ts';

/** Record pages in HubSpot's web app; `{portalId}` comes from the connection's settings. */
export const REMOTE_URL_TEMPLATES = {
  Contact: 'https://app.hubspot.com/contacts/{portalId}/record/0-1/{id}',
  // Object type ids 0-53 (invoices) and 0-123 (orders) are UNCONFIRMED.
  Invoice: 'https://app.hubspot.com/contacts/{portalId}/record/0-53/{id}',
  Order: 'https://app.hubspot.com/contacts/{portalId}/record/0-123/{id}',
} as const;

export const HUBSPOT_BATCH_READ_MAX = 100;
export const HUBSPOT_ASSOCIATIONS_BATCH_READ_MAX = 1000;
export const HUBSPOT_PAGE_MAX = 100;
/** Search answers up to 200 records per page. */
export const HUBSPOT_SEARCH_PAGE_MAX = 200;
/** Addresses per `IN` filter of an e-mail lookup: our bound, so one page of 200 usually holds every match. */
export const HUBSPOT_EMAILS_PER_SEARCH = 100;
/** The operation labels of CRM search requests (client.ts: `<type>.search`), budgeted by their own window. */
export const HUBSPOT_SEARCH_OPERATIONS = ['contacts.search', 'invoices.search', 'orders.search', 'line_items.search'];
/** How far X-HubSpot-Request-Timestamp may be from now, either way ("older than 5 minutes" is rejected). */
export const HUBSPOT_WEBHOOK_TOLERANCE_SECONDS = 300;

export const hubspotManifest = {
  id: 'hubspot',
  displayName: 'HubSpot',
  auth: {
    oauth2: {
      authorizationUrl: 'https://app.hubspot.com/oauth/authorize',
      // The date-versioned token endpoint; the legacy /oauth/v1/token is deprecated (sunset 2027-02-16).
      tokenUrl: 'https://api.hubapi.com/oauth/2026-03/token',
      // RFC 7009 revocation on the date-versioned API; it replaces v1's DELETE /refresh-tokens/{token} (sunset 2027-02-16).
      revocation: { type: 'rfc7009', url: 'https://api.hubapi.com/oauth/2026-03/token/revoke' },
      scopes: ['crm.objects.contacts.read', 'crm.objects.invoices.read', 'crm.objects.orders.read', 'crm.objects.line_items.read'],
      scopeSeparator: ' ',
      pkce: true,
      clientAuth: 'client_secret_post',
      grants: ['authorization_code', 'client_credentials'],
      // v1 never rotates; whether 2026-03 does is unconfirmed (its response carries a refresh_token).
      refreshTokenRotation: 'optional',
      settingsFromTokenResponse: { portalId: 'hub_id' },
    },
    apiKey: { label: 'private app access token' },
  },
  defaultBaseUrl: 'https://api.hubapi.com',
  maxBatchSize: { Contact: HUBSPOT_BATCH_READ_MAX, Invoice: HUBSPOT_BATCH_READ_MAX, Order: HUBSPOT_BATCH_READ_MAX },
  maxConcurrency: 4,
  maxPageSize: HUBSPOT_PAGE_MAX,
  entities: ['Contact', 'Invoice', 'Order'],
  // CRM search sorts by createdate/hs_createdate and (hs_)lastmodifieddate either way (5 requests/s,
  // 10,000 results per query). Keyset: a GTE/LTE filter on the sort property starts a query at a
  // key (docs/lists.md).
  listOrders: {
    Contact: everyOrderByKey(),
    Invoice: everyOrderByKey(),
    Order: everyOrderByKey(),
  },
  // For the gateway's cost estimate: an invoice/order search page also reads its contact links (2;
  // a contact page is the search alone); contact byIds is one batch read (1), invoice/order byIds
  // reads records and links in parallel (2); line items: one association read and batch
  // reads of 100 (≤ 4 for 100 parents at up to 3 items each); listForContacts: one association read
  // per 1000 contacts, then the records as byIds reads them (batchRead); findByEmails: one search
  // with `IN` per 100 addresses (a second page only when they match more than 200 contacts).
  costs: {
    listPage: { Contact: 1, Invoice: 2, Order: 2 },
    batchRead: { Contact: 1, Invoice: 2, Order: 2 },
    lineItems: 4,
    listForContacts: 1,
    contactsPerCall: HUBSPOT_ASSOCIATIONS_BATCH_READ_MAX,
    emailLookup: 1,
    emailsPerCall: HUBSPOT_EMAILS_PER_SEARCH,
  },
  rateLimits: {
    // CRM search has its own 5 per second per account (no rate-limit headers): a window of its own.
    windows: [
      { requests: 190, windowMs: 10_000 },
      // Spaced evenly: HubSpot counts it over every rolling second, so a burst of 5 then the steady
      // rate would let up to 9 through one second (429s, seen once sorted lists went through search).
      { requests: 5, windowMs: 1_000, operations: HUBSPOT_SEARCH_OPERATIONS, burst: false },
    ],
    notes:
      'Private apps (Professional/Enterprise): 190 per 10 s per app, plus a daily cap per account; public OAuth apps: 110 per 10 s per installing account. CRM search is exempt from the 10 s limit but limited to 5 requests per second per account and returns no rate-limit headers.',
  },
  events: { source: 'webhooks' },
  webhooks: {
    toleranceSeconds: HUBSPOT_WEBHOOK_TOLERANCE_SECONDS,
    signatureHeader: 'x-hubspot-signature-v3',
    timestampHeader: 'x-hubspot-request-timestamp',
  },
} satisfies ConnectorManifest;
