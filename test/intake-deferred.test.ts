// Stripe deliveries are stored as received and mapped by a worker (ConnectorWebhooks.toEventsWithoutModels):
// the intake process answers from the Event's ids, its stream entry holds the exact body beside
// the change without a model, and a workers-only replica maps it and publishes the full record.
// A stored body that does not map becomes a dead letter at once (no retries). Real Redis.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/server.ts';
import type { QueuedChange } from '../src/events/model.ts';
import { parseRoles } from '../src/gateway/roles.ts';
import { REDIS_URL, graphql, postStripeWebhook, startSecondReplica, startStack, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_switchboard_deferred_test_000';
const SUB = /* GraphQL */ `
  subscription {
    contactChanged {
      eventId
      type
      contact {
        name
        emails {
          address
        }
      }
    }
  }
`;
type Changed = { contactChanged: { eventId: string; type: string; contact: { name: string; emails: Array<{ address: string }> } | null } };

describe('webhook bodies mapped by the workers', () => {
  let stack: Stack;
  let workers: Gateway | undefined;
  let redis: Redis;
  beforeAll(async () => {
    // This gateway takes webhooks and serves subscriptions, but runs no workers: entries stay in the intake stream.
    stack = await startStack({ config: { roles: parseRoles('api,webhooks,subscriptions') } });
    stack.gateway.services.config.tenants[0]!.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: SECRET };
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await workers?.stop();
    await stack?.stop();
  });

  // The name spans multi-byte UTF-8: the stream holds the bytes as received, and the worker decodes them.
  it('stores the exact body beside a change without model; a workers-only replica maps and publishes it', async () => {
    const hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;
    const sub = await subscribe<Changed>(stack.gateway.url, stack.apiKey, SUB);
    const eventId = `evt_deferred_${randomUUID().slice(0, 8)}`;
    const customer = { id: 'cus_deferred_1', object: 'customer', name: 'Grâce Hopper 🚢', email: 'grace@example.com', created: 1700000000, metadata: {} };
    const body = stripeEventBody(eventId, 'customer.updated', customer, Math.floor(Date.now() / 1000));
    const res = await postStripeWebhook(hook, body, SECRET);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 1 });

    const streams = (stack.gateway.services.events.queue as unknown as { intakeStreams: string[] }).intakeStreams;
    const entries = (await Promise.all(streams.map((s) => redis.xrange(s, '-', '+')))).flat();
    expect(entries).toHaveLength(1);
    const fields = entries[0]![1];
    const stored = JSON.parse(fields[fields.indexOf('d') + 1]!) as QueuedChange;
    expect(stored).not.toHaveProperty('body');
    expect(stored.change).toMatchObject({ eventId, type: 'UPDATED', entity: 'Contact', remoteId: 'cus_deferred_1', model: null });
    expect(fields[fields.indexOf('b') + 1]).toBe(body);

    workers = await startSecondReplica(stack, { roles: parseRoles('workers') });
    const [got] = await sub.waitFor(1, 20_000);
    expect(got!.contactChanged).toEqual({ eventId, type: 'UPDATED', contact: { name: 'Grâce Hopper 🚢', emails: [{ address: 'grace@example.com' }] } });
    await sub.close();
  }, 60_000);

  it('a stored body that no longer maps is dead-lettered after one attempt, body kept', async () => {
    expect(workers).toBeDefined();
    const eventId = `evt_unmappable_${randomUUID().slice(0, 8)}`;
    await stack.gateway.services.events.queue.enqueue([
      {
        tenantId: 'acme',
        connectionId: 'acme-stripe',
        provider: 'stripe',
        receivedAt: new Date().toISOString(),
        change: { eventId, type: 'UPDATED', entity: 'Contact', remoteId: 'cus_x', occurredAt: new Date().toISOString(), version: null, model: null },
        body: '{"object":"event","id":',
      },
    ]);
    type Letters = { deadLetters: { nodes: Array<{ eventId: string; error: string; attempts: number }> } };
    const deadline = Date.now() + 20_000;
    let letter: Letters['deadLetters']['nodes'][number] | undefined;
    while (!letter) {
      const r = await graphql<Letters>(stack.gateway.url, stack.apiKey, '{ deadLetters(first: 20) { nodes { eventId error attempts } } }');
      letter = r.data?.deadLetters.nodes.find((n) => n.eventId === eventId);
      if (!letter && Date.now() > deadline) throw new Error('no dead letter within 20 s');
      if (!letter) await new Promise((r) => setTimeout(r, 100));
    }
    expect(letter.attempts).toBe(1);
    expect(letter.error).toMatch(/UPSTREAM_BAD_RESPONSE/);
  }, 60_000);
});
