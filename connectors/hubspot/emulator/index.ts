// HubSpot CRM emulator: the v3 objects API (list, get, batch read, search) for contacts, invoices,
// orders and line items, the v4 associations batch read and the OAuth endpoints, answering with
// HubSpot's shapes, status codes, error bodies and rate limits from a seeded, deterministic
// portal. Admin mutations are delivered as signed, batched HubSpot webhooks. This file only wires
// the parts (one file per concern) onto the emulator kit in connectors/sdk.
import { startEmulator as startBaseEmulator, type EmulatorHandle, type ProviderEmulatorOptions, type StartProviderEmulator } from '../../sdk/emulator.ts';
import { webhookHandle, type EmulatorWebhookHandle } from '../../sdk/emulator-kit/index.ts';
import { bearerToken, HubSpotAuth } from './auth.ts';
import { errorBodyFor } from './errors.ts';
import { HubSpotOAuth, type HubSpotOAuthOptions } from './oauth.ts';
import {
  DEFAULT_DAILY_LIMIT,
  DEFAULT_OAUTH_APP_RATE_LIMIT,
  DEFAULT_PRIVATE_APP_RATE_LIMIT,
  DEFAULT_SEARCH_RATE_LIMIT,
  HubSpotRateLimits,
  type RateWindowOption,
} from './rate-limits.ts';
import { hubspotMutations, recordsAdmin, type HubSpotMutations } from './records.ts';
import { associationRoutes } from './routes-associations.ts';
import { objectRoutes } from './routes-objects.ts';
import { searchRoutes } from './routes-search.ts';
import { seedStore } from './seed.ts';
import type { HubSpotStore } from './store.ts';
import {
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_DELIVERY_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  HubSpotEventFactory,
  hubspotWebhookSender,
} from './webhooks.ts';

