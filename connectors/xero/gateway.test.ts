// Xero through the real gateway (createGateway, real Redis, the registered emulator): one OAuth grant
// (PKCE) that reaches two organisations becomes two connections, each reading its own organisation;
// the app's one webhook URL passes Xero's Intent-to-Receive check (401 to wrong signatures, 200
// with no body to right ones, within 5 s, nothing queued) and routes a signed CONTACT event to the
// subscriber of the tenant whose organisation it names; disconnect removes the organisation's
// connection at Xero and revokes the refresh token with the last one. Also measures upstream calls
// for invoices(first: 100) { contact { name } } against the naive 1 + N.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { encodeId } from '../../src/ids.ts';
import { cookieBrowser, freePort, startConnect, startStack, subscribe, type Stack } from '../../test/helpers.ts';
import { TENANT_SETTING } from './client.ts';
import type { XeroEmulatorHandle } from './emulator/index.ts';
import { SETTINGS } from './index.ts';

const APP = { clientId: 'XEROTESTAPP0000000000000000000000', clientSecret: 'xero-test-app-secret-0000000000000000' };
const WEBHOOK_KEY = 'xero-gateway-test-webhook-key';
const BOOKS_KEY = `sb_books_${randomUUID()}`;
const OTHER_KEY = `sb_other_${randomUUID()}`;

const INVOICES_WITH_CONTACTS = /* GraphQL */ `
  {
    invoices(first: 100, filter: { provider: "xero" }, orderBy: { field: UPDATED_AT, direction: ASC }) {
      nodes {
        id
        number
        kind
        status
        contact {
          name
        }
      }
    }
  }
`;
type InvoicesResult = { invoices: { nodes: Array<{ id: string; number: string; kind: string; status: string; contact: { name: string | null } | null }> } };
type ContactChange = { contactChanged: { type: string; id: string; source: { connectionId: string }; contact: { name: string | null } | null } };
const CONTACT_SUB =
  'subscription ($after: String) { contactChanged(after: $after, filter: { provider: "xero" }) { type id source { connectionId } contact { name } } }';

