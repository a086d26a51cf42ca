// Test harness: real emulators, a real gateway on port 0, the real Redis (one key prefix per run),
// and a small GraphQL-over-HTTP client. Every start has a matching stop.
import { randomUUID } from 'node:crypto';
import type { EmulatorHandle, ProviderEmulatorOptions } from '../connectors/sdk/emulator.ts';
import type { HubSpotEmulatorHandle } from '../connectors/hubspot/emulator/index.ts';
import type { StripeEmulatorHandle } from '../connectors/stripe/emulator/index.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import { salesforceDemo } from '../connectors/salesforce/registration.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';
import { REDIS_URL } from './test-redis.ts';
import { defaultGatewayConfig, type ConnectionConfig, type GatewayConfig, type TenantConfig } from '../src/config.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../src/server.ts';

export { REDIS_URL } from './test-redis.ts';
export { freePort } from './redis-server.ts';
/** One prefix per test run (and per file, since each file is its own module instance). */
export const RUN_PREFIX = `sbtest:${process.env.SB_TEST_RUN ?? 'adhoc'}:${randomUUID().slice(0, 8)}`;

/** The test credential of every registered connector, by connector id (from its registry entry). */
const TEST_TOKENS: Readonly<Record<string, string>> = Object.fromEntries(CONNECTORS.map(({ connector, demo }) => [connector.manifest.id, demo.testToken]));

/** Typed shortcuts for the tests written against the first two providers; a new provider needs none. */
export const TOKENS = { hubspot: tokenOf('hubspot'), stripe: tokenOf('stripe') };

function tokenOf(id: string): string {
  const token = TEST_TOKENS[id];
  if (!token) throw new Error(`no registered connector "${id}"`);
  return token;
}

export interface Stack {
  gateway: Gateway;
  /** Every registered connector's emulator, by connector id. */
  emulators: ReadonlyMap<string, EmulatorHandle>;
  /** Typed views of two of them, for the tests that use their emulator-specific controls. */
  hubspot: HubSpotEmulatorHandle;
  stripe: StripeEmulatorHandle;
  apiKey: string;
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, apiKey?: string): Promise<GraphQLResult<T>>;
  stop(): Promise<void>;
}

export interface GraphQLResult<T> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface StackOptions {
  redisUrl?: string | null;
  latencyMs?: number;
  seed?: number;
  scale?: ProviderEmulatorOptions['scale'];
  emulatorOptions?: Partial<ProviderEmulatorOptions>;
  /** OAuth apps registered at each emulator, by connector id. */
  oauthClients?: Record<string, ProviderEmulatorOptions['oauthClients']>;
  config?: Partial<GatewayConfig>;
  gatewayOptions?: GatewayOptions;
  /** Preset the stack's API key in GraphiQL and Sandbox, as the demo does. */
  presetKeyInPages?: boolean;
  /** Extra tenants, given the emulators of this stack. */
  extraTenants?: (e: { hubspot: EmulatorHandle; stripe: EmulatorHandle; emulators: ReadonlyMap<string, EmulatorHandle> }) => TenantConfig[];
}

