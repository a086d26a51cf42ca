// `npx tsx bench/cold.ts` (issue #12, item 2): what the gateway adds to a cold query, measured
// against the same upstream calls made directly, in one process and one run. For each provider:
// 1. one cold query through the gateway (caches off) with every upstream request recorded (a
//    wrapper around fetch, installed before the gateway is built): method, URL, headers, body,
//    and when it started and answered;
// 2. SAMPLES cold queries through the gateway, sequentially: p50 / p99;
// 3. SAMPLES direct replays of the recorded requests along their critical path (a request starts
//    once every request that had answered before it started in the recording has answered; the
//    rest run concurrently, as the gateway ran them), each body read and JSON-parsed: p50 / p99;
// 4. the JSON.parse time of those bodies alone (the part of the difference no gateway avoids).
// Same emulators, same latency (BENCH_LATENCY_MS, default 20 ms per call). Prints a markdown table.
import { setTimeout } from 'node:timers/promises';
import { DEFAULT_LIMITS, defaultGatewayConfig } from '../src/config.ts';
import { startDemo } from '../src/demo.ts';
import { createGateway } from '../src/server.ts';
import { generateMasterKeyEntry, parseMasterKeys } from '../src/accounts/vault.ts';

const WINDOW_REFILL_MS = 250;
const MINUTE_LIMITS: Record<string, number> = { xero: 60 };
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const PROVIDERS = (process.env.BENCH_PROVIDERS ?? 'hubspot,stripe,xero,quickbooks').split(',');
const QUERY = `query ($provider: String) { invoices(first: 100, filter: { provider: $provider }) { edges { node { number total { amount currency } contact { name emails { address } } } } } }`;

interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  startedAt: number;
  answeredAt: number;
}
let recording: Recorded[] | null = null;
const realFetch = globalThis.fetch;
// The upstream client takes globalThis.fetch when it is built: installed before the gateway is.
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const rec = recording;
  if (!rec) return realFetch(input, init);
  const request = new Request(input, init);
  const body = init?.body == null ? null : typeof init.body === 'string' ? init.body : await request.clone().text();
  const entry: Recorded = {
    url: request.url,
    method: request.method,
    headers: Object.fromEntries(request.headers),
    body,
    startedAt: performance.now(),
    answeredAt: 0,
  };
  const res = await realFetch(input, init);
  entry.answeredAt = performance.now();
  rec.push(entry);
  return res;
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

const demo = await startDemo({ latencyMs: LATENCY_MS });
const tenants = demo.tenants.map((t) => ({ ...t, limits: { tenantRequestsPerSecond: 1_000_000, tenantRequestBurst: 1_000_000, tenantConcurrency: 100_000 } }));
const keyring = parseMasterKeys(generateMasterKeyEntry('bench'), undefined);
const gateway = await createGateway(
  defaultGatewayConfig(tenants, {
    mode: 'production',
    redisUrl: null,
    cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 },
    limits: { ...DEFAULT_LIMITS, responseCacheTtlSeconds: 0 },
  }),
  { keyring },
);

async function viaGateway(provider: string): Promise<number> {
  const started = performance.now();
  const res = await realFetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${demo.apiKey}` },
    body: JSON.stringify({ query: QUERY, variables: { provider } }),
  });
  const body = (await res.json()) as { errors?: unknown[]; data?: { invoices: { edges: unknown[] } } };
  if (body.errors || body.data?.invoices.edges.length !== 100) throw new Error(`${provider}: ${JSON.stringify(body.errors ?? body.data)}`);
  return performance.now() - started;
}

/** The recorded requests again, each after the ones it waited for; resolves with the elapsed time and the bodies. */
async function direct(calls: Recorded[]): Promise<{ ms: number; bodies: string[] }> {
  const started = performance.now();
  const done: Array<Promise<string>> = [];
  calls.forEach((call, i) => {
    const after = calls.filter((c, j) => j !== i && c.answeredAt <= call.startedAt).map((c) => done[calls.indexOf(c)]);
    done[i] = Promise.all(after).then(async () => {
      const res = await realFetch(call.url, { method: call.method, headers: call.headers, body: call.body });
      const text = await res.text();
      if (!res.ok) throw new Error(`${call.method} ${call.url}: ${res.status} ${text.slice(0, 200)}`);
      JSON.parse(text);
      return text;
    });
  });
  const bodies = await Promise.all(done);
  return { ms: performance.now() - started, bodies };
}

const rows: string[] = [];
try {
  for (const provider of PROVIDERS) {
    recording = [];
    await viaGateway(provider);
    const calls = recording.sort((a, b) => a.startedAt - b.startedAt);
    recording = null;
    // Alternating, so load on the machine falls on both sides alike.
    const gatewayTimes: number[] = [];
    const directTimes: number[] = [];
    let bodies: string[] = [];
    // Xero allows 60 calls a minute per organisation (both sides spend it): fewer samples there.
    const perMinute = MINUTE_LIMITS[provider];
    const samples = perMinute === undefined ? SAMPLES : Math.min(SAMPLES, Math.floor((perMinute - calls.length) / (2 * calls.length)));
    for (let i = 0; i < samples; i++) {
      // Each side starts with the provider's per-second windows refilled (HubSpot search: 5/s, no
      // burst), so neither waits on a budget the other spent: the difference is the gateway's work.
      await setTimeout(WINDOW_REFILL_MS);
      gatewayTimes.push(await viaGateway(provider));
      await setTimeout(WINDOW_REFILL_MS);
      const d = await direct(calls);
      directTimes.push(d.ms);
      bodies = d.bodies;
    }
    const parseTimes: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      for (const b of bodies) JSON.parse(b);
      parseTimes.push(performance.now() - t);
    }
    const kb = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1024;
    const g50 = pct(gatewayTimes, 50);
    const d50 = pct(directTimes, 50);
    const p50 = pct(parseTimes, 50);
    rows.push(
      `| ${provider} | ${samples} | ${calls.length} (${kb.toFixed(0)} KiB) | ${g50.toFixed(1)} / ${pct(gatewayTimes, 99).toFixed(1)} ms | ${d50.toFixed(1)} / ${pct(directTimes, 99).toFixed(1)} ms | ${(g50 - d50).toFixed(1)} ms | ${p50.toFixed(2)} ms | ${(g50 - d50 - p50).toFixed(1)} ms |`,
    );
    console.log(rows.at(-1));
  }
} finally {
  await gateway.stop();
  await demo.stop();
}
console.log(
  `\nCold query through the gateway vs the same upstream calls made directly (${LATENCY_MS} ms per call, ${SAMPLES} samples each (Xero fewer: its 60 calls a minute), alternating)\n`,
);
console.log(
  '| provider | samples | upstream calls (bodies) | gateway p50 / p99 | direct critical path p50 / p99 | difference (p50) | JSON.parse of the bodies | difference less parsing |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
process.exit(0);
