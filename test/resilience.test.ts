// Provider faults and cache outages: retries honour Retry-After, a provider down yields partial
// data with its error code, a silent provider times out within the deadline, and losing Redis
// mid-flight degrades to cache misses with correct answers.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { hashApiKey } from '../src/callers/tenants.ts';
import { TOKENS, startPrivateRedis, startStack, type PrivateRedis, type Stack } from './helpers.ts';

// Two list fields, one per provider: the failing provider's field gets an error, the other its data.
const BOTH =
  '{ hubspot: contacts(first: 5, filter: { provider: "hubspot" }) { nodes { id source { provider } } } stripe: contacts(first: 5, filter: { provider: "stripe" }) { nodes { id source { provider } } } }';

describe('provider faults', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A short deadline so the timeout case is quick; no cache so every query reaches the emulators.
    stack = await startStack({ redisUrl: null, config: { cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 } } });
    stack.gateway.services.config.limits.requestDeadlineMs = 1_500;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('retries a 429 with Retry-After and succeeds', async () => {
    stack.hubspot.resetRequests();
    stack.hubspot.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 0, times: 1, match: 'contacts.search' }); // sorted lists are CRM searches
    const res = await stack.query<{ contacts: { nodes: unknown[] } }>('{ contacts(first: 5, filter: { provider: "hubspot" }) { nodes { id } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts.nodes).toHaveLength(5);
    expect(stack.hubspot.requests().map((r) => r.status)).toEqual([429, 200]);
  });

  it('gives partial data and UPSTREAM_UNAVAILABLE when one provider is down', async () => {
    stack.stripe.injectFault({ kind: 'status', status: 503 });
    try {
      type Page = { nodes: Array<{ source: { provider: string } }> };
      const res = await stack.query<{ hubspot: Page; stripe: Page }>(BOTH);
      expect(res.status).toBe(200);
      expect(res.data?.hubspot.nodes).toHaveLength(5);
      expect(res.data?.stripe.nodes).toEqual([]);
      const err = res.errors?.find((e) => e.extensions?.code === 'UPSTREAM_UNAVAILABLE');
      expect(err?.extensions).toMatchObject({ provider: 'stripe', connectionId: 'acme-stripe', retryable: true });
      expect(err?.path).toEqual(['stripe']);
      expect(res.errors).toHaveLength(1);
    } finally {
      stack.stripe.clearFaults();
    }
  });

  it('answers UPSTREAM_TIMEOUT within the request deadline when a provider never answers', async () => {
    stack.hubspot.injectFault({ kind: 'timeout' });
    try {
      const started = Date.now();
      const res = await stack.query<{ contacts: { nodes: unknown[] } }>('{ contacts(first: 5, filter: { provider: "hubspot" }) { nodes { id } } }');
      const took = Date.now() - started;
      expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
      expect(took).toBeLessThan(1_500 + 1_000);
    } finally {
      stack.hubspot.clearFaults();
    }
  });
});

describe('clients that go away', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ redisUrl: null, config: { cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 } } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('do not open the circuit breaker: cancelled calls say nothing about the provider', async () => {
    // Found by the connections benchmark: autocannon closing 10 sockets at the end of a run
    // cancelled 10 upstream calls, which counted as provider failures and opened the circuit.
    stack.hubspot.resetRequests();
    stack.hubspot.injectFault({ kind: 'timeout', match: 'contacts.list' });
    const clients = Array.from({ length: 8 }, () => new AbortController());
    const pending = clients.map((c) =>
      fetch(stack.gateway.url, {
        method: 'POST',
        signal: c.signal,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
        body: JSON.stringify({ query: '{ contacts(first: 5, filter: { provider: "hubspot" }) { nodes { id } } }' }),
      }).catch(() => null),
    );
    await vi.waitFor(() => expect(stack.hubspot.requests().length).toBe(8), { timeout: 5_000, interval: 10 });
    for (const c of clients) c.abort();
    await Promise.all(pending);
    stack.hubspot.clearFaults();
    const res = await stack.query<{ contacts: { nodes: unknown[] } }>('{ contacts(first: 5, filter: { provider: "hubspot" }) { nodes { id } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts.nodes).toHaveLength(5);
  });
});

describe('Redis outage', () => {
  let redis: PrivateRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    stack = await startStack({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('degrades to cache misses with correct answers when Redis dies mid-test', async () => {
    const q = '{ contacts(first: 20, filter: { provider: "hubspot" }) { nodes { id name } } }';
    // Wait until the gateway's Redis client is connected (readiness), then warm the cache.
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 5_000 }).toBe(200);
    const warm = await stack.query<{ contacts: { nodes: Array<{ id: string; name: string }> } }>(q);
    stack.hubspot.resetRequests();
    const cached = await stack.query<{ contacts: { nodes: Array<{ id: string; name: string }> } }>(q);
    expect(stack.hubspot.count()).toBe(0);

    await redis.stop();
    const degraded = await stack.query<{ contacts: { nodes: Array<{ id: string; name: string }> } }>(q);
    expect(degraded.errors).toBeUndefined();
    expect(degraded.data).toEqual(warm.data);
    expect(cached.data).toEqual(warm.data);
    expect(stack.hubspot.count()).toBeGreaterThan(0); // served from the provider, not failed
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });
});

describe('Redis outage: runtime connections and keys', () => {
  let redis: PrivateRedis;
  let stack: Stack;
  const OTHER_KEY = `sb_other_${randomUUID()}`;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    stack = await startStack({
      redisUrl: redis.url,
      extraTenants: ({ hubspot }) => [
        {
          id: 'other',
          apiKeys: [{ id: 'o1', sha256: hashApiKey(OTHER_KEY) }],
          connections: [
            { id: 'other-hubspot', provider: 'hubspot', baseUrl: hubspot.url, credentials: { type: 'static', token: TOKENS.hubspot }, settings: {} },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('tenants-file connections keep serving when runtime connections cannot be read; runtime API keys get 503', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    const issued = await stack.gateway.services.apiKeys.create('acme', { scopes: ['read'] });
    await redis.stop();
    // A tenant whose runtime connections were never read before the outage.
    const started = Date.now();
    const res = await stack.query<{ contacts: { nodes: unknown[] } }>('{ contacts(first: 3) { nodes { id } } }', undefined, OTHER_KEY);
    expect(res.data?.contacts.nodes).toHaveLength(3);
    // The answer says it may be missing the runtime connections' records: never a silently short list.
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(res.errors?.[0]?.message).toMatch(/runtime connections could not be read in time/);
    expect(Date.now() - started).toBeLessThan(3_000);
    const runtime = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.key}` },
      body: JSON.stringify({ query: '{ connections { id } }' }),
    });
    expect(runtime.status).toBe(503);
    expect(runtime.headers.get('retry-after')).toBe('5');
    expect(((await runtime.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
  });
});