export async function graphql<T>(url: string, apiKey: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GraphQLResult<T>, 'status'>;
  return { status: res.status, data: body.data ?? null, ...(body.errors ? { errors: body.errors } : {}) };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const emuOpts = {
    seed: options.seed ?? 7,
    latencyMs: options.latencyMs ?? 0,
    ...(options.scale ? { scale: options.scale } : {}),
    ...options.emulatorOptions,
  };
  // Every registered connector's emulator, and one connection to each for tenant acme.
  const emulators = new Map<string, EmulatorHandle>();
  const connections: TenantConfig['connections'] = [];
  try {
    for (const { connector, startEmulator, demo } of CONNECTORS) {
      const id = connector.manifest.id;
      const oauthClients = options.oauthClients?.[id];
      const emulator = await startEmulator({
        credentials: [demo.testToken],
        ...demo.test?.emulatorOptions,
        ...emuOpts,
        ...(oauthClients ? { oauthClients } : {}),
      });
      emulators.set(id, emulator);
      const rateLimit = demo.test?.rateLimit;
      connections.push({
        id: `acme-${id}`,
        provider: id,
        baseUrl: emulator.url,
        credentials: { type: 'static', token: demo.testToken },
        settings: { ...demo.settings },
        ...(rateLimit ? { rateLimit } : {}),
        // No background polling of the shared tenant: tests count upstream calls exactly.
        // test/poller.test.ts polls a connection of its own tenant.
        ...(connector.manifest.events?.source === 'polling' ? { polling: { enabled: false } } : {}),
      });
    }
  } catch (err) {
    await Promise.all([...emulators.values()].map((e) => e.stop()));
    throw err;
  }
  const hubspot = emulators.get('hubspot') as HubSpotEmulatorHandle;
  const stripe = emulators.get('stripe') as StripeEmulatorHandle;
  const stopEmulators = () => Promise.all([...emulators.values()].map((e) => e.stop()));
  const apiKey = `sb_test_${randomUUID()}`;
  const tenants: TenantConfig[] = [
    { id: 'acme', apiKeys: [{ id: 'k1', sha256: hashApiKey(apiKey) }], connections },
    ...(options.extraTenants?.({ hubspot, stripe, emulators }) ?? []),
  ];
  const config = defaultGatewayConfig(tenants, {
    mode: 'test',
    redisUrl: options.redisUrl === undefined ? REDIS_URL : options.redisUrl,
    keyPrefix: `${RUN_PREFIX}:${randomUUID().slice(0, 6)}`,
    ...(options.presetKeyInPages ? { demoApiKey: apiKey } : {}),
    ...options.config,
  });
  let gateway: Gateway;
  try {
    gateway = await createGateway(config, options.gatewayOptions);
  } catch (err) {
    await stopEmulators();
    throw err;
  }
  return {
    gateway,
    emulators,
    hubspot,
    stripe,
    apiKey,
    query: (q, variables, key) => graphql(gateway.url, key === undefined ? apiKey : key, q, variables),
    async stop() {
      await gateway.stop();
      await stopEmulators();
    },
  };
}

/** A private redis-server (own port and directory) for tests that stop or restart Redis. */
export type PrivateRedis = RedisServer;

export function startPrivateRedis(): Promise<PrivateRedis> {
  return startRedisServer();
}

