// `npm run bench`: the read-path benchmark. Starts the gateway (child process) against the demo
// emulators with ~20 ms latency per upstream call, and a bare Apollo Server baseline (another
// child), then prints: upstream calls vs the naive 1 + N, cold and warm latency, warm throughput
// side by side with the baseline. Numbers go to docs/benchmarks.md by hand.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
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

const gw = await startChild<{ cold: string; warm: string; records: string; apiKey: string; emulators: Record<string, string> }>('bench/gateway-process.ts');
const base = await startChild<{ url: string }>('bench/baseline-process.ts');
try {
  const { cold, warm, records, apiKey, emulators } = gw.info;
  // The query reads invoices: only the connectors that serve them have a row.
  const providers = Object.keys(emulators).filter((id) =>
    CONNECTORS.some((c) => c.connector.manifest.id === id && c.connector.manifest.entities.includes('Invoice')),
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
    for (let i = 0; i < LATENCY_SAMPLES; i++) coldTimes.push(await post(cold, apiKey, provider));
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
  const mem = await fetch(cold.replace(/\/graphql$/, '/metrics')).then((r) => r.text());
  const rss = /switchboard_process_resident_memory_bytes (\d+)/.exec(mem)?.[1];
  if (rss) console.log(`gateway process RSS after the run (both gateways + emulators in one process): ${(Number(rss) / 2 ** 20).toFixed(0)} MiB\n`);
} finally {
  gw.child.kill('SIGTERM');
  base.child.kill('SIGTERM');
}
