// Refresh stampede across TWO gateway replicas, end to end through the GraphQL API, for a HubSpot
// connection created at runtime through the OAuth connect flow: 25 + 25 concurrent queries on an
// expired access token cause exactly 1 refresh_token grant at the provider, and every query
// succeeds with the new token; the same holds when the provider expires the token early (each
// query gets a 401 first, and the 50 forced refreshes collapse into one).
//
// Replica A is started by startStack (with the HubSpot and Stripe emulators); replica B is a
// second createGateway() in this test process with the same tenants, provider registrations,
// Redis URL, key prefix and vault master key (both load SWITCHBOARD_MASTER_KEYS, which
// vitest.config.ts sets, from the environment). Two createGateway() instances share nothing but
// Redis, exactly what two processes share: each has its own TokenManager (its in-process
// single-flight map), its own Redis connections (token locks, vault, connection store, API keys,
// cache, event queue), its own upstream client (rate budgets, breakers) and its own HTTP server.
// The only common things in memory are stateless module code (connector definitions) and Node's
// HTTP connection pool, neither of which holds tokens or locks. So the only thing that can merge
// A's refresh with B's is the Redis lock, the same as between two processes.
// (src/accounts/token-manager.processes.test.ts runs the same stampede against TokenManager directly
// in two OS processes; test/replicas.test.ts runs a real second gateway process for events.)
//
// The HubSpot token endpoint is reached through a small pass-through proxy in this file. It
// forwards every call unchanged. In the 401 case it holds the refresh_token grant until all 50
// queries have received their 401. That makes "every query gets a 401 first" deterministic
// without timing guesses: if the refresh were fast, a late query could read the new token before
// ever reaching the provider. Caches are off (TTL 0), so every query reaches the provider.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import type { TokenRecord } from '../src/accounts/token-manager.ts';
import { DEFAULT_LIMITS } from '../src/config.ts';
import type { Gateway } from '../src/server.ts';
import {
  NO_CACHE,
  RUN_PREFIX,
  TOKENS,
  freePort,
  graphql,
  startStack,
  type GraphQLResult,
  type Stack,
  cookieBrowser,
  emulatorRegistrations,
  startConnect,
  startSecondReplica,
} from './helpers.ts';

const browser = cookieBrowser();

const HUBSPOT_APP = { clientId: 'hs-replicas-app', clientSecret: 'hs-replicas-app-secret-00000000' };
const STRIPE_APP = { clientId: 'ca_SwitchboardReplicas' };
const BETA_KEY = `sb_beta_${randomUUID()}`;
const PER_REPLICA = 25;
const TOTAL = 2 * PER_REPLICA;
// Lists are sorted, which HubSpot serves through CRM search: 5 per second per account, so 50
// uncached list queries at once take ~10 s of search window (twice that when each meets a 401 first).
const SEARCH_DEADLINE_MS = 40_000;
const CONTACTS = `query($id: ID!) { contacts(first: 2, filter: { connectionId: $id }) { nodes { id source { connectionId } } } }`;
const CONNECTIONS = `{ connections { id provider status authType } }`;

type ContactsResult = GraphQLResult<{ contacts: { nodes: Array<{ id: string; source: { connectionId: string } }> } }>;

let stack: Stack;
let replicaB: Gateway;
let prefix: string;
let tokenProxy: Server;
/** When set, refresh_token grants wait for it before they are forwarded. */
let holdRefresh: (() => Promise<void>) | null = null;
/** refresh_token grants that reached the proxy. */
let refreshCalls = 0;

const onA = <T>(query: string, variables?: Record<string, unknown>) => stack.query<T>(query, variables, BETA_KEY);
const onB = <T>(query: string, variables?: Record<string, unknown>) => graphql<T>(replicaB.url, BETA_KEY, query, variables);

