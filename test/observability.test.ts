// Observability through the real surfaces: /metrics scraped after causing each event (webhooks,
// processing, subscriptions, breakers, queue), one JSON log line per request with nothing secret in
// it, per-connection health over GraphQL agreed by two replicas, and spans exported in memory.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGatewayConfig } from '../src/config.ts';
import { BullChangeQueue } from '../src/events/queue.ts';
import { createLogger } from '../src/observability/logger.ts';
import { MemoryHealthStore, healthOf } from '../src/observability/health.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { REDIS_URL, RUN_PREFIX, TOKENS, startStack, subscribe, type Stack } from './helpers.ts';

const STRIPE_SECRET = 'whsec_observability_test_secret_00';
const stripeSdk = new Stripe('sk_test_unused');

/** The value of one sample in Prometheus text, or null when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return null;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('observability over HTTP', () => {
  let stack: Stack;
  let second: Gateway;
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const exporter = new InMemorySpanExporter();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString();
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const base = () => stack.gateway.url.replace(/\/graphql$/, '');
  const scrape = async (gateway: Gateway = stack.gateway) => (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();

  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 10, invoices: 10, orders: 5 },
      gatewayOptions: { logger: createLogger('info', sink), spanExporter: exporter },
    });
    const acme = stack.gateway.services.config.tenants[0]!;
    acme.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: STRIPE_SECRET };
    // A second replica on the same Redis and key prefix.
    // It exports to the same exporter: the webhook's job may be processed by either replica's worker.
    second = await createGateway(defaultGatewayConfig(stack.gateway.services.config.tenants, { ...stack.gateway.services.config, port: 0 }), {
      spanExporter: exporter,
    });
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  const signed = (payload: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) },
    body: payload,
  });

  it('counts rejected webhooks by reason, with a bounded connector label', async () => {
    const payload = JSON.stringify({ id: 'evt_obs', object: 'event', type: 'customer.updated', created: 1, data: { object: { id: 'cus_x' } } });
    const bad = await fetch(`${base()}/webhooks/stripe/acme-stripe`, {
      method: 'POST',
      headers: { 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' }) },
      body: payload,
    });
    expect(bad.status).toBe(401);
    expect((await fetch(`${base()}/webhooks/made-up-${randomUUID()}/x`, { method: 'POST', body: 'x' })).status).toBe(404);
    const text = await scrape();
    expect(sample(text, 'switchboard_webhooks_rejected_total', { connector: 'stripe', reason: 'signature_invalid' })).toBe(1);
    expect(sample(text, 'switchboard_webhooks_rejected_total', { connector: 'unknown', reason: 'no_endpoint' })).toBe(1);
    expect(text).not.toContain('made-up-');
    // The request log names the route template, never the connection id in the path.
    const line = lines.find((l) => l.route === '/webhooks/:connector/:connectionId' && l.status === 401);
    expect(line).toMatchObject({ method: 'POST', level: 40 });
    expect(JSON.stringify(line)).not.toContain('acme-stripe');
  });

  it('follows a verified webhook through the queue, the worker and a subscriber: metrics, health and one trace', async () => {
    const list = await fetch(`${stack.stripe.url}/v1/invoices?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const invoice = ((await list.json()) as { data: Array<Record<string, unknown>> }).data[0]!;
    const sub = await subscribe<{ invoiceChanged: { eventId: string } }>(stack.gateway.url, stack.apiKey, 'subscription { invoiceChanged { eventId } }');
    try {
      await until('the subscription to open', async () => sample(await scrape(), 'switchboard_subscriptions_open') === 1);
      const eventId = `evt_${randomUUID().replace(/-/g, '')}`;
      const payload = JSON.stringify({
        id: eventId,
        object: 'event',
        created: Math.floor(Date.now() / 1000) + 5,
        type: 'invoice.updated',
        livemode: false,
        data: { object: { ...invoice, description: `obs ${randomUUID()}` } },
      });
      expect((await fetch(`${base()}/webhooks/stripe/acme-stripe`, signed(payload))).status).toBe(200);
      await sub.waitFor(1);
      const text = await scrape();
      expect(sample(text, 'switchboard_webhooks_received_total', { connector: 'stripe' })).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'switchboard_webhook_events_queued_total', { connector: 'stripe' })).toBe(1);
      expect(sample(text, 'switchboard_subscription_deliveries_total')).toBe(1);
      // The worker may run on either replica: add both.
      const both = text + (await scrape(second));
      const count = (name: string, labels: Record<string, string>) => (sample(text, name, labels) ?? 0) + (sample(both.slice(text.length), name, labels) ?? 0);
      expect(count('switchboard_event_processing_duration_seconds_count', { connector: 'stripe', outcome: 'published' })).toBe(1);
      expect(count('switchboard_event_publish_lag_seconds_count', { connector: 'stripe' })).toBe(1);
      expect(sample(text, 'switchboard_changelog_read_lag_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'switchboard_queue_jobs', { state: 'waiting' })).not.toBeNull();
      expect(sample(text, 'switchboard_queue_oldest_waiting_age_seconds')).not.toBeNull();

      // One trace: the webhook request's server span → the worker's span → the publish span.
      const spans = await until('the publish span', async () => {
        const s = exporter.getFinishedSpans();
        return s.some((x) => x.name === 'changelog publish Invoice') ? s : null;
      });
      const server = spans.find((s) => s.name === 'POST /webhooks/:connector/:connectionId' && s.attributes['http.response.status_code'] === 200)!;
      const worker = spans.find((s) => s.name === 'event process stripe Invoice' && s.attributes['switchboard.event_id'] === eventId);
      const publish = spans.find((s) => s.name === 'changelog publish Invoice')!;
      // Both replicas export here, so the worker's span is there whichever replica ran it.
      expect(worker).toBeDefined();
      if (worker) {
        expect(worker.spanContext().traceId).toBe(server.spanContext().traceId);
        expect(parentOf(worker)).toBe(server.spanContext().spanId);
        expect(parentOf(publish)).toBe(worker.spanContext().spanId);
      }
      expect(server).toBeDefined();
    } finally {
      await sub.close();
    }
    await until('the subscription gauge to drop', async () => sample(await scrape(), 'switchboard_subscriptions_open') === 0);
    const health = await stack.query<{ connections: Array<{ id: string; health: { webhookLastReceivedAt: string | null } }> }>(
      '{ connections { id health { webhookLastReceivedAt } } }',
    );
    const at = health.data!.connections.find((c) => c.id === 'acme-stripe')!.health.webhookLastReceivedAt;
    expect(at && Date.now() - Date.parse(at)).toBeLessThan(60_000);
  });

  it('logs one JSON line per request with its id, route, tenant and operation; echoes x-request-id; never a secret', async () => {
    const secret = `hunter2-${randomUUID()}`;
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-request-id': 'obs-req-1', cookie: `session=${secret}` },
      body: JSON.stringify({ query: 'query Q { contacts(first: 2) { nodes { id } } }', variables: { password: secret } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('obs-req-1');
    const line = await until('the request line', async () => lines.find((l) => l.requestId === 'obs-req-1'));
    expect(line).toMatchObject({ level: 30, method: 'POST', route: '/graphql', status: 200, tenantId: 'acme', operation: { type: 'query', name: 'Q' } });
    expect(typeof line.durationMs).toBe('number');
    expect(typeof line.time).toBe('string');

    // A client error: warn, its code, no stack; an invalid incoming id is replaced by our own.
    const bad = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-request-id': 'not a valid id' },
      body: JSON.stringify({ query: '{ nope }' }),
    });
    expect(bad.status).toBe(400);
    const id = bad.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const badLine = await until('the refused line', async () => lines.find((l) => l.requestId === id));
    expect(badLine).toMatchObject({ level: 40, status: 400, errorCodes: ['GRAPHQL_VALIDATION_FAILED'] });
    expect(JSON.stringify(badLine)).not.toContain('stack');

    for (const s of [secret, stack.apiKey, TOKENS.hubspot, TOKENS.stripe, STRIPE_SECRET]) expect(raw).not.toContain(s);
  });

  it('a client that goes away before its body arrived: the request line says aborted, and no error or outage is logged', async () => {
    const from = lines.length;
    const { hostname, port } = new URL(stack.gateway.url);
    // Headers with `Expect: 100-continue`: Node answers 100 Continue as it hands the request to the
    // handler, so the request has reached the gateway when that line arrives. Then half a body, and
    // the socket is destroyed.
    const cutShort = (path: string, requestId: string, headers: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Length: 1000\r\nExpect: 100-continue\r\nX-Request-Id: ${requestId}\r\n${headers}\r\n`,
          );
        });
        socket.setEncoding('utf8');
        socket.once('data', (chunk: string) => {
          if (!chunk.startsWith('HTTP/1.1 100')) return reject(new Error(`expected 100 Continue, got ${chunk.slice(0, 40)}`));
          socket.write('{"query":', () => {
            socket.destroy();
            resolve();
          });
        });
        socket.on('error', reject);
      });
    const cases = [
      ['/graphql', 'obs-gone-graphql', `Content-Type: application/json\r\nAuthorization: Bearer ${stack.apiKey}\r\n`],
      ['/webhooks/stripe/acme-stripe', 'obs-gone-webhook', 'Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\n'],
      ['/connect/hubspot', 'obs-gone-connect', 'Content-Type: application/x-www-form-urlencoded\r\n'],
    ] as const;
    for (const [path, requestId, headers] of cases) {
      await cutShort(path, requestId, headers);
      const line = await until(`the ${requestId} line`, async () => lines.find((l) => l.requestId === requestId));
      expect(line).toMatchObject({ aborted: true });
    }
    const later = lines.slice(from);
    expect(later.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(later.filter((l) => String(l.msg).includes('store unreachable'))).toEqual([]);
  });

  it('redacts secret-named keys at any depth and bearer tokens inside strings', () => {
    let out = '';
    const log = createLogger(
      'info',
      new Writable({
        write(c: Buffer, _e, done) {
          out += c.toString();
          done();
        },
      }),
    );
    log.info(
      { a: { b: [{ clientSecret: 'S-one' }], Cookie: 'S-two', note: 'sent Authorization: Bearer S-three.x_y', X_API_KEY: 'S-four', refresh_token: 'S-five' } },
      'x',
    );
    for (const s of ['S-one', 'S-two', 'S-three', 'S-four', 'S-five']) expect(out).not.toContain(s);
    expect(out).toContain('[redacted]');
  });

  it('spans every GraphQL operation and its upstream calls (provider, operation, status, retries)', async () => {
    exporter.reset();
    expect((await stack.query('query Spanned { contacts(first: 3) { nodes { id } } }')).status).toBe(200);
    const spans = exporter.getFinishedSpans();
    const op = spans.find((s) => s.name === 'graphql query Spanned')!;
    expect(op.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Spanned', 'switchboard.tenant_id': 'acme' });
    const upstream = spans.filter((s) => s.name.startsWith('upstream hubspot '));
    expect(upstream.length).toBeGreaterThan(0);
    for (const s of upstream) {
      expect(parentOf(s)).toBe(op.spanContext().spanId);
      expect(s.attributes).toMatchObject({ 'switchboard.provider': 'hubspot', 'http.response.status_code': 200, 'switchboard.retry_count': 0 });
      expect(typeof s.attributes['switchboard.operation']).toBe('string');
    }
  });

  it('reports connection health over GraphQL, the same on every replica, and FAILING without the token in lastError', async () => {
    type H = {
      connections: Array<{
        id: string;
        health: { status: string; lastSuccessAt: string | null; errorRate5m: number | null; lastError: { code: string; message: string } | null };
      }>;
    };
    const Q = '{ connections { id health { status lastSuccessAt errorRate5m lastError { code message at } } } }';
    const hubspotOf = (r: { data: H | null }) => r.data!.connections.find((c) => c.id === 'acme-hubspot')!.health;
    expect((await stack.query('{ contacts(first: 2) { nodes { id } } }')).status).toBe(200);
    const first = await stack.query<H>(Q);
    expect(first.errors).toBeUndefined();
    const ok = hubspotOf(first);
    expect(ok).toMatchObject({ status: 'HEALTHY', errorRate5m: 0, lastError: null });
    expect(Date.now() - Date.parse(ok.lastSuccessAt!)).toBeLessThan(60_000);

    stack.hubspot.injectFault({ kind: 'status', status: 401 });
    try {
      // Pages not cached yet: each reaches HubSpot.
      await stack.query('{ contacts(first: 6) { nodes { id } } }');
      await stack.query('{ contacts(first: 7) { nodes { id } } }');
    } finally {
      stack.hubspot.clearFaults();
    }
    const failing = hubspotOf(await stack.query<H>(Q));
    expect(failing.status).toBe('FAILING');
    expect(failing.lastError!.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(failing.lastError!.message).not.toContain(TOKENS.hubspot);
    expect(failing.errorRate5m).toBeGreaterThanOrEqual(0.5);
    // The other replica reads the same record from Redis.
    const other = await fetch(second.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ query: Q }),
    });
    const otherBody = (await other.json()) as { data: H | null; errors?: unknown };
    expect(otherBody.errors).toBeUndefined();
    expect(hubspotOf(otherBody)).toEqual(failing);
    const text = await scrape();
    expect(sample(text, 'switchboard_connection_outcomes_total', { connector: 'hubspot', outcome: 'UPSTREAM_UNAUTHORIZED' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'switchboard_connection_outcomes_total', { connector: 'hubspot', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    // Another tenant's key space holds nothing of acme's.
    const store = stack.gateway.services.health;
    expect((await store.read('globex', 'acme-hubspot')).status).toBe('UNKNOWN');
  });

  it('exposes breaker states per connector and counts openings', async () => {
    stack.stripe.injectFault({ kind: 'status', status: 503 });
    try {
      // Pages not cached yet: each reaches Stripe (3 attempts each: the breaker opens after 5 failures).
      for (let i = 0; i < 3; i++) await stack.query(`{ invoices(first: ${11 + i}) { nodes { id } } }`);
    } finally {
      stack.stripe.clearFaults();
    }
    const text = await scrape();
    expect(sample(text, 'switchboard_upstream_circuit_breakers', { connector: 'stripe', state: 'open' })).toBe(1);
    expect(sample(text, 'switchboard_upstream_circuit_breaker_opened_total', { connector: 'stripe' })).toBe(1);
    expect(sample(text, 'switchboard_upstream_circuit_breakers', { connector: 'hubspot', state: 'closed' })).toBe(1);
  });
});

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

describe('the queue as metrics see it', () => {
  it('reports waiting jobs and the oldest waiting age from Redis at scrape time', async () => {
    const queue = new BullChangeQueue(
      REDIS_URL,
      `${RUN_PREFIX}:obsq:${randomUUID().slice(0, 6)}`,
      { concurrency: 1, maxAttempts: 1, retryBaseDelayMs: 10, dedupeTtlSeconds: 60 },
      () => undefined,
    );
    const metrics = new Metrics();
    metrics.probes.queue = () => queue.stats();
    try {
      const item = (n: number) => ({
        tenantId: 't',
        connectionId: 'c',
        provider: 'stripe',
        receivedAt: new Date().toISOString(),
        change: {
          eventId: `e${n}`,
          entity: 'Contact' as const,
          type: 'UPDATED' as const,
          remoteId: `r${n}`,
          occurredAt: new Date().toISOString(),
          version: null,
          model: null,
        },
      });
      await queue.enqueue([item(1)]);
      await new Promise((r) => setTimeout(r, 120));
      await queue.enqueue([item(2)]);
      const text = await metrics.registry.metrics();
      expect(sample(text, 'switchboard_queue_jobs', { state: 'waiting' })).toBe(2);
      // The older job is the one counted (≥ 0.1 s; the newer one is ~0 s old).
      expect(sample(text, 'switchboard_queue_oldest_waiting_age_seconds')).toBeGreaterThanOrEqual(0.1);
    } finally {
      await queue.close();
    }
  });
});

describe('connection health rule', () => {
  it('is UNKNOWN before anything, HEALTHY after successes, DEGRADED at 10 %, FAILING at 50 % or on a refused credential', async () => {
    expect(healthOf({}, 0, 0).status).toBe('UNKNOWN');
    const store = new MemoryHealthStore();
    const now = Date.now();
    for (let i = 0; i < 9; i++) store.recordOutcome('t', 'c', { ok: true }, now - 1000);
    expect((await store.read('t', 'c')).status).toBe('HEALTHY');
    store.recordOutcome('t', 'c', { ok: false, code: 'UPSTREAM_UNAVAILABLE', message: 'x answered HTTP 503' }, now - 500);
    expect((await store.read('t', 'c')).status).toBe('DEGRADED');
    store.recordOutcome('t', 'c', { ok: true }, now);
    // The last call succeeded and 1 in 11 failed: under the 10 % line.
    expect(await store.read('t', 'c')).toMatchObject({ status: 'HEALTHY', errorRate5m: 1 / 11 });
    store.recordOutcome('t', 'c', { ok: false, code: 'UPSTREAM_FORBIDDEN', message: 'x answered HTTP 403' }, now + 1);
    expect((await store.read('t', 'c')).status).toBe('FAILING');
    expect((await store.read('other-tenant', 'c')).status).toBe('UNKNOWN');
  });
});

describe('dead letters as metrics see them', () => {
  /**
   * A memory pipeline of its own with `deps` (directory, connector contexts), one change of
   * connection `connectionId` received at `receivedAt` and left to end in the dead letters of
   * `tenantId`; resolves with the metrics text then.
   */
  async function deadLettered(
    deps: { directory: unknown; contexts: unknown; events?: Partial<ReturnType<typeof defaultGatewayConfig>['events']> },
    change: { tenantId: string; connectionId: string; receivedAt: string },
  ): Promise<string> {
    const { EventPipeline } = await import('../src/events/pipeline.ts');
    const { EntityCache } = await import('../src/cache/entity-cache.ts');
    const { Keyv } = await import('keyv');
    const metrics = new Metrics();
    const base = defaultGatewayConfig([]);
    const config = { ...base, events: { ...base.events, ...deps.events } };
    const pipeline = new EventPipeline({
      config,
      directory: deps.directory as never,
      contexts: deps.contexts as never,
      cache: new EntityCache(new Keyv(), null, { ttlSeconds: config.cacheTtlSeconds, opTimeoutMs: 250, onError: () => undefined }),
      log: createLogger('silent'),
      metrics,
    });
    pipeline.start();
    try {
      const { tenantId, connectionId, receivedAt } = change;
      await pipeline.queue.enqueue([
        {
          tenantId,
          connectionId,
          provider: 'stripe',
          receivedAt,
          change: { eventId: 'evt_dead', entity: 'Contact', type: 'UPDATED', remoteId: 'cus_1', occurredAt: receivedAt, version: null, model: null },
        },
      ]);
      await until('the dead letter', async () => (await pipeline.deadLetters.list(tenantId, 10, null)).letters.length || null);
      return await metrics.registry.metrics();
    } finally {
      await pipeline.close();
    }
  }

  it('counts an event that cannot be processed (connection gone) as a permanent dead letter and a failed attempt', async () => {
    const { TenantDirectory } = await import('../src/callers/tenants.ts');
    // No connector context: the event is refused before any connector is called.
    const text = await deadLettered(
      { directory: new TenantDirectory([]), contexts: null },
      { tenantId: 'gone', connectionId: 'gone-stripe', receivedAt: new Date().toISOString() },
    );
    expect(sample(text, 'switchboard_dead_letters_total', { connector: 'stripe', reason: 'permanent' })).toBe(1);
    expect(sample(text, 'switchboard_event_processing_duration_seconds_count', { connector: 'stripe', outcome: 'failed' })).toBe(1);
  });

  it('counts a rate-limited attempt of a change older than deferMaxAgeMs as failed, not deferred (the queue does not put it off)', async () => {
    const { ConnectorError } = await import('../connectors/sdk/errors.ts');
    const connection = { id: 'c-stripe', provider: 'stripe' };
    const text = await deadLettered(
      {
        directory: { ownerOf: async () => ({ tenant: { id: 't' }, connection }) },
        // The refetch is rate-limited, as long as anyone asks.
        contexts: {
          forConnection: () => ({
            connector: {
              loaders: {
                Contact: { byIds: async (ids: string[]) => ids.map(() => new ConnectorError('UPSTREAM_RATE_LIMITED', 'slow down', { retryAfterMs: 1_000 })) },
              },
            },
            ctx: {},
          }),
        },
        events: { maxAttempts: 1, deferMaxAgeMs: 60_000 },
      },
      { tenantId: 't', connectionId: connection.id, receivedAt: new Date(Date.now() - 120_000).toISOString() },
    );
    expect(sample(text, 'switchboard_event_processing_duration_seconds_count', { connector: 'stripe', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'switchboard_event_processing_duration_seconds_count', { connector: 'stripe', outcome: 'deferred' }) ?? 0).toBe(0);
  });
});
