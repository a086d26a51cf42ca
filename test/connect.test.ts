// Connecting provider accounts end to end: a real gateway on a fixed free port, the HubSpot and
// Stripe emulators acting as the providers' OAuth servers (apps registered with the gateway's
// callback), the real Redis. The browser is played by fetch with manual redirects.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { createGateway } from '../src/server.ts';
import type { TokenRecord } from '../src/accounts/token-manager.ts';
import {
  RUN_PREFIX,
  REDIS_URL,
  TOKENS,
  freePort,
  graphql,
  postStripeWebhook,
  startStack,
  stripeCustomers,
  stripeEventBody,
  subscribe,
  type Stack,
  cookieBrowser,
  emulatorRegistrations,
  startConnect,
} from './helpers.ts';

const browser = cookieBrowser();

const HUBSPOT_APP = { clientId: 'hs-test-app', clientSecret: 'hs-test-app-secret-0000000000' };
const STRIPE_APP = { clientId: 'ca_SwitchboardTest' };
const BETA_KEY = `sb_beta_${randomUUID()}`;
const READONLY_KEY = `sb_ro_${randomUUID()}`;
const RETURN_URL = 'https://app.example.com/integrations/done';
const STRIPE_WEBHOOK_SECRET = 'whsec_runtime_connections_test_000000';

let stack: Stack;
let port: number;
let prefix: string;
let admin: Redis;
const logLines: string[] = [];

const beta = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>) => stack.query<T>(query, variables, BETA_KEY);

beforeAll(async () => {
  port = await freePort();
  prefix = `${RUN_PREFIX}:connect`;
  const callback = (id: string) => `http://127.0.0.1:${port}/connect/${id}/callback`;
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  stack = await startStack({
    scale: { contacts: 6, invoices: 3, orders: 3 },
    oauthClients: {
      hubspot: [{ ...HUBSPOT_APP, redirectUris: [callback('hubspot')], scopes: ['crm.objects.contacts.read'] }],
      stripe: [{ clientId: STRIPE_APP.clientId, clientSecret: '', redirectUris: [callback('stripe')] }],
    },
    config: { port, keyPrefix: prefix, allowInsecureOAuth: true },
    gatewayOptions: { logger },
    extraTenants: () => [
      {
        id: 'beta',
        apiKeys: [
          { id: 'b1', sha256: hashApiKey(BETA_KEY) },
          { id: 'ro', sha256: hashApiKey(READONLY_KEY), scopes: ['read'] },
        ],
        connections: [],
        connectReturnUrls: ['https://app.example.com/integrations/'],
        clientCredentials: { hubspot: { scopes: ['crm.objects.contacts.read'] } },
      },
    ],
  });
  // Provider registrations point at the emulators (their URLs are known only now).
  Object.assign(
    stack.gateway.services.config.providers,
    emulatorRegistrations(stack, {
      // A HubSpot public app signs its webhooks with its client secret.
      hubspot: { ...HUBSPOT_APP, scopes: ['crm.objects.contacts.read'], webhookSecret: HUBSPOT_APP.clientSecret },
      stripe: { clientId: STRIPE_APP.clientId, webhookSecret: STRIPE_WEBHOOK_SECRET },
    }),
  );
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  await stack?.stop();
  admin?.disconnect();
});

const CREATE = `mutation($c: String!, $r: String, $p: JSON, $re: ID) { createConnectSession(connector: $c, returnUrl: $r, params: $p, reconnect: $re) { url expiresAt } }`;
const CONNECTIONS = `{ connections { id provider status authType scopes lastRefreshedAt lastError } }`;

interface ConnectionRow {
  id: string;
  provider: string;
  status: string;
  authType: string;
  scopes: string[];
  lastRefreshedAt: string | null;
  lastError: string | null;
}

async function sessionUrl(connector: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await beta<{ createConnectSession: { url: string } }>(CREATE, { c: connector, ...extra });
  expect(res.errors).toBeUndefined();
  return res.data!.createConnectSession.url;
}

