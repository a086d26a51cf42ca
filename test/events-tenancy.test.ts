// Cross-tenant isolation under load: two tenants on one gateway (one Redis), each with its own
// Stripe connection and signing secret. 10,000 events posted to tenant B's webhook URL reach B's
// subscriber, all of them once, and not one reaches tenant A's subscriber.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { TOKENS, postStripeWebhook, runBounded, startStack, stripeCustomers, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET_A = 'whsec_switchboard_tenant_a_0000';
const SECRET_B = 'whsec_switchboard_tenant_b_0000';
const KEY_B = `sb_test_${randomUUID()}`;
const EVENTS = 10_000;
const IN_FLIGHT = 50;

type ContactChange = { contactChanged: { eventId: string; cursor: string; source: { connectionId: string } } };
const CONTACT_SUB = /* GraphQL */ `
  subscription ($after: String) {
    contactChanged(after: $after) {
      eventId
      cursor
      source {
        connectionId
      }
    }
  }
`;

describe('cross-tenant isolation under load', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 5, invoices: 5, orders: 5 },
      config: { events: { workerConcurrency: 20, maxAttempts: 3, retryBaseDelayMs: 50, dedupeTtlSeconds: 3600, retainedChanges: 50_000 } },
      extraTenants: (e) => [
        {
          id: 'globex',
          apiKeys: [{ id: 'k', sha256: hashApiKey(KEY_B) }],
          connections: [
            {
              id: 'globex-stripe',
              provider: 'stripe',
              baseUrl: e.stripe.url,
              credentials: { type: 'static', token: TOKENS.stripe },
              settings: {},
              webhookSecret: { type: 'static', token: SECRET_B },
            },
          ],
        },
      ],
    });
    // Tenant A (acme, the stack's default tenant) gets its own webhook secret.
    stack.gateway.services.config.tenants[0]!.connections[1]!.webhookSecret = { type: 'static', token: SECRET_A };
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("tenant A's subscriber receives 0 of 10,000 tenant-B events; B's receives all of them once", async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    const customers = await stripeCustomers(stack.stripe.url, 5);
    const created = Math.floor(Date.now() / 1000);
    const run = randomUUID().replace(/-/g, '').slice(0, 10);
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const eventId = `evt_b_${run}_${i}`;
      // One record per event (see events-chaos.test.ts): every one of them is published.
      const customer = { ...customers[i % customers.length]!, id: `cus_b_${run}_${i}`, name: `Globex ${i}` };
      return { eventId, payload: stripeEventBody(eventId, 'customer.updated', customer, created) };
    });

    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const after = data!.changeCursor;
    const subA = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after });
    const subB = await subscribe<ContactChange>(stack.gateway.url, KEY_B, CONTACT_SUB, { after });
    try {
      const started = Date.now();
      const statuses = new Map<number, number>();
      await runBounded(events, IN_FLIGHT, async ({ payload }) => {
        const res = await postStripeWebhook(`${base}/webhooks/stripe/globex-stripe`, payload, SECRET_B);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      });
      const posted = Date.now();
      expect(Object.fromEntries(statuses)).toEqual({ 200: EVENTS });

      await subB.waitFor(EVENTS, 150_000);
      const delivered = Date.now();

      // A barrier for A: one event of A's own, appended after every B event (B has received them
      // all). A's subscriber reads the log in order, so once this arrives A has seen past them all.
      const own = `evt_a_${run}`;
      const res = await postStripeWebhook(
        `${base}/webhooks/stripe/acme-stripe`,
        stripeEventBody(own, 'customer.updated', { ...customers[0]!, name: 'Acme own' }, created),
        SECRET_A,
      );
      expect(res.status).toBe(200);
      await subA.waitFor(1, 10_000);

      expect(subA.errors).toEqual([]);
      expect(subA.received.map((r) => r.contactChanged.eventId)).toEqual([own]);
      expect(subA.received[0]!.contactChanged.source.connectionId).toBe('acme-stripe');

      expect(subB.errors).toEqual([]);
      const ids = subB.received.map((r) => r.contactChanged.eventId);
      const distinct = new Set(ids);
      expect(ids.length - distinct.size).toBe(0);
      expect(distinct.size).toBe(EVENTS);
      expect(subB.received.every((r) => r.contactChanged.source.connectionId === 'globex-stripe')).toBe(true);
      expect([...distinct].sort()).toEqual(events.map((e) => e.eventId).sort());
      console.info(`tenancy: posted ${EVENTS} in ${posted - started} ms, all delivered to B at +${delivered - started} ms; A received 0 of them`);
    } finally {
      await subA.close();
      await subB.close();
    }
  }, 180_000); // 10,000 webhooks through one process: 30–50 s alone, much more beside the rest of the suite on 2 cores
});
