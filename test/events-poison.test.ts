// A poison event (verified, parsed, but failing in processing on every attempt) among 1,000 good
// ones: the good ones are all delivered, once each, without waiting behind the poison's retries,
// and the poison ends in the dead-letter store after exactly maxAttempts attempts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, postStripeWebhook, runBounded, startStack, stripeCustomers, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_switchboard_poison_test_0000';
const GOOD = 1_000;
const IN_FLIGHT = 20;
const MAX_ATTEMPTS = 3;
/**
 * After its first failure the poison waits at least 0.5·B + 1·B = 12 s for its last attempt
 * (BullMQ exponential backoff, jitter 0.5): longer than posting and delivering the 1,000 good
 * events (2–3 s alone, ~10 s beside another heavy test file on a 2-core machine).
 */
const RETRY_BASE_MS = 8_000;

type ContactChange = { contactChanged: { eventId: string; cursor: string; type: string; contact: { name: string | null } | null } };
const CONTACT_SUB = /* GraphQL */ `
  subscription ($after: String) {
    contactChanged(after: $after) {
      eventId
      cursor
      type
      contact {
        name
      }
    }
  }
`;
type Letters = {
  deadLetters: { nodes: Array<{ id: string; eventId: string; entity: string; remoteId: string; error: string; attempts: number; failedAt: string }> };
};
const LETTERS = '{ deadLetters(first: 50) { nodes { id eventId entity remoteId error attempts failedAt } } }';

describe('poison payload among 1,000 good ones', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 10, invoices: 5, orders: 5 },
      config: {
        events: { workerConcurrency: 10, maxAttempts: MAX_ATTEMPTS, retryBaseDelayMs: RETRY_BASE_MS, dedupeTtlSeconds: 3600, retainedChanges: 20_000 },
      },
    });
    stack.gateway.services.config.tenants[0]!.connections[1]!.webhookSecret = { type: 'static', token: SECRET };
  });
  afterAll(async () => {
    stack?.stripe.clearFaults();
    await stack?.stop();
  });

  it('dead-letters the poison only, delivers all 1,000 others once, and does not hold them back', async () => {
    const hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;
    const customers = await stripeCustomers(stack.stripe.url, 5);
    expect(customers.length).toBe(5);
    const sessionsRes = await fetch(`${stack.stripe.url}/v1/checkout/sessions?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const session = ((await sessionsRes.json()) as { data: Array<Record<string, unknown> & { id: string }> }).data[0]!;

    // The poison: a checkout.session event (no line items in webhook snapshots, so the worker
    // refetches the session) whose refetch answers 500 every time — for that session only.
    stack.stripe.injectFault({ kind: 'status', status: 500, match: `^/v1/checkout/sessions/${session.id}$` });
    const { line_items: _dropped, ...snapshot } = session;
    const poisonId = `evt_poison_${randomUUID().replace(/-/g, '')}`;

    // One record per good event: of two changes to one record at one version, only the later
    // arrival is published when workers finish them out of order (stores.ts); this test counts them.
    const created = Math.floor(Date.now() / 1000);
    const good = Array.from({ length: GOOD }, (_, i) => {
      const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
      const customer = { ...customers[i % customers.length]!, id: `cus_good_${i}_${suffix}`, name: `Poison run ${i}` };
      const eventId = `evt_good_${i}_${suffix}`;
      return { eventId, payload: stripeEventBody(eventId, 'customer.updated', customer, created) };
    });

    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    try {
      const started = Date.now();
      // The poison goes first: a queue with head-of-line blocking would hold everything behind it.
      const poisonRes = await postStripeWebhook(hook, stripeEventBody(poisonId, 'checkout.session.completed', snapshot, created), SECRET);
      expect(poisonRes.status).toBe(200);
      // The poison has failed once and now sits in the queue, waiting to be retried.
      const poisonPath = `/v1/checkout/sessions/${session.id}`;
      await expect
        .poll(() => stack.stripe.requests().filter((r) => r.path === poisonPath && r.status === 500).length, { timeout: 10_000, interval: 20 })
        .toBeGreaterThan(0);
      const statuses = new Map<number, number>();
      await runBounded(good, IN_FLIGHT, async ({ payload }) => {
        const res = await postStripeWebhook(hook, payload, SECRET);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      });
      const posted = Date.now();
      expect(Object.fromEntries(statuses)).toEqual({ 200: GOOD });

      await sub.waitFor(GOOD, 60_000);
      const allDelivered = Date.now();

      let letters: Letters['deadLetters']['nodes'] = [];
      await expect
        .poll(
          async () => {
            letters = (await stack.query<Letters>(LETTERS)).data?.deadLetters.nodes ?? [];
            return letters.length;
          },
          { timeout: 30_000, interval: 100 },
        )
        .toBeGreaterThan(0);
      const deadLettered = Date.now();
      // Every attempt really ran (and failed at the emulator); the connector may retry within one.
      expect(stack.stripe.requests().filter((r) => r.path === poisonPath && r.status === 500).length).toBeGreaterThanOrEqual(MAX_ATTEMPTS);

      // Exactly one dead letter: the poison, after every attempt.
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ eventId: poisonId, entity: 'Order', remoteId: session.id, attempts: MAX_ATTEMPTS });
      expect(letters[0]!.error).not.toBe('');

      // No head-of-line blocking: the 1,000th good delivery came before the poison gave up.
      expect(Date.parse(letters[0]!.failedAt)).toBeGreaterThan(allDelivered);

      // Exactly 1,000 contact changes, one per good event id, none twice, none foreign.
      const ids = sub.received.map((r) => r.contactChanged.eventId);
      const distinct = new Set(ids);
      expect(sub.errors).toEqual([]);
      expect(ids.length - distinct.size).toBe(0);
      expect(distinct.size).toBe(GOOD);
      expect([...distinct].sort()).toEqual(good.map((g) => g.eventId).sort());

      // Nothing else trickles in later (no redelivery after the poison settled).
      const { data: head } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
      expect(head?.changeCursor).toBe(sub.received[sub.received.length - 1]!.contactChanged.cursor);
      expect(sub.received).toHaveLength(GOOD);
      console.info(
        `poison: posted ${GOOD + 1} in ${posted - started} ms, all ${GOOD} delivered at +${allDelivered - started} ms, dead letter seen at +${deadLettered - started} ms (failedAt +${Date.parse(letters[0]!.failedAt) - started} ms)`,
      );
    } finally {
      await sub.close();
    }
  }, 90_000);
});
