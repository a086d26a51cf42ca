// Xero's facts as data: OAuth endpoints and granular scopes, the revocation kind that fits one grant
// reaching several organisations, the API host, batch and page sizes, and the per-organisation rate
// windows (60 a minute, 5,000 a day, 5 in flight). Sources: REFERENCE.md §7 and Xero's limits page
// (see README.md, "Facts … checked").
import type { ConnectorManifest } from '../sdk/manifest.ts';
import { MAX_IDS, MAX_PAGE_SIZE, TENANT_SETTING } from './client.ts';
import { SIGNATURE_HEADER } from './webhooks.ts';

/** Connection settings the connect flow stores (all learnt from Xero, none typed by the tenant). */
export const SETTINGS = {
  tenant: TENANT_SETTING,
  connection: 'xeroConnectionId',
  authEvent: 'xeroAuthEventId',
  baseCurrency: 'baseCurrency',
  shortCode: 'shortCode',
} as const;

export const xeroManifest = {
  id: 'xero',
  displayName: 'Xero',
  auth: {
    oauth2: {
      authorizationUrl: 'https://login.xero.com/identity/connect/authorize',
      tokenUrl: 'https://identity.xero.com/connect/token',
      // DELETE /connections/{id} for this organisation; the refresh token is revoked with the last one.
      revocation: {
        type: 'remove-connection',
        removePath: '/connections/{xeroConnectionId}',
        grantSetting: SETTINGS.authEvent,
        url: 'https://identity.xero.com/connect/revocation',
      },
      // Granular scopes (required for apps created from 2 March 2026); offline_access for a refresh token.
      scopes: ['openid', 'profile', 'email', 'offline_access', 'accounting.contacts.read', 'accounting.invoices.read', 'accounting.settings.read'],
      scopeSeparator: ' ',
      pkce: true,
      clientAuth: 'client_secret_basic',
      grants: ['authorization_code'],
      refreshTokenRotation: 'always',
    },
  },
  // Paths are under the API host: /api.xro/2.0/… for the Accounting API, /connections for tenants.
  defaultBaseUrl: 'https://api.xero.com',
  maxBatchSize: { Contact: MAX_IDS, Invoice: MAX_IDS },
  maxConcurrency: 5,
  maxPageSize: MAX_PAGE_SIZE,
  entities: ['Contact', 'Invoice'],
  // order=UpdatedDateUTC ASC|DESC; contacts and invoices carry no creation time (CREATED_AT: gateway-sorted, last).
  listOrders: {
    Contact: { orders: ['UPDATED_AT_ASC', 'UPDATED_AT_DESC'], keyset: ['UPDATED_AT_ASC'] },
    Invoice: { orders: ['UPDATED_AT_ASC', 'UPDATED_AT_DESC'], keyset: ['UPDATED_AT_ASC'] },
  },
  rateLimits: {
    windows: [
      // Every answer says what is left of each (the budget plans no more than that).
      { requests: 60, windowMs: 60_000, remainingHeader: 'x-minlimit-remaining' },
      { requests: 5000, windowMs: 86_400_000, remainingHeader: 'x-daylimit-remaining' },
      // The app's own minute limit, across every organisation that connected it.
      { requests: 10_000, windowMs: 60_000, scope: 'app', remainingHeader: 'x-appminlimit-remaining' },
    ],
    concurrency: 5,
    notes:
      'Per organisation (connection): 60 calls a minute, 5,000 a day, 5 in flight (X-MinLimit-Remaining, X-DayLimit-Remaining). App-wide: 10,000 calls a minute across organisations (X-AppMinLimit-Remaining), budgeted by the app-scoped window. Each remaining count caps what its window plans from that answer on; a 429 with X-Rate-Limit-Problem: appminute is still retried after its Retry-After.',
  },
  events: { source: 'webhooks' },
  webhooks: { toleranceSeconds: null, signatureHeader: SIGNATURE_HEADER, timestampHeader: null, acknowledge: 'empty' },
} satisfies ConnectorManifest;