/** Waits (polling, no fixed sleep) until `predicate` holds; false when `timeoutMs` passed first. */
async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Forwards /oauth/* token calls to the HubSpot emulator unchanged (optionally holding refreshes). */
async function startTokenProxy(target: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        if (new URLSearchParams(body.toString('utf8')).get('grant_type') === 'refresh_token') {
          refreshCalls += 1;
          if (holdRefresh) await holdRefresh();
        }
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'authorization', 'accept']) {
          const v = req.headers[name];
          if (typeof v === 'string') headers[name] = v;
        }
        const upstream = await fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, ...(body.length ? { body } : {}) });
        const out: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (k === 'content-type' || k === 'cache-control' || k === 'pragma') out[k] = v;
        });
        res.writeHead(upstream.status, out);
        res.end(Buffer.from(await upstream.arrayBuffer()));
      })().catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'proxy_error', error_description: String(err) }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  const port = await freePort();
  prefix = `${RUN_PREFIX}:connect-replicas`;
  const callback = (id: string) => `http://127.0.0.1:${port}/connect/${id}/callback`;
  stack = await startStack({
    scale: { contacts: 6, invoices: 3, orders: 3 },
    oauthClients: {
      hubspot: [{ ...HUBSPOT_APP, redirectUris: [callback('hubspot')], scopes: ['crm.objects.contacts.read'] }],
      stripe: [{ clientId: STRIPE_APP.clientId, clientSecret: '', redirectUris: [callback('stripe')] }],
    },
    config: {
      port,
      keyPrefix: prefix,
      allowInsecureOAuth: true,
      cacheTtlSeconds: { ...NO_CACHE },
      limits: { ...DEFAULT_LIMITS, requestDeadlineMs: SEARCH_DEADLINE_MS },
    },
    extraTenants: () => [
      {
        id: 'beta',
        apiKeys: [{ id: 'b1', sha256: hashApiKey(BETA_KEY) }],
        connections: [],
        connectReturnUrls: ['https://app.example.com/integrations/'],
        // 50 queries at once on purpose: the tenant's own request limits must not refuse the stampede.
        limits: { tenantConcurrency: 100, tenantRequestsPerSecond: 1000, tenantRequestBurst: 1000 },
      },
    ],
  });
  const { hubspot } = stack;
  const proxy = await startTokenProxy(hubspot.url);
  tokenProxy = proxy.server;
  // Provider registrations point at the emulators (their URLs are known only now); replica B gets
  // the very same object.
  Object.assign(
    stack.gateway.services.config.providers,
    emulatorRegistrations(stack, {
      hubspot: { ...HUBSPOT_APP, scopes: ['crm.objects.contacts.read'], tokenUrl: `${proxy.url}/oauth/2026-03/token` },
      stripe: { clientId: STRIPE_APP.clientId },
    }),
  );
  replicaB = await startSecondReplica(stack, { limits: { ...DEFAULT_LIMITS, requestDeadlineMs: SEARCH_DEADLINE_MS } });
});

afterAll(async () => {
  holdRefresh = null;
  await replicaB?.stop();
  await stack?.stop();
  if (tokenProxy) await new Promise<void>((resolve) => tokenProxy.close(() => resolve()));
});

