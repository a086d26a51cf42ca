// The whole-response cache over real HTTP, emulators and Redis: a repeated query is answered from
// stored bytes with no upstream call; a processed change event makes the next answer fresh on every
// replica before any subscriber hears of it; tenants and scopes never share an entry; what must not
// be replayed (per-read fields, partial answers, mutations) never is.
import { randomUUID } from 'node:crypto';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntityCache } from '../src/cache/entity-cache.ts';
import { ResponseCache } from '../src/cache/response-cache.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { DEFAULT_LIMITS, defaultGatewayConfig } from '../src/config.ts';
import { encodeId } from '../src/ids.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { TOKENS, graphql, startStack, subscribe, type Stack, admin, sendStripeWebhooksToAcme } from './helpers.ts';

const STRIPE_SECRET = 'whsec_switchboard_response_cache_0000';
const OTHER_TENANT_KEY = `sb_test_${randomUUID()}`;
const SLOW_TENANT_KEY = `sb_test_${randomUUID()}`;

/** One POST with its raw answer, so the cache header and the exact bytes can be compared. */
async function post(url: string, apiKey: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, cache: res.headers.get('x-response-cache'), text, json: JSON.parse(text) as { data?: any; errors?: unknown[] } };
}

const CONTACTS = '{ contacts(first: 5, filter: { provider: "stripe" }) { nodes { id name } } }';

describe('response cache', () => {
  let stack: Stack;
  let second: Gateway;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 12, invoices: 12, orders: 6 },
      config: {
        events: { workerConcurrency: 5, maxAttempts: 2, retryBaseDelayMs: 20, dedupeTtlSeconds: 3600, retainedChanges: 10_000 },
        // Refusals answered at once: the rate test below sends its requests within one second.
        limits: { ...DEFAULT_LIMITS, refusalHoldMs: 0 },
      },
      extraTenants: (e) => [
        {
          id: 'globex',
          apiKeys: [{ id: 'g', sha256: hashApiKey(OTHER_TENANT_KEY) }],
          connections: [
            { id: 'globex-stripe', provider: 'stripe', baseUrl: e.stripe.url, credentials: { type: 'static', token: TOKENS.stripe }, settings: {} },
          ],
        },
        {
          // One request a second, no burst: the second of two at once is refused.
          id: 'initech',
          apiKeys: [{ id: 'i', sha256: hashApiKey(SLOW_TENANT_KEY) }],
          connections: [
            { id: 'initech-stripe', provider: 'stripe', baseUrl: e.stripe.url, credentials: { type: 'static', token: TOKENS.stripe }, settings: {} },
          ],
          limits: { tenantRequestsPerSecond: 1, tenantRequestBurst: 0 },
        },
      ],
    });
    await sendStripeWebhooksToAcme(stack, STRIPE_SECRET);
    // A second replica on the same Redis and key prefix: it has its own in-process entries.
    second = await createGateway(defaultGatewayConfig(stack.gateway.services.config.tenants, { ...stack.gateway.services.config, port: 0 }));
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  it('answers a repeated query from the stored bytes, with no upstream call', async () => {
    const first = await post(stack.gateway.url, stack.apiKey, CONTACTS);
    expect(first.status).toBe(200);
    expect(first.json.data.contacts.nodes).toHaveLength(5);
    expect(first.cache).toBe('MISS');
    stack.stripe.resetRequests();
    const again = await post(stack.gateway.url, stack.apiKey, CONTACTS);
    expect(again.cache).toBe('HIT');
    expect(again.text).toBe(first.text);
    expect(stack.stripe.count()).toBe(0);
  });

  it('never answers a request refused by its tenant rate from the cache, and does not count its read', async () => {
    const lookups = async () => {
      const { values } = await stack.gateway.services.metrics.cacheRequests.get();
      return values.filter((v) => v.labels.kind === 'response').reduce((sum, v) => sum + v.value, 0);
    };
    const before = await lookups();
    const first = await post(stack.gateway.url, SLOW_TENANT_KEY, CONTACTS);
    expect(first).toMatchObject({ status: 200, cache: 'MISS' });
    // Stored now, but over the tenant's rate: refused, although its cache read was a hit.
    const refused = await post(stack.gateway.url, SLOW_TENANT_KEY, CONTACTS);
    expect(refused.status).toBe(429);
    expect(refused.cache).toBeNull();
    expect(refused.json.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED' } }]);
    expect((await lookups()) - before).toBe(1);
    // Refused within the last second: the next request is admitted (refused) before any cache read.
    const cache = stack.gateway.services.cache;
    const generations = cache.generations.bind(cache);
    let reads = 0;
    cache.generations = (...args: Parameters<typeof generations>) => ((reads += 1), generations(...args));
    try {
      expect((await post(stack.gateway.url, SLOW_TENANT_KEY, CONTACTS)).status).toBe(429);
      expect(reads).toBe(0);
    } finally {
      cache.generations = generations;
    }
  });

  it('never serves one tenant, or one set of scopes, an entry stored for another', async () => {
    const acme = await post(stack.gateway.url, stack.apiKey, CONTACTS);
    expect(acme.cache).toBe('HIT');
    const globex = await post(stack.gateway.url, OTHER_TENANT_KEY, CONTACTS);
    expect(globex.cache).toBe('MISS');
    // Same emulator data, but the ids name globex's own connection: nothing of acme's leaked.
    const ids: string[] = globex.json.data.contacts.nodes.map((n: { id: string }) => n.id);
    expect(ids.every((id) => !acme.json.data.contacts.nodes.some((n: { id: string }) => n.id === id))).toBe(true);
    // A key of the same tenant with fewer scopes gets its own entry.
    const minted = await stack.query<{ createApiKey: { key: string } }>('mutation { createApiKey(scopes: [read], label: "ro") { key } }');
    const readOnly = await post(stack.gateway.url, minted.data!.createApiKey.key, CONTACTS);
    expect(readOnly.cache).toBe('MISS');
    expect(readOnly.json.data).toEqual(acme.json.data);
  });

  it('after a processed change, no replica answers from an entry built before it', async () => {
    const customer = (
      await stack.query<{ contacts: { nodes: Array<{ source: { remoteId: string } }> } }>(
        '{ contacts(first: 1, filter: { provider: "stripe" }) { nodes { source { remoteId } } } }',
      )
    ).data!.contacts.nodes[0]!.source.remoteId;
    const id = encodeId('Contact', 'acme-stripe', customer);
    const ONE = 'query ($id: ID!) { contact(id: $id) { name } }';
    // Warm both replicas' entries.
    for (const url of [stack.gateway.url, second.url]) {
      await post(url, stack.apiKey, ONE, { id });
      expect((await post(url, stack.apiKey, ONE, { id })).cache).toBe('HIT');
    }
    const { data } = await graphql<{ changeCursor: string }>(second.url, stack.apiKey, '{ changeCursor }');
    const sub = await subscribe<{ contactChanged: { contact: { name: string } } }>(
      second.url,
      stack.apiKey,
      'subscription ($after: String) { contactChanged(after: $after) { contact { name } } }',
      { after: data!.changeCursor },
    );
    try {
      const newName = `Renamed ${randomUUID().slice(0, 6)}`;
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: newName });
      const [event] = await sub.waitFor(1);
      expect(event!.contactChanged.contact.name).toBe(newName);
      // The subscriber has heard of it: both replicas now answer the new name.
      for (const url of [stack.gateway.url, second.url]) {
        const after = await post(url, stack.apiKey, ONE, { id });
        expect(after.cache).toBe('MISS');
        expect(after.json.data.contact.name).toBe(newName);
      }
      // ...and a list that held the record stops counting as well.
      const list = await post(second.url, stack.apiKey, CONTACTS);
      expect(list.cache).toBe('MISS');
    } finally {
      await sub.close();
    }
  });

  it('does not store answers about the read itself, partial answers or mutations', async () => {
    const PER_READ = '{ contacts(first: 2, filter: { provider: "stripe" }) { nodes { name source { cacheStatus } } } }';
    await post(stack.gateway.url, stack.apiKey, PER_READ);
    expect((await post(stack.gateway.url, stack.apiKey, PER_READ)).cache).toBeNull();

    const ADMIN = '{ connections { id } }';
    await post(stack.gateway.url, stack.apiKey, ADMIN);
    expect((await post(stack.gateway.url, stack.apiKey, ADMIN)).cache).toBeNull();

    const missing = encodeId('Contact', 'acme-stripe', 'cus_does_not_exist');
    const PARTIAL = `{ contacts(first: 2, filter: { provider: "stripe" }) { nodes { name } } gone: contact(id: "${missing}") { name } }`;
    await admin(stack.stripe.url, 'POST', '/faults', { kind: 'status', status: 503, times: 10 });
    try {
      const first = await post(stack.gateway.url, stack.apiKey, PARTIAL);
      expect(first.json.errors?.length).toBeGreaterThan(0);
      expect(first.cache).toBeNull();
    } finally {
      await admin(stack.stripe.url, 'DELETE', '/faults');
    }
    const healed = await post(stack.gateway.url, stack.apiKey, PARTIAL);
    expect(healed.cache).not.toBe('HIT');

    const MUTATION = 'mutation { replayDeadLetter(id: "none") }';
    await post(stack.gateway.url, stack.apiKey, MUTATION);
    expect((await post(stack.gateway.url, stack.apiKey, MUTATION)).cache).toBeNull();
  });
});

