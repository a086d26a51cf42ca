// `npm run bench`: the read-path benchmark. Starts the gateway (child process) against the demo
// emulators with ~20 ms latency per upstream call, and a bare Apollo Server baseline (another
// child), then prints: upstream calls vs the naive 1 + N, cold and warm latency, warm throughput
// side by side with the baseline. Numbers go to docs/benchmarks.md by hand.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CONNECTORS } from '../connectors/registry.ts';

const QUERY = `query ($provider: String) { invoices(first: 100, filter: { provider: $provider }) { edges { node { number total { amount currency } contact { name emails { address } } } } } }`;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);

function startChild<T>(script: string): Promise<{ info: T; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'silent', NODE_ENV: 'production' },
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve({ info: JSON.parse(line) as T, child }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function post(url: string, apiKey: string | null, provider: string | null): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query: QUERY, variables: { provider } }),
  });
  const body = (await res.json()) as { errors?: unknown[]; data?: { invoices: { edges: unknown[] } } };
  if (body.errors || res.status !== 200) throw new Error(`query failed: ${res.status} ${JSON.stringify(body.errors)}`);
  return performance.now() - started;
}

async function emulatorCounts(url: string): Promise<number> {
  const res = await fetch(`${url}/__emulator/requests`);
  return ((await res.json()) as { total: number }).total;
}
async function resetCounts(url: string): Promise<void> {
  await fetch(`${url}/__emulator/requests`, { method: 'DELETE' });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function throughput(url: string, apiKey: string | null, provider: string | null) {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: 10,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query: QUERY, variables: { provider } }),
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function answer(url: string, apiKey: string, provider: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: QUERY, variables: { provider } }),
  });
  const text = await res.text();
  if (res.status !== 200 || text.includes('"errors"')) throw new Error(`query failed: ${res.status} ${text.slice(0, 300)}`);
  return { ms: performance.now() - started, text };
}