/** Sum of a Prometheus counter's samples whose labels include `match`. */
export async function counterValue(gateway: Gateway, name: string, match: Record<string, string> = {}): Promise<number> {
  const metric = await gateway.metrics.registry.getSingleMetric(name)?.get();
  if (!metric) return 0;
  return metric.values.filter((v) => Object.entries(match).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
}

/** Observations of a Prometheus histogram (its `_count` samples) whose labels include `match`. */
export async function histogramCount(gateway: Gateway, name: string, match: Record<string, string> = {}): Promise<number> {
  const metric = await gateway.metrics.registry.getSingleMetric(name)?.get();
  if (!metric) return 0;
  return metric.values
    .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count') && Object.entries(match).every(([k, val]) => v.labels[k] === val))
    .reduce((a, v) => a + v.value, 0);
}

/** A graphql-ws subscriber with an inbox: await the next payloads, then close. */
export interface Subscriber<T> {
  received: T[];
  /** Resolves when at least `count` payloads have arrived in total. */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  errors: unknown[];
  close(): Promise<void>;
}

export async function subscribe<T>(httpUrl: string, apiKey: string, query: string, variables: Record<string, unknown> = {}): Promise<Subscriber<T>> {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
  const received: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (msg) => {
        if (msg.errors) errors.push(msg.errors);
        if (msg.data) received.push(msg.data as T);
        wake?.();
      },
      error: (err) => {
        // A socket closed by the server arrives as a CloseEvent: keep its code and reason.
        // An operation refused by the server arrives as its GraphQL errors.
        const close = err as { code?: number; reason?: string };
        errors.push(err instanceof Error ? err.message : Array.isArray(err) ? err : { code: close.code, reason: close.reason });
        wake?.();
      },
      complete: () => wake?.(),
    },
  );
  return {
    received,
    errors,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${count} events (got ${received.length})`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
      return received.slice(0, count);
    },
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Event-pipeline load and chaos helpers (appended for test/events-*.test.ts).
// ---------------------------------------------------------------------------------------------

/** Runs `fn` over `items` with at most `concurrency` calls in flight; rejects on the first failure. */
export async function runBounded<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/**
 * A redis-server with AOF on (`appendfsync always`) in its own directory and port, which the test
 * can kill and start again on the same port and directory (the data survives through the AOF).
 */
export type DurableRedis = RedisServer;

export function startDurableRedis(): Promise<DurableRedis> {
  return startRedisServer({ durable: true });
}

/**
 * A graphql-ws subscriber that survives server-side errors: when its subscription errors or
 * completes, it subscribes again with `after` = the cursor of the last payload it received.
 */
export interface ResumingSubscriber<T> {
  received: T[];
  /** Errors and completions that caused a resubscription. */
  interruptions: unknown[];
  /** Resolves once `predicate(received)` holds; rejects after `timeoutMs`. */
  until(predicate: (received: T[]) => boolean, timeoutMs: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function subscribeResuming<T>(
  httpUrl: string,
  apiKey: string,
  query: string,
  variables: Record<string, unknown>,
  cursorOf: (payload: T) => string,
): Promise<ResumingSubscriber<T>> {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const received: T[] = [];
  const interruptions: unknown[] = [];
  let after = (variables['after'] as string | undefined) ?? null;
  let closed = false;
  let wake: (() => void) | null = null;
  let current: { dispose(): void | Promise<void> } | null = null;
  let unsubscribe: (() => void) | null = null;

  const connect = async () => {
    const client = createClient({
      url: httpUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${apiKey}` },
      retryAttempts: 0,
      lazy: false,
    });
    current = client;
    let open = false;
    await new Promise<void>((resolve) => {
      const interrupted = (why: unknown) => {
        if (closed) return;
        interruptions.push(why);
        // Resubscribe from the last cursor received, after a short pause.
        void Promise.resolve(client.dispose()).finally(() => setTimeout(() => void connect(), 100));
        resolve();
      };
      unsubscribe = client.subscribe<T>(
        { query, variables: { ...variables, after } },
        {
          next: (msg) => {
            if (msg.errors) return interrupted({ errors: msg.errors });
            if (!msg.data) return;
            const payload = msg.data as T;
            received.push(payload);
            after = cursorOf(payload);
            wake?.();
          },
          error: (err) => {
            const close = err as { code?: number; reason?: string };
            interrupted(err instanceof Error ? err.message : { code: close.code, reason: close.reason });
          },
          complete: () => interrupted('completed'),
        },
      );
      client.on('connected', () => {
        if (!open) {
          open = true;
          resolve();
        }
      });
    });
  };
  await connect();

  return {
    received,
    interruptions,
    async until(predicate, timeoutMs, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what} (received ${received.length}; interruptions ${JSON.stringify(interruptions.slice(-3))})`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 500));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
    },
    async close() {
      closed = true;
      unsubscribe?.();
      await current?.dispose();
    },
  };
}

/** A Stripe Event body (`object: "event"`) around a full `data.object`, as Stripe sends it. */
export function stripeEventBody(id: string, type: string, object: Record<string, unknown>, created: number): string {
  return JSON.stringify({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  });
}

/** Posts a body to a gateway webhook URL with a fresh `Stripe-Signature` from the official SDK. */
export async function postStripeWebhook(url: string, payload: string, secret: string): Promise<Response> {
  const { default: Stripe } = await import('stripe');
  stripeSigner ??= new Stripe('sk_test_unused');
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': stripeSigner.webhooks.generateTestHeaderString({ payload, secret }) },
    body: payload,
  });
}
let stripeSigner: import('stripe').Stripe | undefined;

/** The ids of the first `count` contacts of a HubSpot emulator, in its list order (paged by `after`). */
export async function hubspotContactIds(stack: Stack, count: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  while (ids.length < count) {
    const url = new URL('/crm/v3/objects/contacts', stack.hubspot.url);
    url.searchParams.set('limit', '100');
    if (after) url.searchParams.set('after', after);
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKENS.hubspot}` } });
    const body = (await res.json()) as { results: Array<{ id: string }>; paging?: { next?: { after: string } } };
    ids.push(...body.results.map((r) => r.id));
    after = body.paging?.next?.after;
    if (!after) break;
  }
  return ids.slice(0, count);
}

