// The event path end to end: provider emulators send signed webhooks to the gateway, which
// verifies, deduplicates, queues durably (BullMQ on the real Redis), processes and publishes to
// graphql-ws subscribers — across two gateway processes sharing Redis.
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { encodeId } from '../src/ids.ts';
import { signV3 } from '../connectors/hubspot/webhooks.ts';
import { REDIS_URL, TOKENS, graphql, startStack, stripeCustomerObject, subscribe, type Stack, admin, sendStripeWebhooksToAcme } from './helpers.ts';

const STRIPE_SECRET = 'whsec_switchboard_test_secret_0000';
const stripeSdk = new Stripe('sk_test_unused');
const OTHER_KEY = `sb_test_${randomUUID()}`;

type ContactChange = {
  contactChanged: {
    eventId: string;
    cursor: string;
    type: string;
    id: string;
    source: { provider: string; connectionId: string };
    contact: { name: string | null } | null;
  };
};
const CONTACT_SUB = /* GraphQL */ `
  subscription ($after: String, $filter: ChangeFilter) {
    contactChanged(after: $after, filter: $filter) {
      eventId
      cursor
      type
      id
      source {
        provider
        connectionId
      }
      contact {
        name
      }
    }
  }
`;

async function firstStripeCustomer(stack: Stack, index = 0): Promise<string> {
  const res = await fetch(`${stack.stripe.url}/v1/customers?limit=${index + 1}`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
  return ((await res.json()) as { data: Array<{ id: string }> }).data[index]!.id;
}

describe('webhooks → subscriptions', () => {
  let stack: Stack;
  let second: Gateway;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 20, invoices: 20, orders: 10 },
      config: { events: { workerConcurrency: 10, maxAttempts: 2, retryBaseDelayMs: 20, dedupeTtlSeconds: 3600, retainedChanges: 10_000 } },
      extraTenants: (e) => [
        {
          id: 'globex',
          apiKeys: [{ id: 'k', sha256: hashApiKey(OTHER_KEY) }],
          connections: [
            {
              id: 'globex-stripe',
              provider: 'stripe',
              baseUrl: e.stripe.url,
              credentials: { type: 'static', token: TOKENS.stripe },
              settings: {},
              webhookSecret: { type: 'static', token: 'whsec_globex_secret' },
            },
          ],
        },
      ],
    });
    await sendStripeWebhooksToAcme(stack, STRIPE_SECRET);
    // A second replica on the same Redis and key prefix.
    second = await createGateway(defaultGatewayConfig(stack.gateway.services.config.tenants, { ...stack.gateway.services.config, port: 0 }));
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  const hook = (path: string) => `${stack.gateway.url.replace(/\/graphql$/, '')}${path}`;

  it('delivers a provider change to a subscriber on another replica, once, with the cache refreshed', async () => {
    const customer = await firstStripeCustomer(stack);
    const id = encodeId('Contact', 'acme-stripe', customer);
    // Warm the cache with the old name.
    const before = await stack.query<{ contact: { name: string } }>('query ($id: ID!) { contact(id: $id) { name } }', { id });
    const { data } = await graphql<{ changeCursor: string }>(second.url, stack.apiKey, '{ changeCursor }');
    const sub = await subscribe<ContactChange>(second.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    try {
      const newName = `Renamed ${randomUUID().slice(0, 6)}`;
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: newName });
      const [event] = await sub.waitFor(1);
      expect(event!.contactChanged).toMatchObject({
        type: 'UPDATED',
        id,
        source: { provider: 'stripe', connectionId: 'acme-stripe' },
        contact: { name: newName },
      });
      expect(before.data?.contact.name).not.toBe(newName);
      // A query made after the event sees the new version (the cache was refreshed first), from
      // the cache: the event's record was written after the old one was deleted, not before.
      stack.stripe.resetRequests();
      const after = await stack.query<{ contact: { name: string; source: { cacheStatus: string } } }>(
        'query ($id: ID!) { contact(id: $id) { name source { cacheStatus } } }',
        { id },
      );
      expect(after.data?.contact).toEqual({ name: newName, source: { cacheStatus: 'HIT' } });
      expect(stack.stripe.count()).toBe(0);
      // Exactly once, even with two replicas' workers sharing the queue.
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.received).toHaveLength(1);
    } finally {
      await sub.close();
    }
  });

  it('a cached list shows a record created after the page was cached, once its event is processed', async () => {
    const LIST = '{ contacts(first: 100, filter: { provider: "stripe" }) { nodes { source { remoteId } } } }';
    type List = { contacts: { nodes: Array<{ source: { remoteId: string } }> } };
    const before = await stack.query<List>(LIST);
    stack.stripe.resetRequests();
    await stack.query<List>(LIST);
    expect(stack.stripe.count()).toBe(0); // the page is cached
    const { data } = await graphql<{ changeCursor: string }>(stack.gateway.url, stack.apiKey, '{ changeCursor }');
    const sub = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor, filter: { types: ['CREATED'] } });
    try {
      const created = await admin(stack.stripe.url, 'POST', '/records/customers', {
        name: `New ${randomUUID().slice(0, 6)}`,
        email: 'new.customer@example.com',
      });
      await sub.waitFor(1);
      const after = await stack.query<List>(LIST);
      expect(after.data!.contacts.nodes.map((n) => n.source.remoteId)).toContain(created.id);
      expect(after.data!.contacts.nodes.length).toBe(before.data!.contacts.nodes.length + 1);
    } finally {
      await sub.close();
    }
  });

  it('a cached list page whose generation was evicted is not served', async () => {
    const LIST = '{ contacts(first: 7, filter: { provider: "stripe" }) { nodes { id } } }';
    await stack.query(LIST);
    stack.stripe.resetRequests();
    await stack.query(LIST);
    expect(stack.stripe.count()).toBe(0);
    // Memory pressure evicts the generation key (but not the page).
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${stack.gateway.services.config.keyPrefix}:cache*:g:acme:acme-stripe:Contact`);
      expect(keys).toHaveLength(1);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await stack.query(LIST);
    expect(stack.stripe.count()).toBeGreaterThan(0);
  });

  it('acknowledges a redelivered event with 2xx and publishes it once', async () => {
    const customer = await firstStripeCustomer(stack);
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    try {
      const payload = JSON.stringify({
        id: `evt_${randomUUID().replace(/-/g, '')}`,
        object: 'event',
        api_version: '2026-10-28.endive',
        created: Math.floor(Date.now() / 1000),
        type: 'customer.updated',
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: {
          object: stripeCustomerObject(customer, { name: 'Dedupe Check', email: 'dedupe@example.com', created: 1700000000 }),
        },
      });
      for (let i = 0; i < 3; i++) {
        const res = await fetch(hook('/webhooks/stripe/acme-stripe'), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) },
          body: payload,
        });
        expect(res.status).toBe(200);
      }
      const [event] = await sub.waitFor(1);
      expect(event!.contactChanged.contact?.name).toBe('Dedupe Check');
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.received).toHaveLength(1);
    } finally {
      await sub.close();
    }
  });

  it('drops a change older than one already published for the same record (out of order)', async () => {
    // A customer no other test touches: the versions set here are in the future.
    const customer = await firstStripeCustomer(stack, 3);
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    const event = (name: string, created: number) =>
      JSON.stringify({
        id: `evt_${randomUUID().replace(/-/g, '')}`,
        object: 'event',
        created,
        type: 'customer.updated',
        livemode: false,
        data: {
          object: stripeCustomerObject(customer, { name, email: 'order@example.com', created: 1700000000 }),
        },
      });
    const send = (payload: string) =>
      fetch(hook('/webhooks/stripe/acme-stripe'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) },
        body: payload,
      });
    try {
      const now = Math.floor(Date.now() / 1000);
      expect((await send(event('Newer', now))).status).toBe(200);
      await sub.waitFor(1);
      // Delivered late (providers do not guarantee order): acknowledged, but not published.
      expect((await send(event('Older', now - 60))).status).toBe(200);
      expect((await send(event('Newest', now + 1))).status).toBe(200);
      const events = await sub.waitFor(2);
      expect(events.map((e) => e.contactChanged.contact?.name)).toEqual(['Newer', 'Newest']);
      const current = await stack.query<{ contact: { name: string } }>('query ($id: ID!) { contact(id: $id) { name } }', {
        id: encodeId('Contact', 'acme-stripe', customer),
      });
      expect(current.data?.contact.name).toBe('Newest');
    } finally {
      await sub.close();
    }
  });

  it('publishes one change for invoice.paid + invoice.payment_succeeded carrying the same invoice in the same second', async () => {
    const list = await fetch(`${stack.stripe.url}/v1/invoices?limit=5`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const invoice = ((await list.json()) as { data: Array<Record<string, unknown> & { id: string; lines: { has_more: boolean } }> }).data.find(
      (i) => !i.lines.has_more,
    )!;
    const SUB = 'subscription ($after: String) { invoiceChanged(after: $after) { eventId invoice { number } } }';
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<{ invoiceChanged: { eventId: string } }>(stack.gateway.url, stack.apiKey, SUB, { after: data!.changeCursor });
    const created = Math.floor(Date.now() / 1000) + 5; // newer than anything the emulator sent for it
    const event = (type: string, object: Record<string, unknown>) =>
      JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', created, type, livemode: false, data: { object } });
    const send = (payload: string) =>
      fetch(hook('/webhooks/stripe/acme-stripe'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) },
        body: payload,
      });
    try {
      const paid = event('invoice.paid', invoice);
      expect((await send(paid)).status).toBe(200);
      expect((await send(event('invoice.payment_succeeded', invoice))).status).toBe(200);
      // Same second, other content: a real change, published.
      const changed = event('invoice.updated', { ...invoice, description: `changed ${randomUUID().slice(0, 6)}` });
      expect((await send(changed)).status).toBe(200);
      const events = await sub.waitFor(2);
      expect(events.map((e) => e.invoiceChanged.eventId)).toEqual([JSON.parse(paid).id, JSON.parse(changed).id]);
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.received).toHaveLength(2);
    } finally {
      await sub.close();
    }
  });

  it('rejects bad signatures (401), stale timestamps (400), unknown connections (404), big bodies (413)', async () => {
    const payload = JSON.stringify({
      id: 'evt_reject',
      object: 'event',
      type: 'customer.updated',
      created: 1,
      data: { object: { id: 'cus_x', object: 'customer' } },
    });
    const post = (path: string, signature: string, body = payload) =>
      fetch(hook(path), { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
    expect((await post('/webhooks/stripe/acme-stripe', stripeSdk.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' }))).status).toBe(401);
    expect(
      (
        await post(
          '/webhooks/stripe/acme-stripe',
          stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }),
          payload.replace('cus_x', 'cus_y'),
        )
      ).status,
    ).toBe(401);
    expect((await post('/webhooks/stripe/acme-stripe', '')).status).toBe(401);
    const stale = stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect((await post('/webhooks/stripe/acme-stripe', stale)).status).toBe(400);
    const future = stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) + 301 });
    expect((await post('/webhooks/stripe/acme-stripe', future)).status).toBe(400);
    // An unknown connection (or one of another connector) answers like a bad signature (issue 13).
    expect((await post('/webhooks/stripe/nope', 'x')).status).toBe(401);
    expect((await post('/webhooks/hubspot/acme-stripe', 'x')).status).toBe(401);
    const big = 'x'.repeat(1024 * 1024 + 1);
    expect((await post('/webhooks/stripe/acme-stripe', 'x', big)).status).toBe(413);
  });

  it("never delivers one tenant's changes to another tenant's subscriber", async () => {
    const { data } = await graphql<{ changeCursor: string }>(stack.gateway.url, OTHER_KEY, '{ changeCursor }');
    const other = await subscribe<ContactChange>(stack.gateway.url, OTHER_KEY, CONTACT_SUB, { after: data!.changeCursor });
    const mine = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    try {
      const customer = await firstStripeCustomer(stack);
      for (let i = 0; i < 5; i++) await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: `Tenant check ${i}` });
      await mine.waitFor(5);
      expect(other.received).toHaveLength(0);
    } finally {
      await other.close();
      await mine.close();
    }
  });

  it('resumes after a cursor with no gap and no duplicate', async () => {
    const customer = await firstStripeCustomer(stack);
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    // Stripe's event times have one-second resolution, so these updates share a version, and of two
    // such changes in flight together only the later arrival is published (stores.ts). The watcher
    // sees each one published before the next is made, so all of them are in the log, in order.
    const watcher = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    const first = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    let again: Awaited<ReturnType<typeof subscribe<ContactChange>>> | undefined;
    try {
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: 'Resume 1' });
      const [one] = await first.waitFor(1);
      await first.close();
      // Missed while disconnected:
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: 'Resume 2' });
      await watcher.waitFor(2);
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: 'Resume 3' });
      await watcher.waitFor(3);
      again = await subscribe<ContactChange>(second.url, stack.apiKey, CONTACT_SUB, { after: one!.contactChanged.cursor });
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: 'Resume 4' });
      const events = await again.waitFor(3);
      expect(events.map((e) => e.contactChanged.contact?.name)).toEqual(['Resume 2', 'Resume 3', 'Resume 4']);
      // No duplicate follows (a quiet period: there is no event to await for "nothing").
      await new Promise((r) => setTimeout(r, 300));
      expect(again.received).toHaveLength(3);
    } finally {
      await first.close();
      await again?.close();
      await watcher.close();
    }
  });

  it('puts an event that keeps failing into the dead-letter store, and replays it', async () => {
    // An order event carries no line items, so the worker refetches the session; make that fail.
    const sessions = await fetch(`${stack.stripe.url}/v1/checkout/sessions?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const session = ((await sessions.json()) as { data: Array<{ id: string; status: string }> }).data[0]!;
    stack.stripe.injectFault({ kind: 'status', status: 500, match: 'checkout.sessions.get' });
    try {
      await admin(stack.stripe.url, 'PATCH', `/records/checkout_sessions/${session.id}`, { status: session.status === 'open' ? 'expired' : 'complete' }).catch(
        () => undefined,
      );
      let letters: Array<{ id: string; eventId: string; error: string; attempts: number }> = [];
      await expect
        .poll(
          async () => {
            const res = await stack.query<{ deadLetters: { nodes: typeof letters } }>('{ deadLetters(first: 10) { nodes { id eventId error attempts } } }');
            letters = res.data?.deadLetters.nodes ?? [];
            return letters.length;
          },
          { timeout: 15_000 },
        )
        .toBeGreaterThan(0);
      expect(letters[0]!.attempts).toBe(2);
      const other = await graphql<{ deadLetters: { nodes: unknown[] } }>(stack.gateway.url, OTHER_KEY, '{ deadLetters(first: 10) { nodes { id } } }');
      expect(other.data?.deadLetters.nodes).toEqual([]); // tenant-scoped
      stack.stripe.clearFaults();
      const replay = await stack.query<{ replayDeadLetter: boolean }>('mutation ($id: ID!) { replayDeadLetter(id: $id) }', { id: letters[0]!.id });
      expect(replay.data?.replayDeadLetter).toBe(true);
      const twice = await stack.query<{ replayDeadLetter: boolean }>('mutation ($id: ID!) { replayDeadLetter(id: $id) }', { id: letters[0]!.id });
      expect(twice.data?.replayDeadLetter).toBe(false);
    } finally {
      stack.stripe.clearFaults();
    }
  });

  it("refetches HubSpot's id-only events in batches and publishes the full records", async () => {
    const HUBSPOT_SECRET = 'hubspot-client-secret-for-tests';
    stack.gateway.services.config.tenants[0]!.connections[0]!.webhookSecret = { type: 'static', token: HUBSPOT_SECRET };
    const list = await fetch(`${stack.hubspot.url}/crm/v3/objects/contacts?limit=15`, { headers: { authorization: `Bearer ${TOKENS.hubspot}` } });
    const ids = ((await list.json()) as { results: Array<{ id: string }> }).results.map((r) => r.id);
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor, filter: { provider: 'hubspot' } });
    try {
      await Promise.all(ids.map((id, i) => admin(stack.hubspot.url, 'PATCH', `/records/contacts/${id}`, { properties: { firstname: `Batch${i}` } })));
      // The 15 id-only events in one signed POST, as HubSpot batches them (sent by the test rather
      // than the emulator's sender, whose batch window would make the batch size timing-dependent).
      const now = Date.now();
      const body = JSON.stringify(
        ids.map((id, i) => ({
          eventId: 900_000 + i,
          subscriptionId: 42,
          portalId: 62515,
          appId: 1,
          occurredAt: now,
          subscriptionType: 'contact.propertyChange',
          attemptNumber: 0,
          objectId: Number(id),
          propertyName: 'firstname',
          propertyValue: `Batch${i}`,
          changeSource: 'CRM',
        })),
      );
      const url = hook('/webhooks/hubspot/acme-hubspot');
      stack.hubspot.resetRequests();
      const posted = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hubspot-signature-v3': signV3(HUBSPOT_SECRET, 'POST', url, body, now),
          'x-hubspot-request-timestamp': String(now),
        },
        body,
      });
      expect(posted.status).toBe(200);
      const events = await sub.waitFor(ids.length);
      expect(new Set(events.map((e) => e.contactChanged.id))).toEqual(new Set(ids.map((id) => encodeId('Contact', 'acme-hubspot', id))));
      expect(events.every((e) => e.contactChanged.type === 'UPDATED' && e.contactChanged.contact?.name?.startsWith('Batch'))).toBe(true);
      // 15 thin events cost a handful of batch reads, not 15 single reads.
      expect(stack.hubspot.count('contacts.batchRead')).toBeLessThan(ids.length / 2);
      expect(stack.hubspot.count('contacts.get')).toBe(0);
    } finally {
      await sub.close();
    }
  });

  it('turns an id-only event for a record deleted since into DELETED (no retry); a non-retryable failure is dead-lettered at once', async () => {
    const HUBSPOT_SECRET = 'hubspot-client-secret-for-tests';
    stack.gateway.services.config.tenants[0]!.connections[0]!.webhookSecret = { type: 'static', token: HUBSPOT_SECRET };
    const url = hook('/webhooks/hubspot/acme-hubspot');
    const post = (eventId: number, objectId: number) => {
      const now = Date.now();
      const body = JSON.stringify([
        {
          eventId,
          subscriptionId: 43,
          portalId: 62515,
          appId: 1,
          occurredAt: now,
          subscriptionType: 'contact.propertyChange',
          attemptNumber: 0,
          objectId,
          propertyName: 'firstname',
          propertyValue: 'x',
          changeSource: 'CRM',
        },
      ]);
      return fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hubspot-signature-v3': signV3(HUBSPOT_SECRET, 'POST', url, body, now),
          'x-hubspot-request-timestamp': String(now),
        },
        body,
      });
    };
    const gone = 987_654_321; // no such contact in the emulator
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor, filter: { provider: 'hubspot' } });
    try {
      stack.hubspot.resetRequests();
      expect((await post(910_001, gone)).status).toBe(200);
      const [event] = await sub.waitFor(1);
      expect(event!.contactChanged).toMatchObject({ type: 'DELETED', id: encodeId('Contact', 'acme-hubspot', String(gone)), contact: null });
      expect(stack.hubspot.count('contacts.batchRead')).toBe(1); // asked once, not retried

      // A credential the provider refuses (403) will not heal by retrying: one attempt, then the dead-letter store.
      stack.hubspot.injectFault({ kind: 'status', status: 403, match: 'contacts.batchRead' });
      const existing = await fetch(`${stack.hubspot.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${TOKENS.hubspot}` } });
      const id = Number(((await existing.json()) as { results: Array<{ id: string }> }).results[0]!.id);
      expect((await post(910_002, id)).status).toBe(200);
      await expect
        .poll(
          async () => {
            const res = await stack.query<{ deadLetters: { nodes: Array<{ eventId: string; attempts: number; error: string }> } }>(
              '{ deadLetters(first: 50) { nodes { eventId attempts error } } }',
            );
            return res.data?.deadLetters.nodes.find((l) => l.eventId === '62515:43:910002') ?? null;
          },
          { timeout: 10_000 },
        )
        .toMatchObject({ attempts: 1, error: expect.stringMatching(/^UPSTREAM_FORBIDDEN/) });
    } finally {
      stack.hubspot.clearFaults();
      await sub.close();
    }
  });

  it('closes a subscription socket without valid credentials (4403)', async () => {
    const sub = await subscribe<ContactChange>(stack.gateway.url, 'not-a-key', CONTACT_SUB, {});
    await expect(sub.waitFor(1, 5_000)).rejects.toThrow(/4403|Forbidden/);
    await sub.close();
  });
});