async function afterChangeEvent(warm: string, apiKey: string, stripeUrl: string, baselineRps: number) {
  const first = await fetch(warm, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: '{ invoices(first: 1, filter: { provider: "stripe" }) { edges { node { contact { source { remoteId } } } } } }' }),
  }).then((r) => r.json() as Promise<{ data: { invoices: { edges: Array<{ node: { contact: { source: { remoteId: string } } } }> } } }>);
  const customer = first.data.invoices.edges[0]!.node.contact.source.remoteId;
  await answer(warm, apiKey, 'stripe');
  const hit = await answer(warm, apiKey, 'stripe'); // a response-cache hit
  const client = createClient({
    url: warm.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    retryAttempts: 0,
  });
  const name = `Renamed ${Date.now()}`;
  let heardAt = 0;
  const heard = new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: 'subscription { contactChanged(filter: { connectionId: "demo-stripe" }) { contact { name } } }' },
      {
        next: (m) => {
          if ((m.data as { contactChanged?: { contact?: { name?: string } } })?.contactChanged?.contact?.name === name) {
            heardAt = performance.now();
            resolve();
          }
        },
        error: reject,
        complete: () => undefined,
      },
    );
  });
  await new Promise((r) => setTimeout(r, 500)); // the subscription is registered before the change
  const changedAt = performance.now();
  const patched = await fetch(`${stripeUrl}/__emulator/records/customers/${customer}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!patched.ok) throw new Error(`PATCH customer ${customer}: ${patched.status}`);
  let freshAt = 0;
  let staleAnswers = 0;
  let firstFresh = { ms: 0, text: '' };
  while (!freshAt && performance.now() - changedAt < 20_000) {
    const a = await answer(warm, apiKey, 'stripe');
    if (a.text.includes(name)) {
      freshAt = performance.now();
      firstFresh = a;
    } else staleAnswers++;
  }
  await Promise.race([heard, new Promise((r) => setTimeout(r, 20_000))]);
  // The guarantee: a query sent after the subscriber was told never answers the old name.
  const afterHeard = heardAt ? await answer(warm, apiKey, 'stripe') : null;
  await client.dispose();
  const tp = await throughput(warm, apiKey, 'stripe');
  return [
    { measure: 'response-cache hit before the change (one query)', value: ms(hit.ms) },
    { measure: 'emulator change → first fresh answer (queries back to back)', value: freshAt ? ms(freshAt - changedAt) : 'not fresh within 20 s' },
    { measure: 'answers with the old name before it (legitimate: not yet processed)', value: String(staleAnswers) },
    { measure: 'the first fresh answer itself (a miss: rebuilt from the record cache/provider)', value: ms(firstFresh.ms) },
    { measure: 'emulator change → contactChanged received', value: heardAt ? ms(heardAt - changedAt) : 'not received within 20 s' },
    {
      measure: 'first query after contactChanged was received',
      value: afterHeard ? `${afterHeard.text.includes(name) ? 'fresh' : 'STALE'}, ${ms(afterHeard.ms)}` : 'n/a',
    },
    {
      measure: `warm throughput right after (autocannon, 10 connections, ${DURATION_S} s)`,
      value: `${tp.rps.toFixed(0)} req/s, p50 ${tp.p50} ms, p99 ${tp.p99} ms, ${(tp.rps / baselineRps).toFixed(2)}x baseline, errors ${tp.errors}`,
    },
  ];
}

const gw = await startChild<{ cold: string; warm: string; records: string; apiKey: string; emulators: Record<string, string> }>('bench/gateway-process.ts');
const base = await startChild<{ url: string }>('bench/baseline-process.ts');
try {
  const { cold, warm, records, apiKey, emulators } = gw.info;
  // The query reads invoices: only the connectors that serve them have a row.
  // BENCH_PROVIDERS=stripe,… limits the run to those providers.
  const only = process.env.BENCH_PROVIDERS?.split(',');
  const providers = Object.keys(emulators).filter(
    (id) => CONNECTORS.some((c) => c.connector.manifest.id === id && c.connector.manifest.entities.includes('Invoice')) && (!only || only.includes(id)),
  );
  console.log(`\nSwitchboard read-path benchmark — node ${process.version}, emulator latency ${process.env.BENCH_EMULATOR_LATENCY_MS ?? 20} ms/call`);
  console.log(`query: invoices(first: 100) { ... contact { name emails { address } } }\n`);

  // 1. Upstream calls for one cold query, per provider, against the naive 1 + N.
  const rows: string[][] = [];
  for (const provider of providers) {
    const url = emulators[provider] as string;
    await resetCounts(url);
    const t = await post(cold, apiKey, provider);
    const calls = await emulatorCounts(url);
    rows.push([provider, String(calls), String(1 + 100), `${((1 + 100) / calls).toFixed(0)}x fewer`, ms(t)]);
  }
  console.log('Upstream calls, one cold query (100 invoices + their contacts)');
  console.table(rows.map(([provider, calls, naive, ratio, t]) => ({ provider, 'upstream calls': calls, 'naive 1+N': naive, saving: ratio, latency: t })));

  // 2. Latency per provider: cold (cache off) vs warm (cache hit), and the bare Apollo baseline.
  const latencyRows: Array<Record<string, string>> = [];
  for (const provider of providers) {
    const coldTimes: number[] = [];
    // Xero allows 60 calls a minute per organisation, and the benchmark's gateways share one: 15 cold
    // queries of 3 calls leave room for the cache fills within the same minute.
    const coldSamples = provider === 'xero' ? Math.min(LATENCY_SAMPLES, 15) : LATENCY_SAMPLES;
    for (let i = 0; i < coldSamples; i++) coldTimes.push(await post(cold, apiKey, provider));
    await post(warm, apiKey, provider); // fill the cache
    const warmTimes: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES * 3; i++) warmTimes.push(await post(warm, apiKey, provider));
    latencyRows.push({ case: `${provider}: cold (cache off)`, p50: ms(pct(coldTimes, 50)), p99: ms(pct(coldTimes, 99)) });
    latencyRows.push({ case: `${provider}: warm (cache hit)`, p50: ms(pct(warmTimes, 50)), p99: ms(pct(warmTimes, 99)) });
  }
  const baseTimes: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES * 3; i++) baseTimes.push(await post(base.info.url, null, null));
  latencyRows.push({ case: 'baseline: bare Apollo, static data', p50: ms(pct(baseTimes, 50)), p99: ms(pct(baseTimes, 99)) });
  console.log('Latency, sequential requests');
  console.table(latencyRows);

  // 3. Warm throughput vs the bare Apollo baseline, same query shape, same client settings.
  const tpRows: Array<Record<string, string>> = [];
  const baseTp = await throughput(base.info.url, null, null);
  for (const provider of providers) {
    await post(records, apiKey, provider); // fill the record and page caches
    const rec = await throughput(records, apiKey, provider);
    tpRows.push({
      case: `${provider}: warm, record cache only (response cache off)`,
      'req/s': rec.rps.toFixed(0),
      p50: `${rec.p50} ms`,
      p99: `${rec.p99} ms`,
      errors: String(rec.errors),
      'vs baseline': (rec.rps / baseTp.rps).toFixed(2),
    });
    const tp = await throughput(warm, apiKey, provider);
    tpRows.push({
      case: `${provider}: warm (response cache hit)`,
      'req/s': tp.rps.toFixed(0),
      p50: `${tp.p50} ms`,
      p99: `${tp.p99} ms`,
      errors: String(tp.errors),
      'vs baseline': (tp.rps / baseTp.rps).toFixed(2),
    });
  }
  tpRows.push({
    case: 'baseline: bare Apollo, static data',
    'req/s': baseTp.rps.toFixed(0),
    p50: `${baseTp.p50} ms`,
    p99: `${baseTp.p99} ms`,
    errors: String(baseTp.errors),
    'vs baseline': '1.00',
  });
  console.log(`Throughput, autocannon, 10 connections, ${DURATION_S} s each`);
  console.table(tpRows);
  // 4. After a change event: a Stripe customer in the cached answer is renamed at the emulator,
  // which sends its signed customer.updated webhook to the warm gateway. Measured: webhook → the
  // first fresh answer (queries back to back from the change on), when a contactChanged subscriber
  // hears of it, whether the first query sent after that was fresh (the guarantee: never the old
  // name once a subscriber was told), and the warm throughput right after the invalidation.
  if (providers.includes('stripe')) {
    console.log('After a change event (Stripe: a customer in the cached answer renamed at the emulator → signed webhook → worker → eviction)');
    console.table(await afterChangeEvent(warm, apiKey, emulators.stripe as string, baseTp.rps));
  }
  const mem = await fetch(cold.replace(/\/graphql$/, '/metrics')).then((r) => r.text());
  const rss = /switchboard_process_resident_memory_bytes (\d+)/.exec(mem)?.[1];
  if (rss) console.log(`gateway process RSS after the run (both gateways + emulators in one process): ${(Number(rss) / 2 ** 20).toFixed(0)} MiB\n`);
} finally {
  gw.child.kill('SIGTERM');
  base.child.kill('SIGTERM');
}