async function connectHubSpotThroughA(): Promise<string> {
  const session = await onA<{ createConnectSession: { url: string } }>(`mutation { createConnectSession(connector: "hubspot") { url } }`);
  expect(session.errors).toBeUndefined();
  const start = await startConnect(browser, session.data!.createConnectSession.url);
  expect(start.status).toBe(303);
  const consent = await browser(start.headers.get('location')!, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const done = await browser(consent.headers.get('location')!, { redirect: 'manual' });
  expect(done.status).toBe(200);
  return ((await done.json()) as { connectionId: string }).connectionId;
}

/**
 * Reads by id (contacts.batchRead): the provider-expiry case counts 401s that all arrive before the
 * refresh, and 100 list searches would need 20 s of HubSpot's 5-per-second search window.
 */
const BY_IDS = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Contact { id source { connectionId } } } }`;
type NodesResult = GraphQLResult<{ nodes: Array<{ id: string; source: { connectionId: string } } | null> }>;

/** 25 reads by id on A and 25 on B, all started at once, seen as contact lists for expectAllSucceeded. */
async function stampedeByIds(ids: string[]): Promise<ContactsResult[]> {
  const one = (on: typeof onA) => on<NodesResult['data'] & object>(BY_IDS, { ids }) as Promise<NodesResult>;
  const results = await Promise.all([...Array.from({ length: PER_REPLICA }, () => one(onA)), ...Array.from({ length: PER_REPLICA }, () => one(onB))]);
  return results.map((r) => ({
    status: r.status,
    data: r.data ? { contacts: { nodes: r.data.nodes.filter((n): n is NonNullable<typeof n> => n !== null) } } : null,
    ...(r.errors ? { errors: r.errors } : {}),
  }));
}

/** 25 queries on A and 25 on B, all started at once. */
async function stampede(id: string): Promise<ContactsResult[]> {
  const a = Array.from({ length: PER_REPLICA }, () => onA<ContactsResult['data'] & object>(CONTACTS, { id }));
  const b = Array.from({ length: PER_REPLICA }, () => onB<ContactsResult['data'] & object>(CONTACTS, { id }));
  return (await Promise.all([...a, ...b])) as ContactsResult[];
}

function expectAllSucceeded(results: ContactsResult[], id: string): void {
  expect(results).toHaveLength(TOTAL);
  const failed = results.filter((r) => r.status !== 200 || r.errors !== undefined || r.data?.contacts.nodes.length !== 2);
  expect(failed.map((r) => ({ status: r.status, errors: r.errors, nodes: r.data?.contacts.nodes.length }))).toEqual([]);
  for (const r of results) expect(r.data!.contacts.nodes.every((n) => n.source.connectionId === id)).toBe(true);
}

/** How many API calls the emulator logged with `token` since log entry `since` (HubSpot's rate window is per account, not per token). */
function callsMadeWith(token: string, since: number): number {
  return stack.hubspot
    .requests()
    .slice(since)
    .filter((r) => r.credential === token).length;
}

describe('two gateway replicas, one runtime OAuth connection, 50 concurrent queries', () => {
  let id: string;

  it('a connection created through replica A is visible on replica B (shared Redis store and vault key)', async () => {
    expect(process.env.SWITCHBOARD_MASTER_KEYS).toBeTruthy();
    id = await connectHubSpotThroughA();
    const seenByB = await onB<{ connections: Array<{ id: string; provider: string; status: string; authType: string }> }>(CONNECTIONS);
    expect(seenByB.errors).toBeUndefined();
    expect(seenByB.data!.connections.find((c) => c.id === id)).toEqual({ id, provider: 'hubspot', status: 'ACTIVE', authType: 'OAUTH2' });
    // Same master keyring: B decrypts what A wrote.
    expect(replicaB.services.vault.activeKid).toBe(stack.gateway.services.vault.activeKid);
    const fromA = await stack.gateway.services.vault.get<TokenRecord>('beta', id);
    expect(fromA?.accessToken).toBeTruthy();
    expect(await replicaB.services.vault.get<TokenRecord>('beta', id)).toEqual(fromA);
  });

  it('expired in the vault: 25 + 25 concurrent queries on A and B cause exactly 1 refresh, all use the new token', async () => {
    const vault = stack.gateway.services.vault;
    const before = (await vault.get<TokenRecord>('beta', id))!;
    // The provider still accepts the token; the gateways must consider it expired and refresh first.
    await vault.put('beta', id, { ...before, expiresAt: Date.now() - 1000 });
    const grantsBefore = stack.hubspot.oauth.successfulGrants('refresh_token');
    const proxiedBefore = refreshCalls;
    const logBefore = stack.hubspot.requests().length;

    const started = performance.now();
    const results = await stampede(id);
    const elapsedMs = Math.round(performance.now() - started);

    expectAllSucceeded(results, id);
    const refreshes = stack.hubspot.oauth.successfulGrants('refresh_token') - grantsBefore;
    expect(refreshes).toBe(1);
    expect(refreshCalls - proxiedBefore).toBe(1);
    const upstream = stack.hubspot
      .requests()
      .slice(logBefore)
      .filter((r) => r.operation === 'contacts.search');
    expect(upstream.map((r) => r.status)).toEqual(Array(TOTAL).fill(200));

    const after = (await vault.get<TokenRecord>('beta', id))!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.status).toBe('ACTIVE');
    expect(typeof after.expiresAt).toBe('number');
    expect(after.expiresAt as number).toBeGreaterThan(Date.now() + 60_000);
    // Which token the 50 provider calls carried (HubSpot counts calls per token): all the new one.
    const usedByNew = callsMadeWith(after.accessToken, logBefore);
    const usedByOld = callsMadeWith(before.accessToken, logBefore);
    expect({ usedByNew, usedByOld }).toEqual({ usedByNew: TOTAL, usedByOld: 0 });
    console.info(
      `[connect-replicas] expired-in-vault: ${TOTAL} queries (A ${PER_REPLICA}, B ${PER_REPLICA}) in ${elapsedMs} ms, refresh_token grants: ${refreshes}, provider calls with the new token: ${usedByNew}, with the old one: ${usedByOld}`,
    );
  });

  it('expired early at the provider: every query gets a 401 first, A and B share exactly 1 forced refresh, all 50 succeed', async () => {
    const vault = stack.gateway.services.vault;
    const before = (await vault.get<TokenRecord>('beta', id))!;
    expect(before.expiresAt as number).toBeGreaterThan(Date.now() + 60_000); // the gateways believe it is fresh
    // Two of the connection's contacts, read before the provider expires the tokens.
    const listed = (await onA<ContactsResult['data'] & object>(CONTACTS, { id })) as ContactsResult;
    const ids = listed.data!.contacts.nodes.map((n) => n.id);
    expect(ids).toHaveLength(2);
    const grantsBefore = stack.hubspot.oauth.successfulGrants('refresh_token');
    const proxiedBefore = refreshCalls;
    const logBefore = stack.hubspot.requests().length;
    const unauthorized = () =>
      stack.hubspot
        .requests()
        .slice(logBefore)
        .filter((r) => r.operation === 'contacts.batchRead' && r.status === 401).length;
    let unauthorizedWhenRefreshArrived = -1;
    let gateOpenedFully = false;
    holdRefresh = async () => {
      unauthorizedWhenRefreshArrived = unauthorized();
      // Well inside the token manager's HTTP timeout for the refresh (6 s).
      gateOpenedFully = await waitUntil(() => unauthorized() >= TOTAL, 4_000);
    };
    const res = await fetch(`${stack.hubspot.url}/__emulator/oauth`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ expireAllAccessTokens: true }),
    });
    expect(res.ok).toBe(true);

    let results: ContactsResult[];
    const started = performance.now();
    try {
      results = await stampedeByIds(ids);
    } finally {
      holdRefresh = null;
    }
    const elapsedMs = Math.round(performance.now() - started);

    expectAllSucceeded(results, id);
    expect(gateOpenedFully).toBe(true);
    const refreshes = stack.hubspot.oauth.successfulGrants('refresh_token') - grantsBefore;
    expect(refreshes).toBe(1);
    expect(refreshCalls - proxiedBefore).toBe(1);
    const statuses = stack.hubspot
      .requests()
      .slice(logBefore)
      .filter((r) => r.operation === 'contacts.batchRead')
      .map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(TOTAL);
    expect(statuses.filter((s) => s === 200)).toHaveLength(TOTAL);
    expect(statuses).toHaveLength(2 * TOTAL);
    // Every 401 came before any retry succeeded: the refresh was held until the 50th 401.
    expect(statuses.slice(0, TOTAL)).toEqual(Array(TOTAL).fill(401));

    const after = (await vault.get<TokenRecord>('beta', id))!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.status).toBe('ACTIVE');
    expect(after.expiresAt as number).toBeGreaterThan(Date.now() + 60_000);
    const usedByNew = callsMadeWith(after.accessToken, logBefore);
    expect(usedByNew).toBe(TOTAL);
    console.info(
      `[connect-replicas] expired-at-provider: ${TOTAL} queries in ${elapsedMs} ms, upstream 401s: ${statuses.filter((s) => s === 401).length}, retries 200: ${statuses.filter((s) => s === 200).length}, refresh_token grants: ${refreshes}, provider calls with the new token: ${usedByNew}, 401s already seen when the refresh reached the token endpoint: ${unauthorizedWhenRefreshArrived}`,
    );
  });
});
