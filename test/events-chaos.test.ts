// Chaos: 5,000 signed webhooks posted concurrently to a gateway whose Redis (started by the test,
// AOF on, fsync always, its own port and directory) is killed and started again mid-stream.
// Required behaviour: every non-2xx answer is a 503 with Retry-After; the sender retries those
// until it gets a 2xx; at the end every event was delivered to the subscriber exactly once, or is
// in the dead-letter store — delivered + dead-lettered = sent, duplicates = 0.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisChangeLog } from '../src/events/change-log.ts';
import {
  postStripeWebhook,
  runBounded,
  startDurableRedis,
  startStack,
  stripeCustomers,
  stripeEventBody,
  subscribeResuming,
  type DurableRedis,
  type Stack,
} from './helpers.ts';

const SECRET = 'whsec_switchboard_chaos_test_0000';
const EVENTS = 5_000;
const IN_FLIGHT = 50;
/** The restart begins once this many webhooks have been acknowledged. */
const RESTART_AFTER = 1_500;
/** How long Redis stays down before it is started again (plus its own start-up time). */
const DOWN_MS = 500;
/** A single event's sender gives up (and the test fails) after this long without a 2xx. */
const SENDER_DEADLINE_MS = 60_000;

type ContactChange = { contactChanged: { eventId: string; cursor: string } };
const CONTACT_SUB = /* GraphQL */ `
  subscription ($after: String) {
    contactChanged(after: $after) {
      eventId
      cursor
    }
  }
`;
type Letters = {
  deadLetters: { nodes: Array<{ id: string; eventId: string; error: string; attempts: number }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: Redis restarted while 5,000 webhooks arrive', () => {
  let redis: DurableRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startDurableRedis();
    stack = await startStack({
      redisUrl: redis.url,
      scale: { contacts: 10, invoices: 5, orders: 5 },
      // Enough attempts with short backoff to ride out a restart of a second or two.
      config: { events: { workerConcurrency: 20, maxAttempts: 10, retryBaseDelayMs: 100, dedupeTtlSeconds: 3600, retainedChanges: 50_000 } },
    });
    stack.gateway.services.config.tenants[0]!.connections[1]!.webhookSecret = { type: 'static', token: SECRET };
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  /** Every dead letter of the tenant (all pages). */
  async function allDeadLetters(): Promise<Letters['deadLetters']['nodes']> {
    const out: Letters['deadLetters']['nodes'] = [];
    let after: string | null = null;
    for (;;) {
      const res: Awaited<ReturnType<typeof stack.query<Letters>>> = await stack.query<Letters>(
        'query ($after: String) { deadLetters(first: 100, after: $after) { nodes { id eventId error attempts } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      if (!res.data) throw new Error(`deadLetters failed: ${JSON.stringify(res.errors)}`);
      out.push(...res.data.deadLetters.nodes);
      if (!res.data.deadLetters.pageInfo.hasNextPage) return out;
      after = res.data.deadLetters.pageInfo.endCursor;
    }
  }

  it('publishes a provider event once even when its job appends it again (retried after a lost reply)', async () => {
    // What a retried job does after its first append reached Redis but the reply (or the job's
    // completion) was lost in the outage: the same change is appended a second time.
    const log = new RedisChangeLog(redis.url, `sbtest:${randomUUID().slice(0, 8)}:once`, 1_000, () => undefined, 60);
    try {
      const change = {
        tenantId: 'acme',
        connectionId: 'acme-stripe',
        provider: 'stripe',
        entity: 'Contact' as const,
        eventId: `evt_once_${randomUUID()}`,
        type: 'UPDATED' as const,
        occurredAt: new Date().toISOString(),
        remoteId: 'cus_once',
        model: null,
        publishedAt: new Date().toISOString(),
      };
      const first = await log.append(change);
      const again = await log.append({ ...change, publishedAt: new Date().toISOString() });
      expect(again).toBe(first);
      expect((await log.readAfter(change.tenantId, '0-0', 10)).map((c) => c.eventId)).toEqual([change.eventId]);
      const other = await log.append({ ...change, eventId: `${change.eventId}_2` });
      expect(other).not.toBe(first);
      expect(await log.readAfter(change.tenantId, '0-0', 10)).toHaveLength(2);
    } finally {
      await log.close();
    }
  });

  it('answers only 2xx or 503 + Retry-After, and delivers every acknowledged event exactly once (or dead-letters it)', async () => {
    const hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;
    const customers = await stripeCustomers(stack.stripe.url, 10);
    const created = Math.floor(Date.now() / 1000);
    const run = randomUUID().replace(/-/g, '').slice(0, 10);
    // One record per event: of two changes to one record at one version, only the later arrival is
    // published when workers finish them out of order (stores.ts); this test counts deliveries.
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const eventId = `evt_chaos_${run}_${i}`;
      const customer = { ...customers[i % customers.length]!, id: `cus_chaos_${run}_${i}`, name: `Chaos ${i}` };
      return { eventId, payload: stripeEventBody(eventId, 'customer.updated', customer, created) };
    });

    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribeResuming<ContactChange>(
      stack.gateway.url,
      stack.apiKey,
      CONTACT_SUB,
      { after: data!.changeCursor },
      (p) => p.contactChanged.cursor,
    );

    // Diagnostics only: jobs BullMQ recovers as stalled (the worker is internal; absent → none seen).
    const stalled: string[] = [];
    const worker = (stack.gateway.services.events?.queue as unknown as { worker?: { on(event: 'stalled', fn: (jobId: string) => void): void } } | undefined)
      ?.worker;
    worker?.on('stalled', (jobId) => stalled.push(jobId));

    const started = Date.now();
    let accepted = 0;
    let requests = 0;
    const nonOk: Array<{ status: number; retryAfter: string | null; body: string }> = [];
    const networkErrors: string[] = [];
    let restart: Promise<void> | null = null;
    const restartWindow = { killedAt: 0, readyAt: 0, acceptedBefore: 0, acceptedAfterReady: 0 };

    try {
      await runBounded(events, IN_FLIGHT, async ({ payload }) => {
        const deadline = Date.now() + SENDER_DEADLINE_MS;
        for (let attempt = 1; ; attempt++) {
          if (Date.now() > deadline) throw new Error(`no 2xx within ${SENDER_DEADLINE_MS} ms after ${attempt - 1} attempts`);
          requests++;
          try {
            const res = await postStripeWebhook(hook, payload, SECRET);
            const body = await res.text();
            if (res.status >= 200 && res.status < 300) break;
            nonOk.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: body.slice(0, 200) });
          } catch (err) {
            networkErrors.push(String((err as Error).cause ?? err));
          }
          await sleep(50 + Math.random() * 100); // brief backoff, then send again
        }
        accepted++;
        if (accepted === RESTART_AFTER && !restart) {
          restartWindow.acceptedBefore = accepted;
          restartWindow.killedAt = Date.now();
          restart = redis.restart({ signal: 'SIGKILL', downMs: DOWN_MS }).then(() => {
            restartWindow.readyAt = Date.now();
            restartWindow.acceptedAfterReady = accepted;
          });
        }
      });
      const posted = Date.now();
      await restart;
      // The restart really happened mid-stream: webhooks were still being acknowledged after it.
      expect(restart).not.toBeNull();
      expect(restartWindow.acceptedAfterReady).toBeLessThan(EVENTS);

      // Wait until every event is either delivered or dead-lettered. Usually a few seconds; but a
      // job BullMQ had moved to active when Redis died, with the reply lost, is only recovered as a
      // stalled job (lock 30 s + stalled check every 30 s), so allow for up to a minute more.
      const sent = new Set(events.map((e) => e.eventId));
      let letters: Letters['deadLetters']['nodes'] = [];
      const distinctDelivered = () => new Set(sub.received.map((r) => r.contactChanged.eventId)).size;
      await expect
        .poll(
          async () => {
            if (distinctDelivered() < EVENTS) letters = await allDeadLetters();
            return distinctDelivered() + letters.filter((l) => sent.has(l.eventId)).length;
          },
          { timeout: 80_000, interval: 250 },
        )
        .toBeGreaterThanOrEqual(EVENTS);
      const settled = Date.now();
      // A moment for any late duplicate to show itself (a re-processed job re-appended to the log).
      await sleep(1_000);
      letters = await allDeadLetters();

      const ids = sub.received.map((r) => r.contactChanged.eventId);
      const delivered = new Set(ids);
      const duplicates = ids.length - delivered.size;
      const deadIds = new Set(letters.map((l) => l.eventId));
      const missing = [...sent].filter((id) => !delivered.has(id) && !deadIds.has(id));
      const statusCounts: Record<string, number> = {};
      for (const r of nonOk) statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
      const report = {
        requests,
        non2xx: statusCounts,
        networkErrors: networkErrors.length,
        delivered: delivered.size,
        duplicates,
        deadLetters: letters.length,
        missing: missing.length,
        subscriberInterruptions: sub.interruptions.length,
        stalledJobs: stalled.length,
        restart: {
          atAccepted: restartWindow.acceptedBefore,
          downMs: restartWindow.readyAt - restartWindow.killedAt,
          acceptedWhenUp: restartWindow.acceptedAfterReady,
        },
        postedMs: posted - started,
        settledMs: settled - started,
      };
      console.info(`chaos: ${JSON.stringify(report)}`);

      // Every non-2xx answer was a 503 with Retry-After; the gateway itself never went away.
      expect(networkErrors).toEqual([]);
      expect(nonOk.filter((r) => r.status !== 503 || !r.retryAfter)).toEqual([]);
      // delivered + dead-lettered = sent; nothing delivered twice; nothing foreign.
      expect(missing).toEqual([]);
      expect(duplicates).toBe(0);
      expect([...delivered].filter((id) => !sent.has(id))).toEqual([]);
      expect([...deadIds].filter((id) => delivered.has(id))).toEqual([]);
      expect(delivered.size + deadIds.size).toBe(EVENTS);
    } finally {
      await restart;
      await sub.close();
    }
  }, 115_000);
});