/** Opens the connect link and follows the provider's authorize page; returns the callback URL it redirects to. */
async function authorize(connector: string, extra: Record<string, unknown> = {}): Promise<URL> {
  const start = await startConnect(browser, await sessionUrl(connector, extra));
  expect(start.status).toBe(303);
  const atProvider = new URL(start.headers.get('location')!);
  const consent = await browser(atProvider, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  return new URL(consent.headers.get('location')!);
}

async function connections(): Promise<ConnectionRow[]> {
  const res = await beta<{ connections: ConnectionRow[] }>(CONNECTIONS);
  expect(res.errors).toBeUndefined();
  return res.data!.connections;
}

async function connectHubSpot(): Promise<string> {
  const callback = await authorize('hubspot');
  const done = await browser(callback, { redirect: 'manual' });
  expect(done.status).toBe(200);
  const body = (await done.json()) as { connectionId: string };
  return body.connectionId;
}

describe('OAuth connect flow (HubSpot emulator: authorization code + PKCE + state)', () => {
  it('start → authorize → callback → ACTIVE → queries work with the OAuth token', async () => {
    const url = await sessionUrl('hubspot');
    // The link shows a confirmation page naming the tenant; loading it (a link previewer) does not use it up.
    const page = await browser(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<strong>beta</strong>');
    const start = await startConnect(browser, url);
    expect(start.status).toBe(303);
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${stack.hubspot.url}/oauth/authorize`);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorizeUrl.searchParams.get('state')!.length).toBeGreaterThanOrEqual(43);
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/connect/hubspot/callback`);

    const consent = await browser(authorizeUrl, { redirect: 'manual' });
    const done = await browser(consent.headers.get('location')!, { redirect: 'manual' });
    expect(done.status).toBe(200);
    const { connectionId } = (await done.json()) as { connectionId: string };
    expect(stack.hubspot.oauth.successfulGrants('authorization_code')).toBeGreaterThanOrEqual(1);

    const row = (await connections()).find((c) => c.id === connectionId)!;
    expect(row).toMatchObject({ provider: 'hubspot', status: 'ACTIVE', authType: 'OAUTH2', scopes: ['crm.objects.contacts.read'], lastError: null });
    expect(row.lastRefreshedAt).not.toBeNull();

    const data = await beta<{ contacts: { nodes: Array<{ source: { connectionId: string } }> } }>(
      `{ contacts(first: 3) { nodes { source { connectionId } } } }`,
    );
    expect(data.errors).toBeUndefined();
    expect(data.data!.contacts.nodes.length).toBe(3);
    expect(data.data!.contacts.nodes.every((n) => n.source.connectionId === connectionId)).toBe(true);

    // Another tenant neither sees nor can remove it.
    const acme = await stack.query<{ connections: ConnectionRow[] }>(CONNECTIONS);
    expect(acme.data!.connections.map((c) => c.id)).not.toContain(connectionId);
    const foreign = await stack.query(`mutation($id: ID!) { disconnect(connectionId: $id) { connectionId } }`, { id: connectionId });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a connect link works once; a replayed or tampered state, a used link, or another browser is 400 and stores nothing', async () => {
    const url = await sessionUrl('hubspot');
    const mine = cookieBrowser();
    const first = await startConnect(mine, url);
    expect(first.status).toBe(303);
    // From here raw fetch with the binding cookie handled by hand, so each case can include or omit it.
    const setCookie = first.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\/connect\/hubspot\/callback/);
    const cookie = setCookie.split(';')[0]!;
    expect((await startConnect(mine, url)).status).toBe(400);
    // Pressing Continue without the confirmation page's cookie (a cross-site auto-POST) is refused,
    // and leaves the link usable by the person who opens it.
    const fresh = await sessionUrl('hubspot');
    const forged = await fetch(fresh, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'confirm=whatever',
    });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: string }).error).toMatch(/press Continue/);
    expect((await startConnect(cookieBrowser(), fresh)).status).toBe(303);

    const before = (await connections()).length;
    const consent = await fetch(first.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(consent.headers.get('location')!);
    const open = (u: URL, withCookie = true) => fetch(u, { redirect: 'manual', headers: withCookie ? { cookie } : {} });

    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')!.slice(0, -2)}xx`);
    expect((await open(tampered)).status).toBe(400);
    const noState = new URL(callback);
    noState.searchParams.delete('state');
    expect((await open(noState)).status).toBe(400);
    // Another browser (no binding cookie) gets the genuine callback URL: refused, and the state is
    // not burnt for the browser that started the flow.
    const foreign = await open(callback, false);
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { error: string }).error).toMatch(/did not start/);
    expect((await connections()).length).toBe(before);

    const done = await open(callback);
    expect(done.status).toBe(200);
    expect(done.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const replay = await open(callback);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toMatch(/already used/);
    expect((await connections()).length).toBe(before + 1);
  });

  it('an authorization code replayed into another flow, and a PKCE mismatch, are 400 and store nothing', async () => {
    const before = (await connections()).length;
    const grantsBefore = stack.hubspot.oauth.grants().length;
    // Flow A completes; its code is then presented with flow B's state (code replay).
    const a = await authorize('hubspot');
    expect((await browser(a, { redirect: 'manual' })).status).toBe(200);
    const b = await authorize('hubspot');
    const replayed = new URL(b);
    replayed.searchParams.set('code', a.searchParams.get('code')!);
    const r1 = await browser(replayed, { redirect: 'manual' });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: string }).error).toMatch(/invalid_grant/);

    // Flow C's unused code presented with flow D's state: D's verifier does not match C's challenge.
    const c = await authorize('hubspot');
    const d = await authorize('hubspot');
    const mismatched = new URL(d);
    mismatched.searchParams.set('code', c.searchParams.get('code')!);
    const r2 = await browser(mismatched, { redirect: 'manual' });
    expect(r2.status).toBe(400);
    const errors = stack.hubspot.oauth
      .grants()
      .slice(grantsBefore)
      .map((g) => g.error);
    expect(errors).toEqual([null, 'invalid_grant', 'invalid_grant']);
    expect((await connections()).length).toBe(before + 1);
  });

  it('a pending authorization without its PKCE verifier is refused (400)', async () => {
    const callback = await authorize('hubspot');
    // Strip the verifier from the stored pending authorization, as a corrupted record would be.
    const keys = await admin.keys(`${prefix}:conn:s:*`);
    for (const key of keys) {
      const value = await admin.get(key);
      if (value?.includes('"verifier"')) {
        const ttl = await admin.ttl(key);
        const record = JSON.parse(value) as Record<string, unknown>;
        record.verifier = null;
        await admin.set(key, JSON.stringify(record), 'EX', Math.max(ttl, 1));
      }
    }
    const res = await browser(callback, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/verifier/);
  });

  it('return URLs must be on the tenant allow-list; allowed ones receive the browser after the callback', async () => {
    const denied = await beta(CREATE, { c: 'hubspot', r: 'https://evil.example.net/steal' });
    expect(denied.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const url = await sessionUrl('hubspot');
    expect((await startConnect(browser, `${url}&return_to=${encodeURIComponent('https://evil.example.net/')}`)).status).toBe(400);

    const callback = await authorize('hubspot', { r: RETURN_URL });
    const done = await browser(callback, { redirect: 'manual' });
    expect(done.status).toBe(302);
    const landing = new URL(done.headers.get('location')!);
    expect(landing.origin + landing.pathname).toBe(RETURN_URL);
    expect(landing.searchParams.get('status')).toBe('connected');
    expect(landing.searchParams.get('connection_id')).toMatch(/^hubspot-/);
  });
});

