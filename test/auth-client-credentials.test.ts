// The operator's client-credentials app (issue 13): on the HubSpot emulator, a tenant could connect
// with the gateway's own app (no consent, scopes of its choosing), and the token's hub_id made it a
// routing target of the portal another tenant had connected through OAuth. Now the grant needs the
// operator's per-tenant allowance and scope list, and app-level webhooks route only to connections
// whose account owner consented.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { HUBSPOT_APP, startAuthStack, type AuthStack } from './auth-support.ts';
import { cookieBrowser, startConnect } from './helpers.ts';

const GAMMA_KEY = `sb_gamma_${'c'.repeat(40)}`;
let s: AuthStack;

beforeAll(async () => {
  s = await startAuthStack({
    extraTenants: [
      {
        id: 'gamma',
        apiKeys: [{ id: 'g1', sha256: hashApiKey(GAMMA_KEY) }],
        connections: [],
        clientCredentials: { hubspot: { scopes: ['crm.objects.contacts.read'] } },
      },
    ],
  });
});
afterAll(async () => {
  await s?.stack.stop();
});

const CC = `mutation($s: [String!]) { connectWithClientCredentials(connector: "hubspot", scopes: $s) { id authType scopes } }`;
const gamma = <T>(q: string, v?: Record<string, unknown>) => s.stack.query<T>(q, v, GAMMA_KEY);

describe('client-credentials connections', () => {
  it('a tenant the operator has not allowed is FORBIDDEN; no token is requested and nothing is stored', async () => {
    const grants = s.stack.hubspot.oauth.successfulGrants('client_credentials');
    const res = await s.beta(CC, { s: ['crm.objects.contacts.read'] });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.errors?.[0]?.message).toMatch(/clientCredentials\.hubspot/);
    expect(s.stack.hubspot.oauth.successfulGrants('client_credentials')).toBe(grants);
    expect((await s.beta<{ connections: unknown[] }>(`{ connections { id } }`)).data!.connections).toEqual([]);
  });

  it('an allowed tenant gets only the scopes the operator allows it', async () => {
    const wider = await gamma(CC, { s: ['crm.objects.contacts.read', 'crm.objects.deals.read'] });
    expect(wider.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(wider.errors?.[0]?.message).toMatch(/crm\.objects\.deals\.read/);
    const ok = await gamma<{ connectWithClientCredentials: { authType: string; scopes: string[] } }>(CC, {});
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.connectWithClientCredentials).toMatchObject({ authType: 'CLIENT_CREDENTIALS', scopes: ['crm.objects.contacts.read'] });
  });

  it('app-level webhooks for a portal reach the tenant that connected it through OAuth, never a client-credentials connection that names the same portal', async () => {
    // beta connects the portal through the consent flow.
    const browser = cookieBrowser();
    const made = await s.beta<{ createConnectSession: { url: string } }>(`mutation { createConnectSession(connector: "hubspot") { url } }`);
    const started = await startConnect(browser, made.data!.createConnectSession.url);
    const consent = await browser(started.headers.get('location')!);
    const done = await browser(consent.headers.get('location')!);
    expect(done.status).toBe(200);
    const betaConnection = ((await done.json()) as { connectionId: string }).connectionId;
    const portal = (await s.stack.gateway.services.connections.get(betaConnection))!.settings.portalId as string;

    // gamma (allowed) holds a client-credentials connection whose token names the same portal.
    const cc = await gamma<{ connectWithClientCredentials: { id: string } }>(CC, {});
    const gammaConnection = (await s.stack.gateway.services.connections.get(cc.data!.connectWithClientCredentials.id))!;
    expect(String(gammaConnection.settings.portalId)).toBe(portal);

    const url = `${s.base}/webhooks/hubspot`;
    const body = JSON.stringify([
      {
        eventId: Date.now(),
        subscriptionId: 1,
        portalId: Number(portal),
        appId: 1,
        occurredAt: Date.now(),
        subscriptionType: 'contact.propertyChange',
        attemptNumber: 0,
        objectId: 1,
        changeSource: 'CRM_UI',
        propertyName: 'firstname',
        propertyValue: 'Routed',
      },
    ]);
    // HubSpot's v3 signature: HMAC-SHA256 (base64) of method + URL + body + timestamp, keyed by the app's client secret.
    const timestamp = String(Date.now());
    const signature = createHmac('sha256', HUBSPOT_APP.clientSecret).update(`POST${url}${body}${timestamp}`).digest('base64');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp },
      body,
    });
    expect(res.status).toBe(200);
    // One routing target: beta's OAuth connection; gamma's client-credentials connection is not one.
    expect(await res.json()).toEqual({ received: 1, routed: 1, unrouted: 0 });
  });
});