let stack: Stack;
let xero: XeroEmulatorHandle;
let base: string;
let connectionIds: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/connect/xero/callback`;
  stack = await startStack({
    oauthClients: { xero: [{ ...APP, redirectUris: [callback] }] },
    config: { port, allowInsecureOAuth: true },
    extraTenants: () => [
      { id: 'books', apiKeys: [{ id: 'b', sha256: hashApiKey(BOOKS_KEY) }], connections: [] },
      { id: 'other', apiKeys: [{ id: 'o', sha256: hashApiKey(OTHER_KEY) }], connections: [] },
    ],
  });
  xero = stack.emulators.get('xero') as XeroEmulatorHandle;
  base = stack.gateway.url.replace(/\/graphql$/, '');
  stack.gateway.services.config.providers.xero = {
    baseUrl: xero.url,
    oauth: {
      clientId: APP.clientId,
      clientSecret: { type: 'static', token: APP.clientSecret },
      authorizationUrl: `${xero.url}/identity/connect/authorize`,
      tokenUrl: `${xero.url}/connect/token`,
      revocationUrl: `${xero.url}/connect/revocation`,
    },
    webhookSecret: { type: 'static', token: WEBHOOK_KEY },
  };
});
afterAll(() => stack?.stop());

describe('Xero through the gateway', () => {
  it('turns one grant into one connection per organisation, each reading only its own', async () => {
    const browser = cookieBrowser();
    const session = await stack.query<{ createConnectSession: { url: string } }>(
      'mutation { createConnectSession(connector: "xero") { url } }',
      undefined,
      BOOKS_KEY,
    );
    expect(session.errors).toBeUndefined();
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    expect(start.status).toBe(303);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('scope')).toContain('offline_access');
    const consent = await browser(authorize);
    expect(consent.status).toBe(302);
    const done = await browser(consent.headers.get('location')!);
    expect(done.status).toBe(200);
    connectionIds = ((await done.json()) as { connectionIds: string[] }).connectionIds;
    expect(connectionIds).toHaveLength(2);

    const [us, uk] = xero.tenantIds();
    const byTenant = new Map<string, string>();
    for (const id of connectionIds) {
      const managed = await stack.gateway.services.connections.get(id);
      expect(managed?.settings).toMatchObject({
        [SETTINGS.connection]: expect.any(String),
        [SETTINGS.authEvent]: expect.any(String),
        [SETTINGS.baseCurrency]: expect.stringMatching(/^(USD|GBP)$/),
      });
      byTenant.set(managed!.settings[TENANT_SETTING] as string, id);
    }
    expect([...byTenant.keys()].sort()).toEqual([us, uk].sort());

    for (const [tenantId, connectionId] of byTenant) {
      const seen = await stack.query<{ invoices: { nodes: Array<{ source: { connectionId: string; remoteId: string } }> } }>(
        'query ($c: ID!) { invoices(first: 100, filter: { connectionId: $c }) { nodes { source { connectionId remoteId } } } }',
        { c: connectionId },
        BOOKS_KEY,
      );
      expect(seen.errors).toBeUndefined();
      const nodes = seen.data!.invoices.nodes;
      expect(nodes.length).toBeGreaterThan(0);
      // Every record a connection serves is one of its own organisation's.
      for (const n of nodes) expect(xero.store.org(tenantId).invoices.has(n.source.remoteId)).toBe(true);
    }
    // Another tenant sees none of them.
    const other = await stack.query<{ invoices: { nodes: unknown[] } }>(
      '{ invoices(first: 5, filter: { provider: "xero" }) { nodes { id } } }',
      undefined,
      OTHER_KEY,
    );
    expect(other.data?.invoices.nodes ?? []).toEqual([]);
  });

  it("passes Xero's Intent-to-Receive on the app URL: 401 to wrongly signed, 200 with no body within 5 s to correctly signed, nothing queued", async () => {
    const cursor = (await stack.query<{ changeCursor: string }>('{ changeCursor }', undefined, BOOKS_KEY)).data!.changeCursor;
    const sub = await subscribe<ContactChange>(stack.gateway.url, BOOKS_KEY, CONTACT_SUB, { after: cursor });
    xero.setWebhook({ url: `${base}/webhooks/xero`, secret: WEBHOOK_KEY, retryDelaysMs: [200] });
    try {
      const check = await xero.intentToReceive(`${base}/webhooks/xero`, WEBHOOK_KEY);
      expect(check.attempts.map((a) => [a.signedCorrectly, a.status, a.bodyBytes])).toEqual([
        [true, 200, 0],
        [false, 401, expect.any(Number)],
        [true, 200, 0],
        [false, 401, expect.any(Number)],
      ]);
      expect(check.attempts.every((a) => a.ms < 5000)).toBe(true);
      expect(check.ok).toBe(true);
      // The same on a connection's own URL.
      expect((await xero.intentToReceive(`${base}/webhooks/xero/${connectionIds[0]}`, WEBHOOK_KEY)).ok).toBe(true);
      // A real change after the handshakes is the first event the subscriber sees.
      const contact = [...xero.store.org(xero.tenantIds()[1]!).contacts.values()][2]!;
      xero.records.update('contacts', contact.ContactID, { Name: 'After the handshake' });
      const [event] = await sub.waitFor(1, 15_000);
      expect(event!.contactChanged.contact?.name).toBe('After the handshake');
      expect(sub.received).toHaveLength(1);
    } finally {
      await sub.close();
      xero.setWebhook(null);
    }
  });

  it('routes a signed CONTACT event from the app URL to the connection of the organisation it names, refetched by id', async () => {
    xero.setWebhook({ url: `${base}/webhooks/xero`, secret: WEBHOOK_KEY, retryDelaysMs: [200] });
    const cursor = async (key: string) => (await stack.query<{ changeCursor: string }>('{ changeCursor }', undefined, key)).data!.changeCursor;
    const mine = await subscribe<ContactChange>(stack.gateway.url, BOOKS_KEY, CONTACT_SUB, { after: await cursor(BOOKS_KEY) });
    const theirs = await subscribe<ContactChange>(stack.gateway.url, OTHER_KEY, CONTACT_SUB, { after: await cursor(OTHER_KEY) });
    try {
      const uk = xero.tenantIds()[1]!;
      const ukConnection = (await Promise.all(connectionIds.map((id) => stack.gateway.services.connections.get(id)))).find(
        (c) => c?.settings[TENANT_SETTING] === uk,
      )!;
      const contact = [...xero.store.org(uk).contacts.values()][4]!;
      const name = `Renamed ${randomUUID().slice(0, 6)}`;
      xero.records.update('contacts', contact.ContactID, { Name: name });
      const [event] = await mine.waitFor(1, 15_000);
      expect(event!.contactChanged).toMatchObject({
        type: 'UPDATED',
        id: encodeId('Contact', ukConnection.id, contact.ContactID),
        source: { connectionId: ukConnection.id },
        contact: { name },
      });
      await xero.waitForIdle();
      expect(xero.deliveries().at(-1)).toMatchObject({ status: 200, events: 1 });
      expect(theirs.received).toHaveLength(0);
    } finally {
      await mine.close();
      await theirs.close();
      xero.setWebhook(null);
    }
  });

  it('answers invoices(first: 100) { contact { name } } with 1 + ceil(distinct contacts / 50) calls instead of 1 + N', async () => {
    xero.resetRequests();
    // 20 ms per upstream call, as in docs/benchmarks.md.
    xero.setLatency(20);
    const started = performance.now();
    const cold = await stack.query<InvoicesResult>(INVOICES_WITH_CONTACTS).finally(() => xero.setLatency(0));
    const coldMs = Math.round(performance.now() - started);
    expect(cold.errors).toBeUndefined();
    const nodes = cold.data!.invoices.nodes;
    expect(nodes).toHaveLength(100);
    expect(nodes.every((n) => n.contact?.name)).toBe(true);
    expect(new Set(nodes.map((n) => n.kind))).toEqual(new Set(['RECEIVABLE', 'PAYABLE']));
    const org = xero.store.org(xero.tenantIds()[0]!);
    // Xero sorts by UpdatedDateUTC (its invoices have no creation time, so the default order would
    // have the gateway read them all and sort): the 100 least recently changed.
    const distinct = new Set(
      [...org.invoices.values()]
        .sort((a, b) => a.updatedMs - b.updatedMs)
        .slice(0, 100)
        .map((i) => i.ContactID),
    ).size;
    const coldCalls = xero.count();
    expect(xero.count('invoices.list')).toBe(1);
    expect(xero.count('contacts.list')).toBe(Math.ceil(distinct / 50));
    expect(coldCalls).toBe(1 + Math.ceil(distinct / 50));
    console.info(
      `xero invoices(first:100){contact{name}}: ${coldCalls} upstream calls cold in ${coldMs} ms at 20 ms per call (naive 1 + N = ${1 + nodes.length}; ${distinct} distinct contacts)`,
    );
    xero.resetRequests();
    const warm = await stack.query<InvoicesResult>(INVOICES_WITH_CONTACTS);
    expect(warm.data!.invoices.nodes.map((n) => n.id)).toEqual(nodes.map((n) => n.id));
    console.info(`xero invoices(first:100){contact{name}}: ${xero.count()} upstream calls warm`);
    expect(xero.count()).toBeLessThanOrEqual(1);
  });

  it('disconnect removes the organisation at Xero, and revokes the refresh token with the last one', async () => {
    const disconnect = (id: string) =>
      stack.query<{ disconnect: { revokedAtProvider: boolean; message: string } }>(
        'mutation ($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider message } }',
        { id },
        BOOKS_KEY,
      );
    const live = () => [...xero.oauth.connections.values()].filter((c) => c.clientId === APP.clientId);
    expect(live()).toHaveLength(2);
    const first = await disconnect(connectionIds[0]!);
    expect(first.errors).toBeUndefined();
    expect(first.data!.disconnect.revokedAtProvider).toBe(true);
    expect(live()).toHaveLength(1);
    // The other organisation still reads: its grant is alive.
    expect(xero.oauth.book.state().liveRefreshTokens).toBeGreaterThan(0);
    const still = await stack.query<{ invoices: { nodes: Array<{ source: { connectionId: string } }> } }>(
      '{ invoices(first: 3, filter: { provider: "xero" }) { nodes { source { connectionId } } } }',
      undefined,
      BOOKS_KEY,
    );
    expect(still.errors).toBeUndefined();
    expect(still.data!.invoices.nodes.map((n) => n.source.connectionId)).toEqual([connectionIds[1], connectionIds[1], connectionIds[1]]);

    // The last organisation's access token has expired (30 min): renewed once, then DELETE and revocation.
    xero.oauth.book.configure({ expireAllAccessTokens: true });
    const refreshes = xero.oauth.book.successfulGrants('refresh_token');
    const second = await disconnect(connectionIds[1]!);
    expect(second.data!.disconnect.revokedAtProvider).toBe(true);
    expect(live()).toHaveLength(0);
    expect(xero.oauth.book.successfulGrants('refresh_token')).toBe(refreshes + 1);
    expect(xero.oauth.book.state().liveRefreshTokens).toBe(0);
    const deletes = xero.requests().filter((r) => r.operation === 'connections.delete');
    expect(deletes.map((r) => r.status)).toEqual([204, 401, 204]);
  });
});