describe('ResponseCache when its store fails', () => {
  it('treats an unreadable store as a miss and does not store', async () => {
    const store = new Keyv();
    const errors: unknown[] = [];
    const records = new EntityCache(store, null, {
      ttlSeconds: { Contact: 60, Invoice: 60, Order: 60, listPage: 60 },
      opTimeoutMs: 100,
      onError: (e) => errors.push(e),
    });
    const cache = new ResponseCache(records, null, { ttlSeconds: 30, maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    const caller = {
      tenantId: 't',
      scopes: ['read'],
      connections: [{ id: 'c', provider: 'stripe', credentials: { type: 'static' as const, token: 'x' }, settings: {} }],
    };
    const key = cache.keyFor(caller, undefined, Buffer.from('{"query":"{ contacts { nodes { id } } }"}'));
    const first = await cache.find(key, caller);
    expect(first).toMatchObject({ result: 'miss', answer: null });
    cache.save(first.pending!, new Set(['Contact']), '{"data":{}}', 'application/json');
    expect(await cache.find(key, caller)).toMatchObject({ result: 'hit', answer: { body: '{"data":{}}', contentType: 'application/json' } });
    await records.invalidateLists({ tenantId: 't', connectionId: 'c' }, 'Contact');
    const stale = await cache.find(key, caller);
    expect(stale).toMatchObject({ result: 'stale', answer: null });
    cache.save(stale.pending!, new Set(['Contact']), '{"data":{}}', 'application/json');
    store.getMany = () => Promise.reject(new Error('store down'));
    // Unreadable: no answer, and nothing to store this request's answer under.
    expect(await cache.find(key, caller)).toEqual({ result: 'error', answer: null, pending: null });
    expect(errors).toHaveLength(2);
  });
});
