// The fetch wrapper against a scripted local server: Retry-After, backoff, non-idempotent calls,
// timeouts, the circuit breaker, and malformed bodies.
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { ConnectorManifest } from '../../connectors/sdk/types.ts';
import { Metrics } from '../observability/metrics.ts';
import { DEFAULT_UPSTREAM_OPTIONS, UpstreamClient, buildUrl } from './client.ts';

type Step = { status: number; headers?: Record<string, string>; body?: string; hang?: boolean };
let script: Step[] = [];
let hits = 0;
/** The credential header of every request the server received, in order. */
let seenAuth: Array<string | undefined> = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    seenAuth.push(req.headers['authorization'] ?? (req.headers['x-shopify-access-token'] as string | undefined));
    const step = script.shift() ?? { status: 200, body: '{"ok":true}' };
    if (step.hang) return;
    res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
    res.end(step.body ?? '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const manifest = {
  id: 'fake',
  displayName: 'Fake',
  auth: { apiKey: { label: 'key' } },
  maxConcurrency: 4,
  rateLimits: { windows: [{ requests: 1000, windowMs: 1000 }] },
} as ConnectorManifest;

function client(overrides: Partial<typeof DEFAULT_UPSTREAM_OPTIONS> = {}, deadlineMs = 5_000, metrics: Metrics | null = null) {
  const c = new UpstreamClient(metrics, { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 20, ...overrides });
  return c.forScope({
    manifest,
    connection: { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl: base, settings: {} },
    signal: new AbortController().signal,
    deadline: Date.now() + deadlineMs,
  });
}

function reset(steps: Step[]) {
  script = steps;
  hits = 0;
  seenAuth = [];
}

/** A wrapped fetch whose scope carries a credential that renews `old` → `renewed` once. */
function withCredential(m: ConnectorManifest, renewed: string | null) {
  const renewals: string[] = [];
  const c = new UpstreamClient(null, { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 20 });
  const credential = {
    token: async () => 'old',
    renew: async (rejected: string) => {
      renewals.push(rejected);
      return renewed;
    },
  };
  const fetch = c.forScope({
    manifest: m,
    connection: { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl: base, settings: {} },
    signal: new AbortController().signal,
    deadline: Date.now() + 5_000,
    credential,
  });
  return { fetch, renewals };
}

describe('UpstreamClient credential', () => {
  it('places the token (Authorization: Bearer by default), renews it once on a 401 and re-sends', async () => {
    reset([{ status: 401 }, { status: 200, body: '{"n":1}' }]);
    const { fetch, renewals } = withCredential(manifest, 'new');
    const res = await fetch({ path: '/x', operation: 'x' });
    expect(res.status).toBe(200);
    expect(seenAuth).toEqual(['Bearer old', 'Bearer new']);
    expect(renewals).toEqual(['old']);
  });

  it('lets a second 401 stand, and never renews a credential that cannot be renewed', async () => {
    reset([{ status: 401 }, { status: 401 }]);
    const renewing = withCredential(manifest, 'new');
    expect((await renewing.fetch({ path: '/x', operation: 'x' })).status).toBe(401);
    expect(hits).toBe(2);
    reset([{ status: 401 }]);
    const fixed = withCredential(manifest, null);
    expect((await fixed.fetch({ path: '/x', operation: 'x' })).status).toBe(401);
    expect(hits).toBe(1);
  });

  it('uses the token placement the connector declares (Shopify: X-Shopify-Access-Token, no scheme)', async () => {
    reset([{ status: 401 }, { status: 200 }]);
    const shopify = {
      ...manifest,
      auth: { apiKey: { label: 'token' }, tokenPlacement: { header: 'x-shopify-access-token', scheme: null } },
    } as ConnectorManifest;
    const { fetch } = withCredential(shopify, 'new');
    expect((await fetch({ path: '/x', operation: 'x' })).status).toBe(200);
    expect(seenAuth).toEqual(['old', 'new']);
  });
});

