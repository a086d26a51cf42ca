// What one webhook and one query cost Redis: the numbers that decide when a deployment outgrows one
// Redis (docs/deployment.md, "Redis Cluster"). A private redis-server and the gateway (with its
// emulators, in this process) on it; Redis's own counters (INFO commandstats: calls per command;
// INFO cpu: the server's CPU seconds) are reset before and read after each phase:
// - webhooks: signed Stripe customer.updated events POSTed to the gateway, processed by its
//   workers and delivered to one subscriber (intake + queue + worker + change log + fan-out);
// - warm queries: one contact by id, answered from the cache.
// Also the gateway process's own CPU over the same phase (includes this script's HTTP clients and
// the emulators, so it over-states the gateway). Run: npx tsx bench/redis-load.ts
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/redis-server.ts';

const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 2_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 3_000);
const CONCURRENCY = 20;
const SECRET = 'whsec_switchboard_bench_redis_load_0';

async function main(): Promise<void> {
  const server = await startRedisServer();
  process.env.TEST_REDIS_URL = server.url;
  const { startStack, subscribe, admin, TOKENS, runBounded, stripeEventBody, stripeCustomerObject, postStripeWebhook } = await import('../test/helpers.ts');
  const { encodeId } = await import('../src/ids.ts');
  const redis = new Redis(server.url);
  const stack = await startStack({
    redisUrl: server.url,
    scale: { contacts: 50, invoices: 10, orders: 10 },
    config: { events: { workerConcurrency: 20, maxAttempts: 3, retryBaseDelayMs: 50, dedupeTtlSeconds: 3600, retainedChanges: 100_000 } },
  });
  try {
    const tenant = stack.gateway.services.config.tenants[0]!;
    tenant.limits = { tenantConcurrency: 1_000, tenantRequestsPerSecond: 100_000, tenantRequestBurst: 100_000 };
    tenant.connections.find((c) => c.id === 'acme-stripe')!.webhookSecret = { type: 'static', token: SECRET };
    await admin(stack.stripe.url, 'PUT', '/webhook', { url: 'http://127.0.0.1:9/unused', secret: SECRET });
    const res = await fetch(`${stack.stripe.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const customer = ((await res.json()) as { data: Array<{ id: string }> }).data[0]!.id;
    const hook = `${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`;

    const phase = async (name: string, n: number, run: () => Promise<void>) => {
      await redis.config('RESETSTAT');
      const cpu0 = await redisCpu(redis);
      const own0 = process.cpuUsage();
      const t0 = performance.now();
      await run();
      const seconds = (performance.now() - t0) / 1000;
      const own = process.cpuUsage(own0);
      const cpu = (await redisCpu(redis)) - cpu0;
      const stats = await commandStats(redis);
      const calls = stats.reduce((a, s) => a + s.calls, 0);
      console.log(`\n${name}: ${n} in ${seconds.toFixed(1)} s (${Math.round(n / seconds)}/s)`);
      console.log(`|metric|per item|`);
      console.log(`|Redis commands|${(calls / n).toFixed(1)}|`);
      console.log(`|Redis CPU (µs)|${((cpu * 1e6) / n).toFixed(0)}|`);
      console.log(`|gateway process CPU (µs, incl. emulators and load client)|${(((own.user + own.system) / n) as number).toFixed(0)}|`);
      console.log(`|→ items/s per Redis core|${Math.round(n / cpu)}|`);
      console.log(
        `top commands: ${stats
          .slice(0, 10)
          .map((s) => `${s.name} ${(s.calls / n).toFixed(2)}`)
          .join(', ')}`,
      );
    };

    // Webhooks → one subscriber.
    const sub = await subscribe<{ contactChanged: { eventId: string } }>(stack.gateway.url, stack.apiKey, 'subscription { contactChanged { eventId } }');
    await phase('webhooks (intake → queue → worker → change log → 1 subscriber)', WEBHOOKS, async () => {
      await runBounded(
        Array.from({ length: WEBHOOKS }, (_, i) => i),
        CONCURRENCY,
        async (i) => {
          const customerObject = stripeCustomerObject(customer, { name: `Bench ${i}`, email: 'bench@example.com', created: 1700000000 + i });
          const payload = stripeEventBody(`evt_${randomUUID().replace(/-/g, '')}`, 'customer.updated', customerObject, Math.floor(Date.now() / 1000));
          const r = await postStripeWebhook(hook, payload, SECRET);
          if (r.status >= 300) throw new Error(`webhook answered ${r.status}: ${await r.text()}`);
        },
      );
      // Until the queue is empty (a few same-record updates may be dropped as out of order: counted below).
      const queue = stack.gateway.services.events.queue;
      for (;;) {
        const q = await queue.stats();
        if (q.waiting + q.active + q.delayed === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    console.log(`delivered to the subscriber: ${sub.received.length} of ${WEBHOOKS}`);
    await sub.close();

    // Warm queries.
    const id = encodeId('Contact', 'acme-stripe', customer);
    const query = 'query ($id: ID!) { contact(id: $id) { name emails { address } } }';
    await stack.query(query, { id });
    await phase('warm queries (contact by id, cache hit)', QUERIES, async () => {
      await runBounded(
        Array.from({ length: QUERIES }, (_, i) => i),
        CONCURRENCY,
        async () => {
          const r = await stack.query(query, { id });
          if (r.errors) throw new Error(JSON.stringify(r.errors));
        },
      );
    });
  } finally {
    await stack.stop();
    redis.disconnect();
    await server.stop();
  }
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

async function commandStats(redis: Redis): Promise<Array<{ name: string; calls: number }>> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map((m) => ({ name: m[1] as string, calls: Number(m[2]) })).sort((a, b) => b.calls - a.calls);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
