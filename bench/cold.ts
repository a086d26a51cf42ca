// `npx tsx bench/cold.ts` (issue #12, item 2): what the gateway adds to a cold query, measured
// against the same upstream calls made directly, in one process and one run. For each provider:
// 1. one cold query through the gateway (caches off) with every upstream request to that
//    provider's emulator recorded (from undici's diagnostics channels): method, URL, headers,
//    body, and when it was created and its answer's head arrived;
// 2. SAMPLES cold queries through the gateway, sequentially: p50 / p99;
// 3. SAMPLES direct replays of the recorded requests along their critical path (a request starts
//    once every request that had answered before it started in the recording has answered; the
//    rest run concurrently, as the gateway ran them), each body read and JSON-parsed: p50 / p99;
// 4. the JSON.parse time of those bodies alone (the part of the difference no gateway avoids);
// 5. SAMPLES queries of the same shape to a bare Apollo Server answering from constants
//    (bare-apollo.ts), in this process too: what Apollo Server and graphql-js alone cost for this
//    answer, the floor under any gateway built on them, which the direct side does not pay.
// Same emulators, same latency (BENCH_LATENCY_MS, default 20 ms per call). Prints a markdown table.
// Both sides send with undici's `request` (the client the gateway itself uses upstream): with fetch,
// the query to the gateway paid ~0.5 ms of fetch's own machinery that counted against the gateway,
// while the direct side's fetch overhead fell inside its calls' spans.
//
// Per step, less sensitive to load than the totals: "outside upstream" is the part of a query's
// time during which no upstream call of it was in flight (request → first call, between calls,
// last answer → response), the gateway's own work on the critical path; for the direct replay it
// is reading and parsing the bodies and the client's own overhead. "CPU" is the process CPU time
// (process.cpuUsage, emulators included, the same for both sides) per query.
//
// BENCH_BASELINE=/path/to/a/worktree (with node_modules) also builds that tree's gateway in this
// process, against the same emulators, and alternates its samples with ours and the direct ones:
// a before/after table from one run (e.g. `git worktree add /tmp/base main`).
import { subscribe } from 'node:diagnostics_channel';
import { setTimeout } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { DEFAULT_LIMITS, defaultGatewayConfig } from '../src/config.ts';
import { startDemo } from '../src/demo.ts';
import { createGateway } from '../src/server.ts';
import { generateMasterKeyEntry, parseMasterKeys } from '../src/accounts/vault.ts';
import { startRedisServer } from '../test/redis-server.ts';
import { startBareApollo } from './bare-apollo.ts';

// graphql-js decides at import whether to run its development checks (NODE_ENV): the Docker image
// runs without them, and so should the measured gateway (`npm run bench:cold` sets it).
if (process.env.NODE_ENV !== 'production') console.warn('NODE_ENV is not "production": graphql-js runs its development checks (use npm run bench:cold)');

const WINDOW_REFILL_MS = 250;
const MINUTE_LIMITS: Record<string, number> = { xero: 60 };
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const PROVIDERS = (process.env.BENCH_PROVIDERS ?? 'hubspot,stripe,xero,quickbooks').split(',');
const BASELINE = process.env.BENCH_BASELINE ?? null;
const QUERY = `query ($provider: String) { invoices(first: 100, filter: { provider: $provider }) { edges { node { number total { amount currency } contact { name emails { address } } } } } }`;

interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  startedAt: number;
  answeredAt: number;
}
/** Where the gateway's upstream calls go while a query runs, and the origin they are counted for. */
let recording: { origin: string; calls: Recorded[] } | null = null;
// Every HTTP request through undici (the gateway's transport, or fetch in an older baseline tree)
// is reported on these channels: the request when it is created, its answer's head when it
// arrives. A body given as a buffer or string is on the request; one fetch streams arrives in
// chunks as it is sent.
const pending = new WeakMap<object, Recorded>();
interface UndiciRequest {
  origin: string;
  method: string;
  path: string;
  headers: string[] | string;
  body: unknown;
}
const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);
function headerPairs(raw: string[] | string): Record<string, string> {
  const pairs: Array<[string, string]> = [];
  if (typeof raw === 'string') {
    for (const line of raw.split('\r\n')) {
      const at = line.indexOf(':');
      if (at > 0) pairs.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
  } else for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return Object.fromEntries(pairs.filter(([k]) => !HOP_HEADERS.has(k.toLowerCase())));
}
subscribe('undici:request:create', (message) => {
  const request = (message as { request: UndiciRequest }).request;
  const rec = recording;
  if (!rec || new URL(request.origin).origin !== rec.origin) return;
  const body = request.body;
  pending.set(request, {
    url: `${rec.origin}${request.path}`,
    method: request.method,
    headers: headerPairs(request.headers),
    body: body == null ? null : typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '',
    startedAt: performance.now(),
    answeredAt: 0,
  });
});
subscribe('undici:request:bodyChunkSent', (message) => {
  const { request, chunk } = message as { request: object; chunk: Uint8Array | string };
  const entry = pending.get(request);
  if (entry && entry.body !== null && !Buffer.isBuffer((request as UndiciRequest).body)) entry.body += Buffer.from(chunk).toString('utf8');
});
subscribe('undici:request:headers', (message) => {
  const { request } = message as { request: object };
  const entry = pending.get(request);
  if (!entry || !recording) return;
  pending.delete(request);
  entry.answeredAt = performance.now();
  recording.calls.push(entry);
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** The part of [start, end] during which none of `spans` was in flight. */
function outside(start: number, end: number, spans: Array<[number, number]>): number {
  let covered = 0;
  let reach = start;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    const from = Math.max(a, reach);
    if (b > from) {
      covered += b - from;
      reach = b;
    }
  }
  return end - start - covered;
}

/** The time outside upstream calls, and its three parts: before the first call left, between calls, after the last answer. */
function outsideSteps(start: number, end: number, spans: Array<[number, number]>): Pick<Sample, 'outsideMs' | 'beforeMs' | 'betweenMs' | 'afterMs'> {
  if (spans.length === 0) return { outsideMs: end - start, beforeMs: end - start, betweenMs: 0, afterMs: 0 };
  const first = Math.min(...spans.map(([a]) => a));
  const last = Math.max(...spans.map(([, b]) => b));
  const parts = { beforeMs: first - start, betweenMs: outside(first, last, spans), afterMs: end - last };
  return { outsideMs: parts.beforeMs + parts.betweenMs + parts.afterMs, ...parts };
}

const demo = await startDemo({ latencyMs: LATENCY_MS });
// Only the measured providers' connections: no other connection's poller runs during the samples.
const tenants = demo.tenants.map((t) => ({
  ...t,
  connections: t.connections.filter((c) => PROVIDERS.includes(c.provider)),
  limits: { tenantRequestsPerSecond: 1_000_000, tenantRequestBurst: 1_000_000, tenantConcurrency: 100_000 },
}));
const originOf = (provider: string) => new URL(tenants[0]!.connections.find((c) => c.provider === provider)!.baseUrl!).origin;
const keyring = parseMasterKeys(generateMasterKeyEntry('bench'), undefined);
// BENCH_CACHE=redis: the gateways run as deployed with Redis (a throwaway redis-server), every
// cache on with its default TTL, and Redis is emptied before each query, so each one misses and
// pays the cache reads and writes a first query pays. Default: every cache off.
const cacheRedis = process.env.BENCH_CACHE === 'redis' ? await startRedisServer() : null;
const flusher = cacheRedis ? new Redis(cacheRedis.url) : null;
const coldOverrides = cacheRedis
  ? { mode: 'production' as const, redisUrl: cacheRedis.url }
  : {
      mode: 'production' as const,
      redisUrl: null,
      cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 },
      limits: { ...DEFAULT_LIMITS, responseCacheTtlSeconds: 0 },
    };

interface Side {
  name: string;
  url: string;
  stop(): Promise<void>;
}
const sides: Side[] = [];
if (BASELINE) {
  // The other tree's own modules (its config defaults, its gateway), against the same emulators.
  const from = (path: string) => import(pathToFileURL(`${BASELINE}/${path}`).href);
  const [config, server, vault] = await Promise.all([from('src/config.ts'), from('src/server.ts'), from('src/accounts/vault.ts')]);
  const base = await server.createGateway(
    // Its own key prefix: one side's cache writes (after its answers) never serve the other's reads.
    config.defaultGatewayConfig(
      tenants,
      cacheRedis ? { ...coldOverrides, keyPrefix: 'sb-baseline' } : { ...coldOverrides, limits: { ...config.DEFAULT_LIMITS, responseCacheTtlSeconds: 0 } },
    ),
    { keyring: vault.parseMasterKeys(vault.generateMasterKeyEntry('bench'), undefined) },
  );
  sides.push({ name: 'baseline', url: base.url, stop: () => base.stop() });
}
const gateway = await createGateway(defaultGatewayConfig(tenants, coldOverrides), { keyring });
const bare = await startBareApollo();
sides.push({ name: BASELINE ? 'this tree' : 'gateway', url: gateway.url, stop: () => gateway.stop() });

interface Sample {
  ms: number;
  outsideMs: number;
  /** outsideMs in three parts: request → first call; between calls; last answer → response read. */
  beforeMs: number;
  betweenMs: number;
  afterMs: number;
  cpuMs: number;
  calls: Recorded[];
}

async function viaGateway(side: Side, provider: string): Promise<Sample> {
  await flusher?.flushall();
  recording = { origin: originOf(provider), calls: [] };
  const cpu = cpuMs();
  const started = performance.now();
  const res = await request(side.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${demo.apiKey}` },
    body: JSON.stringify({ query: QUERY, variables: { provider } }),
  });
  const body = (await res.body.json()) as { errors?: unknown[]; data?: { invoices: { edges: unknown[] } } };
  const ended = performance.now();
  const calls = recording.calls;
  recording = null;
  if (body.errors || body.data?.invoices.edges.length !== 100) throw new Error(`${side.name} ${provider}: ${JSON.stringify(body.errors ?? body.data)}`);
  const spans = calls.map((c) => [c.startedAt, c.answeredAt] as [number, number]);
  return { ms: ended - started, ...outsideSteps(started, ended, spans), cpuMs: cpuMs() - cpu, calls };
}

/** One query of the same shape to the bare Apollo Server: its time, request to answer read, and this process's CPU. */
async function viaBare(provider: string): Promise<{ ms: number; cpuMs: number }> {
  const cpu = cpuMs();
  const started = performance.now();
  const res = await request(bare.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY, variables: { provider } }),
  });
  const body = (await res.body.json()) as { data?: { invoices: { edges: unknown[] } } };
  const ms = performance.now() - started;
  if (body.data?.invoices.edges.length !== 100) throw new Error(`bare Apollo: ${JSON.stringify(body)}`);
  return { ms, cpuMs: cpuMs() - cpu };
}

/** The recorded requests again, each after the ones it waited for; resolves with the elapsed time and the bodies. */
async function direct(calls: Recorded[]): Promise<Sample & { bodies: string[] }> {
  const cpu = cpuMs();
  const started = performance.now();
  const done: Array<Promise<string>> = [];
  const spans: Array<[number, number]> = [];
  calls.forEach((call, i) => {
    const after = calls.filter((c, j) => j !== i && c.answeredAt <= call.startedAt).map((c) => done[calls.indexOf(c)]);
    done[i] = Promise.all(after).then(async () => {
      const sent = performance.now();
      const res = await request(call.url, { method: call.method as Dispatcher.HttpMethod, headers: call.headers, body: call.body });
      spans.push([sent, performance.now()]);
      const text = await res.body.text();
      if (res.statusCode >= 300 || (res.headers['content-encoding'] ?? 'identity') !== 'identity')
        throw new Error(`${call.method} ${call.url}: ${res.statusCode} ${String(res.headers['content-encoding'] ?? '')} ${text.slice(0, 200)}`);
      JSON.parse(text);
      return text;
    });
  });
  const bodies = await Promise.all(done);
  const ended = performance.now();
  return { ms: ended - started, ...outsideSteps(started, ended, spans), cpuMs: cpuMs() - cpu, calls, bodies };
}

const rows: string[] = [];
const stepRows: string[] = [];
const partRows: string[] = [];
const floorRows: string[] = [];
try {
  for (const provider of PROVIDERS) {
    // Each side's own upstream calls (a baseline may make more or take more steps): its direct
    // replay is measured against those, so every difference is that gateway's own work.
    const plans = new Map<string, Recorded[]>();
    for (const side of sides) {
      // As before every sample: the windows refilled, and the last query's cache writes done.
      await setTimeout(WINDOW_REFILL_MS);
      plans.set(
        side.name,
        (await viaGateway(side, provider)).calls.sort((a, b) => a.startedAt - b.startedAt),
      );
    }
    const floor: Array<{ ms: number; cpuMs: number }> = [];
    const perSide = new Map<string, { gateway: Sample[]; direct: Sample[]; bodies: string[] }>(
      sides.map((s) => [s.name, { gateway: [], direct: [], bodies: [] }]),
    );
    // Xero allows 60 calls a minute per organisation (every side spends it): fewer samples there.
    const perMinute = MINUTE_LIMITS[provider];
    const callsPerRound = [...plans.values()].reduce((n, c) => n + 2 * c.length, 0);
    const samples = perMinute === undefined ? SAMPLES : Math.min(SAMPLES, Math.floor((perMinute - callsPerRound / 2) / callsPerRound));
    for (let i = 0; i < samples; i++) {
      // Alternating, so load on the machine falls on every side alike. Each starts with the
      // provider's per-second windows refilled (HubSpot search: 5/s, no burst), so none waits on
      // a budget another spent: the difference is the gateway's work.
      for (const side of sides) {
        const got = perSide.get(side.name)!;
        await setTimeout(WINDOW_REFILL_MS);
        got.gateway.push(await viaGateway(side, provider));
        await setTimeout(WINDOW_REFILL_MS);
        const d = await direct(plans.get(side.name)!);
        got.direct.push(d);
        got.bodies = d.bodies;
      }
      // After the same pause as every other sample (a query after an idle gap, as the others).
      await setTimeout(WINDOW_REFILL_MS);
      floor.push(await viaBare(provider));
    }
    // The floor once more with the code and the CPU's caches hot: 200 queries back to back (after 50
    // to warm up). Once per provider: it is the same for every side.
    const hot: number[] = [];
    for (let i = 0; i < 250; i++) {
      const t = (await viaBare(provider)).ms;
      if (i >= 50) hot.push(t);
    }
    const floorMs = floor.map((f) => f.ms);
    const [f50, f99, fCpu, hot50] = [
      pct(floorMs, 50),
      pct(floorMs, 99),
      pct(
        floor.map((f) => f.cpuMs),
        50,
      ),
      pct(hot, 50),
    ];
    for (const side of sides) {
      const { gateway: got, direct: directSamples, bodies } = perSide.get(side.name)!;
      const calls = plans.get(side.name)!;
      const parseTimes: number[] = [];
      for (let i = 0; i < Math.max(samples, 10); i++) {
        const t = performance.now();
        for (const b of bodies) JSON.parse(b);
        parseTimes.push(performance.now() - t);
      }
      const kb = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1024;
      const p50 = pct(parseTimes, 50);
      const med = (xs: Sample[], key: 'ms' | 'outsideMs' | 'beforeMs' | 'betweenMs' | 'afterMs' | 'cpuMs', p = 50) =>
        pct(
          xs.map((x) => x[key]),
          p,
        );
      const g50 = med(got, 'ms');
      const d50 = med(directSamples, 'ms');
      const label = sides.length > 1 ? `${provider} (${side.name})` : provider;
      rows.push(
        `| ${label} | ${samples} | ${calls.length} (${kb.toFixed(0)} KiB) | ${g50.toFixed(1)} / ${med(got, 'ms', 99).toFixed(1)} ms | ${d50.toFixed(1)} / ${med(directSamples, 'ms', 99).toFixed(1)} ms | ${(g50 - d50).toFixed(1)} ms | ${p50.toFixed(2)} ms | ${(g50 - d50 - p50).toFixed(1)} ms |`,
      );
      const gOut = med(got, 'outsideMs');
      const dOut = med(directSamples, 'outsideMs');
      const gCpu = med(got, 'cpuMs');
      const dCpu = med(directSamples, 'cpuMs');
      stepRows.push(
        `| ${label} | ${gOut.toFixed(1)} ms | ${dOut.toFixed(1)} ms | ${(gOut - dOut).toFixed(1)} ms | ${gCpu.toFixed(1)} ms | ${dCpu.toFixed(1)} ms | ${(gCpu - dCpu).toFixed(1)} ms |`,
      );
      floorRows.push(
        `| ${label} | ${f50.toFixed(1)} / ${f99.toFixed(1)} ms | ${fCpu.toFixed(1)} ms | ${hot50.toFixed(1)} ms | ${(g50 - d50 - p50).toFixed(1)} ms | ${(g50 - d50 - p50 - f50).toFixed(1)} ms | ${(gCpu - dCpu - fCpu).toFixed(1)} ms |`,
      );
      const part = (key: 'beforeMs' | 'betweenMs' | 'afterMs') => `${med(got, key).toFixed(1)} / ${med(directSamples, key).toFixed(1)} ms`;
      partRows.push(`| ${label} | ${part('beforeMs')} | ${part('betweenMs')} | ${part('afterMs')} |`);
      console.log(rows.at(-1));
      console.log(stepRows.at(-1));
      console.log(partRows.at(-1));
      console.log(floorRows.at(-1));
    }
  }
} finally {
  for (const side of sides) await side.stop();
  await demo.stop();
  await bare.stop();
  flusher?.disconnect();
  await cacheRedis?.stop();
}
const [l1, l5] = (await import('node:os')).loadavg();
console.log(
  `\nCold query through the gateway${cacheRedis ? ' (caches on, on Redis, emptied before each query)' : ''} vs the same upstream calls made directly (${LATENCY_MS} ms per call, ${SAMPLES} samples each (Xero fewer: its 60 calls a minute), alternating; load average ${l1!.toFixed(1)} (1 min) / ${l5!.toFixed(1)} (5 min) at the end)\n`,
);
console.log(
  '| provider | samples | upstream calls (bodies) | gateway p50 / p99 | direct critical path p50 / p99 | difference (p50) | JSON.parse of the bodies | difference less parsing |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\nPer step (p50): time with no upstream call of the query in flight, and process CPU per query (emulators included, alike on both sides)\n');
console.log('| provider | gateway outside upstream | direct outside upstream | gateway adds | gateway CPU / query | direct CPU / query | gateway adds (CPU) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of stepRows) console.log(r);
console.log(
  '\nWhere the time outside upstream falls (p50 of each part, gateway / direct): before the first call leaves (the direct side sends at once), between calls (reading and parsing an answer, deciding and sending the next), after the last answer (mapping, completing, serializing and sending the response; the direct side only reads its bodies)\n',
);
console.log('| provider | request → first call | between calls | last answer → response read |');
console.log('|---|---|---|---|');
for (const r of partRows) console.log(r);
console.log(
  `\nThe stack's floor: the same query to a bare Apollo Server answering from constants (bare-apollo.ts, no upstream calls; ${SAMPLES} samples alternating with the others, p50), what Apollo Server and graphql-js alone take for this answer; "back to back" is the same with no pause between queries (the code and the CPU's caches hot), which no sample here has: each waits for its upstream calls. "Less the floor" is the gateway's difference less parsing less that time: its own work beyond executing the query\n`,
);
console.log(
  '| provider | bare Apollo p50 / p99 | bare Apollo CPU / query | bare Apollo back to back p50 | difference less parsing | less the floor | gateway adds (CPU) less the floor |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of floorRows) console.log(r);
process.exit(0);