describe('UpstreamClient', () => {
  it('builds URLs with repeated array params', () => {
    expect(buildUrl('http://x/api', '/v1/things', { 'expand[]': ['a', 'b'], limit: 3, skip: undefined })).toBe(
      'http://x/api/v1/things?expand%5B%5D=a&expand%5B%5D=b&limit=3',
    );
  });

  it('honours Retry-After on 429 and then succeeds (exact attempt count)', async () => {
    reset([{ status: 429, headers: { 'retry-after': '1' } }, { status: 503 }, { status: 200, body: '{"n":1}' }]);
    const started = Date.now();
    const res = await client()({ path: '/x', operation: 'x' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ n: 1 });
    expect(hits).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('does not wait past the deadline for a long Retry-After: returns the 429', async () => {
    reset([{ status: 429, headers: { 'retry-after': '30' } }]);
    const res = await client({}, 2_000)({ path: '/x', operation: 'x' });
    expect(res.status).toBe(429);
    expect(hits).toBe(1);
  });

  it('never retries a non-idempotent POST', async () => {
    reset([{ status: 503 }]);
    const res = await client()({ method: 'POST', path: '/x', json: {}, operation: 'x' });
    expect(res.status).toBe(503);
    expect(hits).toBe(1);
  });

  it("follows the retry advice header the manifest names (Stripe-Should-Retry: false), and no other connector's", async () => {
    const advised = new UpstreamClient(null, { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 20 }).forScope({
      manifest: { ...manifest, retryAdviceHeader: 'x-should-retry' },
      connection: { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl: base, settings: {} },
      signal: new AbortController().signal,
      deadline: Date.now() + 5_000,
    });
    reset([{ status: 503, headers: { 'x-should-retry': 'false' } }]);
    expect((await advised({ path: '/x', operation: 'x' })).status).toBe(503);
    expect(hits).toBe(1);
    // Any other value leaves the usual retry in place.
    reset([{ status: 503, headers: { 'x-should-retry': 'true' } }, { status: 200 }]);
    expect((await advised({ path: '/x', operation: 'x' })).status).toBe(200);
    expect(hits).toBe(2);
    // A connector that names no such header: the provider's header means nothing.
    reset([{ status: 503, headers: { 'x-should-retry': 'false', 'stripe-should-retry': 'false' } }, { status: 200 }]);
    expect((await client()({ path: '/x', operation: 'x' })).status).toBe(200);
    expect(hits).toBe(2);
  });

  it('retries an idempotent POST (batch read)', async () => {
    reset([{ status: 502 }, { status: 200 }]);
    const res = await client()({ method: 'POST', path: '/x', json: {}, operation: 'x', idempotent: true });
    expect(res.status).toBe(200);
    expect(hits).toBe(2);
  });

  it('times out an attempt and reports UPSTREAM_TIMEOUT after the retries', async () => {
    reset([
      { status: 0, hang: true },
      { status: 0, hang: true },
    ]);
    const err = await client({ attemptTimeoutMs: 100, maxAttempts: 2 })({ path: '/x', operation: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('UPSTREAM_TIMEOUT');
    expect(hits).toBe(2);
  });

  it("stops an attempt in flight when the caller goes away, and a finished call leaves nothing on the caller's signal", async () => {
    const caller = new AbortController();
    const scoped = (signal: AbortSignal) =>
      new UpstreamClient(null, { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 20 }).forScope({
        manifest,
        connection: { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl: base, settings: {} },
        signal,
        deadline: Date.now() + 5_000,
      });
    reset([{ status: 200, hang: true }]);
    const pending = scoped(caller.signal)({ path: '/x', operation: 'x' }).catch((e: unknown) => e);
    await expect.poll(() => hits).toBe(1);
    caller.abort(new Error('client closed the connection'));
    const err = await pending;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', message: 'request to Fake was cancelled' });
    expect(hits).toBe(1); // not retried

    const live = new AbortController();
    reset([{ status: 200, body: '{"ok":true}' }]);
    await scoped(live.signal)({ path: '/x', operation: 'x' });
    expect(getEventListeners(live.signal, 'abort')).toHaveLength(0);
  });

  it('maps a 2xx with a malformed body to UPSTREAM_BAD_RESPONSE without retrying', async () => {
    reset([{ status: 200, body: '{"results":[' }]);
    await expect(client()({ path: '/x', operation: 'x' })).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
    expect(hits).toBe(1);
  });

  it('opens the breaker after consecutive failures and stops calling the provider', async () => {
    const fetcher = client({ breakerThreshold: 3, maxAttempts: 1, breakerHalfOpenAfterMs: 60_000 });
    reset([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }]);
    for (let i = 0; i < 3; i++) expect((await fetcher({ path: '/x', operation: 'x' })).status).toBe(500);
    await expect(fetcher({ path: '/x', operation: 'x' })).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: expect.stringMatching(/circuit open/),
    });
    expect(hits).toBe(3);
  });

  it('tells an outage (different requests failing) from one request that keeps failing', async () => {
    /** A client of its own (its own breaker) and its wrapped fetch for connection c1. */
    const fresh = () => {
      const upstream = new UpstreamClient(null, { ...DEFAULT_UPSTREAM_OPTIONS, maxAttempts: 1, breakerThreshold: 3, breakerHalfOpenAfterMs: 60_000 });
      const connection = { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl: base, settings: {} };
      return { upstream, fetcher: upstream.forScope({ manifest, connection, signal: new AbortController().signal, deadline: Date.now() + 5_000 }) };
    };
    // One record the provider always fails: the breaker opens, but that is no outage.
    const { upstream, fetcher } = fresh();
    reset([{ status: 500 }, { status: 500 }, { status: 500 }]);
    for (let i = 0; i < 3; i++) await fetcher({ path: '/records/poison', operation: 'x' });
    expect(upstream.circuitOpenFor('fake', 'c1')).toBeGreaterThan(59_000);
    expect(upstream.outageFor('fake', 'c1')).toBeNull();

    // Two different requests fail in a row, then the breaker is open.
    const { upstream: other, fetcher: scoped } = fresh();
    reset([{ status: 503 }, { status: 200 }, { status: 503 }, { status: 503 }, { status: 503 }]);
    await scoped({ path: '/records/a', operation: 'x' });
    // A success in between: the failures before it say nothing about what follows.
    await scoped({ path: '/records/b', operation: 'x' });
    await scoped({ path: '/records/b', operation: 'x' });
    await scoped({ path: '/records/b', operation: 'x' });
    expect(other.outageFor('fake', 'c1')).toBeNull(); // two failures in a row: still closed
    await scoped({ path: '/records/c', operation: 'x' });
    expect(other.circuitOpenFor('fake', 'c1')).not.toBeNull();
    expect(other.outageFor('fake', 'c1')).toBeGreaterThan(59_000);
    // Calls refused while it is open say when the next trial call goes through.
    await expect(scoped({ path: '/records/d', operation: 'x' })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfterMs: expect.any(Number) });
    expect(hits).toBe(5);
  });

  it('counts every attempt in the upstream metrics', async () => {
    const metrics = new Metrics();
    reset([{ status: 503 }, { status: 200 }]);
    await client({}, 5_000, metrics)({ path: '/x', operation: 'things.get' });
    const values = (await metrics.upstreamRequests.get()).values.map((v) => [v.labels.status, v.value]);
    expect(values).toEqual(
      expect.arrayContaining([
        ['503', 1],
        ['200', 1],
      ]),
    );
  });
});

describe('UpstreamClient body cap (issue 13)', () => {
  it('a response body over maxBodyBytes is not read: UPSTREAM_BAD_RESPONSE, not retried', async () => {
    reset([{ status: 200, body: JSON.stringify({ pad: 'x'.repeat(4096) }) }]);
    const err = await client({ maxBodyBytes: 1024 })({ path: '/x', operation: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', message: expect.stringMatching(/over 1024 bytes/) });
    expect(hits).toBe(1);
    reset([{ status: 200, body: '{"small":true}' }]);
    expect((await client({ maxBodyBytes: 1024 })({ path: '/x', operation: 'x' })).status).toBe(200);
  });
});
