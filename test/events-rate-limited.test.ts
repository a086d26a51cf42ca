// A provider that rate-limits the worker's refetch for longer than the retry backoff: the change
// waits for the provider's window (its Retry-After) without using up its attempts, and is
// published once the provider answers again, instead of ending in the dead-letter store after
// maxAttempts quick retries (which the demo's QuickBooks throttle did under a soak).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, histogramCount, postStripeWebhook, startStack, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_switchboard_rate_limited_test_0000';
const MAX_ATTEMPTS = 2;

type OrderChange = { orderChanged: { eventId: string; type: string } };
const ORDER_SUB = 'subscription ($after: String) { orderChanged(after: $after) { eventId type } }';
const LETTERS = '{ deadLetters(first: 10) { nodes { eventId error attempts } } }';

describe.each([
  ['on Redis', undefined],
  ['in memory (the embedded default)', null],
] as const)('a rate-limited refetch, queue %s', (_name, redisUrl) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      redisUrl,
      scale: { contacts: 3, invoices: 3, orders: 3 },
      config: { events: { workerConcurrency: 4, maxAttempts: MAX_ATTEMPTS, retryBaseDelayMs: 20, dedupeTtlSeconds: 3600, retainedChanges: 1_000 } },
    });
    stack.gateway.services.config.tenants[0]!.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: SECRET };
  });
  afterAll(async () => {
    stack?.stripe.clearFaults();
    await stack?.stop();
  });

  it('waits for the provider (Retry-After) without using its attempts, then publishes the change once', async () => {
    const hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;
    const res = await fetch(`${stack.stripe.url}/v1/checkout/sessions?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const session = ((await res.json()) as { data: Array<Record<string, unknown> & { id: string }> }).data[0]!;
    const path = `/v1/checkout/sessions/${session.id}`;
    // Webhook snapshots of a session carry no line items: the worker refetches the session, and
    // Stripe answers 429 with Retry-After: 1 until the fault is cleared.
    stack.stripe.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 1, match: `^${path}$` });
    const { line_items: _dropped, ...snapshot } = session;
    const eventId = `evt_rl_${randomUUID().replace(/-/g, '')}`;

    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<OrderChange>(stack.gateway.url, stack.apiKey, ORDER_SUB, { after: data!.changeCursor });
    try {
      const posted = await postStripeWebhook(hook, stripeEventBody(eventId, 'checkout.session.completed', snapshot, Math.floor(Date.now() / 1000)), SECRET);
      expect(posted.status).toBe(200);
      // More attempts than maxAttempts allows failures, each put off (the processing metric's
      // `deferred` outcome), none failed.
      const attempts = (outcome: string) => histogramCount(stack.gateway, 'switchboard_event_processing_duration_seconds', { outcome });
      await expect.poll(() => attempts('deferred'), { timeout: 30_000, interval: 100 }).toBeGreaterThan(MAX_ATTEMPTS);
      expect(await attempts('retry')).toBe(0);
      expect(await attempts('failed')).toBe(0);
      expect(stack.stripe.requests().filter((r) => r.path === path && r.status === 429).length).toBeGreaterThan(MAX_ATTEMPTS);
      const letters = await stack.query<{ deadLetters: { nodes: unknown[] } }>(LETTERS);
      expect(letters.data?.deadLetters.nodes).toEqual([]);
      expect(sub.received).toEqual([]);

      stack.stripe.clearFaults();
      const [change] = await sub.waitFor(1, 20_000);
      expect(change!.orderChanged).toEqual({ eventId, type: 'CREATED' });
      expect(stack.stripe.requests().some((r) => r.path === path && r.status === 200)).toBe(true);
      // Once: nothing else arrives, and still no dead letter.
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.received).toHaveLength(1);
      expect((await stack.query<{ deadLetters: { nodes: unknown[] } }>(LETTERS)).data?.deadLetters.nodes).toEqual([]);
    } finally {
      await sub.close();
    }
  }, 60_000);
});
