// Salesforce connected through the gateway (OAuth web-server flow + PKCE against the emulator),
// then polled: the emulator answers on loopback http, and its `instance_url` is accepted because the
// gateway is not in production (src/accounts/connect/grants.test.ts pins that production refuses
// it). The runtime connection is picked up by the poller without a restart, a change reaches a
// graphql-ws subscriber, a second replica follows it with exactly one of the two polling (lease),
// and disconnecting stops the polling on both and gives the lease back.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord } from '../../src/accounts/token-manager.ts';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { createGateway, type Gateway } from '../../src/server.ts';
import { cookieBrowser, freePort, startConnect, startStack, subscribe, type Stack } from '../../test/helpers.ts';
import type { SalesforceEmulatorHandle } from './emulator/index.ts';

const APP = { clientId: `3MVG9sf-connect-${randomUUID()}`, clientSecret: randomUUID() };
const KEY = `sb_sfconn_${randomUUID()}`;
const TENANT = 'sf-connect-tenant';
const INTERVAL_MS = 400;

let stack: Stack;
let replica: Gateway | null = null;
let em: SalesforceEmulatorHandle;

beforeAll(async () => {
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/connect/salesforce/callback`;
  stack = await startStack({
    scale: { contacts: 4, invoices: 1, orders: 1 },
    oauthClients: { salesforce: [{ ...APP, redirectUris: [callback] }] },
    config: { port, allowInsecureOAuth: true },
    extraTenants: () => [{ id: TENANT, apiKeys: [{ id: 's', sha256: hashApiKey(KEY) }], connections: [] }],
  });
  em = stack.emulators.get('salesforce') as SalesforceEmulatorHandle;
  stack.gateway.services.config.providers.salesforce = {
    oauth: {
      clientId: APP.clientId,
      clientSecret: { type: 'static', token: APP.clientSecret },
      authorizationUrl: `${em.url}/services/oauth2/authorize`,
      tokenUrl: `${em.url}/services/oauth2/token`,
      revocationUrl: `${em.url}/services/oauth2/revoke`,
    },
    // Runtime-created connections of this provider poll this often (the operator's default).
    polling: { intervalMs: INTERVAL_MS },
  };
});
afterAll(async () => {
  await replica?.stop();
  await stack?.stop();
});

const stored = async () => (await stack.gateway.services.connections.listByTenant(TENANT)).filter((c) => c.provider === 'salesforce');

describe('Salesforce connected through the gateway, then polled', () => {
  let connectionId = '';

  it('completes the web-server flow with PKCE and stores the loopback instance URL as the base URL', async () => {
    const browser = cookieBrowser();
    const session = await stack.query<{ createConnectSession: { url: string } }>(
      'mutation { createConnectSession(connector: "salesforce") { url } }',
      undefined,
      KEY,
    );
    expect(session.errors).toBeUndefined();
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    expect(start.status).toBe(303);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const consent = await browser(authorize);
    expect(consent.status).toBe(302);
    const res = await browser(consent.headers.get('location')!);
    expect(res.status).toBe(200);
    connectionId = ((await res.json()) as { connectionId: string }).connectionId;
    const [connection] = await stored();
    expect(connection).toMatchObject({ id: connectionId, status: 'ACTIVE', baseUrl: new URL(em.url).origin });
    const record = await stack.gateway.services.vault.get<TokenRecord>(TENANT, connectionId);
    expect(record?.refreshToken).toBeTruthy();

    // A read goes to the instance URL with the new token.
    const from = em.requests().length;
    const read = await stack.query<{ contacts: { nodes: Array<{ source: { connectionId: string } }> } }>(
      '{ contacts(first: 3, filter: { provider: "salesforce" }) { nodes { source { connectionId } } } }',
      undefined,
      KEY,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data!.contacts.nodes.length).toBeGreaterThan(0);
    expect(read.data!.contacts.nodes.every((n) => n.source.connectionId === connectionId)).toBe(true);
    expect(
      em
        .requests()
        .slice(from)
        .some((r) => r.credential === record!.accessToken && r.status === 200),
    ).toBe(true);
  });

  it('the poller picks the runtime connection up without a restart and delivers a change to a subscriber', async () => {
    const poller = stack.gateway.services.poller;
    await expect.poll(() => poller.follows(connectionId), { timeout: 15_000, interval: 50 }).toBe(true);
    const connector = stack.gateway.services.connectors.get('salesforce')!;
    const owner = await stack.gateway.services.directory.ownerOf(connectionId);
    await expect.poll(async () => (await poller.status(connector, owner!.connection)).lastPolledAt, { timeout: 15_000, interval: 50 }).not.toBeNull();
    expect((await poller.status(connector, owner!.connection)).intervalMs).toBe(INTERVAL_MS);

    const sub = await subscribe<{ contactChanged: { type: string; contact: { name: string | null } | null } }>(
      stack.gateway.url,
      KEY,
      'subscription { contactChanged { type contact { name } } }',
    );
    try {
      const id = [...em.store.records.Contact.values()].find((r) => !r.IsDeleted)!.Id;
      em.records.update('Contact', id, { FirstName: 'Runtime' });
      const [event] = await sub.waitFor(1, 20_000);
      expect(event!.contactChanged).toMatchObject({ type: 'UPDATED', contact: { name: expect.stringMatching(/^Runtime /) } });
    } finally {
      await sub.close();
    }
  });

  it('an expired session (401 INVALID_SESSION_ID) is renewed once with the refresh token, and the read succeeds', async () => {
    const refreshes = () =>
      (em.oauth.grants() as Array<{ grantType?: string; error: string | null }>).filter((g) => g.grantType === 'refresh_token' && g.error === null).length;
    const before = refreshes();
    const from = em.requests().length;
    em.oauth.configure({ expireAllAccessTokens: true });
    const read = await stack.query<{ contacts: { nodes: Array<{ source: { connectionId: string } }> } }>(
      '{ contacts(first: 2, filter: { provider: "salesforce" }) { nodes { source { connectionId } } } }',
      undefined,
      KEY,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data!.contacts.nodes.length).toBeGreaterThan(0);
    // One renewal, whoever met the 401 first (this read or the poller): the refresh is single-flight.
    expect(refreshes()).toBe(before + 1);
    expect(
      em
        .requests()
        .slice(from)
        .some((r) => r.status === 401),
    ).toBe(true);
    const record = await stack.gateway.services.vault.get<TokenRecord>(TENANT, connectionId);
    expect(em.requests().at(-1)?.credential).toBe(record!.accessToken);
  });

  it('a second replica follows the runtime connection too, and never do both poll it', async () => {
    replica = await createGateway({ ...stack.gateway.services.config, port: 0 });
    const pollers = [stack.gateway.services.poller, replica.services.poller];
    await expect.poll(() => replica!.services.poller.follows(connectionId), { timeout: 15_000, interval: 50 }).toBe(true);
    const leaders = () => pollers.filter((p) => p.leads(connectionId)).length;
    await expect.poll(leaders, { timeout: 15_000, interval: 20 }).toBe(1);
    // Never two at once (a lease lapsing on a loaded machine may briefly leave none).
    for (let i = 0; i < 8; i++) {
      expect(leaders()).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, INTERVAL_MS / 4));
    }
  });

  it('disconnecting stops the polling on every replica and gives the lease back', async () => {
    const poller = stack.gateway.services.poller;
    const res = await stack.query<{ disconnect: { connectionId: string } }>(
      `mutation { disconnect(connectionId: "${connectionId}") { connectionId } }`,
      undefined,
      KEY,
    );
    expect(res.errors).toBeUndefined();
    await expect.poll(() => poller.follows(connectionId), { timeout: 15_000, interval: 50 }).toBe(false);
    await expect.poll(() => replica!.services.poller.follows(connectionId), { timeout: 15_000, interval: 50 }).toBe(false);
    expect(poller.leads(connectionId) || replica!.services.poller.leads(connectionId)).toBe(false);
    // No poll reaches the org after the stop (two more intervals).
    em.resetRequests();
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    expect(em.requests().filter((r) => r.operation !== 'oauth.revoke')).toEqual([]);
  });
});