export { HubSpotStore } from './store.ts';
export type { PropertyChange, StoredObject, StoreChange } from './store.ts';
export { DEFAULT_SCALE, DEFAULT_SEED } from './seed.ts';
export { DEFAULT_RETRY_DELAYS_MS, EmulatorAdminError } from '../../sdk/emulator-kit/index.ts';
export { DEFAULT_BATCH_WINDOW_MS, DEFAULT_MAX_CONCURRENT_REQUESTS, MAX_EVENTS_PER_REQUEST, NO_RETRY_STATUSES } from './webhooks.ts';
export type { HubSpotWebhookEvent, WebhookDelivery } from './webhooks.ts';
export { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_CODE_TTL_SECONDS, HubSpotOAuth, s256 } from './oauth.ts';
export type { GrantType, HubSpotOAuthClient, HubSpotOAuthOptions, OAuthAdminInput, OAuthGrantRecord } from './oauth.ts';
export { MUTABLE_TYPES, type CreateRecordInput, type HubSpotMutations, type HubSpotRecord, type MutableType, type PropertyValues } from './records.ts';
export { BATCH_READ_MAX_INPUTS, BATCH_READ_MAX_INPUTS_WITH_HISTORY, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './routes-objects.ts';
export { ASSOCIATIONS_BATCH_READ_MAX_INPUTS } from './routes-associations.ts';
export { INLINE_ASSOCIATIONS_LIMIT } from './shape.ts';
export type { RateWindowOption as RateWindow } from './rate-limits.ts';

export interface HubSpotEmulatorOptions extends ProviderEmulatorOptions {
  /**
   * Burst limit per private-app token. Default: HubSpot's Professional limit, 190 per 10 s.
   * `rateLimitPerSecond` (the shared option) is used as { max: n, intervalMs: 1000 } when this is unset.
   */
  rateLimit?: RateWindowOption;
  /**
   * Burst limit of OAuth-installed apps, per installing account (portal) and app: 110 per 10 s by
   * default, not reset by a token refresh; no daily limit. `rateLimitPerSecond` applies here too.
   */
  oauthRateLimit?: RateWindowOption;
  /** CRM search's own limit per caller (exempt from the burst limit). Default 5 per second; null = off. */
  searchRateLimit?: RateWindowOption | null;
  /** Daily requests per private-app token. Default 625,000 (Professional). */
  dailyLimit?: number;
  /** Portal (hub) id reported by the emulator and carried by its webhook events. Default 62515. */
  portalId?: number;
  /** App id carried by webhook events. Default 54321 (HubSpot's documentation example). */
  appId?: number;
  /** Changes within this window are delivered in one POST (≤ 100 events). Default 50 ms. */
  webhookBatchWindowMs?: number;
  /** Parallel POSTs per target unless the target says (HubSpot's maxConcurrentRequests). Default 10. */
  webhookMaxConcurrentRequests?: number;
  /** A POST without an answer within this counts as failed and is retried. Default 5000 ms. */
  webhookTimeoutMs?: number;
  /**
   * First webhook eventId. Default: Date.now() × 1000, so a restarted emulator does not reuse
   * eventIds a receiver has already deduplicated.
   */
  firstEventId?: number;
  /**
   * OAuth apps the emulator's /oauth/authorize, /oauth/v1/* and /oauth/2026-03/* endpoints serve.
   * Access tokens they issue are accepted by the API (like `credentials`) until they expire.
   */
  oauth?: HubSpotOAuthOptions;
}

export interface HubSpotEmulatorHandle extends EmulatorHandle, EmulatorWebhookHandle<{ eventIds: number[] }> {
  /** The live data set; mutate it through its methods (changes made there are webhooked too). */
  readonly store: HubSpotStore;
  readonly portalId: number;
  readonly appId: number;
  readonly mutate: HubSpotMutations;
  /** OAuth state: token-endpoint calls (`grants()`, `successfulGrants('refresh_token')`), admin switches (`configure`). */
  readonly oauth: HubSpotOAuth;
}

function rateLimits(options: HubSpotEmulatorOptions): HubSpotRateLimits {
  const perSecond = options.rateLimitPerSecond ? { max: options.rateLimitPerSecond, intervalMs: 1000 } : null;
  return new HubSpotRateLimits({
    privateApp: options.rateLimit ?? perSecond ?? DEFAULT_PRIVATE_APP_RATE_LIMIT,
    oauthApp: options.oauthRateLimit ?? perSecond ?? DEFAULT_OAUTH_APP_RATE_LIMIT,
    search: options.searchRateLimit === undefined ? DEFAULT_SEARCH_RATE_LIMIT : options.searchRateLimit,
    dailyLimit: options.dailyLimit ?? DEFAULT_DAILY_LIMIT,
  });
}

export async function startEmulator(options: HubSpotEmulatorOptions): Promise<HubSpotEmulatorHandle> {
  const store = seedStore({ ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.scale !== undefined ? { scale: options.scale } : {}) });
  const portalId = options.portalId ?? 62515;
  const appId = options.appId ?? 54321;
  const oauth = new HubSpotOAuth(options.oauth ?? (options.oauthClients ? { clients: options.oauthClients } : undefined), portalId, appId);
  const limits = rateLimits(options);
  const auth = new HubSpotAuth(new Set(options.credentials), oauth, limits, portalId);

  const sender = hubspotWebhookSender({
    batchWindowMs: options.webhookBatchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
    maxConcurrentRequests: options.webhookMaxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_REQUESTS,
    timeoutMs: options.webhookTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
  });
  // A bad start option fails here, before a server is listening.
  if (options.webhook) sender.setTarget(options.webhook);
  const events = new HubSpotEventFactory({ portalId, appId, firstEventId: options.firstEventId ?? Date.now() * 1000 });
  // No target, no events: eventIds are only spent on what is delivered.
  const unsubscribe = store.onChange((change) => sender.hasTarget && sender.enqueue(events.eventsFor(change)));
  const mutate = hubspotMutations(store);

  const base = await startBaseEmulator({
    name: 'hubspot',
    routes: [...oauth.routes(), ...objectRoutes(store), ...searchRoutes(store), ...associationRoutes(store)],
    admin: {
      records: recordsAdmin(store, mutate),
      webhooks: sender,
      oauth,
      reset: () => {
        limits.reset();
        sender.clearLog();
        oauth.resetGrants();
      },
    },
    authenticate: (req) => auth.authenticate(req),
    credentialOf: bearerToken,
    errorBody: errorBodyFor,
    commonHeaders: (req) => auth.commonHeaders(req),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });

  const stopServer = base.stop;
  return Object.assign(base, webhookHandle(sender), {
    store,
    portalId,
    appId,
    mutate,
    oauth,
    async stop() {
      unsubscribe();
      // Retries and batch timers first, so nothing fires against a stopped emulator.
      await sender.stop();
      await stopServer();
    },
  });
}

startEmulator satisfies StartProviderEmulator;