describe('token lifecycle through the gateway', () => {
  it('a 401 from the provider renews the token once and the query succeeds', async () => {
    const id = await connectHubSpot();
    const refreshesBefore = stack.hubspot.oauth.successfulGrants('refresh_token');
    // The provider expires every token early; the gateway still believes its token is fresh.
    await fetch(`${stack.hubspot.url}/__emulator/oauth`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ expireAllAccessTokens: true }),
    });
    const res = await beta<{ contacts: { nodes: unknown[] } }>(`query($id: ID!) { contacts(first: 2, filter: { connectionId: $id }) { nodes { id } } }`, {
      id,
    });
    expect(res.errors).toBeUndefined();
    expect(stack.hubspot.oauth.successfulGrants('refresh_token')).toBe(refreshesBefore + 1);
  });

  it('a rejected refresh token → NEEDS_REAUTH, a status event, and UPSTREAM_UNAUTHORIZED with a clear message', async () => {
    const id = await connectHubSpot();
    const events = await subscribe<{ connectionStatusChanged: { connectionId: string; status: string; reason: string } }>(
      stack.gateway.url,
      BETA_KEY,
      `subscription { connectionStatusChanged { connectionId status reason } }`,
    );
    try {
      const record = await stack.gateway.services.vault.get<TokenRecord>('beta', id);
      await fetch(`${stack.hubspot.url}/__emulator/oauth`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ revokeRefreshToken: record!.refreshToken, expireAllAccessTokens: true }),
      });
      const res = await beta(`query($id: ID!) { contacts(first: 2, filter: { connectionId: $id }) { nodes { id } } }`, { id });
      expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAUTHORIZED');
      expect(res.errors?.[0]?.message).toMatch(/re-authorized/);
      const [event] = await events.waitFor(1);
      expect(event?.connectionStatusChanged).toMatchObject({ connectionId: id, status: 'NEEDS_REAUTH' });
      const row = (await connections()).find((c) => c.id === id)!;
      expect(row.status).toBe('NEEDS_REAUTH');
      expect(row.lastError).toMatch(/invalid_grant/);

      // Reconnecting the same connection restores it.
      const callback = await authorize('hubspot', { re: id });
      expect((await browser(callback, { redirect: 'manual' })).status).toBe(200);
      expect((await connections()).find((c) => c.id === id)!.status).toBe('ACTIVE');
      const again = await beta(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
      expect(again.errors).toBeUndefined();
    } finally {
      await events.close();
    }
  });

  it('a vault record with one flipped bit → NEEDS_REAUTH and UPSTREAM_UNAUTHORIZED, the gateway keeps answering', async () => {
    const id = await connectHubSpot();
    const [key] = (await admin.keys(`${prefix}:vault*`)).filter((k) => k.includes(`beta:${id}`));
    expect(key).toBeDefined();
    const raw = (await admin.get(key!))!;
    const envelope = JSON.parse(raw) as { value: { ct: string } };
    const ct = Buffer.from(envelope.value.ct, 'base64');
    ct[0] = (ct[0] as number) ^ 1;
    envelope.value.ct = ct.toString('base64');
    await admin.set(key!, JSON.stringify(envelope));
    const res = await beta(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect((await connections()).find((c) => c.id === id)!.status).toBe('NEEDS_REAUTH');
    expect((await stack.query(`{ connections { id } }`)).status).toBe(200);
  });
});

