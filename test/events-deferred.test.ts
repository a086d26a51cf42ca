// Changes put off rather than failed: a provider that rate-limits the worker's refetch for longer
// than the retry backoff (the change waits for its Retry-After), and a provider outage (the
// connection's breaker open with different requests failing: the change waits for the provider).
// Either way the change keeps its attempts and is published once the provider answers again,
// instead of ending in the dead-letter store after maxAttempts quick retries (which the demo's
// QuickBooks throttle did under a soak). One record failing alone still ends there:
// test/events-poison.test.ts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/config.ts';
import { TOKENS, histogramCount, postStripeWebhook, startStack, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_switchboard_deferred_test_0000';
const MAX_ATTEMPTS = 2;

type OrderChange = { orderChanged: { eventId: string; type: string } };
const ORDER_SUB = 'subscription ($after: String) { orderChanged(after: $after) { eventId type } }';
const LETTERS = '{ deadLetters(first: 10) { nodes { eventId error attempts } } }';

describe.each([
  ['on Redis', undefined],
  ['in memory (the embedded default)', null],
] as const)('refetches put off, queue %s', (_name, redisUrl) => {
  let stack: Stack;
  let hook: string;
  beforeAll(async () => {
    stack = await startStack({
      redisUrl,
      scale: { contacts: 3, invoices: 3, orders: 3 },
      config: {
        events: { workerConcurrency: 4, maxAttempts: MAX_ATTEMPTS, retryBaseDelayMs: 300, dedupeTtlSeconds: 3600, retainedChanges: 1_000 },
        // The breaker opens on the second failure in a row and lets a trial call through 300 ms
        // later; no retries inside one attempt (each failure is one attempt's).
        limits: { ...DEFAULT_LIMITS, breakerThreshold: 2, breakerHalfOpenAfterMs: 300, upstreamMaxAttempts: 1 },
      },
    });
    stack.gateway.services.config.tenants[0]!.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: SECRET };
    hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;
  });
  afterAll(async () => {
    stack?.stripe.clearFaults();
    await stack?.stop();
  });

  /** Worker attempts with this outcome so far (the processing metric). */
  const attempts = (outcome: string) => histogramCount(stack.gateway, 'switchboard_event_processing_duration_seconds', { outcome });
  const deadLetters = async () => (await stack.query<{ deadLetters: { nodes: unknown[] } }>(LETTERS)).data?.deadLetters.nodes;

  /**
   * Checkout sessions `from`..`to` (each test its own: a change published by another test could be
   * dropped as identical) as webhook snapshots carry them (no line items: the worker refetches
   * each), in Events of their own.
   */
  async function sessionEvents(from: number, to: number) {
    const res = await fetch(`${stack.stripe.url}/v1/checkout/sessions?limit=${to}`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const sessions = ((await res.json()) as { data: Array<Record<string, unknown> & { id: string }> }).data.slice(from, to);
    expect(sessions).toHaveLength(to - from);
    const created = Math.floor(Date.now() / 1000);
    return sessions.map((session) => {
      const { line_items: _dropped, ...snapshot } = session;
      const eventId = `evt_def_${randomUUID().replace(/-/g, '')}`;
      return { path: `/v1/checkout/sessions/${session.id}`, eventId, body: stripeEventBody(eventId, 'checkout.session.completed', snapshot, created) };
    });
  }

  async function watch() {
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    return subscribe<OrderChange>(stack.gateway.url, stack.apiKey, ORDER_SUB, { after: data!.changeCursor });
  }

  /** The provider answers again: each change is published, once (nothing else arrives), and none is a dead letter. */
  async function publishedOnceWhenCleared(sub: Awaited<ReturnType<typeof watch>>, eventIds: string[]) {
    stack.stripe.clearFaults();
    const changes = await sub.waitFor(eventIds.length, 20_000);
    expect(changes.map((c) => c.orderChanged).sort((a, b) => a.eventId.localeCompare(b.eventId))).toEqual(
      [...eventIds].sort().map((eventId) => ({ eventId, type: 'CREATED' })),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(sub.received).toHaveLength(eventIds.length);
    expect(await deadLetters()).toEqual([]);
  }

  it('a rate limit: waits for the provider (Retry-After) without using its attempts, then publishes the change once', async () => {
    const [event] = await sessionEvents(0, 1);
    const { path, eventId } = event!;
    // Stripe answers the session read 429 with Retry-After: 1 until the fault is cleared.
    stack.stripe.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 1, match: `^${path}$` });
    const [deferredBefore, retriesBefore, failedBefore] = [await attempts('deferred'), await attempts('retry'), await attempts('failed')];
    const sub = await watch();
    try {
      expect((await postStripeWebhook(hook, event!.body, SECRET)).status).toBe(200);
      // More attempts than maxAttempts allows failures, each put off, none failed.
      await expect.poll(async () => (await attempts('deferred')) - deferredBefore, { timeout: 30_000, interval: 100 }).toBeGreaterThan(MAX_ATTEMPTS);
      expect(await attempts('retry')).toBe(retriesBefore);
      expect(await attempts('failed')).toBe(failedBefore);
      expect(stack.stripe.requests().filter((r) => r.path === path && r.status === 429).length).toBeGreaterThan(MAX_ATTEMPTS);
      expect(await deadLetters()).toEqual([]);
      expect(sub.received).toEqual([]);

      await publishedOnceWhenCleared(sub, [eventId]);
      expect(stack.stripe.requests().some((r) => r.path === path && r.status === 200)).toBe(true);
    } finally {
      await sub.close();
    }
  }, 60_000);

  it('an outage: waits for the provider without using the attempts, then publishes each change once', async () => {
    const events = await sessionEvents(1, 3);
    // Stripe answers 503 to every session read until the fault is cleared.
    stack.stripe.injectFault({ kind: 'status', status: 503, match: '^/v1/checkout/sessions/' });
    const failedReads = () => stack.stripe.requests().filter((r) => r.path.startsWith('/v1/checkout/sessions/') && r.status === 503).length;
    const [deferredBefore, failedBefore, readsBefore] = [await attempts('deferred'), await attempts('failed'), failedReads()];
    const sub = await watch();
    try {
      const posted = await Promise.all(events.map((e) => postStripeWebhook(hook, e.body, SECRET)));
      expect(posted.map((p) => p.status)).toEqual([200, 200]);
      // More put-off attempts than the two changes' attempts allow failures, none dead-lettered;
      // the breaker let trial calls through meanwhile, and they failed too.
      await expect.poll(async () => (await attempts('deferred')) - deferredBefore, { timeout: 30_000, interval: 100 }).toBeGreaterThan(2 * MAX_ATTEMPTS);
      await expect.poll(() => failedReads() - readsBefore, { timeout: 10_000, interval: 100 }).toBeGreaterThan(2 * MAX_ATTEMPTS);
      expect(await attempts('failed')).toBe(failedBefore);
      expect(await deadLetters()).toEqual([]);
      expect(sub.received).toEqual([]);

      await publishedOnceWhenCleared(
        sub,
        events.map((e) => e.eventId),
      );
    } finally {
      await sub.close();
    }
  }, 60_000);
});
