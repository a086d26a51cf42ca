// Webhooks and the OAuth callback, checked three ways: our verifier, the official
// @shopify/shopify-api helpers (webhooks.validate, utils.validateHmac, test-helpers getHmac), and
// what the emulator really sends (a receiver on port 0 records raw bytes and headers).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import '@shopify/shopify-api/adapters/node';
import { ApiVersion, shopifyApi } from '@shopify/shopify-api';
import { getHmac } from '@shopify/shopify-api/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type ShopifyEmulatorHandle } from './emulator/index.ts';
import { signCallbackQuery, verifyCallbackQuery } from './oauth-hmac.ts';
import { APP_CLIENT_ID, APP_SECRET, TEST_TOKEN } from './test-support.ts';
import { complianceRequestOf, shopifyWebhookHmac, shopifyWebhookToChanges, verifyShopifyWebhook } from './webhooks.ts';

interface Received {
  headers: Record<string, string>;
  body: Buffer;
}

const shopify = shopifyApi({
  apiKey: APP_CLIENT_ID,
  apiSecretKey: APP_SECRET,
  scopes: ['read_orders'],
  hostName: 'gateway.example',
  apiVersion: ApiVersion.July26,
  isEmbeddedApp: false,
  logger: { level: 0 },
});

describe('Shopify webhooks and OAuth callback', () => {
  let emulator: ShopifyEmulatorHandle;
  let receiver: Server;
  const received: Received[] = [];
  let wake: (() => void) | null = null;
  const waitFor = async (n: number) => {
    while (received.length < n) await new Promise<void>((r) => (wake = r));
  };

  beforeAll(async () => {
    receiver = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
        res.writeHead(200).end();
        wake?.();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    emulator = await startEmulator({
      credentials: [TEST_TOKEN],
      scale: { contacts: 4, orders: 4 },
      oauthClients: [{ clientId: APP_CLIENT_ID, clientSecret: APP_SECRET, redirectUris: ['https://gateway.example/connect/shopify/callback'] }],
      // No secret: Shopify signs with the app's client secret.
      webhook: { url: `http://127.0.0.1:${port}/hook` } as never,
    });
  });
  afterAll(async () => {
    await emulator?.stop();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  const verify = (r: Received, secret = APP_SECRET, body = r.body) =>
    verifyShopifyWebhook({ rawBody: body, headers: r.headers, url: 'https://gateway.example/webhooks/shopify', method: 'POST', secret, now: Date.now() });

  it('a paid order arrives as orders/updated + orders/paid, signed, and both verifiers accept it', async () => {
    const orderId = String([...emulator.store.orders.keys()][0]);
    emulator.updateRecord('orders', orderId, { financial_status: 'paid' });
    await waitFor(2);
    const topics = received.map((r) => r.headers['x-shopify-topic']).sort();
    expect(topics).toEqual(['orders/paid', 'orders/updated']);
    const [a, b] = received as [Received, Received];
    expect(a.headers['x-shopify-event-id']).toBe(b.headers['x-shopify-event-id']);
    expect(a.headers['x-shopify-webhook-id']).not.toBe(b.headers['x-shopify-webhook-id']);
    for (const r of [a, b]) {
      expect(verify(r)).toEqual({ ok: true, value: undefined });
      // The official test helper computes the same header.
      expect(r.headers['x-shopify-hmac-sha256']).toBe(getHmac(r.body.toString('utf8'), APP_SECRET));
      const official = await shopify.webhooks.validate({
        rawBody: r.body.toString('utf8'),
        rawRequest: { headers: r.headers, method: 'POST', url: '/webhooks/shopify' } as never,
      });
      // The library reports the topic in its GraphQL enum form (ORDERS_UPDATED).
      expect(official).toMatchObject({
        valid: true,
        topic: String(r.headers['x-shopify-topic']).toUpperCase().replace('/', '_'),
        domain: emulator.shop,
        apiVersion: '2026-07',
      });
    }
    const changes = [a, b].map((r) => shopifyWebhookToChanges(r.body, r.headers));
    const events = changes.flatMap((c) => (c.ok ? c.value : []));
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(2);
    expect(events[0]).toMatchObject({
      entity: 'Order',
      remoteId: orderId,
      model: null,
      account: emulator.shop,
      occurredAt: a.headers['x-shopify-triggered-at'],
    });
    expect(events[0]?.version).toBe(Date.parse(JSON.parse(a.body.toString('utf8')).updated_at));
  });

  // A tampered body, another secret and a dropped header are the conformance suite's webhooks group
  // (conformance.test.ts); here what is Shopify's own: the messages, a parsed body, the helper's vector.
  it('names the missing X-Shopify-Hmac-Sha256 header and refuses a parsed body', () => {
    const r = received[0] as Received;
    expect(verify({ ...r, headers: { ...r.headers, 'x-shopify-hmac-sha256': '' } })).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('no X-Shopify-Hmac-Sha256') },
    });
    expect(verify(r, APP_SECRET, JSON.parse(r.body.toString('utf8')))).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('not raw bytes') },
    });
    // A known vector: base64 HMAC-SHA256 of "{}" with key "secret".
    expect(shopifyWebhookHmac('{}', 'secret')).toBe(getHmac('{}', 'secret'));
  });

  it('customers/create|update|delete become CREATED, UPDATED, DELETED', async () => {
    const before = received.length;
    const created = emulator.createRecord('customers', { first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com' });
    emulator.updateRecord('customers', String(created['id']), { last_name: 'Murray Hopper' });
    emulator.deleteRecord('customers', String(created['id']));
    await waitFor(before + 3);
    const types = received.slice(before).map((r) => {
      const c = shopifyWebhookToChanges(r.body, r.headers);
      return c.ok ? c.value.map((e) => `${e.entity}:${e.type}:${e.remoteId}`) : [];
    });
    expect(types.flat().sort()).toEqual([`Contact:CREATED:${created['id']}`, `Contact:DELETED:${created['id']}`, `Contact:UPDATED:${created['id']}`]);
  });

  it('compliance webhooks are verified, produce no change and parse into a request', async () => {
    const before = received.length;
    emulator.sendCompliance('customers/redact', {
      shop_id: 1,
      customer: { id: 7000000001, email: 'ada@example.com', phone: null },
      orders_to_redact: [5000000001, 5000000002],
    });
    emulator.sendCompliance('customers/data_request', {
      shop_id: 1,
      customer: { id: 7000000001, email: 'ada@example.com' },
      orders_requested: [5000000001],
      data_request: { id: 9999 },
    });
    await waitFor(before + 2);
    const [redact, dataRequest] = received.slice(before) as [Received, Received];
    expect(verify(redact)).toMatchObject({ ok: true });
    expect(shopifyWebhookToChanges(redact.body, redact.headers)).toEqual({ ok: true, value: [] });
    expect(complianceRequestOf(redact.body, redact.headers)).toMatchObject({
      ok: true,
      value: { topic: 'customers/redact', shop: emulator.shop, customerRemoteId: '7000000001', orderRemoteIds: ['5000000001', '5000000002'] },
    });
    expect(complianceRequestOf(dataRequest.body, dataRequest.headers)).toMatchObject({
      ok: true,
      value: { topic: 'customers/data_request', dataRequestId: '9999', orderRemoteIds: ['5000000001'] },
    });
  });

  it('the OAuth callback carries an hmac both our check and the official helper accept; tokens expire in 3600 s, answers have no token_type, refresh tokens rotate', async () => {
    const authorize = new URL('/admin/oauth/authorize', emulator.url);
    authorize.search = new URLSearchParams({
      client_id: APP_CLIENT_ID,
      scope: 'read_customers,read_orders',
      redirect_uri: 'https://gateway.example/connect/shopify/callback',
      state: 'nonce-123',
    }).toString();
    const res = await fetch(authorize, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const callback = new URL(res.headers.get('location') ?? '');
    expect(verifyCallbackQuery(callback.searchParams, APP_SECRET)).toEqual({ ok: true, shop: emulator.shop });
    expect(await shopify.utils.validateHmac(Object.fromEntries(callback.searchParams))).toBe(true);
    const forged = new URLSearchParams(callback.searchParams);
    forged.set('shop', 'evil.example.com');
    expect(verifyCallbackQuery(forged, APP_SECRET)).toEqual({ ok: false, reason: 'invalid_hmac' });
    forged.set('hmac', signCallbackQuery(forged, APP_SECRET));
    expect(verifyCallbackQuery(forged, APP_SECRET)).toEqual({ ok: false, reason: 'invalid_shop' });
    expect(verifyCallbackQuery(callback.searchParams, APP_SECRET, Date.now() + 120_000)).toEqual({ ok: false, reason: 'stale_timestamp' });

    const token = async (body: Record<string, string>) => {
      const r = await fetch(new URL('/admin/oauth/access_token', emulator.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: APP_CLIENT_ID, client_secret: APP_SECRET, ...body }),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const first = await token({ code: callback.searchParams.get('code') ?? '', expiring: '1' });
    // Exactly Shopify's fields (@shopify/shopify-api AccessTokenResponse + OfflineAccessInfo): no
    // token_type, which OAuth requires and the gateway fills in (manifest tokenResponseDefaults).
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      access_token: expect.stringMatching(/^shpat_/),
      scope: 'read_customers,read_orders',
      expires_in: 3600,
      refresh_token: expect.stringMatching(/^shprt_/),
      refresh_token_expires_in: 7_776_000,
    });
    const refresh = (refreshToken: unknown) => token({ grant_type: 'refresh_token', refresh_token: String(refreshToken) });
    const refreshed = await refresh(first.body['refresh_token']);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).not.toHaveProperty('token_type');
    expect(refreshed.body['refresh_token']).not.toBe(first.body['refresh_token']);
    // Since 2026-08-28 the used refresh token still works until its replacement is used (a lost
    // refresh answer can be retried); once the replacement is used, the old one is refused.
    const retried = await refresh(first.body['refresh_token']);
    expect(retried.status).toBe(200);
    expect((await refresh(retried.body['refresh_token'])).status).toBe(200);
    expect(await refresh(first.body['refresh_token'])).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const api = await fetch(new URL('/admin/api/2026-07/graphql.json', emulator.url), {
      method: 'POST',
      headers: { 'x-shopify-access-token': String(refreshed.body['access_token']), 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ customers(first: 1) { nodes { id } } }' }),
    });
    expect(api.status).toBe(200);
  });
});
