// QuickBooks Online's facts as data (REFERENCE.md §5; the README's "Facts" table says which were
// confirmed where). Checked by defineConnector() in ./index.ts.
import type { ConnectorManifest } from '../sdk/types.ts';
import { MAX_RESULTS } from './client.ts';
import { SIGNATURE_HEADER } from './webhooks.ts';
import { everyOrderByKey } from '../sdk/manifest.ts';

export const SCOPE_ACCOUNTING = 'com.intuit.quickbooks.accounting';

export const manifest: ConnectorManifest = {
  id: 'quickbooks',
  displayName: 'QuickBooks Online',
  auth: {
    oauth2: {
      authorizationUrl: 'https://appcenter.intuit.com/connect/oauth2',
      tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
      // Listed as revocation_endpoint in Intuit's discovery document; takes the refresh token and ends the grant.
      revocation: { type: 'rfc7009', url: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke' },
      // There is no read-only accounting scope.
      scopes: [SCOPE_ACCOUNTING],
      scopeSeparator: ' ',
      // Intuit documents no PKCE for its authorization server; the app is a confidential client.
      pkce: false,
      // intuit-oauth authenticates with HTTP Basic (client id : secret).
      clientAuth: 'client_secret_basic',
      grants: ['authorization_code'],
      // A refresh may answer a new refresh token (about daily in production; on every refresh in the emulator).
      refreshTokenRotation: 'always',
    },
  },
  defaultBaseUrl: 'https://quickbooks.api.intuit.com',
  // One query per 1000 ids (MAXRESULTS ≤ 1000).
  maxBatchSize: { Contact: MAX_RESULTS, Invoice: MAX_RESULTS, Order: MAX_RESULTS },
  // A page or batch of invoices takes a second query for the Payments linked to them (customers and
  // sales receipts: the one query).
  costs: { listPage: { Invoice: 2 }, batchRead: { Invoice: 2 } },
  maxConcurrency: 4,
  maxPageSize: MAX_RESULTS,
  entities: ['Contact', 'Invoice', 'Order'],
  // The query language's ORDERBY MetaData.CreateTime | MetaData.LastUpdatedTime [DESC].
  listOrders: {
    Contact: everyOrderByKey(),
    Invoice: everyOrderByKey(),
    Order: everyOrderByKey(),
  },
  rateLimits: {
    windows: [{ requests: 500, windowMs: 60_000 }],
    concurrency: 10,
    notes:
      'Per company (realm): 500 requests per minute and 10 concurrent requests per realm and app (429 ThrottleExceeded, no rate headers, "wait 60 seconds"); the batch endpoint (not used) has its own 40 per minute.',
  },
  events: { source: 'webhooks' },
  webhooks: { signatureHeader: SIGNATURE_HEADER, timestampHeader: null, toleranceSeconds: null },
};
