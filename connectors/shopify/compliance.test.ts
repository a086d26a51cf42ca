// Shopify's mandatory compliance webhooks end to end, through the real gateway and Redis: a signed
// customers/redact makes the gateway forget the customer (the next read goes to Shopify) and removes
// the change-log entries about them; shop/redact forgets the whole connection (audited); customers/data_request
// is recorded for the tenant; an unsigned or tampered request changes nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { defaultGatewayConfig, type TenantConfig } from '../../src/config.ts';
import { encodeId } from '../../src/ids.ts';
import { emailDigest } from '../../src/privacy/purge.ts';
import { createGateway, type Gateway } from '../../src/server.ts';
import { graphql, REDIS_URL, RUN_PREFIX } from '../../test/helpers.ts';
import { startEmulator, type ShopifyEmulatorHandle } from './emulator/index.ts';
import { H, shopifyWebhookHmac } from './webhooks.ts';
import { APP_SECRET, shopTenant, TEST_TOKEN } from './test-support.ts';

const CONTACT = 'query ($id: ID!) { contact(id: $id) { id emails { address } } }';

describe('Shopify compliance webhooks through the gateway', () => {
  let shop: ShopifyEmulatorHandle;
  let gateway: Gateway;
  let hook: string;
  const key = `sb_test_${randomUUID()}`;

  beforeAll(async () => {
    shop = await startEmulator({ credentials: [TEST_TOKEN], seed: 21, scale: { contacts: 6, orders: 12 } });
    const tenants = [shopTenant('acme', hashApiKey(key), 'acme-shopify', shop)] as TenantConfig[];
    gateway = await createGateway(
      defaultGatewayConfig(tenants, { mode: 'test', redisUrl: REDIS_URL, keyPrefix: `${RUN_PREFIX}:shopify-gdpr:${randomUUID().slice(0, 6)}` }),
    );
    hook = `${gateway.url.replace(/\/graphql$/, '')}/webhooks/shopify/acme-shopify`;
    shop.setWebhook({ url: hook, secret: APP_SECRET, retryDelaysMs: [50, 100] });
  });
  afterAll(async () => {
    await gateway?.stop();
    await shop?.stop();
  });

  const events = () => gateway.services.events;
  const changesAbout = async (remoteId: string) => (await events().log.readAfter('acme', '0-0', 10_000)).filter((c) => c.remoteId === remoteId);
  /** Waits until the event worker published a change about the record (no fixed sleep). */
  const published = async (remoteId: string) => {
    for (let i = 0; i < 200 && (await changesAbout(remoteId)).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    return changesAbout(remoteId);
  };
  const readContact = async (remoteId: string) => {
    shop.resetRequests();
    const res = await graphql<{ contact: { emails: Array<{ address: string }> } | null }>(gateway.url, key, CONTACT, {
      id: encodeId('Contact', 'acme-shopify', remoteId),
    });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return { contact: res.data?.contact ?? null, upstreamCalls: shop.count() };
  };

  it('customers/redact: the cached customer is gone (the next read asks Shopify) and its change-log entries are removed', async () => {
    const [customer, other] = [...shop.store.customers.values()];
    const id = String(customer!.id);
    const otherId = String(other!.id);
    // A change about each customer reaches the change log (and the cache holds the refetched record).
    shop.updateRecord('customers', id, { note: 'VIP' });
    shop.updateRecord('customers', otherId, { note: 'regular' });
    expect(await published(id)).toHaveLength(1);
    expect(await published(otherId)).toHaveLength(1);
    expect((await readContact(id)).upstreamCalls).toBe(0);
    await shop.waitForIdle();

    const before = shop.deliveries().length;
    // An operator linked the customer to a person by hand: the redaction removes the link too.
    const ref = { connectionId: 'acme-shopify', remoteId: id };
    await gateway.services.identity.decide('acme', 'someone@example.com', [ref], 'link', 'key:k1');
    shop.sendCompliance('customers/redact', { customer: { id: customer!.id, email: customer!.email, phone: null }, orders_to_redact: [] });
    await shop.waitForIdle();
    expect(
      shop
        .deliveries()
        .slice(before)
        .map((d) => d.status),
    ).toEqual([200]);

    expect(await changesAbout(id)).toEqual([]);
    // The same code path as the purgePerson mutation: audited (without the address).
    const audit = await gateway.services.audit.list('acme', { first: 5, filter: { actions: ['person.purged'] } });
    expect(audit.entries[0]).toMatchObject({
      actor: 'system',
      target: emailDigest(customer!.email!),
      detail: { via: 'shopify privacy request', connectionId: 'acme-shopify' },
    });
    expect(JSON.stringify(audit.entries)).not.toContain(customer!.email!);
    // Another customer's history is untouched.
    expect(await changesAbout(otherId)).toHaveLength(1);
    const after = await readContact(id);
    expect(after.upstreamCalls).toBe(1);
    expect(await gateway.services.identity.about('acme', [ref])).toEqual([]);
    expect(await gateway.services.identity.linkedTo('acme', [ref])).toEqual([null]);
    expect(after.contact?.emails.map((e) => e.address)).toEqual([customer!.email]);
    expect((await readContact(otherId)).upstreamCalls).toBe(0);
  });

  it('customers/data_request is recorded once for the tenant to answer', async () => {
    const customer = [...shop.store.customers.values()][2]!;
    const body = Buffer.from(
      JSON.stringify({
        shop_domain: shop.shop,
        customer: { id: customer.id, email: customer.email },
        orders_requested: [5000000001],
        data_request: { id: 991 },
      }),
    );
    const headers = {
      'content-type': 'application/json',
      [H.topic]: 'customers/data_request',
      [H.shop]: shop.shop,
      [H.webhookId]: `wh-${randomUUID()}`,
      [H.hmac]: shopifyWebhookHmac(body, APP_SECRET),
    };
    for (let i = 0; i < 2; i++) expect((await fetch(hook, { method: 'POST', headers, body })).status).toBe(200);
    const requests = await events().compliance.dataRequests.list('acme');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      connectionId: 'acme-shopify',
      provider: 'shopify',
      email: customer.email,
      providerRequestId: '991',
      records: [
        { entity: 'Contact', remoteId: String(customer.id) },
        { entity: 'Order', remoteId: '5000000001' },
      ],
    });
  });

  it('a tampered signature is refused (401) and nothing is purged', async () => {
    const customer = [...shop.store.customers.values()][3]!;
    const id = String(customer.id);
    expect((await readContact(id)).upstreamCalls).toBe(1);
    const body = Buffer.from(JSON.stringify({ shop_domain: shop.shop, customer: { id: customer.id, email: customer.email } }));
    const res = await fetch(hook, {
      method: 'POST',
      headers: { [H.topic]: 'customers/redact', [H.webhookId]: 'wh-tampered', [H.hmac]: shopifyWebhookHmac(Buffer.from('{}'), APP_SECRET) },
      body,
    });
    expect(res.status).toBe(401);
    expect((await readContact(id)).upstreamCalls).toBe(0);
  });

  it('shop/redact forgets every cached record and change-log entry of the connection', async () => {
    const ids = [...shop.store.customers.values()].slice(4, 6).map((c) => String(c.id));
    for (const id of ids) expect((await readContact(id)).upstreamCalls).toBe(1);
    shop.updateRecord('customers', ids[0]!, { note: 'x' });
    expect(await published(ids[0]!)).toHaveLength(1);
    await shop.waitForIdle();
    const before = shop.deliveries().length;
    shop.sendCompliance('shop/redact', {});
    await shop.waitForIdle();
    expect(
      shop
        .deliveries()
        .slice(before)
        .map((d) => d.status),
    ).toEqual([200]);
    expect((await events().log.readAfter('acme', '0-0', 10_000)).filter((c) => c.connectionId === 'acme-shopify')).toEqual([]);
    for (const id of ids) expect((await readContact(id)).upstreamCalls).toBe(1);
    // Audited like a person purge: what asked, which connection, what went.
    const audit = await gateway.services.audit.list('acme', { first: 5, filter: { actions: ['connection.purged'] } });
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({
      actor: 'system',
      target: 'acme-shopify',
      outcome: 'success',
      detail: { via: 'shopify privacy request', changesRemoved: expect.any(Number) },
    });
    // This test's change and the earlier tests' entries of the connection.
    expect((audit.entries[0]!.detail as { changesRemoved: number }).changesRemoved).toBeGreaterThanOrEqual(1);
  });
});
