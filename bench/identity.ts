// `npx tsx bench/identity.ts`: what resolving a Person costs. The gateway (in process, memory
// cache) in front of every registered emulator (~20 ms per upstream call), one tenant with one
// connection per provider. Measured in one run:
// - person(email) for demo people shared by several providers, cold (cache off): upstream calls
//   per person, per connection, and latency; warm (cache on, second read): calls and latency;
// - the persons of a page of 20 HubSpot contacts in one query (`contacts { person }`: the lookups
//   of all 20 batched per connection, HubSpot's as one search with IN) next to the baseline of the
//   same 20 persons asked one query each.
// Prints markdown tables for docs/benchmarks.md.
import { randomUUID } from 'node:crypto';
import { CONNECTORS } from '../connectors/registry.ts';
import { demoPeople } from '../connectors/sdk/demo-data.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { defaultGatewayConfig, type TenantConfig } from '../src/config.ts';
import { createGateway, type Gateway } from '../src/server.ts';

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const PERSONS = Number(process.env.BENCH_PERSONS ?? 10);
const SEED = 7;
const PERSON = 'query ($e: EmailAddress!) { person(email: $e) { names contacts { id } matchedOn { on } } }';
const PAGE = '{ contacts(first: 20, filter: { provider: "hubspot" }) { nodes { primary: emails { address } person { names contacts { id } } } } }';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function post<T>(gateway: Gateway, key: string, query: string, variables?: Record<string, unknown>): Promise<{ data: T; ms: number }> {
  const started = performance.now();
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { errors?: unknown[]; data?: T };
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
  return { data: body.data, ms: performance.now() - started };
}

async function main(): Promise<void> {
  const emulators = new Map<string, EmulatorHandle>();
  const key = `sb_bench_${randomUUID()}`;
  const connections: TenantConfig['connections'] = [];
  for (const { connector, startEmulator, demo } of CONNECTORS) {
    const id = connector.manifest.id;
    // HubSpot's emulator does not enforce search's 5 per second here: the gateway's budget still paces
    // searches to it, but an emulator window that starts a few ms apart from the budget's draws a 429
    // now and then (see the report), which would end a measuring run.
    const emulator = await startEmulator({
      credentials: [demo.testToken],
      latencyMs: LATENCY_MS,
      seed: SEED,
      ...demo.test?.emulatorOptions,
      ...(id === 'hubspot' ? { searchRateLimit: null } : {}),
    });
    emulators.set(id, emulator);
    connections.push({
      id: `bench-${id}`,
      provider: id,
      baseUrl: emulator.url,
      credentials: { type: 'static', token: demo.testToken },
      settings: { ...demo.settings },
      ...(demo.test?.rateLimit ? { rateLimit: demo.test.rateLimit } : {}),
      ...(connector.manifest.events?.source === 'polling' ? { polling: { enabled: false } } : {}),
    });
  }
  const tenants: TenantConfig[] = [{ id: 'bench', apiKeys: [{ id: 'b', sha256: hashApiKey(key) }], connections }];
  const off = { Contact: 0, Invoice: 0, Order: 0, listPage: 0 };
  const cold = await createGateway(defaultGatewayConfig(tenants, { mode: 'test', cacheTtlSeconds: off }));
  const warm = await createGateway(defaultGatewayConfig(tenants, { mode: 'test' }));
  const reset = () => emulators.forEach((e) => e.resetRequests());
  const perConnection = () => [...emulators.entries()].map(([id, e]) => [id, e.count()] as const);
  const total = () => [...emulators.values()].reduce((s, e) => s + e.count(), 0);
  try {
    // People [250, 250 + PERSONS): in HubSpot, Stripe and most other demo providers.
    const people = demoPeople(500, SEED).slice(250, 250 + PERSONS);
    await post(cold, key, PERSON, { e: people[0]!.email }); // JIT warm-up, not counted
    reset();
    const coldTimes: number[] = [];
    let contacts = 0;
    for (const p of people) {
      const r = await post<{ person: { contacts: unknown[] } }>(cold, key, PERSON, { e: p.email });
      coldTimes.push(r.ms);
      contacts += r.data.person.contacts.length;
    }
    const coldCalls = total() / PERSONS;
    const byConnection = perConnection().map(([id, n]) => `${id} ${n / PERSONS}`);

    for (const p of people) await post(warm, key, PERSON, { e: p.email });
    reset();
    const warmTimes: number[] = [];
    for (const p of people) warmTimes.push((await post(warm, key, PERSON, { e: p.email })).ms);
    const warmCalls = total() / PERSONS;

    // 20 persons: one query over a page of contacts vs one query per person (both cold).
    reset();
    const page = await post<{ contacts: { nodes: Array<{ primary: Array<{ address: string }> }> } }>(cold, key, PAGE);
    const pageCalls = total();
    const hubspotSearches = emulators.get('hubspot')!.count();
    const emails = page.data.contacts.nodes.map((n) => n.primary[0]?.address).filter((e): e is string => Boolean(e));
    reset();
    const oneByOneStarted = performance.now();
    for (const e of emails) await post(cold, key, PERSON, { e });
    const oneByOneMs = performance.now() - oneByOneStarted;
    const oneByOneCalls = total();

    console.log(`person(email), ${LATENCY_MS} ms per upstream call, ${emulators.size} connections, ${PERSONS} demo people shared by several providers\n`);
    console.log('| read | upstream calls per person | contacts per person | latency p50 / p99 |');
    console.log('|---|---|---|---|');
    console.log(
      `| cold (cache off) | ${coldCalls} (${byConnection.join(', ')}) | ${(contacts / PERSONS).toFixed(1)} | ${ms(pct(coldTimes, 50))} / ${ms(pct(coldTimes, 99))} |`,
    );
    console.log(`| warm (cached lookups) | ${warmCalls} | ${(contacts / PERSONS).toFixed(1)} | ${ms(pct(warmTimes, 50))} / ${ms(pct(warmTimes, 99))} |`);
    console.log(`\n20 persons of a page of HubSpot contacts (cold)\n`);
    console.log('| query | upstream calls | of which HubSpot | latency |');
    console.log('|---|---|---|---|');
    console.log(`| one query: contacts(first: 20) { person } | ${pageCalls} | ${hubspotSearches} (1 list + 1 search with IN) | ${ms(page.ms)} |`);
    console.log(`| baseline: ${emails.length} person(email) queries, one by one | ${oneByOneCalls} | ${emails.length} searches | ${ms(oneByOneMs)} |`);
  } finally {
    await Promise.all([cold.stop(), warm.stop()]);
    await Promise.all([...emulators.values()].map((e) => e.stop()));
  }
}

await main();
