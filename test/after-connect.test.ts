// The connector's afterConnect hook, end to end through the OAuth connect flow: a test connector
// (HubSpot's loaders and emulator under the id "multi") whose hook reads a value the provider put
// on the callback query (as QuickBooks sends realmId) and calls the provider with the new token to
// list the accounts the grant reaches (as Xero's GET /connections), making one connection each.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspot } from '../connectors/hubspot/index.ts';
import { defineConnector } from '../connectors/sdk/define.ts';
import type { ConnectGrant, Connector } from '../connectors/sdk/types.ts';
import { connectorMap } from '../connectors/registry.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { cookieBrowser, freePort, startConnect, startStack, type Stack } from './helpers.ts';

const APP = { clientId: 'multi-app', clientSecret: 'multi-app-secret-000000000000' };
const KEY = `sb_multi_${randomUUID()}`;
const seen: Array<{ grant: ConnectGrant; listedStatus: number; sentToken: boolean }> = [];

const multi: Connector = defineConnector({
  ...hubspot,
  manifest: { ...hubspot.manifest, id: 'multi', displayName: 'Multi-account test' },
  auth: {
    async afterConnect(grant, ctx) {
      // One call with the new token, placed by the upstream layer (the emulator answers a list).
      const res = await ctx.fetch({ path: '/crm/v3/objects/contacts', query: { limit: 2 }, operation: 'afterConnect.accounts' });
      const accounts = ((res.body as { results?: Array<{ id: string }> }).results ?? []).map((r) => r.id);
      seen.push({ grant, listedStatus: res.status, sentToken: grant.tokenResponse.access_token === (await ctx.accessToken()) });
      const realm = grant.callbackParams.realmId ?? 'none';
      return accounts.map((account) => ({ settings: { realmId: realm, accountId: account } }));
    },
  },
});

let stack: Stack;

beforeAll(async () => {
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/connect/multi/callback`;
  const connectors = connectorMap();
  connectors.set('multi', multi);
  stack = await startStack({
    scale: { contacts: 4, invoices: 1, orders: 1 },
    oauthClients: { hubspot: [{ ...APP, redirectUris: [callback], scopes: ['crm.objects.contacts.read'] }] },
    config: { port, allowInsecureOAuth: true },
    gatewayOptions: { connectors },
    extraTenants: () => [{ id: 'multi-tenant', apiKeys: [{ id: 'm', sha256: hashApiKey(KEY) }], connections: [] }],
  });
  stack.gateway.services.config.providers.multi = {
    baseUrl: stack.hubspot.url,
    oauth: {
      clientId: APP.clientId,
      clientSecret: { type: 'static', token: APP.clientSecret },
      scopes: ['crm.objects.contacts.read'],
      authorizationUrl: `${stack.hubspot.url}/oauth/authorize`,
      tokenUrl: `${stack.hubspot.url}/oauth/2026-03/token`,
    },
  };
});
afterAll(() => stack?.stop());

describe('auth.afterConnect', () => {
  it('reads the callback query, calls the provider with the new token, and turns one grant into several connections', async () => {
    const browser = cookieBrowser();
    const session = await stack.query<{ createConnectSession: { url: string } }>(
      'mutation { createConnectSession(connector: "multi") { url } }',
      undefined,
      KEY,
    );
    expect(session.errors).toBeUndefined();
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    expect(start.status).toBe(303);
    const consent = await browser(start.headers.get('location')!);
    expect(consent.status).toBe(302);
    // The provider's redirect, with the extra value a QuickBooks callback carries.
    const back = new URL(consent.headers.get('location')!);
    back.searchParams.set('realmId', '4620816365');
    const done = await browser(back);
    expect(done.status).toBe(200);
    const body = (await done.json()) as { connectionId: string; connectionIds: string[] };
    expect(body.connectionIds).toHaveLength(2);
    expect(body.connectionId).toBe(body.connectionIds[0]);

    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ listedStatus: 200, sentToken: true, grant: { callbackParams: { realmId: '4620816365' } } });
    expect(seen[0]!.grant.settings.portalId).toBeTruthy(); // settingsFromTokenResponse, before the hook

    const listed = await stack.query<{ connections: Array<{ id: string; provider: string; status: string }> }>(
      '{ connections { id provider status } }',
      undefined,
      KEY,
    );
    expect(listed.data!.connections.map((c) => c.id).sort()).toEqual([...body.connectionIds].sort());
    for (const id of body.connectionIds) {
      const managed = await stack.gateway.services.connections.get(id);
      expect(managed?.settings).toMatchObject({ realmId: '4620816365' });
      expect(typeof managed?.settings.accountId).toBe('string');
    }
  });
});
