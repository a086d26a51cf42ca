// Shopify's OAuth callback through the gateway's connect flow: the `hmac` the shop signs the callback
// with is checked (the contract's auth.verifyCallback) before the code is redeemed. A genuine
// callback completes the connection (token stored, reads with X-Shopify-Access-Token, refresh
// rotation); a tampered one is refused 400 and nothing is stored.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord } from '../../src/accounts/token-manager.ts';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { cookieBrowser, freePort, startConnect, startStack, type Stack } from '../../test/helpers.ts';
import type { ShopifyEmulatorHandle } from './emulator/index.ts';

const APP = { clientId: 'shopify-connect-test', clientSecret: `shpss_${randomUUID().replace(/-/g, '')}` };
const KEY = `sb_shop_${randomUUID()}`;
const TENANT = 'shop-tenant';

let stack: Stack;
let shop: ShopifyEmulatorHandle;

beforeAll(async () => {
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/connect/shopify/callback`;
  stack = await startStack({
    scale: { contacts: 2, invoices: 1, orders: 1 },
    oauthClients: { shopify: [{ ...APP, redirectUris: [callback], scopes: ['read_customers', 'read_orders'] }] },
    config: { port, allowInsecureOAuth: true },
    extraTenants: () => [{ id: TENANT, apiKeys: [{ id: 's', sha256: hashApiKey(KEY) }], connections: [] }],
  });
  shop = stack.emulators.get('shopify') as ShopifyEmulatorHandle;
  stack.gateway.services.config.providers.shopify = {
    baseUrl: shop.url,
    oauth: {
      clientId: APP.clientId,
      clientSecret: { type: 'static', token: APP.clientSecret },
      scopes: ['read_customers', 'read_orders'],
      authorizationUrl: `${shop.url}/admin/oauth/authorize`,
      tokenUrl: `${shop.url}/admin/oauth/access_token`,
    },
  };
});
afterAll(() => stack?.stop());

/** Walks the connect flow to the shop's redirect back to the gateway; `tamper` edits the callback URL. */
async function connect(tamper: (callback: URL) => void): Promise<Response> {
  const browser = cookieBrowser();
  const session = await stack.query<{ createConnectSession: { url: string } }>(
    `mutation { createConnectSession(connector: "shopify", params: { shop: "${shop.shop}" }) { url } }`,
    undefined,
    KEY,
  );
  expect(session.errors).toBeUndefined();
  const start = await startConnect(browser, session.data!.createConnectSession.url);
  expect(start.status).toBe(303);
  const consent = await browser(start.headers.get('location')!);
  expect(consent.status).toBe(302);
  const back = new URL(consent.headers.get('location')!);
  expect(back.searchParams.get('hmac')).toMatch(/^[0-9a-f]{64}$/);
  tamper(back);
  return browser(back);
}

const stored = async () => (await stack.gateway.services.connections.listByTenant(TENANT)).filter((c) => c.provider === 'shopify');

describe('Shopify OAuth callback hmac', () => {
  it('a callback whose signed parameters were changed is refused 400 and nothing is stored', async () => {
    const tokensBefore = shop.requests().filter((r) => r.operation === 'oauth.token').length;
    const res = await connect((u) => u.searchParams.set('timestamp', String(Number(u.searchParams.get('timestamp')) - 1)));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/hmac does not match/);
    // The code was never redeemed and no connection exists.
    expect(shop.requests().filter((r) => r.operation === 'oauth.token').length).toBe(tokensBefore);
    expect(await stored()).toEqual([]);
  });

  it('a callback with a forged hmac is refused too', async () => {
    const res = await connect((u) => u.searchParams.set('hmac', 'ab'.repeat(32)));
    expect(res.status).toBe(400);
    expect(await stored()).toEqual([]);
  });

  it('the genuine callback completes: token stored, reads carry X-Shopify-Access-Token, refresh rotates', async () => {
    const tokensBefore = shop.requests().filter((r) => r.operation === 'oauth.token').length;
    const res = await connect(() => undefined);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; connectionId: string };
    expect(body.status).toBe('connected');
    expect(shop.requests().filter((r) => r.operation === 'oauth.token').length).toBe(tokensBefore + 1);
    // Stored: an expiring offline token (3600 s) with its refresh token; the shop is a setting.
    const [connection] = await stored();
    expect(connection).toMatchObject({ id: body.connectionId, status: 'ACTIVE', settings: { shop: shop.shop } });
    const first = await stack.gateway.services.vault.get<TokenRecord>(TENANT, body.connectionId);
    expect(first?.accessToken).toMatch(/^shpat_/);
    expect(first?.refreshToken).toMatch(/^shprt_/);
    expect((first!.expiresAt as number) - Date.now()).toBeGreaterThan(3_500_000);

    // A read through the gateway sends the token in X-Shopify-Access-Token (the emulator's credential).
    const read = async (first: number) => {
      const r = await stack.query<{ contacts: { nodes: Array<{ source: { connectionId: string } }> } }>(
        `{ contacts(first: ${first}, filter: { provider: "shopify" }) { nodes { source { connectionId } } } }`,
        undefined,
        KEY,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.contacts.nodes.length).toBeGreaterThan(0);
      expect(r.data!.contacts.nodes.every((n) => n.source.connectionId === body.connectionId)).toBe(true);
    };
    const readsBefore = shop.requests().length;
    await read(5);
    const reads = shop
      .requests()
      .slice(readsBefore)
      .filter((r) => r.operation === 'graphql');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.credential === first!.accessToken && r.status === 200)).toBe(true);

    // The access token dies early: the 401 renews through the refresh grant, which rotates the
    // refresh token, and the read succeeds with the new token. Shopify keeps the used refresh token
    // for a retry until its replacement is used: the next renewal retires it.
    shop.oauth.configure({ expireAllAccessTokens: true });
    const retryFrom = shop.requests().length;
    await read(4); // other arguments than before: not answered from the cache
    const second = await stack.gateway.services.vault.get<TokenRecord>(TENANT, body.connectionId);
    expect(second?.accessToken).toMatch(/^shpat_/);
    expect(second?.accessToken).not.toBe(first?.accessToken);
    expect(second?.refreshToken).toMatch(/^shprt_/);
    expect(second?.refreshToken).not.toBe(first?.refreshToken);
    const after = shop.requests().slice(retryFrom);
    expect(after.some((r) => r.operation === 'oauth.token' && r.status === 200)).toBe(true);
    expect(after.filter((r) => r.operation === 'graphql').at(-1)).toMatchObject({ status: 200, credential: second!.accessToken });

    expect(shop.oauth.book.liveRefresh(first!.refreshToken)).toBeTruthy();
    shop.oauth.configure({ expireAllAccessTokens: true });
    await read(3);
    const third = await stack.gateway.services.vault.get<TokenRecord>(TENANT, body.connectionId);
    expect(third?.refreshToken).not.toBe(second?.refreshToken);
    expect(shop.oauth.book.liveRefresh(first!.refreshToken)).toBeFalsy();
  });
});