/** A Stripe customer object with the fields the connector maps (for Event bodies built by hand). */
export function stripeCustomerObject(id: string, fields: { name: string; email: string; created: number }): Record<string, unknown> {
  return {
    id,
    object: 'customer',
    ...fields,
    livemode: false,
    metadata: {},
    address: null,
    phone: null,
    shipping: null,
    description: null,
    currency: 'usd',
    balance: 0,
  };
}

/** The first `n` customers of a Stripe emulator, as full API objects. */
export async function stripeCustomers(stripeUrl: string, n: number): Promise<Array<Record<string, unknown> & { id: string }>> {
  const res = await fetch(`${stripeUrl}/v1/customers?limit=${n}`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
  if (!res.ok) throw new Error(`GET /v1/customers: ${res.status}`);
  return ((await res.json()) as { data: Array<Record<string, unknown> & { id: string }> }).data;
}

// ---------------------------------------------------------------------------------------------
// A browser for OAuth connect flows.
// ---------------------------------------------------------------------------------------------

/**
 * fetch with a cookie jar and manual redirects, as a browser tab would carry the connect flow's
 * binding cookie from /connect/<connector> to the callback. One instance = one browser.
 */
export function cookieBrowser(): (input: string | URL, init?: RequestInit) => Promise<Response> {
  const jar = new Map<string, { origin: string; path: string; value: string }>();
  return async (input, init = {}) => {
    const url = new URL(input);
    const headers = new Headers(init.headers);
    const cookies = [...jar.entries()].filter(([, c]) => c.origin === url.origin && url.pathname.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`);
    if (cookies.length) headers.set('cookie', cookies.join('; '));
    const res = await fetch(url, { redirect: 'manual', ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((p) => p.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const attr = (key: string) => attrs.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      if (attr('max-age') === '0') jar.delete(name);
      else jar.set(name, { origin: url.origin, path: attr('path') ?? '/', value: pair!.slice(eq + 1) });
    }
    return res;
  };
}

/**
 * Opens a connect link as a person would: loads the confirmation page, then presses Continue
 * (POST with the page's token and cookie). Answers the POST's response (303 to the provider), or
 * the page's own answer when it is not a page (400 for a used link).
 */
export async function startConnect(browser: (input: string | URL, init?: RequestInit) => Promise<Response>, connectUrl: string): Promise<Response> {
  const page = await browser(connectUrl);
  if (page.status !== 200) return page;
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const confirm = /name="confirm" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !confirm) throw new Error('the connect page has no confirmation form');
  const target = new URL(action.replace(/&#38;/g, '&'), connectUrl);
  return browser(target, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ confirm }).toString(),
  });
}

/**
 * Provider registrations (the operator's OAuth apps) pointing at this stack's emulators, for
 * connections tenants create at runtime. `hubspotTokenUrl` reroutes HubSpot's token endpoint (a
 * test proxy); webhook secrets are set only when given.
 */
export function emulatorRegistrations(
  stack: Pick<Stack, 'hubspot' | 'stripe'>,
  apps: {
    hubspot: { clientId: string; clientSecret: string; scopes: string[]; webhookSecret?: string; tokenUrl?: string };
    stripe?: { clientId: string; webhookSecret?: string };
  },
): GatewayConfig['providers'] {
  const { hubspot, stripe } = stack;
  const providers: GatewayConfig['providers'] = {
    hubspot: {
      baseUrl: hubspot.url,
      ...(apps.hubspot.webhookSecret ? { webhookSecret: { type: 'static', token: apps.hubspot.webhookSecret } } : {}),
      oauth: {
        clientId: apps.hubspot.clientId,
        clientSecret: { type: 'static', token: apps.hubspot.clientSecret },
        scopes: apps.hubspot.scopes,
        authorizationUrl: `${hubspot.url}/oauth/authorize`,
        tokenUrl: apps.hubspot.tokenUrl ?? `${hubspot.url}/oauth/2026-03/token`,
        revocationUrl: `${hubspot.url}/oauth/2026-03/token/revoke`,
      },
    },
  };
  if (apps.stripe) {
    providers.stripe = {
      baseUrl: stripe.url,
      // Stripe Connect: the platform's secret key is the client secret.
      oauth: {
        clientId: apps.stripe.clientId,
        clientSecret: { type: 'static', token: TOKENS.stripe },
        authorizationUrl: `${stripe.url}/oauth/authorize`,
        tokenUrl: `${stripe.url}/oauth/token`,
        revocationUrl: `${stripe.url}/oauth/deauthorize`,
      },
      ...(apps.stripe.webhookSecret ? { webhookSecret: { type: 'static', token: apps.stripe.webhookSecret } } : {}),
    };
  }
  return providers;
}

/** An emulator admin call (`/__emulator…`, see docs/connectors.md): the parsed JSON answer, or {} for 204. */
export async function admin(emulatorUrl: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${emulatorUrl}/__emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Every cache TTL 0: each read goes to the provider (tests that count upstream calls or refreshes). */
export const NO_CACHE = { Contact: 0, Invoice: 0, Order: 0, listPage: 0 };

/**
 * A second replica of `stack`'s gateway: the same tenants, provider registrations and Redis key
 * prefix (so it shares the vault, locks and budgets), its own port, no cache.
 */
export function startSecondReplica(stack: Stack, overrides: Partial<GatewayConfig> = {}): Promise<Gateway> {
  const a = stack.gateway.services.config;
  return createGateway(
    defaultGatewayConfig(a.tenants, {
      mode: 'test',
      port: 0,
      redisUrl: REDIS_URL,
      keyPrefix: a.keyPrefix,
      allowInsecureOAuth: true,
      providers: a.providers,
      cacheTtlSeconds: { ...NO_CACHE },
      ...overrides,
    }),
  );
}

/**
 * Gives acme's Stripe connection a webhook secret (startStack's default tenant has none) and points
 * the Stripe emulator's webhook sender at its URL, with quick retries.
 */
export async function sendStripeWebhooksToAcme(stack: Stack, secret: string): Promise<void> {
  const acme = stack.gateway.services.config.tenants[0]!;
  acme.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: secret };
  await admin(stack.stripe.url, 'PUT', '/webhook', {
    url: `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`,
    secret,
    retryDelaysMs: [50, 100, 200],
  });
}

/**
 * For startStack's extraTenants: a tenant whose one connection goes to the stack's Salesforce
 * emulator, which sends no webhooks, so it is polled (`polling`, and `rateLimit` when given).
 */
export function salesforcePollingTenant(
  emulators: ReadonlyMap<string, EmulatorHandle>,
  tenant: { id: string; apiKey: string; connectionId: string },
  connection: Pick<ConnectionConfig, 'polling' | 'rateLimit'>,
): TenantConfig {
  return {
    id: tenant.id,
    apiKeys: [{ id: 'k', sha256: hashApiKey(tenant.apiKey) }],
    connections: [
      {
        id: tenant.connectionId,
        provider: 'salesforce',
        baseUrl: (emulators.get('salesforce') as EmulatorHandle).url,
        credentials: { type: 'static', token: salesforceDemo.testToken },
        settings: { currency: 'USD' },
        ...connection,
      },
    ],
  };
}
