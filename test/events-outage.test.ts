// A provider outage longer than the retry backoff: while the connection's breaker is open and
// more than one request has failed (the provider, not one record), the worker's refetches wait
// for it without using up their attempts, and every change is published once the provider
// answers again, instead of ending in the dead-letter store after maxAttempts quick retries.
// (One record that always fails still ends there: test/events-poison.test.ts.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/config.ts';
import { TOKENS, histogramCount, postStripeWebhook, startStack, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_switchboard_outage_test_0000';
const MAX_ATTEMPTS = 2;

type OrderChange = { orderChanged: { eventId: string; type: string } };
const ORDER_SUB = 'subscription ($after: String) { orderChanged(after: $after) { eventId type } }';
const LETTERS = '{ deadLetters(first: 10) { nodes { eventId error attempts } } }';

describe.each([
  ['on Redis', undefined],
  ['in memory (the embedded default)', null],
] as const)('a provider outage during refetches, queue %s', (_name, redisUrl) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      redisUrl,
      scale: { contacts: 3, invoices: 3, orders: 3 },
      config: {
        events: { workerConcurrency: 4, maxAttempts: MAX_ATTEMPTS, retryBaseDelayMs: 300, dedupeTtlSeconds: 3600, retainedChanges: 1_000 },
        // The breaker opens on the second failure and tries again after 300 ms; no retries inside an attempt.
        limits: { ...DEFAULT_LIMITS, breakerThreshold: 2, breakerHalfOpenAfterMs: 300, upstreamMaxAttempts: 1 },
      },
    });
    stack.gateway.services.config.tenants[0]!.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: SECRET };
  });
  afterAll(async () => {
    stack?.stripe.clearFaults();
    await stack?.stop();
  });

  it('waits for the provider without using the attempts, then publishes each change once', async () => {
    const hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;
    const res = await fetch(`${stack.stripe.url}/v1/checkout/sessions?limit=2`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const sessions = ((await res.json()) as { data: Array<Record<string, unknown> & { id: string }> }).data;
    expect(sessions).toHaveLength(2);
    // Webhook snapshots of a session carry no line items: the worker refetches each session, and
    // Stripe answers 503 to every session read until the fault is cleared.
    stack.stripe.injectFault({ kind: 'status', status: 503, match: '^/v1/checkout/sessions/' });
    const created = Math.floor(Date.now() / 1000);
    const events = sessions.map((session) => {
      const { line_items: _dropped, ...snapshot } = session;
      const eventId = `evt_out_${randomUUID().replace(/-/g, '')}`;
      return { eventId, body: stripeEventBody(eventId, 'checkout.session.completed', snapshot, created) };
    });

    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<OrderChange>(stack.gateway.url, stack.apiKey, ORDER_SUB, { after: data!.changeCursor });
    try {
      const posted = await Promise.all(events.map((e) => postStripeWebhook(hook, e.body, SECRET)));
      expect(posted.map((p) => p.status)).toEqual([200, 200]);
      // More put-off attempts than maxAttempts allows failures, none dead-lettered.
      const attempts = (outcome: string) => histogramCount(stack.gateway, 'switchboard_event_processing_duration_seconds', { outcome });
      await expect.poll(() => attempts('deferred'), { timeout: 30_000, interval: 100 }).toBeGreaterThan(2 * MAX_ATTEMPTS);
      // The breaker let trial calls through meanwhile, and they failed too.
      const failedReads = () => stack.stripe.requests().filter((r) => r.path.startsWith('/v1/checkout/sessions/') && r.status === 503).length;
      await expect.poll(failedReads, { timeout: 10_000, interval: 100 }).toBeGreaterThan(2 * MAX_ATTEMPTS);
      expect(await attempts('failed')).toBe(0);
      expect((await stack.query<{ deadLetters: { nodes: unknown[] } }>(LETTERS)).data?.deadLetters.nodes).toEqual([]);
      expect(sub.received).toEqual([]);

      stack.stripe.clearFaults();
      const changes = await sub.waitFor(2, 20_000);
      expect(changes.map((c) => c.orderChanged.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
      expect(changes.every((c) => c.orderChanged.type === 'CREATED')).toBe(true);
      // Once each: nothing else arrives, and still no dead letter.
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.received).toHaveLength(2);
      expect((await stack.query<{ deadLetters: { nodes: unknown[] } }>(LETTERS)).data?.deadLetters.nodes).toEqual([]);
    } finally {
      await sub.close();
    }
  }, 60_000);
});