describe('other ways to connect, disconnect, scopes', () => {
  it('client credentials (HubSpot 2026-03 token endpoint) through the same OAuth configuration', async () => {
    const res = await beta<{ connectWithClientCredentials: ConnectionRow }>(
      `mutation { connectWithClientCredentials(connector: "hubspot", scopes: ["crm.objects.contacts.read"]) { id status authType scopes } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.connectWithClientCredentials).toMatchObject({ status: 'ACTIVE', authType: 'CLIENT_CREDENTIALS', scopes: ['crm.objects.contacts.read'] });
    const id = res.data!.connectWithClientCredentials.id;
    const q = await beta(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
    expect(q.errors).toBeUndefined();
  });

  it('API keys are tried against the provider first: a refused key stores nothing', async () => {
    const before = (await connections()).length;
    const bad = await beta(`mutation { connectWithApiKey(connector: "stripe", apiKey: "sk_test_notARealKey000") { id } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).not.toContain('sk_test_notARealKey000');
    const shape = await beta(`mutation { connectWithApiKey(connector: "stripe", apiKey: "not-a-stripe-key") { id } }`);
    expect(shape.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await connections()).length).toBe(before);
    const good = await beta<{ connectWithApiKey: ConnectionRow }>(
      `mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id status authType } }`,
      { k: TOKENS.stripe },
    );
    expect(good.errors).toBeUndefined();
    expect(good.data!.connectWithApiKey).toMatchObject({ status: 'ACTIVE', authType: 'API_KEY' });
  });

  it('webhooks addressed to a runtime connection are verified with the registered secret and reach subscribers', async () => {
    const made = await beta<{ connectWithApiKey: { id: string } }>(`mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id } }`, {
      k: TOKENS.stripe,
    });
    const id = made.data!.connectWithApiKey.id;
    const url = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/${id}`;
    const changes = await subscribe<{ contactChanged: { source: { connectionId: string } } }>(
      stack.gateway.url,
      BETA_KEY,
      `subscription($id: ID!) { contactChanged(filter: { connectionId: $id }) { source { connectionId } } }`,
      { id },
    );
    try {
      const [customer] = await stripeCustomers(stack.stripe.url, 1);
      const body = stripeEventBody(`evt_${randomUUID().replace(/-/g, '')}`, 'customer.updated', customer!, Math.floor(Date.now() / 1000));
      expect((await postStripeWebhook(url, body, 'whsec_wrong_secret_000000000000')).status).toBe(401);
      expect((await postStripeWebhook(url, body, STRIPE_WEBHOOK_SECRET)).status).toBe(200);
      const [change] = await changes.waitFor(1);
      expect(change?.contactChanged.source.connectionId).toBe(id);
    } finally {
      await changes.close();
    }
    await beta(`mutation($id: ID!) { disconnect(connectionId: $id) { connectionId } }`, { id });
    const [customer] = await stripeCustomers(stack.stripe.url, 1);
    const late = stripeEventBody(`evt_${randomUUID().replace(/-/g, '')}`, 'customer.updated', customer!, Math.floor(Date.now() / 1000));
    expect((await postStripeWebhook(url, late, STRIPE_WEBHOOK_SECRET)).status).toBe(401);
  });

  it('one app-level webhook URL (HubSpot public app): events are routed by portal to every connection of that portal', async () => {
    const id = await connectHubSpot();
    const row = await stack.gateway.services.connections.get(id);
    expect(row?.settings.portalId).toMatch(/^\d+$/);
    const appUrl = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/hubspot`;
    const put = await fetch(`${stack.hubspot.url}/__emulator/webhook`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: appUrl, secret: HUBSPOT_APP.clientSecret }),
    });
    expect(put.ok).toBe(true);
    const changes = await subscribe<{ contactChanged: { source: { connectionId: string; remoteId: string } } }>(
      stack.gateway.url,
      BETA_KEY,
      `subscription($id: ID!) { contactChanged(filter: { connectionId: $id }) { source { connectionId remoteId } } }`,
      { id },
    );
    const acmeChanges = await subscribe<{ contactChanged: { source: { connectionId: string } } }>(
      stack.gateway.url,
      stack.apiKey,
      `subscription { contactChanged { source { connectionId } } }`,
    );
    try {
      const list = (await (
        await fetch(`${stack.hubspot.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${TOKENS.hubspot}` } })
      ).json()) as { results: Array<{ id: string }> };
      const contactId = list.results[0]!.id;
      const patch = await fetch(`${stack.hubspot.url}/__emulator/records/contacts/${contactId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { firstname: 'Routed' } }),
      });
      expect(patch.ok).toBe(true);
      const [change] = await changes.waitFor(1);
      expect(change?.contactChanged.source).toEqual({ connectionId: id, remoteId: contactId });
      // acme's tenants-file HubSpot connection has no entry in the app's routing: nothing for acme.
      expect(acmeChanges.received).toEqual([]);
      // Signed with another secret → refused, like per-connection URLs.
      const forged = await fetch(appUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': 'AAAA', 'x-hubspot-request-timestamp': String(Date.now()) },
        body: '[]',
      });
      expect(forged.status).toBe(401);
    } finally {
      await Promise.all([changes.close(), acmeChanges.close()]);
      await fetch(`${stack.hubspot.url}/__emulator/webhook`, { method: 'DELETE' });
    }
  });

  it("a subscription opened before a connection was created receives that connection's changes", async () => {
    const changes = await subscribe<{ contactChanged: { source: { connectionId: string } } }>(
      stack.gateway.url,
      BETA_KEY,
      `subscription { contactChanged { source { connectionId } } }`,
    );
    try {
      const made = await beta<{ connectWithApiKey: { id: string } }>(`mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id } }`, {
        k: TOKENS.stripe,
      });
      const id = made.data!.connectWithApiKey.id;
      const [customer] = await stripeCustomers(stack.stripe.url, 1);
      const body = stripeEventBody(`evt_${randomUUID().replace(/-/g, '')}`, 'customer.updated', customer!, Math.floor(Date.now() / 1000));
      expect((await postStripeWebhook(`${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/${id}`, body, STRIPE_WEBHOOK_SECRET)).status).toBe(200);
      // Other tests' HubSpot connections may still be receiving changes: wait for ours.
      let n = 1;
      while (!(await changes.waitFor(n)).some((c) => c.contactChanged.source.connectionId === id)) n += 1;
      await beta(`mutation($id: ID!) { disconnect(connectionId: $id) { connectionId } }`, { id });
    } finally {
      await changes.close();
    }
  });

  it('Stripe Connect: connect (no PKCE), query, disconnect deauthorizes at Stripe', async () => {
    const callback = await authorize('stripe');
    const done = await browser(callback, { redirect: 'manual' });
    expect(done.status).toBe(200);
    const { connectionId } = (await done.json()) as { connectionId: string };
    const q = await beta(`query($id: ID!) { invoices(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id: connectionId });
    expect(q.errors).toBeUndefined();
    const res = await beta<{ disconnect: { revokedAtProvider: boolean } }>(
      `mutation($id: ID!) { disconnect(connectionId: $id) { connectionId revokedAtProvider message } }`,
      { id: connectionId },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.disconnect.revokedAtProvider).toBe(true);
    expect(stack.stripe.oauth.state().liveAccessTokens).toBe(0);
    expect((await connections()).map((c) => c.id)).not.toContain(connectionId);
  });

  it('disconnect revokes the HubSpot refresh token and deletes the vault record', async () => {
    const id = await connectHubSpot();
    const record = await stack.gateway.services.vault.get<TokenRecord>('beta', id);
    const res = await beta<{ disconnect: { revokedAtProvider: boolean } }>(`mutation($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider } }`, {
      id,
    });
    expect(res.data!.disconnect.revokedAtProvider).toBe(true);
    expect((await fetch(`${stack.hubspot.url}/oauth/v1/refresh-tokens/${record!.refreshToken}`)).status).toBe(404);
    expect(await stack.gateway.services.vault.get('beta', id)).toBeNull();
    // The connection is gone for queries too.
    const q = await beta<{ contacts: { nodes: unknown[] } }>(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
    expect(q.data?.contacts.nodes).toEqual([]);
  });

  it('API key scopes: a read-only key cannot mutate; admin-issued keys are shown once and can be revoked', async () => {
    const denied = await stack.query(`mutation { createApiKey(scopes: [read]) { key } }`, undefined, READONLY_KEY);
    expect(denied.status).toBe(403);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await stack.query(`{ connections { id } }`, undefined, READONLY_KEY)).status).toBe(200);

    const created = await beta<{ createApiKey: { key: string; apiKey: { id: string; scopes: string[] } } }>(
      `mutation { createApiKey(scopes: [read], label: "ci") { key apiKey { id scopes } } }`,
    );
    expect(created.errors).toBeUndefined();
    const { key, apiKey } = created.data!.createApiKey;
    expect(apiKey.scopes).toEqual(['read']);
    const listed = await beta<{ apiKeys: Array<Record<string, unknown>> }>(`{ apiKeys { id label scopes createdAt } }`);
    expect(JSON.stringify(listed.data)).not.toContain(key);
    expect((await stack.query(`{ connections { id } }`, undefined, key)).status).toBe(200);
    const revoked = await beta<{ revokeApiKey: boolean }>(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: apiKey.id });
    expect(revoked.data!.revokeApiKey).toBe(true);
    expect((await stack.query(`{ connections { id } }`, undefined, key)).status).toBe(401);
  });

  it('DISABLED connections stay listed but are not queried; enabling restores them', async () => {
    const id = await connectHubSpot();
    const off = await beta<{ setConnectionEnabled: ConnectionRow }>(
      `mutation($id: ID!) { setConnectionEnabled(connectionId: $id, enabled: false) { id status lastError } }`,
      { id },
    );
    expect(off.data!.setConnectionEnabled).toMatchObject({ status: 'DISABLED', lastError: 'disabled by the tenant' });
    const before = stack.hubspot.count();
    const q = await beta<{ contacts: { nodes: unknown[] } }>(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
    expect(q.data?.contacts.nodes).toEqual([]);
    expect(stack.hubspot.count()).toBe(before);
    const on = await beta<{ setConnectionEnabled: ConnectionRow }>(
      `mutation($id: ID!) { setConnectionEnabled(connectionId: $id, enabled: true) { status lastError } }`,
      { id },
    );
    expect(on.data!.setConnectionEnabled).toMatchObject({ status: 'ACTIVE', lastError: null });
    const again = await beta<{ contacts: { nodes: unknown[] } }>(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, {
      id,
    });
    expect(again.data?.contacts.nodes).toHaveLength(1);
  });

  it('status events reach only their own tenant', async () => {
    type Event = { connectionStatusChanged: { connectionId: string; status: string } };
    const query = `subscription { connectionStatusChanged { connectionId status } }`;
    const betaEvents = await subscribe<Event>(stack.gateway.url, BETA_KEY, query);
    const acmeEvents = await subscribe<Event>(stack.gateway.url, stack.apiKey, query);
    try {
      const id = await connectHubSpot();
      await betaEvents.waitFor(1);
      // Then an event of acme's own; events are delivered in order, so a leaked beta event would come first.
      const acme = await stack.query<{ connectWithApiKey: { id: string } }>(
        `mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id } }`,
        { k: TOKENS.stripe },
      );
      const [first] = await acmeEvents.waitFor(1);
      expect(first?.connectionStatusChanged.connectionId).toBe(acme.data!.connectWithApiKey.id);
      expect(acmeEvents.received.map((e) => e.connectionStatusChanged.connectionId)).not.toContain(id);
      expect(betaEvents.received.map((e) => e.connectionStatusChanged.connectionId)).not.toContain(acme.data!.connectWithApiKey.id);
      await stack.query(`mutation($id: ID!) { disconnect(connectionId: $id) { connectionId } }`, { id: acme.data!.connectWithApiKey.id });
    } finally {
      await Promise.all([betaEvents.close(), acmeEvents.close()]);
    }
  });

  it('runtime API keys work on graphql-ws too, and subscriptions need the subscribe scope', async () => {
    const issue = async (scopes: string) =>
      (await beta<{ createApiKey: { key: string } }>(`mutation { createApiKey(scopes: [${scopes}]) { key } }`)).data!.createApiKey.key;
    const subscriber = await issue('subscribe');
    const reader = await issue('read');
    const query = `subscription { connectionStatusChanged { connectionId status } }`;
    const allowed = await subscribe<{ connectionStatusChanged: { connectionId: string } }>(stack.gateway.url, subscriber, query);
    const denied = await subscribe<unknown>(stack.gateway.url, reader, query);
    try {
      const id = await connectHubSpot();
      const [event] = await allowed.waitFor(1);
      expect(event?.connectionStatusChanged.connectionId).toBe(id);
      await expect.poll(() => denied.errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(JSON.stringify(denied.errors)).toContain('FORBIDDEN');
      expect(denied.received).toEqual([]);
    } finally {
      await Promise.all([allowed.close(), denied.close()]);
    }
  });

  it('settings that name the provider account cannot be supplied by the tenant (webhook routing relies on them)', async () => {
    for (const settings of [{ connectedAccountId: 'acct_VICTIM' }]) {
      const res = await beta(`mutation($k: String!, $s: JSON) { connectWithApiKey(connector: "stripe", apiKey: $k, settings: $s) { id } }`, {
        k: TOKENS.stripe,
        s: settings,
      });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/learnt from the provider/);
    }
    const hs = await beta(`mutation($k: String!) { connectWithApiKey(connector: "hubspot", apiKey: $k, settings: { portalId: "1" }) { id } }`, {
      k: TOKENS.hubspot,
    });
    expect(hs.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a provider that cannot be reached while connecting gives its code, not INTERNAL_SERVER_ERROR', async () => {
    stack.stripe.injectFault({ kind: 'status', status: 503 });
    try {
      const res = await beta(`mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id } }`, { k: TOKENS.stripe });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', provider: 'stripe' });
    } finally {
      stack.stripe.clearFaults();
    }
  });

  it('enabling a connection that needs re-authorization keeps NEEDS_REAUTH', async () => {
    const id = await connectHubSpot();
    const record = await stack.gateway.services.vault.get<TokenRecord>('beta', id);
    await fetch(`${stack.hubspot.url}/__emulator/oauth`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revokeRefreshToken: record!.refreshToken, expireAllAccessTokens: true }),
    });
    await beta(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
    expect((await connections()).find((c) => c.id === id)!.status).toBe('NEEDS_REAUTH');
    await beta(`mutation($id: ID!) { setConnectionEnabled(connectionId: $id, enabled: false) { status } }`, { id });
    const on = await beta<{ setConnectionEnabled: ConnectionRow }>(
      `mutation($id: ID!) { setConnectionEnabled(connectionId: $id, enabled: true) { status lastError } }`,
      { id },
    );
    expect(on.data!.setConnectionEnabled.status).toBe('NEEDS_REAUTH');
    expect(on.data!.setConnectionEnabled.lastError).toMatch(/invalid_grant/);
  });

  it('disconnecting one of two connections to the same Stripe account does not deauthorize the account', async () => {
    const connectStripe = async () => {
      const callback = await authorize('stripe');
      const done = await browser(callback, { redirect: 'manual' });
      return ((await done.json()) as { connectionId: string }).connectionId;
    };
    const [first, second] = [await connectStripe(), await connectStripe()];
    const res = await beta<{ disconnect: { revokedAtProvider: boolean; message: string } }>(
      `mutation($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider message } }`,
      { id: first },
    );
    expect(res.data!.disconnect).toMatchObject({
      revokedAtProvider: false,
      message: expect.stringMatching(/other connections of this tenant use this provider account/),
    });
    const q = await beta(`query($id: ID!) { invoices(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id: second });
    expect(q.errors).toBeUndefined();
    const last = await beta<{ disconnect: { revokedAtProvider: boolean } }>(`mutation($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider } }`, {
      id: second,
    });
    expect(last.data!.disconnect.revokedAtProvider).toBe(true);
  });

  it("a runtime connection's own webhook URL takes only events of its own account", async () => {
    const callback = await authorize('stripe');
    const { connectionId } = (await (await browser(callback, { redirect: 'manual' })).json()) as { connectionId: string };
    const account = (await stack.gateway.services.connections.get(connectionId))!.settings.connectedAccountId as string;
    const url = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/${connectionId}`;
    const [customer] = await stripeCustomers(stack.stripe.url, 1);
    const event = (acct: string) =>
      JSON.stringify({
        ...JSON.parse(stripeEventBody(`evt_${randomUUID().replace(/-/g, '')}`, 'customer.updated', customer!, Math.floor(Date.now() / 1000))),
        account: acct,
      });
    const foreign = await postStripeWebhook(url, event('acct_SomebodyElse'), STRIPE_WEBHOOK_SECRET);
    expect(await foreign.json()).toEqual({ received: 1, routed: 0, unrouted: 1 });
    const own = await postStripeWebhook(url, event(account), STRIPE_WEBHOOK_SECRET);
    expect(await own.json()).toEqual({ received: 1 });
    await beta(`mutation($id: ID!) { disconnect(connectionId: $id) { connectionId } }`, { id: connectionId });
  });

  it('disconnect waits for a refresh in flight: no credential is stored after it, and the rotated token is revoked', async () => {
    const id = await connectHubSpot();
    await fetch(`${stack.hubspot.url}/__emulator/oauth`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rotateRefreshTokens: true }),
    });
    const liveBefore = stack.hubspot.oauth.state().liveRefreshTokens;
    const vault = stack.gateway.services.vault;
    const record = (await vault.get<TokenRecord>('beta', id))!;
    // The gateway believes the token expired: the next query refreshes.
    await vault.put('beta', id, { ...record, expiresAt: Date.now() - 1000 });
    // Widen the race on purpose: the refresh's vault write (after the provider rotated the token)
    // is held until the disconnect has been sent.
    const originalPut = vault.put.bind(vault);
    let entered!: () => void;
    const writing = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    vault.put = async (tenantId, connectionId, secret) => {
      if (connectionId === id && (secret as TokenRecord).refreshToken !== record.refreshToken) {
        entered();
        await released;
      }
      return originalPut(tenantId, connectionId, secret);
    };
    try {
      const query = beta(`query($id: ID!) { contacts(first: 1, filter: { connectionId: $id }) { nodes { id } } }`, { id });
      await writing;
      const disconnecting = beta<{ disconnect: { revokedAtProvider: boolean } }>(`mutation($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider } }`, {
        id,
      });
      // Let the held write go once the disconnect has had every chance to run first.
      setTimeout(release, 200);
      const [disconnected] = await Promise.all([disconnecting, query]);
      expect(disconnected.data!.disconnect.revokedAtProvider).toBe(true);
      expect(await vault.get('beta', id)).toBeNull();
      // The original refresh token was rotated away, the new one revoked by the disconnect.
      expect(stack.hubspot.oauth.state().liveRefreshTokens).toBe(liveBefore - 1);
    } finally {
      vault.put = originalPut;
      release();
      await fetch(`${stack.hubspot.url}/__emulator/oauth`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rotateRefreshTokens: false }),
      });
    }
  });

  it('a registered redirect URI on another origin: the connect link is served there, so the cookies come back', async () => {
    const oauth = stack.gateway.services.config.providers.hubspot!.oauth!;
    oauth.redirectUri = `http://127.0.0.1:${port}/connect/hubspot/callback`;
    try {
      const res = await graphql<{ createConnectSession: { url: string } }>(`http://localhost:${port}/graphql`, BETA_KEY, CREATE, { c: 'hubspot' });
      const url = res.data!.createConnectSession.url;
      expect(url.startsWith(`http://127.0.0.1:${port}/connect/hubspot?session=`)).toBe(true);
      const own = cookieBrowser();
      const start = await startConnect(own, url);
      const consent = await own(start.headers.get('location')!);
      expect((await own(consent.headers.get('location')!)).status).toBe(200);
    } finally {
      delete oauth.redirectUri;
    }
  });

  it('over https the flow cookies use the __Host- prefix (Secure, Path=/): a sibling subdomain cannot plant them', async () => {
    const config = stack.gateway.services.config;
    config.publicUrl = 'https://switchboard.example.com';
    try {
      const session = await beta<{ createConnectSession: { url: string } }>(CREATE, { c: 'hubspot' });
      const link = new URL(session.data!.createConnectSession.url);
      expect(link.origin).toBe('https://switchboard.example.com');
      // Served over plain http here; the page is built for its public (https) origin.
      const page = await fetch(`${stack.gateway.url.replace(/\/graphql$/, '')}${link.pathname}${link.search}`);
      expect(page.headers.get('set-cookie')).toMatch(
        /^__Host-sb_confirm_[0-9a-f]{16}=[A-Za-z0-9_-]+; Path=\/; Secure; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
      );
    } finally {
      delete config.publicUrl;
    }
  });

  it('production refuses registered OAuth apps without SWITCHBOARD_PUBLIC_URL, and http:// OAuth endpoints', async () => {
    const providers = { hubspot: { oauth: { clientId: 'x', clientSecret: { type: 'static' as const, token: 'y' } } } };
    await expect(createGateway(defaultGatewayConfig([], { mode: 'production', providers }))).rejects.toThrow(
      /SWITCHBOARD_PUBLIC_URL must be set in production/,
    );
    await expect(
      createGateway(defaultGatewayConfig([], { mode: 'production', providers, publicUrl: 'https://sb.example.com', allowInsecureOAuth: true })),
    ).rejects.toThrow(/refused in production/);
  });

  it('no token, refresh token or client secret appears in Redis or in the logs', async () => {
    const id = await connectHubSpot();
    const record = (await stack.gateway.services.vault.get<TokenRecord>('beta', id))!;
    const secrets = [record.accessToken, record.refreshToken, HUBSPOT_APP.clientSecret, TOKENS.stripe];
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const k of keys) {
        const type = await admin.type(k);
        const value =
          type === 'string'
            ? await admin.get(k)
            : type === 'set'
              ? (await admin.smembers(k)).join(' ')
              : type === 'hash'
                ? JSON.stringify(await admin.hgetall(k))
                : '';
        for (const s of secrets) expect(`${k} ${value}`).not.toContain(s);
      }
    } while (cursor !== '0');
    const logs = logLines.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const s of secrets) expect(logs).not.toContain(s);
    const metrics = await (await fetch(`${stack.gateway.url.replace(/\/graphql$/, '')}/metrics`)).text();
    for (const s of secrets) expect(metrics).not.toContain(s);
  });
});
