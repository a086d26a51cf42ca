// `npx tsx bench/orders.ts`: orders(first: 100) with each order's customer name, per commerce
// provider, through the gateway (in-process, memory cache) against the registered emulators with
// ~20 ms latency per upstream call: upstream calls and latency cold (cache off) and warm (cache
// hit), next to the naive 1 + N (one list, then one customer read per order, through the same
// connector). Prints a markdown table for docs/benchmarks.md.
import { randomUUID } from 'node:crypto';
import { CONNECTORS } from '../connectors/registry.ts';
import { createTestContext } from '../connectors/sdk/testing.ts';
import type { ContactModel, OrderModel } from '../connectors/sdk/models.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { defaultGatewayConfig, type TenantConfig } from '../src/config.ts';
import { createGateway, type Gateway } from '../src/server.ts';

const PROVIDERS = ['shopify', 'woocommerce'];
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 15);
const NAIVE_SAMPLES = Number(process.env.BENCH_NAIVE_SAMPLES ?? 3);
const QUERY = 'query ($p: String) { orders(first: 100, filter: { provider: $p }) { nodes { number customer { name } } } }';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function query(gateway: Gateway, key: string, provider: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: QUERY, variables: { p: provider } }),
  });
  const body = (await res.json()) as { errors?: unknown[]; data?: { orders: { nodes: Array<{ customer: { name: string } | null }> } } };
  if (body.errors || body.data?.orders.nodes.length !== 100) throw new Error(`${provider}: ${JSON.stringify(body.errors ?? body.data)}`);
  return performance.now() - started;
}

/** One list walk to 100 orders, then one customer read per order with a customer, one at a time. */
async function naive(entry: (typeof CONNECTORS)[number], emulator: EmulatorHandle): Promise<number> {
  const { connector, demo } = entry;
  const ctx = createTestContext({ connector, baseUrl: emulator.url, token: demo.testToken, settings: demo.settings, deadlineMs: 120_000 });
  const started = performance.now();
  const orders: OrderModel[] = [];
  let after: string | null = null;
  while (orders.length < 100) {
    const page: { nodes: OrderModel[]; endCursor: string | null; hasNextPage: boolean } = await connector.loaders.Order!.list(
      { first: 100 - orders.length, after, filter: {} },
      ctx,
    );
    orders.push(...page.nodes);
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  for (const order of orders) {
    const id = order.customerRemoteId;
    if (id) {
      const [contact] = await connector.loaders.Contact!.byIds([id], ctx);
      if (!contact || contact instanceof Error) throw new Error(`naive read of contact ${id} failed`);
      void (contact as ContactModel).firstName;
    }
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const id of PROVIDERS) {
    const entry = CONNECTORS.find((c) => c.connector.manifest.id === id);
    if (!entry) throw new Error(`${id} is not registered`);
    const emulator = await entry.startEmulator({ credentials: [entry.demo.testToken], latencyMs: LATENCY_MS });
    const key = `sb_bench_${randomUUID()}`;
    const tenants = [
      {
        id: 'bench',
        apiKeys: [{ id: 'b', sha256: hashApiKey(key) }],
        connections: [
          {
            id: `bench-${id}`,
            provider: id,
            baseUrl: emulator.url,
            credentials: { type: 'static' as const, token: entry.demo.testToken },
            settings: entry.demo.settings,
          },
        ],
      },
    ] as TenantConfig[];
    const off = { Contact: 0, Invoice: 0, Order: 0, listPage: 0 };
    const coldGateway = await createGateway(defaultGatewayConfig(tenants, { mode: 'test', cacheTtlSeconds: off }));
    const warmGateway = await createGateway(defaultGatewayConfig(tenants, { mode: 'test' }));
    try {
      await query(coldGateway, key, id); // JIT warm-up of the path, not counted
      emulator.resetRequests();
      await query(coldGateway, key, id);
      const coldCalls = emulator.count();
      // One cold query with a full bucket (cost-bucket providers refill first), then back-to-back samples.
      await new Promise((r) => setTimeout(r, 3_000));
      const rested = await query(coldGateway, key, id);
      const cold: number[] = [];
      for (let i = 0; i < SAMPLES; i++) cold.push(await query(coldGateway, key, id));
      await query(warmGateway, key, id);
      emulator.resetRequests();
      const warm: number[] = [];
      for (let i = 0; i < SAMPLES; i++) warm.push(await query(warmGateway, key, id));
      const warmCalls = emulator.count() / SAMPLES;
      emulator.resetRequests();
      const naiveTimes: number[] = [];
      for (let i = 0; i < NAIVE_SAMPLES; i++) naiveTimes.push(await naive(entry, emulator));
      const naiveCalls = (emulator.count() / NAIVE_SAMPLES).toFixed(1).replace(/\.0$/, '');
      rows.push(
        `| ${entry.connector.manifest.displayName} | ${coldCalls} | ${ms(rested)} | ${ms(pct(cold, 50))} / ${ms(pct(cold, 99))} | ${warmCalls} | ${ms(pct(warm, 50))} / ${ms(pct(warm, 99))} | ${naiveCalls} | ${ms(pct(naiveTimes, 50))} |`,
      );
    } finally {
      await Promise.all([coldGateway.stop(), warmGateway.stop()]);
      await emulator.stop();
    }
  }
  console.log(`orders(first: 100) { customer { name } }, ${LATENCY_MS} ms per upstream call, ${SAMPLES} sequential samples (naive: ${NAIVE_SAMPLES})\n`);
  console.log(
    '| provider | upstream calls, cold | cold, rested bucket | cold back-to-back p50 / p99 | upstream calls, warm | warm p50 / p99 | naive 1 + N calls | naive latency p50 |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

await main();
